#!/usr/bin/env bash
# Fresh machine -> installed fashionclip -> the offline demo (embed, search, classify the sample catalogue).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=all bash scripts/setup.sh
exec .venv/bin/fashionclip demo "$@"
