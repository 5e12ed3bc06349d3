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
TITLES = {"starry_night": "Van Gogh, *The Starry Night*", "the_scream": "Munch, *The Scream*",
          "shipwreck_minotaur": "Turner, *The Shipwreck of the Minotaur*",
          "composition_vii": "Kandinsky, *Composition VII*"}
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
        out.append((f"{p}-512", f"{TITLES[p]}, 512 px (defaults)",
                    [PHOTO, f"{EX}/{p}.jpg", "-o", f"{OUT}/{p}-512.jpg"]))
    for p in PAINTINGS:
        out.append((f"{p}-256", f"{TITLES[p]}, 256 px, same weights",
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
    for name, _, cmd in entries():
        if args.only is not None and name not in args.only:
            continue
        start = time.perf_counter()
        subprocess.run([impasto, *cmd, "--overwrite", "-q", "--jpeg-quality", "88"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    write_readme()
    return 0


def write_readme() -> None:
    """The four paintings as a table (512 and 256 px), then the controls, each with its command."""
    made = {name: (caption, cmd) for name, caption, cmd in entries()}
    rows = ["The four paintings with the default settings, at 512 px and at 256 px. The weights "
            "are the same everywhere: the losses are normalised, so one `--style-weight` means "
            "the same strength for every painting and size.", "",
            "| painting | 512 px (default) | 256 px (`--size 256`) |", "|---|---|---|"]
    for p in PAINTINGS:
        rows.append(f"| {TITLES[p]} | <img src=\"{OUT}/{p}-512.jpg\" width=\"360\"> "
                    f"| <img src=\"{OUT}/{p}-256.jpg\" width=\"180\"> |")
    rows += ["", "```", f"impasto {PHOTO} {EX}/starry_night.jpg -o starry_night-512.jpg",
             f"impasto {PHOTO} {EX}/starry_night.jpg --size 256 -o starry_night-256.jpg", "```", ""]
    for name in ("preserve-luminance", "blend", "masked", "composition_vii-1024"):
        caption, cmd = made[name]
        rows.append(f"**{caption}**\n\n<img src=\"{OUT}/{name}.jpg\" width=\"512\">\n\n"
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
