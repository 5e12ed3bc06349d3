"""Score against time, step by step, for the presets on the Gatys paintings (issue 14).

    .venv/bin/python bench/curves.py                               # standard and high, 4 paintings, 512 px
    .venv/bin/python bench/curves.py --presets standard --override standard:last=40 --paintings the_scream
    .venv/bin/python bench/curves.py --size 128 --paintings starry_night --presets draft   # a smoke test

One process paints each (painting, preset) pair once and keeps, at every step, the
picture stopping there would deliver (the progress event's image, finished lazily
after the run so finishing costs no painting time). Those pictures are then scored
with the fixed scorer (bench/score.py, lower is better). The time of a point is
the painting time up to that step (building the network included; add the
start-up of a fresh process, ~3 s on a 2-core CPU, for a command's wall time).

``--override PRESET:FIELD=VALUE`` changes a preset's schedule for this run (a cap,
a threshold): how the curves decide the presets' numbers. Prints, per run, the
points every ``--every`` steps and every step of the last scale (only those are
scored); ``--json`` keeps them, with impasto's own loss at each step (what the
plateau rule sees), and ``--plot`` draws the last scale's (matplotlib), with
issue 14's aim for standard as grey lines: 15% above high's final score (dashed)
and 40% of high's time (dotted). ``--replot JSON`` draws a saved run again.

When a run has both presets, it ends with issue 14's item 1 per painting (:func:`aim`):
the best stop on standard's last-scale curve within 40% of high's time, the first stop
within 15% of high's final score, and where standard's own plateau rule would have
stopped (replayed on the curve's losses, so a curve run with ``--override
standard:threshold=0`` to a longer cap shows all three).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from strength import EXAMPLES, PAINTINGS, _value  # noqa: E402  (bench/ is on the path above)


def override(specs: list[str]) -> None:
    """Apply ``PRESET:FIELD=VALUE`` changes to impasto.schedule.PRESETS (this process only)."""
    from impasto import schedule

    for spec in specs:
        name, change = spec.split(":", 1)
        field, value = change.split("=", 1)
        schedule.PRESETS[name] = dataclasses.replace(schedule.PRESETS[name], **{field: _value(value)})


def curve(photo, painting, quality: str, size: int) -> tuple[list[dict], list]:
    """Paint once; return the points (time, step, scale, size) and the run's scale endings."""
    import impasto
    from impasto import image as im, pipeline

    config = impasto.StyleConfig(size=size, quality=quality)
    points: list[dict] = []

    def keep(event) -> None:
        points.append({"seconds": event.elapsed, "step": event.step, "scale": event.scale,
                       "side": max(event.size), "loss": event.loss, "best": event.best,
                       "picture": event.image})

    start = time.perf_counter()
    result = pipeline.paint(photo, [painting], config, callback=keep)
    total = time.perf_counter() - start
    for point in points:
        point["picture"] = im.to_pil(point["picture"]())  # finished now, outside the timing
    points[-1]["picture"] = im.to_pil(result.image)  # the picture the run delivers
    points[-1]["seconds"] = total
    return points, result.scales


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--presets", nargs="+", default=["standard", "high"])
    parser.add_argument("--paintings", nargs="+", default=list(PAINTINGS))
    parser.add_argument("--photo", default=str(EXAMPLES / "tubingen.jpg"))
    parser.add_argument("--override", nargs="*", default=[], metavar="PRESET:FIELD=VALUE")
    parser.add_argument("--every", type=int, default=4, help="score every N-th step before the last scale")
    parser.add_argument("--json", help="write every point here")
    parser.add_argument("--plot", help="draw the curves into this PNG")
    parser.add_argument("--replot", nargs="+", metavar="JSON", help="only draw these saved runs into --plot")
    args = parser.parse_args(argv)
    if args.replot:
        saved = [row for path in args.replot for row in json.loads(Path(path).read_text())]
        print("\n".join(aim(saved)))
        plot(saved, args.plot)
        return 0

    import machine
    from score import Scorer

    from impasto import image as im

    override(args.override)
    print("\n".join(machine.stamp_lines(machine.stamp(" ".join(sys.argv)))))
    photo = im.to_tensor(im.load(args.photo).rgb)
    rows = []
    for name in args.paintings:
        path = str(EXAMPLES / f"{name}.jpg") if "/" not in name else name
        name = Path(path).stem
        scorer = Scorer(args.photo, path, size=args.size)
        painting = im.to_tensor(im.load(path).rgb)
        for quality in args.presets:
            points, scales = curve(photo, painting, quality, args.size)
            last = points[-1]["scale"]
            steps = " ".join(f"{n}{why[0]}" for n, why in scales)
            print(f"\n{name} {quality} ({steps}): step scale side seconds score")
            for i, point in enumerate(points):
                picture = point.pop("picture")
                if point["scale"] == last or i % args.every == 0 or i == len(points) - 1:
                    point["score"] = scorer.score(picture)  # scoring takes time: only these
                    print(f"  {point['step']:4d} {point['scale']:2d} {point['side']:5d} "
                          f"{point['seconds']:7.1f} {point['score']:7.3f}", flush=True)
            rows.append({"painting": name, "preset": quality, "override": args.override,
                         "size": args.size, "scales": scales, "points": [p for p in points if "score" in p]})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print("\n".join(aim(rows)))
    if args.plot:
        plot(rows, args.plot)
    return 0


