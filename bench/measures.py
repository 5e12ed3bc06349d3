"""Palette and texture measures that use no neural network (issue 14, item 5).

    .venv/bin/python bench/measures.py PHOTO PAINTING OUTPUT [OUTPUT ...]
    .venv/bin/python bench/measures.py --gallery     # docs/gallery's four 512 px pictures

impasto's fixed scorer (bench/score.py) is built from the VGG-19 layers impasto
optimises; these two measures grade the same pictures without any network.
Both compare an output with the painting, as a fraction of how far the
untouched photo is from it: 1 = no closer than the photo, 0 = the painting's.

palette ratio: sliced Wasserstein-2 distance between the CIELAB pixel
  distributions of output and painting, divided by the same distance between
  photo and painting. Every image is first brought to 512 px on its long side
  (Lanczos); sRGB is converted to CIELAB (D65) below. The distance projects
  the Lab pixels on 64 fixed random unit directions (seed 0) and compares 256
  quantiles per direction: SW2 = sqrt(mean over directions and quantiles of
  the squared quantile differences), in Lab units.

texture ratio: Portilla-Simoncelli texture statistics (plenoptic's
  PortillaSimoncelli((256, 256)), default 4 scales, 4 orientations, spatial
  neighbourhood 7) of the lightness L*/100 (CIELAB lightness: luminance on a
  perceptually even scale, in [0, 1]), averaged over three 256x256 crops (left,
  centre, right, vertically centred) of each image at 512 px long side. For
  every statistic where photo and painting differ, |output - painting| /
  |photo - painting|; the ratio is the median over those statistics.

plenoptic is in the 'bench' extra; without it only the palette ratio is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
SIZE = 512
DIRECTIONS = 64
QUANTILES = 256
CROP = 256
GALLERY = ("starry_night", "the_scream", "shipwreck_minotaur", "composition_vii")
#: Issue 14's targets (the classic reference outputs' ratios): (palette, texture) at most.
TARGETS = {"starry_night": (0.29, 0.45), "the_scream": (0.22, 0.67),
           "shipwreck_minotaur": (0.29, 0.78), "composition_vii": (0.28, 0.36)}

# sRGB (D65) linear RGB -> XYZ, and the D65 white point (IEC 61966-2-1, CIE 15).
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def load(path: str | Path, size: int = SIZE) -> np.ndarray:
    """An image as float64 HxWx3 sRGB in [0, 1], resized to ``size`` px on its long side."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        w, h = img.size
        scale = size / max(w, h)
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
        return np.asarray(img, dtype=np.float64) / 255.0


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) -> CIELAB (D65) (..., 3): L in [0, 100], a and b about [-128, 127]."""
    rgb = np.clip(rgb, 0.0, 1.0)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE_D65
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def directions(n: int = DIRECTIONS, seed: int = 0) -> np.ndarray:
    """``n`` fixed random unit vectors in Lab space (3 x n)."""
    d = np.random.default_rng(seed).standard_normal((3, n))
    return d / np.linalg.norm(d, axis=0, keepdims=True)


def projected_quantiles(lab: np.ndarray, dirs: np.ndarray, q: int = QUANTILES) -> np.ndarray:
    """The ``q`` mid-quantiles of the Lab pixels projected on each direction (q x n)."""
    proj = np.sort(lab.reshape(-1, 3) @ dirs, axis=0)
    # np.quantile's linear interpolation, done once on sorted columns (3x faster than np.quantile).
    pos = (np.arange(q) + 0.5) / q * (len(proj) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(proj) - 1)
    frac = (pos - lo)[:, None]
    return proj[lo] * (1 - frac) + proj[hi] * frac


def sliced_w2(qa: np.ndarray, qb: np.ndarray) -> float:
    """Sliced Wasserstein-2 distance from two sets of projected quantiles."""
    return float(np.sqrt(np.mean((qa - qb) ** 2)))


def lightness(rgb: np.ndarray) -> np.ndarray:
    """L*/100: the luminance the texture statistics see (HxW, in [0, 1])."""
    return srgb_to_lab(rgb)[..., 0] / 100.0


def crops(gray: np.ndarray, side: int = CROP) -> np.ndarray:
    """Three side x side crops (left, centre, right, vertically centred): 3 x side x side."""
    h, w = gray.shape
    if min(h, w) < side:
        raise ValueError(f"a {w}x{h} picture is too narrow for {side} px crops at {SIZE} px long side")
    top = (h - side) // 2
    return np.stack([gray[top:top + side, left:left + side] for left in (0, (w - side) // 2, w - side)])


_PS_MODEL = None


def texture_model():
    """plenoptic's Portilla-Simoncelli model for 256x256 crops (None where plenoptic is missing)."""
    global _PS_MODEL
    if _PS_MODEL is None:
        try:
            import plenoptic
        except ImportError:
            return None
        # plenoptic 2 moved the models from plenoptic.simulate to plenoptic.models.
        models = getattr(plenoptic, "models", None) or plenoptic.simulate
        _PS_MODEL = models.PortillaSimoncelli((CROP, CROP))
    return _PS_MODEL


