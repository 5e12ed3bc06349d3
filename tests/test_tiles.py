import pytest
import torch

from conftest import EXAMPLES, small
from impasto import image as im
from impasto.objective import Objective
from impasto.tiles import ALIGN, AUTO_TILE, TiledObjective, geometry, grid, tile_for

LAYERS = dict(content_layers=["relu4_2"], style_layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
              layer_weights=[1] * 5, content_weight=1.0, style_weight=10.0, tv_weight=1.0)


@pytest.fixture(scope="module")
def big():
    """Photo (384x288) and painting large enough for full-depth tiles whose halos do not cover
    the picture: a 128 px tile with relu5_1's 96 px halo sees at most 320 px."""
    photo = im.to_tensor(small(EXAMPLES / "tubingen.jpg", 384))
    painting = im.to_tensor(small(EXAMPLES / "starry_night.jpg", 304))
    return photo, painting


def test_geometry_matches_vgg19(net):
    strides, radius = geometry(net, ["relu4_2", "relu5_1"])
    assert strides["relu1_1"] == 1 and strides["relu4_2"] == 8 and strides["relu5_1"] == 16
    assert radius == 85  # how far, in px, a relu5_1 feature looks
    assert geometry(net, ["relu3_1"])[1] == 13  # shallower layers need narrower halos


def test_grid_covers_the_picture_once_on_the_pooling_grid():
    tiles = grid(300, 517, core=128, halo=85)
    cover = torch.zeros(300, 517)
    for t in tiles:
        y0, y1, x0, x1 = t.core
        cover[y0:y1, x0:x1] += 1
        ry0, ry1, rx0, rx1 = t.region
        assert ry0 % ALIGN == 0 and rx0 % ALIGN == 0 and y0 % ALIGN == 0 and x0 % ALIGN == 0
        assert ry0 <= y0 and ry1 >= y1 and (ry0 == 0 or y0 - ry0 == 96)
    assert torch.equal(cover, torch.ones(300, 517))


SHALLOW = dict(content_layers=["relu3_1"], style_layers=["relu1_1", "relu2_1", "relu3_1"],
               layer_weights=[1] * 3, content_weight=1.0, style_weight=10.0, tv_weight=1.0)


@pytest.mark.parametrize("layers, tile, masked", [(LAYERS, 128, False), (SHALLOW, 48, True)])
def test_tiles_give_the_whole_pictures_loss_and_gradient(net, big, layers, tile, masked):
    photo, painting = big
    kw = dict(layers, blend=[1.0])
    if masked:
        mask = torch.zeros(1, 1, *photo.shape[-2:])
        mask[..., :, : photo.shape[-1] // 3] = 1.0
        kw.update(masks=[mask], blend=[1.0])
    else:  # the pixel-level terms too (masks turn them off)
        kw.update(palette_weight=3.0, histogram_weight=20.0)
    plain = Objective(net, photo, [painting], **kw)
    tiled = TiledObjective(net, photo, [painting], tile=tile, **kw)
    assert bool(plain.histogram_weight) != masked
    h, w = photo.shape[-2:]
    regions = [t.region for t in tiled._tiles(photo)]
    assert len(regions) >= 6
    # Several tiles, each seeing less than the whole picture, and one seeing no border at all:
    # an error in the halo or in summing the tiles cannot hide behind a tile that sees everything.
    assert all((r[1] - r[0]) * (r[3] - r[2]) < h * w for r in regions)
    assert any(r[2] > 0 and r[3] < w for r in regions)
    for k in plain.content_targets:
        assert torch.allclose(tiled.content_targets[k], plain.content_targets[k], rtol=1e-4, atol=1e-3)
    # Its own generator, not the global RNG: the same x whatever ran before.
    noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    x = (photo * 0.7 + 0.3 * noise).requires_grad_(True)
    a = plain(x)
    (ga,) = torch.autograd.grad(a.total, x)
    b = tiled(x)
    (gb,) = torch.autograd.grad(b.total, x)
    assert b.total.item() == pytest.approx(a.total.item(), rel=1e-4)
    assert tiled.late(x).item() == pytest.approx(plain.late(x).item(), rel=1e-6)  # whole picture for both
    assert b.content == pytest.approx(a.content, rel=1e-4) and b.style == pytest.approx(a.style, rel=1e-4)
    # The same gradient everywhere, tile edges included: no seams to optimise into the picture.
    assert (gb - ga).abs().max() < 1e-3 * ga.abs().max()


def test_evaluating_without_a_graph_gives_the_loss_only(net, big):
    photo, painting = big
    tiled = TiledObjective(net, photo, [painting], tile=160, blend=[1.0], **SHALLOW)
    with torch.no_grad():
        parts = tiled(photo)
    assert parts.total.requires_grad is False and parts.style > 0


def test_tile_size_setting():
    assert tile_for(0, 1536, 2048) == 0 and tile_for(0, 3072, 4096) == AUTO_TILE
    assert tile_for(256, 300, 400) == 256 and tile_for(512, 300, 400) == 0


def test_a_tiled_run_paints_like_an_untiled_one(photo, painting):
    """The pipeline's tile option changes memory, not the picture."""
    import impasto

    opts = dict(size=128, start_size=128, steps=4, seed=1, precision="fp32")
    plain = impasto.run(photo, painting, **opts)
    tiled = impasto.run(photo, painting, tile_size=64, **opts)
    assert (tiled.image - plain.image).abs().max() < 2 / 255
    assert tiled.loss == pytest.approx(plain.loss, rel=1e-3)


def test_tiles_give_the_whole_pictures_loss_and_gradient_in_bf16(net):
    """In bf16 a tile's activations round like the whole picture's, up to the order of sums:
    loss and gradient agree to bf16's resolution (2^-8), not fp32's."""
    photo = im.to_tensor(small(EXAMPLES / "tubingen.jpg", 96))
    painting = im.to_tensor(small(EXAMPLES / "starry_night.jpg", 64))
    kw = dict(SHALLOW, blend=[1.0], bf16=True)
    plain = Objective(net, photo, [painting], **kw)
    tiled = TiledObjective(net, photo, [painting], tile=32, **kw)
    assert len(tiled._tiles(photo)) >= 4
    x = (photo * 0.7 + 0.3 * torch.rand(photo.shape, generator=torch.Generator().manual_seed(0)))
    x.requires_grad_(True)
    a, b = plain(x), tiled(x)
    (ga,) = torch.autograd.grad(a.total, x)
    (gb,) = torch.autograd.grad(b.total, x)
    assert b.total.item() == pytest.approx(a.total.item(), rel=1e-2)
    assert torch.nn.functional.cosine_similarity(ga.flatten(), gb.flatten(), dim=0) > 0.99
    assert (gb - ga).abs().max() < 0.05 * ga.abs().max()
