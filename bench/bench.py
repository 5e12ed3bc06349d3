"""Side-by-side benchmark: impasto against pastiche 1.6.0 on the same inputs.

    pip install -e '.[bench]'                     # brings pastiche's command
    .venv/bin/python bench/bench.py               # everything: about 40 min on 2 cores
    .venv/bin/python bench/bench.py --quick       # per step and the conv floor only (no 300-step run)
    .venv/bin/python bench/bench.py --ttq-only    # impasto's presets against the stored pastiche run
    .venv/bin/python bench/bench.py --ceiling-only
    .venv/bin/python bench/bench.py --ttq --paintings starry_night the_scream shipwreck_minotaur composition_vii
                                                  # time to quality only, pastiche measured in the same run
                                                  # (~20 min a painting with all presets)

Both tools run as commands (pastiche through its own CLI, so none of its code
is imported here), alternating, on the bundled Tübingen photo and Starry
Night. Every table names its date, CPU kind (bench/machine.py: a bf16 CPU, native bf16 and
faster at it; an AVX512-BF16 CPU without AMX, native bf16 but slower at it; AVX-512 or AVX2
CPUs, bf16 only emulated) and command. Measured, nothing computed
from other runs:
* seconds per step at 256 and 512 px (single scale, from the difference of
  two runs with different step counts, so start-up cancels out); impasto in
  fp32, and also in bf16 where the CPU has it natively (pastiche has no bf16 mode);
* start-up + finish (run time minus its steps) and peak RSS;
* the conv floor: the time the convolutions of one step (VGG-19 conv1_1 to
  conv5_1 at the step's own sizes, forward + input gradient, channels_last)
  take alone, each conv timed in isolation (fastest of several repeats), in
  fp32 and, where the CPU has bf16 natively, in bf16. A step cannot take less; the table gives
  the measured step as a multiple of it;
* time to quality: pastiche runs 300 L-BFGS steps at 512 px writing a
  snapshot every few steps; its 300-step picture's score (bench/score.py) is
  the target, and the time at which the first snapshot scoring at or below it
  was written (file time minus launch time, start-up included) is its time to
  quality. impasto's presets run with --save-every 1 and are timed the same way.
  The pastiche result is stored in bench/pastiche_ttq.json (with its date,
  machine and command) for --ttq-only, which prints it labelled as stored.

Output goes to the terminal and to a new file bench/runs/DATE-KIND-MODE.md;
bench/RESULTS.md is edited by hand from those (so its history is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine
from score import Scorer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "src/impasto/examples"
PHOTO = EXAMPLES / "tubingen.jpg"
PAINTING = EXAMPLES / "starry_night.jpg"
BIN = Path(sys.executable).parent
PASTICHE_FILE = ROOT / "bench" / "pastiche_ttq.json"
RUNS = ROOT / "bench" / "runs"

#: VGG-19 up to conv5_1 (the deepest layer a default step uses): (block, convs in it, channels).
VGG_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 1, 512))


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


def pastiche_cmd(size: int, steps: int, out: Path, *extra: str, painting: Path = PAINTING) -> list[str]:
    return [str(BIN / "pastiche"), "--content", str(PHOTO), "--styles", str(painting), "--output", str(out),
            "--size", str(size), "--num-steps", str(steps), "--no-verbose", *extra]


# --- the conv floor -------------------------------------------------------------------------

def step_convs(h: int, w: int) -> list[tuple[int, int, int, int]]:
    """(in channels, out channels, height, width) of every conv in one step on an h x w picture."""
    convs, cin = [], 3
    for block, count, cout in VGG_BLOCKS:
        side_h, side_w = h >> (block - 1), w >> (block - 1)  # 2x2 max pools halve (floor) each block
        for _ in range(count):
            convs.append((cin, cout, side_h, side_w))
            cin = cout
    return convs


def conv_flops(convs: list[tuple[int, int, int, int]]) -> float:
    """Forward + input gradient: two convolutions' worth of multiply-adds each."""
    return sum(2 * 2 * cin * cout * 9 * hh * ww for cin, cout, hh, ww in convs)


