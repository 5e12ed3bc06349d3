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


def test_the_step_profile_finds_the_networks_convolutions_forward_and_backward(monkeypatch):
    # bench/profile_step.py groups profiler op names into kinds; torch renames ops between
    # versions and paths (mkldnn in fp32, a slow path for emulated bf16), and a profile whose
    # convolutions land in "other" would mislead whoever reads it. A real 32 px profile here.
    # (monkeypatch restores sys.path afterwards, the script's own additions included.)
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import profile_step
    lines = profile_step.profile(32, "fp32", warmup=1, steps=1, top=5)
    shares = {row.split("|")[1].strip(): float(row.split("|")[3].strip(" %"))
              for row in lines if row.startswith("| ") and row.count("|") == 4 and "%" in row}
    assert shares["conv forward"] > 10 and shares["conv backward"] > 10, lines
    assert shares.get("other", 0.0) < shares["conv forward"], lines
    assert profile_step.kind_of("aten::_slow_conv2d_backward") == "conv backward"
    assert profile_step.kind_of("aten::mkldnn_convolution") == "conv forward"


def test_each_figure_is_labelled_with_the_cpu_kind_its_flags_say(monkeypatch):
    # Three kinds run this project at different speeds (an AVX-512 Xeon without bf16 takes a
    # 512 px step ~2.4x faster than an AVX2 EPYC; a bf16 CPU runs bf16 natively), so a figure
    # labelled with the wrong kind would be compared with the wrong ones.
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import machine
    def cpu(flags: str, vendor: str = "GenuineIntel") -> None:
        monkeypatch.setattr(machine, "_cpuinfo",
                            lambda: f"vendor_id\t: {vendor}\nmodel name\t: Test CPU\nflags\t\t: fpu {flags}\n")
    cpu("avx avx2 fma")
    assert (machine.kind(), machine.has_bf16(), machine.slug()) == ("AVX2 CPU", False, "avx2")
    cpu("avx2 avx512f avx512bw avx512_vnni")
    assert (machine.kind(), machine.has_bf16(), machine.slug()) == ("AVX-512 CPU (no bf16)", False, "avx512")
    cpu("avx2 avx512f avx512_bf16", "AuthenticAMD")
    assert (machine.kind(), machine.has_bf16(), machine.auto_bf16()) == ("bf16 CPU", True, True)
    cpu("avx2 avx512f avx512_bf16")  # no AMX: bf16 there is slower than fp32
    assert (machine.has_bf16(), machine.auto_bf16(), machine.slug()) == (True, False, "bf16slow")
    cpu("avx2 amx_bf16 amx_tile")
    assert machine.cpu_kind() == "bf16 CPU (Test CPU)"


def test_the_curves_summary_reads_issue_14s_aim_off_standards_curve(monkeypatch):
    # bench/curves.py's summary is the evidence for item 1 (standard within 15% of high's score
    # in 40% of high's time): a slip in which point it picks would misstate the aim as met or not.
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import curves
    start = curves.START_UP
    high = {"painting": "p", "preset": "high",
            "points": [{"scale": 2, "seconds": 100 - start, "score": 1.0, "loss": 1.0}]}
    # standard's last scale: a point every 10 s from 10 s to 110 s (start-up included), the
    # loss flat from the 5th point on, so the plateau rule (10 steps at least) stops at the 10th.
    scores = [2.0, 1.6, 1.3, 1.16, 1.14, 1.12, 1.1, 1.08, 1.06, 1.04, 1.02]
    losses = [4.0, 3.0, 2.5, 2.0] + [1.5] * 7
    points = [{"scale": 1, "seconds": 1.0, "score": 9.0, "loss": 9.0}]  # a coarser scale: not a stop
    points += [{"scale": 2, "seconds": 10.0 * (i + 1) - start, "score": s, "loss": loss}
               for i, (s, loss) in enumerate(zip(scores, losses))]
    standard = {"painting": "p", "preset": "standard", "points": points}
    (line,) = curves.aim([standard, high], threshold=0.01)
    head, rest = line.split("; standard ", 1)
    assert head == "p: high 1.000 in 100 s"
    parts = dict(part.split(": ", 1) for part in rest.split("; "))
    assert parts["at 40%"] == "1.160 (+16.0%) at 40 s (40%), step 4 at the last scale"
    assert parts["within 15%"] == "1.140 (+14.0%) at 50 s (50%), step 5 at the last scale"
    assert parts["plateau stop"] == "1.040 (+4.0%) at 100 s (100%), step 10 at the last scale"
    assert parts["last"].startswith("1.020 (+2.0%) at 110 s (110%), step 11 ")
    assert curves.aim([standard]) == []  # no high to compare with
    # A worse step just before 40% of high's time: the best stop by then is still the earlier one.
    bumped = {**standard, "points": [dict(p, score=1.5) if p["seconds"] == 40 - start else p for p in points]}
    assert "at 40%: 1.300 (+30.0%) at 30 s (30%), step 3 " in curves.aim([bumped, high], threshold=0.01)[0]
