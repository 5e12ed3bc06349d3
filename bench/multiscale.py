"""Coarse-to-fine against a single scale at equal wall time, and peak memory by size.

    .venv/bin/python bench/multiscale.py            # 512 px comparison (about 3 min)
    .venv/bin/python bench/multiscale.py --memory   # also peak RSS at 512/1024/2048 px (long)

The coarse-to-fine run uses the default preset. The single-scale run starts
at 512 px from the photo and gets as many steps as fit in the same wall time
(its per-step time measured in this run). Both final pictures are scored by
bench/score.py and by impasto's own loss at 512 px.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import BIN, PAINTING, PHOTO, timed  # noqa: E402
from score import Scorer  # noqa: E402

import impasto  # noqa: E402
from impasto.loop import Progress  # noqa: E402


def own_loss(picture, size: int = 512) -> float:
    """impasto's default loss of a finished picture at ``size`` (one evaluation, no steps)."""
    events: list[Progress] = []
    impasto.run(PHOTO, PAINTING, init=str(picture), size=size, start_size=size, steps=1,
                callback=lambda e: isinstance(e, Progress) and events.append(e))
    return events[0].loss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    out = Path("/tmp/impasto-multiscale")
    out.mkdir(exist_ok=True)
    scorer = Scorer(str(PHOTO), str(PAINTING))
    cmd = [str(BIN / "impasto"), str(PHOTO), str(PAINTING), "--overwrite", "-q"]
    multi_t, _ = timed(cmd + ["-o", str(out / "multi.png")])
    t3, _ = timed(cmd + ["-o", str(out / "s3.png"), "--start-size", "512", "--steps", "3"])
    t8, _ = timed(cmd + ["-o", str(out / "s8.png"), "--start-size", "512", "--steps", "8"])
    step = (t8 - t3) / 5
    startup = t3 - 3 * step
    n = max(1, int((multi_t - startup) / step))
    single_t, _ = timed(cmd + ["-o", str(out / "single.png"), "--start-size", "512", "--steps", str(n)])
    print("| run | wall s | score | impasto loss at 512 px |\n|---|---|---|---|")
    for name, t, label in (("multi", multi_t, "coarse to fine (default: 128, 256, 512 px)"),
                           ("single", single_t, f"single scale, 512 px, {n} steps")):
        print(f"| {label} | {t:.0f} | {scorer.score(str(out / (name + '.png'))):.3f} | "
              f"{own_loss(out / (name + '.png')):.3f} |")
    if args.memory:
        print("\n| size | wall s | peak RSS MiB |\n|---|---|---|")
        for size in (512, 1024, 2048):
            t, rss = timed(cmd + ["-o", str(out / f"m{size}.png"), "--size", str(size)])
            print(f"| {size} | {t:.0f} | {rss:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
