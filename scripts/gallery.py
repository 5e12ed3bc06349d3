"""Make the README gallery: every picture from a real `impasto` command line.

    .venv/bin/python scripts/gallery.py            # all pictures (about 15 min on 2 cores)
    .venv/bin/python scripts/gallery.py --only starry_night-512

Writes docs/gallery/*.jpg (small JPEGs) and rewrites the README between the
gallery markers, with each command under its picture and its measured time.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
EX = "src/impasto/examples"
OUT = "docs/gallery"
PAINTINGS = ["starry_night", "the_scream", "shipwreck_minotaur", "composition_vii"]
PHOTO = f"{EX}/tubingen.jpg"


def sky_mask(path: Path) -> None:
    """White over the sky of the Tübingen photo, black over the town, soft edge."""
    w, h = Image.open(ROOT / PHOTO).size
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rectangle([0, 0, w, int(h * 0.36)], fill=255)
    mask.filter(ImageFilter.GaussianBlur(h / 60)).save(path)


def entries() -> list[tuple[str, str, list[str]]]:
    """(name, caption, command args after 'impasto')."""
    out = []
    for p in PAINTINGS:
        out.append((f"{p}-512", f"{p.replace('_', ' ').title()}, 512 px (defaults)",
                    [PHOTO, f"{EX}/{p}.jpg", "-o", f"{OUT}/{p}-512.jpg"]))
    for p in PAINTINGS:
        out.append((f"{p}-256", f"{p.replace('_', ' ').title()}, 256 px, same weights",
                    [PHOTO, f"{EX}/{p}.jpg", "--size", "256", "-o", f"{OUT}/{p}-256.jpg"]))
    out += [
        ("preserve-luminance", "The photo's colours kept (luminance-only transfer)",
         [PHOTO, f"{EX}/starry_night.jpg", "--preserve-colors", "luminance", "-o", f"{OUT}/preserve-luminance.jpg"]),
        ("blend", "Two paintings blended 0.6 / 0.4",
         [PHOTO, f"{EX}/starry_night.jpg", f"{EX}/the_scream.jpg", "--style-weights", "0.6", "0.4",
          "-o", f"{OUT}/blend.jpg"]),
        ("masked", "Style only in the sky (--mask, white = style)",
         [PHOTO, f"{EX}/starry_night.jpg", "--mask", f"{OUT}/mask-sky.png", "-o", f"{OUT}/masked.jpg"]),
        ("composition_vii-1024", "Composition VII at 1024 px (coarse to fine)",
         [PHOTO, f"{EX}/composition_vii.jpg", "--size", "1024", "-o", f"{OUT}/composition_vii-1024.jpg"]),
    ]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="names to (re)make")
    args = parser.parse_args()
    (ROOT / OUT).mkdir(parents=True, exist_ok=True)
    sky_mask(ROOT / OUT / "mask-sky.png")
    impasto = str(Path(sys.executable).with_name("impasto"))
    times: dict[str, float] = {}
    timing_file = ROOT / OUT / "times.txt"
    if timing_file.exists():
        for line in timing_file.read_text().splitlines():
            name, seconds = line.split()
            times[name] = float(seconds)
    for name, _, cmd in entries():
        if args.only is not None and name not in args.only:
            continue
        start = time.perf_counter()
        subprocess.run([impasto, *cmd, "--overwrite", "-q", "--jpeg-quality", "88"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        times[name] = time.perf_counter() - start
        print(f"{name}: {times[name]:.0f} s", flush=True)
    timing_file.write_text("".join(f"{k} {v:.1f}\n" for k, v in sorted(times.items())))
    write_readme(times)
    return 0


def write_readme(times: dict[str, float]) -> None:
    rows = []
    for name, caption, cmd in entries():
        took = f", {times[name]:.0f} s on 2 CPU cores" if name in times else ""
        rows.append(f"**{caption}**{took}\n\n![{caption}]({OUT}/{name}.jpg)\n\n"
                    f"```\nimpasto {' '.join(shlex.quote(c) for c in cmd)}\n```\n")
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- gallery:start -->", "<!-- gallery:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(head + start + "\n\n" + "\n".join(rows) + "\n" + end + tail)


if __name__ == "__main__":
    sys.exit(main())