def conv_floor(h: int, w: int, dtype: torch.dtype, repeats: int = 6) -> float:
    """Seconds the convs of one step take alone: each conv's fastest repetition, summed.

    The tensors are made in ``dtype`` up front (no autocast casts inside the
    timing) and channels_last, as a bf16 or fp32 run's network sees them;
    the weights need no gradient (a step differentiates the picture only).
    """
    total = 0.0
    for cin, cout, hh, ww in step_convs(h, w):
        conv = torch.nn.Conv2d(cin, cout, 3, padding=1).requires_grad_(False)
        conv = conv.to(dtype=dtype, memory_format=torch.channels_last)
        x = torch.randn(1, cin, hh, ww, dtype=dtype).to(memory_format=torch.channels_last).requires_grad_(True)
        grad = torch.randn(1, cout, hh, ww, dtype=dtype).to(memory_format=torch.channels_last)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            y = conv(x)
            torch.autograd.grad(y, x, grad)
            times.append(time.perf_counter() - t)
        # The fastest repetition (the first ones warm the kernels up): a floor, not an
        # average that a busy neighbour on a shared machine drags up.
        total += min(times[1:] if repeats > 1 else times)
    return total


def precisions(force_bf16: bool) -> list[str]:
    """fp32 always; bf16 where the CPU has it natively (elsewhere it is emulated and slow)."""
    return ["fp32", "bf16"] if machine.has_bf16() or force_bf16 else ["fp32"]


def ceiling_table(h: int, w: int, precs: list[str], steps: dict[str, float] | None = None) -> list[str]:
    flops = conv_flops(step_convs(h, w))
    lines = [(f"Conv floor of one {w}x{h} step ({len(step_convs(h, w))} convs, conv1_1 to conv5_1, "
              f"forward + input gradient, channels_last, {flops / 1e9:.0f} GFLOP), {machine.cpu_kind()}:"), "",
             "| precision | conv floor, s/step | GFLOP/s | measured impasto s/step | step / floor |",
             "|---|---|---|---|---|"]
    for prec in precs:
        floor = conv_floor(h, w, torch.bfloat16 if prec == "bf16" else torch.float32)
        step = (steps or {}).get(prec)
        lines.append(f"| {prec}{' (emulated on this CPU)' if prec == 'bf16' and not machine.has_bf16() else ''} "
                     f"| {floor:.3f} | {flops / floor / 1e9:.0f} | {'-' if step is None else f'{step:.3f}'} "
                     f"| {'-' if step is None else f'{step / floor:.2f}x'} |")
    if not machine.has_bf16() and "bf16" not in precs:
        lines += ["", ("bf16 not timed: this CPU has no avx512_bf16/amx_bf16, so bf16 would be emulated "
                       "(impasto's precision=auto uses fp32 here); --bf16 times it anyway.")]
    return lines


# --- seconds per step ------------------------------------------------------------------------

def per_step(tool: str, size: int, tmp: Path, precision: str = "fp32") -> tuple[float, float, float]:
    """One measurement: (seconds per step, start-up + finish seconds, peak RSS MiB)."""
    if tool == "impasto":
        def make(s: int, n: int, out: Path) -> list[str]:
            return impasto_cmd(s, n, out, "--precision", precision)
    else:
        make = pastiche_cmd
    lo, hi = (5, 15) if size <= 256 else (3, 8)
    t_lo, rss_lo = timed(make(size, lo, tmp / f"{tool}-lo.png"))
    t_hi, rss_hi = timed(make(size, hi, tmp / f"{tool}-hi.png"))
    step = (t_hi - t_lo) / (hi - lo)
    return step, t_lo - lo * step, max(rss_lo, rss_hi)


