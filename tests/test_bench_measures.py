"""bench/measures.py: the network-independent palette and texture ratios (issue 14)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# bench/ is not a package: load the script as a module, without putting bench/ on sys.path.
_spec = importlib.util.spec_from_file_location("bench_measures", ROOT / "bench" / "measures.py")
assert _spec and _spec.loader
measures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measures)

EXAMPLES = ROOT / "src/impasto/examples"
HAS_PLENOPTIC = importlib.util.find_spec("plenoptic") is not None


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    return measures.load(EXAMPLES / "tubingen.jpg"), measures.load(EXAMPLES / "starry_night.jpg")


@pytest.fixture(scope="module")
def palette_only(pair) -> measures.Measures:
    return measures.Measures(*pair, texture=False)


def test_images_are_brought_to_512_px_on_the_long_side(pair):
    photo, painting = pair
    assert photo.shape == (384, 512, 3) and painting.shape == (320, 512, 3)
    assert measures.load(EXAMPLES / "the_scream.jpg").shape[0] == 512  # portrait: the height


def test_cielab_of_known_colours():
    rgb = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    lab = measures.srgb_to_lab(rgb)
    # Reference values (CIE 15, D65 white, sRGB primaries).
    expected = [[100, 0, 0], [0, 0, 0], [53.24, 80.09, 67.20], [32.30, 79.19, -107.86], [53.39, 0, 0]]
    np.testing.assert_allclose(lab, expected, atol=0.02)


def test_directions_are_fixed_unit_vectors():
    d = measures.directions()
    assert d.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(d, axis=0), 1.0)
    np.testing.assert_array_equal(d, measures.directions())


def test_palette_ratio_is_one_for_the_photo_and_zero_for_the_painting(pair, palette_only):
    photo, painting = pair
    m = palette_only
    assert m.palette(photo) == pytest.approx(1.0)
    assert m.palette(painting) == pytest.approx(0.0, abs=1e-9)
    assert m.palette_base > 5  # Lab units: Tübingen's colours are far from Starry Night's


def test_a_photo_recoloured_toward_the_painting_scores_closer(pair, palette_only):
    photo, painting = pair
    m = palette_only
    # Each channel's mean and spread moved to the painting's: same picture, the painting's colours.
    mu_p, sd_p = photo.mean((0, 1)), photo.std((0, 1))
    mu_s, sd_s = painting.mean((0, 1)), painting.std((0, 1))
    recoloured = np.clip((photo - mu_p) / sd_p * sd_s + mu_s, 0, 1)
    half = 0.5 * photo + 0.5 * recoloured
    full_ratio, half_ratio = m.palette(recoloured), m.palette(half)
    assert full_ratio < half_ratio < 1.0
    assert full_ratio < 0.6
    # And away from it: a grey version is further from the painting than the photo.
    grey = np.repeat(photo.mean(axis=2, keepdims=True), 3, axis=2)
    assert m.palette(grey) > 1.0


def test_crops_are_left_centre_right_and_vertically_centred():
    gray = np.arange(384 * 512, dtype=np.float64).reshape(384, 512)
    c = measures.crops(gray)
    assert c.shape == (3, 256, 256)
    assert c[0, 0, 0] == gray[64, 0] and c[1, 0, 0] == gray[64, 128] and c[2, 0, 0] == gray[64, 256]
    with pytest.raises(ValueError, match="too narrow"):
        measures.crops(np.zeros((200, 512)))


@pytest.mark.skipif(not HAS_PLENOPTIC, reason="plenoptic is not installed (pip install -e '.[bench]')")
def test_texture_ratio_is_one_for_the_photo_and_zero_for_the_painting(pair):
    photo, painting = pair
    m = measures.Measures(photo, painting)
    assert m.keep.sum() > 100  # the statistics the two pictures differ in
    assert m.texture_ratio(photo) == pytest.approx(1.0)
    assert m.texture_ratio(painting) == pytest.approx(0.0, abs=1e-9)


def test_the_command_wants_three_images_or_the_gallery(capsys):
    for argv in ([], ["a.jpg", "b.jpg"], ["--gallery", "a.jpg", "b.jpg", "c.jpg"]):
        with pytest.raises(SystemExit) as exc:
            measures.main(argv)
        assert exc.value.code == 2
    assert "PHOTO PAINTING OUTPUT" in capsys.readouterr().err
