#!/usr/bin/env bash
# Install what the tests need, then run them all:
#  1. the main suite in .venv (CPU torch 2.13.0);
#  2. the linter and formatter check (ruff, configured in pyproject.toml);
#  3. the open_clip adapter tests in .venv-openclip, since open_clip needs torchvision,
#     which does not import beside the CPU torch wheel (FASHIONCLIP_SKIP_OPENCLIP=1 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=all,dev bash scripts/setup.sh
# the web page's browser test drives Debian's Chromium through Playwright
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/python -m pytest -n 2 -q "$@"
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts

if [ "${FASHIONCLIP_SKIP_OPENCLIP:-0}" != "1" ]; then
    if [ ! -x .venv-openclip/bin/python ]; then
        # torchvision's wheels need a CUDA build of torch: 5.6 GB installed (plus 2.6 GB of wheels
        # while pip works, where they are not on this disk). Say so rather than fail half-way
        # with "No space left on device".
        free_mb=$(df -Pm . | awk 'NR == 2 {print $4}')
        if [ "$free_mb" -lt 6000 ]; then
            echo "scripts/test.sh: the open_clip tests need 6 to 9 GB free for .venv-openclip" \
                 "(torch 2.14.1 with CUDA libraries + torchvision); ${free_mb} MB free here." \
                 "Free some space, or set FASHIONCLIP_SKIP_OPENCLIP=1 to leave those tests out." >&2
            exit 1
        fi
        python3 -m venv .venv-openclip
    fi
    # --no-cache-dir: where the CUDA libraries come from PyPI, pip would also keep a 2.6 GB copy
    # of their wheels in its cache
    .venv-openclip/bin/python -m pip install -q --no-cache-dir "torch==2.14.1" "torchvision==0.29.1"
    .venv-openclip/bin/python -m pip install -q --no-cache-dir -e ".[openclip,dev]"
    .venv-openclip/bin/python -m pytest -q -m openclip tests/backends tests/convert "$@"
fi
