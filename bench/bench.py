"""Side-by-side benchmark: impasto against pastiche 1.6.0 on the same inputs.

    pip install -e '.[bench]'            # brings pastiche's command and psutil
    .venv/bin/python bench/bench.py      # about 40 min on 2 cores; --quick skips time-to-quality

Both tools run as commands (pastiche through its own CLI, so none of its code
is imported here), alternating, on the bundled Tübingen photo and Starry
Night. It prints medians and ratios and rewrites bench/RESULTS.md:
* seconds per step at 256 and 512 px (single scale, from the difference of
  two runs with different step counts, so start-up cancels out),
* start-up (command to first step) and peak RSS,
* the fraction of this machine's own measured 3x3-conv throughput reached,
* time-to-quality: the wall time each tool needs to reach the score pastiche
  reaches after 300 L-BFGS steps at 512 px (bench/score.py, a fixed scorer).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score import Scorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "src/impasto/examples/tubingen.jpg"
PAINTING = ROOT / "src/impasto/examples/starry_night.jpg"
BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def impasto_cmd(size: int, steps: int, out: Path, *extra: str) -> list[str]:
    return [str(BIN / "impasto"), str(PHOTO), str(PAINTING), "-o", str(out), "--overwrite", "-q",
            "--size", str(size), "--steps", str(steps), "--start-size", str(size), *extra]


def pastiche_cmd(size: int, steps: int, out: Path, *extra: str) -> list[str]:
    return [str(BIN / "pastiche"), "--content", str(PHOTO), "--styles", str(PAINTING), "--output", str(out),
            "--size", str(size), "--num-steps", str(steps), "--no-verbose", *extra]


def conv_ceiling(bf16: bool = False) -> float:
    """GFLOP/s of 3x3 convs (forward + input gradient), channels_last, VGG-like shapes."""
    shapes = [(64, 64, 128), (128, 128, 64), (256, 256, 32), (512, 512, 16)]
    flops, seconds = 0.0, 0.0
    for cin, cout, side in shapes:
        conv = torch.nn.Conv2d(cin, cout, 3, padding=1).requires_grad_(False).to(memory_format=torch.channels_last)
        x = torch.randn(1, cin, side, side).to(memory_format=torch.channels_last).requires_grad_(True)
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)
        times = []
        for _ in range(8):
            t = time.perf_counter()
            with ctx:
                y = conv(x)
            y.float().sum().backward()
            times.append(time.perf_counter() - t)
        # The fastest repetition: a ceiling, not an average that a busy neighbour drags down.
        seconds += min(times[2:])
        flops += 2 * 2 * cin * cout * 9 * side * side
    return flops / seconds / 1e9


def impasto_flops(h: int, w: int) -> float:
    """FLOPs of one impasto step: forward + input gradient of every conv up to conv5_1."""
    from impasto.weights import CONV_NAMES

    total, cin = 0.0, 3
    chans = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    for name in CONV_NAMES[: CONV_NAMES.index("conv5_1") + 1]:
        block = int(name[4])
        pixels = (h >> (block - 1)) * (w >> (block - 1))
        total += 2 * 2 * cin * chans[block] * 9 * pixels
        cin = chans[block]
    return total


def per_step(tool: str, size: int, tmp: Path) -> tuple[float, float, float]:
    """One measurement: (seconds per step, start-up seconds, peak RSS MiB)."""
    make = impasto_cmd if tool == "impasto" else pastiche_cmd
    lo, hi = (5, 15) if size <= 256 else (3, 8)
    t_lo, rss_lo = timed(make(size, lo, tmp / f"{tool}-lo.png"))
    t_hi, rss_hi = timed(make(size, hi, tmp / f"{tool}-hi.png"))
    step = (t_hi - t_lo) / (hi - lo)
    return step, t_lo - lo * step, max(rss_lo, rss_hi)


def medians(rows: list[tuple[float, float, float]]) -> dict:
    return {key: statistics.median(r[i] for r in rows) for i, key in enumerate(("step", "startup", "rss"))}


#: The last full run's pastiche numbers (2026-11-29, this machine), for --ttq-only.
PASTICHE_300 = {"wall": 875.0, "score": 1.928, "ttq": 907.0, "reached": 300}


def first_passing(scorer: Scorer, snapshots: list[Path], target: float) -> Path | None:
    """The first snapshot (in name order: step order) whose picture scores <= target."""
    return next((snap for snap in sorted(snapshots) if scorer.score(str(snap)) <= target * 1.0001), None)


def impasto_ttq(scorer: Scorer, tmp: Path, target: float) -> tuple[list[str], tuple | None]:
    """Each preset's wall time and score, and when its best picture first reached ``target``.

    --save-every 1 writes the best picture so far at every step (what Ctrl-C would give);
    its file time tells when the run got there, start-up included.
    """
    lines, best = [], None
    for quality, extra in [("draft", []), ("standard", []), ("standard", ["--optimizer", "adam"]), ("high", [])]:
        run_dir = tmp / f"i-{quality}-{len(extra)}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir()
        out = run_dir / "out.png"
        cmd = [str(BIN / "impasto"), str(PHOTO), str(PAINTING), "-o", str(out), "--overwrite", "-q",
               "--quality", quality, "--save-every", "1", *extra]
        start = time.time()
        t, _ = timed(cmd)
        c, s = scorer.parts(str(out))
        score = c + 10 * s
        snap = first_passing(scorer, list(run_dir.glob("out-step*.png")), target)
        reached = None if snap is None else snap.stat().st_mtime - start
        if reached is None and score <= target:
            reached = t
        label = f"impasto --quality {quality} {' '.join(extra)}".strip()
        lines.append(f"| {label} | {t:.0f} | {c:.3f} | {s:.4f} | {score:.3f} | "
                     f"{'-' if reached is None else f'{reached:.0f}'} |")
        if reached is not None and (best is None or reached < best[1]):
            best = (label, reached)
    return lines, best


def time_to_quality(tmp: Path, pastiche_step: float, pastiche_startup: float) -> tuple[list[str], dict]:
    scorer = Scorer(str(PHOTO), str(PAINTING))
    if pastiche_step <= 0:  # --ttq-only: pastiche's numbers from the last full run
        p = PASTICHE_300
        target, p_ttq, reached = p["score"], p["ttq"], p["reached"]
        lines = [f"| pastiche, L-BFGS, 300 steps (last full run) | {p['wall']:.0f} | | | {target:.3f} | {p_ttq:.0f} |"]
    else:
        ws = tmp / "ws"
        wall, _ = timed(pastiche_cmd(512, 300, tmp / "p300.png", "--workspace", str(ws), "--workspace-step", "20"))
        target = scorer.score(str(tmp / "p300.png"))
        snap = first_passing(scorer, list(ws.glob("*.png")), target)
        reached = None if snap is None else int(snap.stem)
        p_ttq = pastiche_startup + (reached or 300) * pastiche_step
        c, s = scorer.parts(str(tmp / "p300.png"))
        lines = [f"| pastiche, L-BFGS, 300 steps | {wall:.0f} | {c:.3f} | {s:.4f} | {target:.3f} | {p_ttq:.0f} |"]
    more, best = impasto_ttq(scorer, tmp, target)
    return lines + more, {"target": target, "pastiche_ttq": p_ttq, "pastiche_reached": reached, "impasto_best": best}


def ttq_section(ttq_lines: list[str], ttq: dict) -> list[str]:
    best = ttq["impasto_best"]
    return ["## Time to quality (512 px; score = content + 10 x style error, lower is better)", "",
            f"Target: the score pastiche reaches after 300 L-BFGS steps, {ttq['target']:.3f}. "
            "'reached at' is when the run's best picture (what stopping it would give) first scored "
            "at or below the target, start-up included.", "",
            "| run | wall s | content | style | score | reached at, s |", "|---|---|---|---|---|---|",
            *ttq_lines, "",
            f"pastiche reaches the target in {ttq['pastiche_ttq']:.0f} s (first at step {ttq['pastiche_reached']}); "
            "impasto in " + (f"{best[1]:.0f} s ({best[0]}): {ttq['pastiche_ttq'] / best[1]:.1f}x faster."
                             if best else "none of the runs above.")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip time-to-quality (the 300-step pastiche run)")
    parser.add_argument("--ttq-only", action="store_true",
                        help="only impasto's time-to-quality rows, against the last full run's pastiche target")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="impasto-bench-"))
    results_file = ROOT / "bench" / "RESULTS.md"
    marker = "## Time to quality"
    if args.ttq_only:
        text = results_file.read_text() if results_file.exists() else ""
        head = text.split(marker, 1)[0].rstrip("\n")
        ttq_lines, ttq = time_to_quality(tmp, 0.0, 0.0)
        section = ttq_section(ttq_lines, ttq)
        section[0] += f" ({datetime.date.today()}, `.venv/bin/python bench/bench.py --ttq-only`)"
        tail = text.split(marker, 1)[1].split("\n## ", 1)[1] if marker in text and "\n## " in text.split(marker, 1)[1] else ""
        text = head + "\n\n" + "\n".join(section) + "\n" + ("\n## " + tail if tail else "")
        print("\n".join(section))
        results_file.write_text(text)
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    if not (BIN / "pastiche").exists():
        raise SystemExit("pastiche's command is missing: pip install -e '.[bench]'")
    ceiling = conv_ceiling()
    rows: dict[tuple[str, int], list] = {}
    for _ in range(args.repeats):  # alternate the tools, so drifts in machine load hit both
        for size in (256, 512):
            for tool in ("impasto", "pastiche"):
                rows.setdefault((tool, size), []).append(per_step(tool, size, tmp))
    results = {key: medians(value) for key, value in rows.items()}
    lines = [f"# Benchmark: impasto vs pastiche 1.6.0", "",
             f"- date: {datetime.date.today()}", f"- machine: {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}",
             f"- command: `.venv/bin/python bench/bench.py{' --quick' if args.quick else ''}` "
             f"(medians of {args.repeats} runs; 512 px = 512x384, the Tübingen photo)",
             f"- measured 3x3-conv ceiling (fp32, forward + input gradient, channels_last): {ceiling:.0f} GFLOP/s", "",
             "| | impasto | pastiche | ratio (pastiche / impasto) |", "|---|---|---|---|"]
    for size in (256, 512):
        i, p = results[("impasto", size)], results[("pastiche", size)]
        lines.append(f"| s/step at {size} px | {i['step']:.3f} | {p['step']:.3f} | {p['step'] / i['step']:.2f}x |")
    i, p = results[("impasto", 512)], results[("pastiche", 512)]
    lines.append(f"| start-up + finish, s (run time minus its steps, single scale 512 px) | {i['startup']:.2f} | {p['startup']:.2f} | "
                 f"{p['startup'] / max(i['startup'], 1e-3):.2f}x |")
    lines.append(f"| peak RSS at 512 px, MiB | {i['rss']:.0f} | {p['rss']:.0f} | {p['rss'] / i['rss']:.2f}x |")
    frac = impasto_flops(384, 512) / i["step"] / 1e9 / ceiling
    lines.append(f"| share of conv ceiling at 512 px | {frac:.0%} | | |")
    if not args.quick:
        ttq_lines, ttq = time_to_quality(tmp, p["step"], p["startup"])
        lines += ["", *ttq_section(ttq_lines, ttq)]
    if args.quick and results_file.exists() and marker in results_file.read_text():
        # Keep the last full run's time-to-quality section (a 15-minute pastiche run).
        kept = results_file.read_text().split(marker, 1)[1]
        lines += ["", marker + " (kept from the last full run)" + kept.rstrip("\n")]
    text = "\n".join(lines) + "\n"
    print(text)
    results_file.write_text(text)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
