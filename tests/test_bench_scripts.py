"""bench/: every script loads (they import each other and read stored results at import time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.stem for p in (ROOT / "bench").glob("*.py"))


def test_every_bench_script_imports_with_the_stored_results_of_this_checkout():
    # One fresh interpreter with bench/ on the path, as the scripts run themselves; a script that
    # fails at import (a renamed helper, a stored file in a new format) names itself.
    probe = ("import importlib, sys\n"
             f"sys.path[:0] = [{str(ROOT / 'bench')!r}, {str(ROOT / 'src')!r}]\n"
             "failed = []\n"
             f"for name in {SCRIPTS!r}:\n"
             "    try:\n"
             "        importlib.import_module(name)\n"
             "    except Exception as error:\n"
             "        failed.append(f'{name}: {type(error).__name__}: {error}')\n"
             "print('\\n'.join(failed) or 'all imported')\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "all imported", done.stdout
    assert {"bench", "multiscale", "strength", "score", "measures"} <= set(SCRIPTS)
