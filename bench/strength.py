"""Every painting at full strength (issue 14): each preset on the four Gatys paintings.

    .venv/bin/python bench/strength.py                          # 512 px, all presets (~45-60 min, 2 cores)
    .venv/bin/python bench/strength.py --size 128 --presets draft --paintings starry_night   # a smoke test
    .venv/bin/python bench/strength.py --set palette_weight=0   # the same with an option changed

Each run is a fresh process (`python bench/strength.py --one ...`), so its wall
time includes start-up and its peak RSS is its own. Printed per run: wall time,
steps per scale and why each scale ended (p: plateau, c: cap, s: exact steps),
the fixed score (bench/score.py, lower is better), and the network-free palette
and texture ratios (bench/measures.py; 1 = no closer to the painting than the
photo, issue 14's targets beside them), and peak RSS. ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

EXAMPLES = HERE.parent / "src" / "impasto" / "examples"
PAINTINGS = ("starry_night", "the_scream", "shipwreck_minotaur", "composition_vii")
PRESETS = ("draft", "standard", "high")
OUT = Path("/tmp/impasto-strength")


def _value(text: str) -> object:
    if "," in text:  # a tuple option, e.g. layer_weights=3,3,1,1,1
        return tuple(_value(part) for part in text.split(","))
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def one(photo: str, painting: str, out: str, size: int, quality: str, options: dict) -> dict:
    """One run in this process (the child side): paint, save, report time, steps and peak RSS."""
    start = time.perf_counter()
    import impasto
    from impasto import image as im, output, pipeline

    config = impasto.StyleConfig(size=size, quality=quality, **options)

    content = im.to_tensor(im.load(photo).rgb)
    style = im.to_tensor(im.load(painting).rgb)
    result = pipeline.paint(content, [style], config)
    output.save(result.image, Path(out))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {"seconds": seconds, "steps": result.steps, "scales": result.scales, "plan": result.plan,
            "peak_mib": peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--paintings", nargs="+", default=list(PAINTINGS))
    parser.add_argument("--photo", default=str(EXAMPLES / "tubingen.jpg"))
    parser.add_argument("--set", nargs="*", default=[], metavar="OPTION=VALUE",
                        help="StyleConfig options for every run, e.g. palette_weight=0 steps=44")
    parser.add_argument("--texture", action=argparse.BooleanOptionalAction, default=True,
                        help="compute the texture ratio (needs plenoptic; slow-ish)")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--one", nargs=4, metavar=("PHOTO", "PAINTING", "OUT", "QUALITY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    options = {k: _value(v) for k, v in (item.split("=", 1) for item in args.set)}

    if args.one:
        photo, painting, out, quality = args.one
        print(json.dumps(one(photo, painting, out, args.size, quality, options)))
        return 0

    import machine
    import measures
    from score import Scorer

    print("\n".join(machine.stamp_lines(machine.stamp(" ".join(sys.argv)))))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"{'painting':<20} {'preset':<9} {'time s':>7} {'score':>7} {'palette':>13} {'texture':>13} "
          f"{'peak MiB':>8}  steps per scale")
    for name in args.paintings:
        painting = str(EXAMPLES / f"{name}.jpg") if "/" not in name else name
        name = Path(painting).stem
        scorer = Scorer(args.photo, painting)
        m = measures.Measures(measures.load(args.photo), measures.load(painting), texture=args.texture)
        target = measures.TARGETS.get(name)
        for quality in args.presets:
            tag = "-".join([name, quality, str(args.size)] + [s.replace("=", "") for s in args.set])
            out = str(Path(args.out) / f"{tag}.png")
            cmd = [sys.executable, __file__, "--size", str(args.size), "--set", *args.set,
                   "--one", args.photo, painting, out, quality]
            env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
            done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            run = json.loads(done.stdout.strip().splitlines()[-1])
            picture = measures.load(out)
            palette = m.palette(picture)
            texture = m.texture_ratio(picture) if m.texture else None
            row = {"painting": name, "preset": quality, "size": args.size, "set": args.set,
                   "score": scorer.score(out), "palette": palette, "texture": texture, "output": out, **run}
            rows.append(row)
            steps = " ".join(f"{n}{why[0]}" for n, why in run["scales"])
            tp = f"(<={target[0]:.2f})" if target else ""
            tt = f"(<={target[1]:.2f})" if target else ""
            tex = f"{texture:.2f}" if texture is not None else "-"
            print(f"{name:<20} {quality:<9} {run['seconds']:7.1f} {row['score']:7.3f} "
                  f"{palette:5.2f}{tp:>8} {tex:>5}{tt:>8} {run['peak_mib']:8.0f}  {steps}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
