#!/usr/bin/env bash
# Create .venv and install impasto into it (editable), with optional extras.
#   bash scripts/install.sh            # the tool
#   bash scripts/install.sh test       # the tool and what the tests need
# torch is pinned to 2.13.0 here (a CPU wheel on this project's machines; an
# unpinned torch would pull a multi-GB CUDA build). pyproject keeps a loose bound.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
echo "impasto installed in .venv ($(.venv/bin/impasto --version))"
