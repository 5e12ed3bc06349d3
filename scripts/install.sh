#!/usr/bin/env bash
# Create .venv and install impasto into it (editable), with optional extras.
#   bash scripts/install.sh            # the tool with all its parts: studio, video, Ray (web,video,ray)
#   bash scripts/install.sh video      # the tool and only the extras named (comma-separated)
#   bash scripts/install.sh test       # everything the test suite needs, Debian's Chromium included
# torch is pinned to 2.13.0 here (a CPU wheel on this project's machines; an
# unpinned torch would pull a multi-GB CUDA build). pyproject keeps a loose bound.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-web,video,ray}"
if [ "$extras" = test ] && [ ! -x /usr/bin/chromium ]; then
  # The studio's browser test drives Debian's Chromium (Playwright never downloads a browser).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser test (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser test needs Chromium at /usr/bin/chromium: run 'sudo apt-get install chromium', then this again" >&2
    exit 1
  fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
echo "impasto installed in .venv ($(.venv/bin/impasto --version))"