_STATS_CACHE: dict[bytes, np.ndarray] = {}


def texture_stats(rgb: np.ndarray) -> np.ndarray:
    """The Portilla-Simoncelli statistics of the lightness, averaged over the three crops.

    Cached by the picture's content: a photo scored against several outputs
    (or as an output itself) is analysed once.
    """
    import hashlib

    import torch

    key = hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).digest() + str(rgb.shape).encode()
    if key in _STATS_CACHE:
        return _STATS_CACHE[key]
    model = texture_model()
    if model is None:
        raise RuntimeError("plenoptic is missing: pip install -e '.[bench]'")
    x = torch.from_numpy(crops(lightness(rgb))).float().unsqueeze(1)  # 3 x 1 x 256 x 256
    with torch.no_grad():
        stats = model(x)  # 3 x 1 x n
    _STATS_CACHE[key] = stats.double().mean(dim=0).flatten().numpy()
    return _STATS_CACHE[key]


class Measures:
    """The photo's and the painting's statistics, computed once; ratios for any number of outputs."""

    def __init__(self, photo: np.ndarray, painting: np.ndarray, texture: bool = True) -> None:
        self.dirs = directions()
        self.painting_q = projected_quantiles(srgb_to_lab(painting), self.dirs)
        self.palette_base = sliced_w2(projected_quantiles(srgb_to_lab(photo), self.dirs), self.painting_q)
        self.texture = texture and texture_model() is not None
        if self.texture:
            self.painting_s = texture_stats(painting)
            gap = texture_stats(photo) - self.painting_s
            # Statistics the photo and painting share (to float32 precision) say nothing about the gap.
            scale = np.maximum(np.abs(self.painting_s), np.abs(gap + self.painting_s))
            self.keep = np.abs(gap) > 1e-5 * scale + 1e-12
            self.gap = np.abs(gap[self.keep])

    def palette(self, output: np.ndarray) -> float:
        q = projected_quantiles(srgb_to_lab(output), self.dirs)
        return sliced_w2(q, self.painting_q) / self.palette_base

    def texture_ratio(self, output: np.ndarray) -> float:
        if not self.texture:
            raise RuntimeError("plenoptic is missing: pip install -e '.[bench]'")
        s = texture_stats(output)
        return float(np.median(np.abs(s - self.painting_s)[self.keep] / self.gap))


def table(rows: list[tuple[str, float, float | None, tuple[float, float] | None]]) -> list[str]:
    with_targets = any(r[3] for r in rows)
    lines = ["| output | palette ratio | texture ratio |" + (" issue 14 target (palette, texture) |"
                                                         if with_targets else ""),
             "|---|---|---|" + ("---|" if with_targets else "")]
    for name, pal, tex, target in rows:
        cells = f"| {name} | {pal:.2f} | {'-' if tex is None else f'{tex:.2f}'} |"
        if with_targets:
            cells += f" <= {target[0]:.2f}, <= {target[1]:.2f} |" if target else " |"
        lines.append(cells)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", metavar="PHOTO PAINTING OUTPUT", help="photo, painting, outputs")
    parser.add_argument("--gallery", action="store_true",
                        help="score docs/gallery/PAINTING-512.jpg against the bundled photo and paintings")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import machine

    if args.gallery == bool(args.images) or (args.images and len(args.images) < 3):
        parser.error("give PHOTO PAINTING OUTPUT [OUTPUT ...], or --gallery alone")
    for path in args.images:
        if not Path(path).is_file():
            parser.error(f"{path}: no such file")
    if texture_model() is None:
        print("plenoptic is missing (pip install -e '.[bench]'): texture ratios left out", file=sys.stderr)
    rows = []
    if args.gallery:
        examples = ROOT / "src/impasto/examples"
        photo = load(examples / "tubingen.jpg")
        for name in GALLERY:
            m = Measures(photo, load(examples / f"{name}.jpg"))
            out = load(ROOT / f"docs/gallery/{name}-512.jpg")
            rows.append((f"docs/gallery/{name}-512.jpg", m.palette(out),
                         m.texture_ratio(out) if m.texture else None, TARGETS[name]))
    else:
        m = Measures(load(args.images[0]), load(args.images[1]))
        for path in args.images[2:]:
            out = load(path)
            rows.append((path, m.palette(out), m.texture_ratio(out) if m.texture else None, None))
    print("\n".join([*machine.stamp_lines(machine.stamp()), "", *table(rows)]))
    if args.gallery:
        print("\nThe gallery pictures are JPEGs (quality 88, scripts/gallery.py), not the PNGs a run writes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