def medians(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    return {key: statistics.median(r[i] for r in rows) for i, key in enumerate(("step", "startup", "rss"))}


def per_step_table(sizes: list[int], precs: list[str], repeats: int, tmp: Path) -> tuple[list[str], dict]:
    tools = [("impasto", p) for p in precs] + [("pastiche", "fp32")]
    rows: dict[tuple[str, str, int], list] = {}
    for _ in range(repeats):  # alternate the tools, so drifts in machine load hit both
        for size in sizes:
            for tool, prec in tools:
                rows.setdefault((tool, prec, size), []).append(per_step(tool, size, tmp, prec))
    res = {key: medians(value) for key, value in rows.items()}
    head = " | ".join(f"impasto {p}" for p in precs)
    # The ratio is against what a default run computes in here (precision=auto), not simply bf16:
    # on an Intel CPU without AMX bf16 is native but slower, and auto runs fp32.
    ours = "bf16" if "bf16" in precs and machine.auto_bf16() else "fp32"
    lines = [(f"Medians of {repeats} runs on {machine.cpu_kind()}; single scale, the Tübingen photo "
              f"(512 px = 512x384); pastiche runs in fp32 (it has no bf16 mode); the ratio is against "
              f"impasto's default precision here ({ours})."), "",
             f"| | {head} | pastiche | pastiche / impasto {ours} |", "|---|" + "---|" * (len(precs) + 2)]
    for size in sizes:
        p = res[("pastiche", "fp32", size)]
        cells = " | ".join(f"{res[('impasto', q, size)]['step']:.3f}" for q in precs)
        lines.append(f"| s/step at {size} px | {cells} | {p['step']:.3f} | "
                     f"{p['step'] / res[('impasto', ours, size)]['step']:.2f}x |")
    big = max(sizes)
    for key, label, fmt in (("startup", f"start-up + finish at {big} px, s", "{:.2f}"),
                            ("rss", f"peak RSS at {big} px, MiB", "{:.0f}")):
        p = res[("pastiche", "fp32", big)][key]
        i = res[("impasto", ours, big)][key]
        cells = " | ".join(fmt.format(res[("impasto", q, big)][key]) for q in precs)
        lines.append(f"| {label} | {cells} | {fmt.format(p)} | {p / max(i, 1e-3):.2f}x |")
    return lines, res


# --- time to quality -------------------------------------------------------------------------

def first_passing(scorer: Scorer, snapshots: list[Path], target: float) -> Path | None:
    """The first snapshot (in name order: step order) whose picture scores <= target."""
    return next((snap for snap in sorted(snapshots) if scorer.score(str(snap)) <= target * 1.0001), None)


def pastiche_ttq(scorer: Scorer, tmp: Path, size: int, steps: int, every: int, painting: Path = PAINTING) -> dict:
    """Run pastiche for ``steps`` steps writing a snapshot every ``every``; what it reached and when."""
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    out = tmp / "p-final.png"
    cmd = pastiche_cmd(size, steps, out, "--workspace", str(ws), "--workspace-step", str(every), painting=painting)
    launched = time.time()
    wall, rss = timed(cmd)
    content, style = scorer.parts(str(out))
    target = content + 10 * style
    snaps = list(ws.glob("*.png"))
    snap = first_passing(scorer, snaps, target)
    first = min(snaps, key=lambda p: int(p.stem))  # step 0: written after start-up, before any step
    return {
        **machine.stamp(), "painting": painting.stem,
        "tool": "pastiche " + subprocess.run([str(BIN / "pastiche"), "--version"], capture_output=True, check=True,
                                             text=True).stdout.strip().split()[-1],
        "size": size, "steps": steps, "snapshot_every": every,
        "wall_s": round(wall, 1), "peak_rss_mib": round(rss), "content": round(content, 4),
        "style": round(style, 5), "score": round(target, 4),
        "startup_s": round(first.stat().st_mtime - launched, 1),
        "reached_step": None if snap is None else int(snap.stem),
        "reached_s": None if snap is None else round(snap.stat().st_mtime - launched, 1),
        "how": f"reached_s: file time of the first workspace snapshot scoring <= the {steps}-step score, minus "
               "the launch time (start-up included); startup_s: the same for the step-0 snapshot; snapshots "
               "cost a PNG write every snapshot_every steps",
    }


#: impasto's runs in the time-to-quality table: name -> (preset, extra options).
TTQ_RUNS = {"draft": ("draft", []), "standard": ("standard", []),
            "standard-adam": ("standard", ["--optimizer", "adam"]), "high": ("high", [])}


def impasto_ttq(scorer: Scorer, tmp: Path, target: float, size: int, painting: Path = PAINTING,
                runs: tuple[str, ...] = tuple(TTQ_RUNS)) -> tuple[list[str], tuple | None, dict]:
    """Each preset's wall time and score, and when its best picture first reached ``target``.

    --save-every 1 writes the best picture so far at every step (what Ctrl-C would give);
    its file time tells when the run got there, start-up included. Returns the table's rows,
    the run that got there first (label, seconds) and each run's figures by name.
    """
    lines, best, results = [], None, {}
    for name in runs:
        quality, extra = TTQ_RUNS[name]
        run_dir = tmp / f"i-{name}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir()
        out = run_dir / "out.png"
        cmd = [str(BIN / "impasto"), str(PHOTO), str(painting), "-o", str(out), "--overwrite", "-q",
               "--quality", quality, "--save-every", "1", "--size", str(size), *extra]
        start = time.time()
        t, rss = timed(cmd)
        c, s = scorer.parts(str(out))
        score = c + 10 * s
        snap = first_passing(scorer, list(run_dir.glob("out-step*.png")), target)
        reached = None if snap is None else snap.stat().st_mtime - start
        if reached is None and score <= target:
            reached = t
        label = f"impasto --quality {quality} {' '.join(extra)}".strip()
        lines.append(f"| {label} | {t:.0f} | {c:.3f} | {s:.4f} | {score:.3f} | "
                     f"{'-' if reached is None else f'{reached:.0f}'} | {rss:.0f} |")
        results[name] = {"wall_s": t, "score": score, "reached_s": reached, "peak_rss_mib": rss}
        if reached is not None and (best is None or reached < best[1]):
            best = (label, reached)
    return lines, best, results


def read_stored(path: Path) -> dict[str, dict]:
    """The stored pastiche runs by painting (a file from before paintings were named holds Starry Night's)."""
    if not path.exists():
        return {}
    stored = json.loads(path.read_text())
    return {PAINTING.stem: stored} if "tool" in stored else stored


def load_stored(path: Path, size: int, painting: str = PAINTING.stem) -> dict:
    stored = read_stored(path).get(painting)
    if stored is None:
        raise SystemExit(f"{path} holds no pastiche run of {painting}: run `.venv/bin/python bench/bench.py "
                         f"--ttq --paintings {painting}` first")
    if stored["size"] != size:
        raise SystemExit(f"{path} holds a {stored['size']} px pastiche run, not {size} px")
    return stored


def ttq_section(p: dict, stored: bool, rows: list[str], best: tuple | None) -> list[str]:
    reached = p.get("reached_s")
    if reached is not None:
        p_ttq, p_text = reached, f"{reached:.0f}"
    else:  # a stored run that timed no snapshot: its wall time bounds the moment from above
        p_ttq, p_text = p["wall_s"], f"<= {p['wall_s']:.0f} (wall time; snapshot times not recorded)"
    where = (f"stored: measured {p['date']} on {p['cpu']} by `{p['command']}`" if stored
             else "measured in this run")
    same_machine = p["cpu"] == machine.cpu_kind()
    score = f"{p['score']:.3f}"
    lines = [(f"Target: the score pastiche reaches after {p['steps']} L-BFGS steps at {p['size']} px, {score}. "
              "'reached at' is the wall time (start-up included) at which the run's picture (for impasto the "
              "best so far, what stopping it would give) first scored at or below the target."), "",
             "| run | wall s | content | style | score | reached at, s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|",
             (f"| {p['tool']}, L-BFGS, {p['steps']} steps ({where}) | {p['wall_s']:.0f} | {p['content']:.3f} | "
              f"{p['style']:.4f} | {score} | {p_text} | {p.get('peak_rss_mib') or '-'} |"), *rows, ""]
    if p.get("startup_s") is not None:
        lines += [f"pastiche's start-up (launch to its step-0 snapshot): {p['startup_s']:.0f} s.", ""]
    if p.get("note"):
        lines += [f"Stored pastiche run: {p['note']}", ""]
    if best is None:
        lines.append("None of impasto's runs reached the target.")
    elif not same_machine:
        lines.append(f"impasto reached it in {best[1]:.0f} s ({best[0]}) on {machine.cpu_kind()}; the pastiche "
                     f"figure comes from {p['cpu']}, so no ratio is given.")
    else:
        lines.append(f"pastiche: {p_text} s (first snapshot at or below the target: step {p['reached_step']}); "
                     f"impasto: {best[1]:.0f} s ({best[0]}); ratio {p_ttq / best[1]:.1f}x"
                     + (" (pastiche figure from a different run: load may differ)" if stored else "") + ".")
    return lines


def store(path: Path, run: dict) -> None:
    """Keep a pastiche run in the stored file, beside the other paintings' runs."""
    runs = read_stored(path)
    runs[run["painting"]] = run
    path.write_text(json.dumps(runs, indent=1) + "\n")


def ttq_paintings(paintings: list[Path], runs: tuple[str, ...], args: argparse.Namespace, tmp: Path) -> list[str]:
    """Time to quality on each painting, pastiche and impasto measured one after the other in this run.

    Ends with a summary: per painting pastiche's 300-step score and time, and each impasto
    run's time to that score (the default, standard, first) with its wall time and score.
    """
    lines, summary = [], []
    for painting in paintings:
        scorer = Scorer(str(PHOTO), str(painting), size=args.ttq_size)
        p = pastiche_ttq(scorer, tmp, args.ttq_size, args.pastiche_steps, args.snapshot_every, painting)
        store(args.pastiche_file, p)
        rows, best, res = impasto_ttq(scorer, tmp, p["score"], args.ttq_size, painting, runs)
        lines += [f"## Time to quality: {painting.stem}", "", *ttq_section(p, False, rows, best), ""]
        p_ttq = p["reached_s"] if p["reached_s"] is not None else p["wall_s"]
        cells = []
        for name in runs:
            r = res[name]
            reached = r["reached_s"]
            when = "not reached" if reached is None else f"{reached:.0f} s ({p_ttq / reached:.0f}x)"
            cells.append(f"{when}; {r['wall_s']:.0f} s, {r['score']:.3f}, {r['peak_rss_mib']:.0f} MiB")
        summary.append(f"| {painting.stem} | {p['score']:.3f} in {p['wall_s']:.0f} s (reached at {p_ttq:.0f} s) | "
                       + " | ".join(cells) + " |")
    head = " | ".join(f"impasto {name}" for name in runs)
    return ["## Time to quality by painting", "",
            (f"{machine.cpu_kind()}; {args.ttq_size} px; each cell: when the run's best picture first scored at or "
             "below pastiche's, start-up included (pastiche's time to its own final score over that); "
             "then the run's wall time, final score and peak RSS."), "",
            f"| painting | pastiche {args.pastiche_steps} steps | {head} |", "|---|---|" + "---|" * len(runs),
            *summary, "", *lines]


# --- main ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip time-to-quality (the 300-step pastiche run)")
    parser.add_argument("--ttq-only", action="store_true",
                        help="only impasto's time-to-quality rows, against the stored pastiche run")
    parser.add_argument("--ceiling-only", action="store_true", help="only the conv floor table")
    parser.add_argument("--ttq", action="store_true",
                        help="only time to quality, pastiche measured in this run, for each of --paintings")
    parser.add_argument("--paintings", nargs="+", default=[PAINTING.stem], metavar="NAME",
                        help="time-to-quality paintings (bundled examples, without .jpg); default: starry_night")
    parser.add_argument("--ttq-runs", nargs="+", default=list(TTQ_RUNS), choices=TTQ_RUNS,
                        help="impasto's runs in the time-to-quality tables")
    parser.add_argument("--bf16", action="store_true", help="also time bf16 where the CPU only emulates it")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="per-step sizes (long side)")
    parser.add_argument("--ttq-size", type=int, default=512, help="time-to-quality size (long side)")
    parser.add_argument("--pastiche-steps", type=int, default=300)
    parser.add_argument("--snapshot-every", type=int, default=10, help="pastiche snapshot interval, steps")
    parser.add_argument("--pastiche-file", type=Path, default=PASTICHE_FILE,
                        help="where the full run stores its pastiche result and --ttq-only reads it")
    args = parser.parse_args()
    precs = precisions(args.bf16)
    info = machine.stamp()
    mode = ("ceiling" if args.ceiling_only else "ttq-stored" if args.ttq_only else "ttq" if args.ttq
            else "quick" if args.quick else "full")
    paintings = [EXAMPLES / f"{name}.jpg" for name in args.paintings]
    for painting in paintings:
        if not painting.exists():
            raise SystemExit(f"no bundled painting {painting.stem!r} in {EXAMPLES}")
    runs = tuple(args.ttq_runs)
    lines = ["# Benchmark: impasto vs pastiche", "", *machine.stamp_lines(info), ""]
    big = max(args.sizes)
    h, w = big * 3 // 4, big  # the Tübingen photo is 4:3
    tmp = Path(tempfile.mkdtemp(prefix="impasto-bench-"))
    try:
        if args.ceiling_only:
            lines += ceiling_table(h, w, precs)
        elif args.ttq_only:
            for painting in paintings:
                scorer = Scorer(str(PHOTO), str(painting), size=args.ttq_size)
                stored = load_stored(args.pastiche_file, args.ttq_size, painting.stem)
                rows, best, _ = impasto_ttq(scorer, tmp, stored["score"], args.ttq_size, painting, runs)
                lines += [f"## Time to quality: {painting.stem}", "", *ttq_section(stored, True, rows, best), ""]
        elif args.ttq:
            if not (BIN / "pastiche").exists():
                raise SystemExit("pastiche's command is missing: pip install -e '.[bench]'")
            lines += ttq_paintings(paintings, runs, args, tmp)
        else:
            if not (BIN / "pastiche").exists():
                raise SystemExit("pastiche's command is missing: pip install -e '.[bench]'")
            table, res = per_step_table(args.sizes, precs, args.repeats, tmp)
            lines += ["## Seconds per step", "", *table, "", "## Conv floor", "",
                      *ceiling_table(h, w, precs, {q: res[("impasto", q, big)]["step"] for q in precs})]
            if not args.quick:
                scorer = Scorer(str(PHOTO), str(PAINTING), size=args.ttq_size)
                p = pastiche_ttq(scorer, tmp, args.ttq_size, args.pastiche_steps, args.snapshot_every)
                store(args.pastiche_file, p)
                rows, best, _ = impasto_ttq(scorer, tmp, p["score"], args.ttq_size)
                lines += ["", "## Time to quality", "", *ttq_section(p, False, rows, best),
                          "", (f"(pastiche's result stored in {os.path.relpath(args.pastiche_file, ROOT)} "
                               "for --ttq-only)")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    RUNS.mkdir(exist_ok=True)
    kind = machine.slug()
    out = RUNS / f"{info['date']}-{kind}-{mode}.md"
    n = 1
    while out.exists():  # never overwrite an earlier run's figures
        n += 1
        out = RUNS / f"{info['date']}-{kind}-{mode}-{n}.md"
    out.write_text(text)
    print(f"written to {os.path.relpath(out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
