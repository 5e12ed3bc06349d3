import pytest
import torch

from conftest import EXAMPLES, small
from impasto import image as im
from impasto.objective import Objective

SHALLOW = dict(content_layers=["relu2_1"], style_layers=["relu1_1", "relu2_1"], layer_weights=[0.5, 0.5],
               blend=[1.0], content_weight=0.0, style_weight=1.0, tv_weight=0.0)


def _style_gradient(net, photo, painting, masks=None):
    objective = Objective(net, photo, [painting], masks=masks, **SHALLOW)
    x = (0.6 * photo + 0.2).requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(x).total, x)
    return grad.abs().sum(1)[0]  # per pixel


def test_a_masked_painting_pulls_only_on_its_region(net):
    """The guided Grams themselves keep style out of a black region (the pipeline's final
    composite is a second guard, not the mechanism): with shallow layers, whose receptive
    field is a few pixels, the style gradient is exactly zero far inside the black region."""
    photo = im.to_tensor(small(EXAMPLES / "tubingen.jpg", 64))
    painting = im.to_tensor(small(EXAMPLES / "starry_night.jpg", 64))
    mask = torch.zeros(1, 1, *photo.shape[-2:])
    mask[..., :16] = 1.0  # the painting's region: the left quarter
    masked = _style_gradient(net, photo, painting, [mask])
    plain = _style_gradient(net, photo, painting)
    far = (slice(None), slice(32, None))  # 16 px past the mask's edge: beyond relu2_1's reach
    assert masked[:, :16].mean() > 0.1 * plain[:, :16].mean()
    assert plain[far].mean() > 0 and masked[far].max() == 0


@pytest.mark.parametrize("term, near", [("palette", 0.05), ("histogram", 0.1)])
def test_a_pixel_term_counts_as_style_pulls_towards_the_painting_and_is_off_with_masks(net, term, near):
    photo = im.to_tensor(small(EXAMPLES / "tubingen.jpg", 64))
    painting = im.to_tensor(small(EXAMPLES / "the_scream.jpg", 64))
    weight = {f"{term}_weight": 1.0}
    plain = Objective(net, photo, [painting], **SHALLOW)
    on = Objective(net, photo, [painting], **weight, **SHALLOW)
    value = getattr(on, term)
    # The painting itself, brought to the picture's size, is (nearly) on target.
    same = im.resize(painting, tuple(photo.shape[-2:]))
    assert float(value(same)) < near * float(value(photo))
    assert float(getattr(plain, term)(photo)) == 0.0
    # Part of the style, whether in the objective's call or in its late terms (histogram).
    assert on(photo).style + float(on.late(photo)) > plain(photo).style + float(plain.late(photo))
    # Its gradient lowers it: a small step against it brings the photo closer to the painting.
    x = photo.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(value(x), x)
    assert float(value(photo - 1e-3 * grad / grad.abs().max())) < float(value(photo))
    mask = torch.ones(1, 1, *photo.shape[-2:])
    guided = Objective(net, photo, [painting], masks=[mask], **weight, **SHALLOW)
    assert float(getattr(guided, term)(photo)) == 0.0


def test_a_networks_paintings_grams_are_computed_once_and_kept_apart_from_other_networks(net):
    from impasto import objective

    painting = im.to_tensor(small(EXAMPLES / "starry_night.jpg", 48))
    photo = im.to_tensor(small(EXAMPLES / "tubingen.jpg", 48))
    calls: list[tuple[int, ...]] = []

    class Counting(torch.nn.Module):  # the same network, counting what it is shown
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, image, layers):
            calls.append(tuple(image.shape))
            return self.inner(image, layers)

    OPTIONS = {**SHALLOW, "content_weight": 1.0}  # the photo is shown too
    counting = Counting(net)
    first = Objective(counting, photo, [painting], **OPTIONS)
    shown = len(calls)
    again = Objective(counting, im.to_tensor(small(EXAMPLES / "the_scream.jpg", 48)), [painting.clone()], **OPTIONS)
    assert len(calls) == shown + 1  # the new photo only: the painting's Grams came from the cache
    assert all(torch.equal(first.style_targets[0][k], again.style_targets[0][k]) for k in SHALLOW["style_layers"])
    other = Objective(counting, photo, [painting.flip(-1)], **OPTIONS)  # another picture: computed
    assert len(calls) == shown + 3
    assert not torch.equal(other.style_targets[0]["relu2_1"], first.style_targets[0]["relu2_1"])
    # Another network never sees them (it may have other weights).
    elsewhere = Counting(net)
    before = len(calls)
    Objective(elsewhere, photo, [painting], **OPTIONS)
    assert len(calls) == before + 2
    assert len(objective._GRAMS[counting]) == 2


def test_the_histogram_grid_keeps_at_most_its_positions():
    from impasto.objective import HISTOGRAM_POSITIONS, HISTOGRAM_STRIDE, histogram_stride

    assert histogram_stride(64, 64) == HISTOGRAM_STRIDE == 2
    for h, w in ((384, 512), (1000, 1500), (4096, 4096)):
        s = histogram_stride(h, w)
        assert -(-h // s) * -(-w // s) <= 1.1 * HISTOGRAM_POSITIONS
        assert s == 2 or -(-h // (s - 1)) * -(-w // (s - 1)) > HISTOGRAM_POSITIONS