#: Seconds a fresh process takes before painting (Python, torch, impasto imported), added to
#: both presets' painting times for the ratio, as a command's wall time would include them.
START_UP = 3.0


def aim(rows: list[dict], threshold: float | None = None) -> list[str]:
    """Issue 14, item 1, per painting with a standard and a high curve: lines to print.

    Each stop is a point of standard's last scale (the picture stopping there delivers),
    its time as a share of high's (both with START_UP added) and its score against high's
    final score. ``threshold``: the plateau rule replayed (default: standard's preset's).
    """
    from impasto import schedule
    from impasto.stopping import Plateau

    rule = Plateau(schedule.PRESETS["standard"].threshold if threshold is None else threshold)
    by = {(r["painting"], r["preset"]): r for r in rows}
    lines = []
    for name in dict.fromkeys(r["painting"] for r in rows):
        if (name, "high") not in by or (name, "standard") not in by:
            continue
        end = by[(name, "high")]["points"][-1]
        high = (end["score"], end["seconds"] + START_UP)
        points = by[(name, "standard")]["points"]
        last = [p for p in points if p["scale"] == points[-1]["scale"]]
        by_time = [p for p in last if p["seconds"] + START_UP <= 0.4 * high[1]]
        stops = {
            "plateau stop": next((p for i, p in enumerate(last)
                                  if rule.done([q["loss"] for q in last[:i + 1]])), None),
            # The lowest score, not merely the latest point: no stop by then does better.
            "at 40%": min(by_time, key=lambda p: p["score"]) if by_time else None,
            "within 15%": next((p for p in last if p["score"] <= 1.15 * high[0]), None),
            "last": last[-1],
        }
        lines.append(f"{name}: high {high[0]:.3f} in {high[1]:.0f} s; standard "
                     + "; ".join(_stop(what, p, last, high) for what, p in stops.items()))
    return lines


def _stop(what: str, p: dict | None, last: list[dict], high: tuple[float, float]) -> str:
    """One stop of :func:`aim`: score against high's, time as a share of high's, step."""
    if p is None:
        return f"{what}: none"
    t = p["seconds"] + START_UP
    return (f"{what}: {p['score']:.3f} ({100 * (p['score'] / high[0] - 1):+.1f}%) at {t:.0f} s "
            f"({100 * t / high[1]:.0f}%), step {last.index(p) + 1} at the last scale")


def plot(rows: list[dict], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({r["painting"] for r in rows}, key=[r["painting"] for r in rows].index)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        mine = [r for r in rows if r["painting"] == name]
        for row in mine:
            top = max(q["side"] for q in row["points"])
            pts = [p for p in row["points"] if p["side"] == top]
            changes = [o.split(":", 1)[1] for o in row["override"] if o.startswith(row["preset"] + ":")]
            label = row["preset"] + (" (" + ", ".join(changes) + ")" if changes else "")
            ax.plot([p["seconds"] for p in pts], [p["score"] for p in pts], ".-", label=label, ms=3)
        high = [r["points"][-1] for r in mine if r["preset"] == "high"]
        if high:  # issue 14's aim for standard: within 15% of high's score in 40% of its time
            ax.axhline(1.15 * high[0]["score"], color="grey", lw=0.8, ls="--")
            ax.axvline(0.4 * high[0]["seconds"], color="grey", lw=0.8, ls=":")
        best = min(p["score"] for r in mine for p in r["points"])
        ax.set_ylim(0.95 * best, 2.2 * best)
        ax.set_title(name)
        ax.set_xlabel("painting time s")
        ax.set_ylabel("score (lower is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
