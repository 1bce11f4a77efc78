#!/usr/bin/env bash
# Create .venv (once) and install fashionclip into it, CPU torch first.
# Sourced by demo.sh and test.sh; EXTRAS selects the extras to install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
EXTRAS=${EXTRAS:-all}

if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    # Debian/Ubuntu ship venv separately
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build
.venv/bin/python -m pip install -q "torch==${TORCH_VERSION}"
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
# the original fashion-clip's import paths (fashion_clip.fashion_clip ...) for migrating code;
# a distribution of its own, see compat/fashion-clip-alias
.venv/bin/python -m pip install -q --no-deps ./compat/fashion-clip-alias
