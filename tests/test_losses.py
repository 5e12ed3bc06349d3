import pytest
import torch

from impasto import losses


def test_gram_by_hand():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # C=2, H=1, W=2
    g = losses.gram(f)
    # rows (1,2) and (3,4): [[1+4, 3+8], [3+8, 9+16]] / (H*W = 2)
    assert torch.allclose(g, torch.tensor([[[2.5, 5.5], [5.5, 12.5]]]))


def test_gram_is_independent_of_size_for_repeated_texture():
    tile = torch.rand(1, 4, 3, 3)
    big = tile.repeat(1, 1, 4, 4)
    assert torch.allclose(losses.gram(tile), losses.gram(big), atol=1e-6)


def test_gram_ignores_position():
    f = torch.rand(1, 3, 4, 4)
    shuffled = f.flatten(2)[:, :, torch.randperm(16)].view(1, 3, 4, 4)
    assert torch.allclose(losses.gram(f), losses.gram(shuffled), atol=1e-6)


def test_masked_gram_sees_only_the_mask():
    f = torch.zeros(1, 1, 1, 4)
    f[..., :2] = 2.0  # left half 2, right half 0
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4)
    assert torch.allclose(losses.gram(f, mask), torch.tensor([[[4.0]]]))
    assert torch.allclose(losses.gram(f), torch.tensor([[[2.0]]]))


def test_content_loss_is_weighted_mse():
    a = {"x": torch.tensor([1.0, 2.0, 3.0])}
    b = {"x": torch.tensor([1.0, 0.0, 0.0])}
    # squared errors 0, 4, 9 -> mean 13/3, times weight 3
    assert torch.isclose(losses.content_loss(a, b, {"x": 3.0}), torch.tensor(13.0))


def test_style_loss_sums_layers_with_weights():
    g = {"a": torch.ones(1, 2, 2), "b": torch.zeros(1, 2, 2)}
    t = {"a": torch.zeros(1, 2, 2), "b": torch.full((1, 2, 2), 2.0)}
    value = losses.style_loss(g, t, {"a": 1.0, "b": 0.5})
    assert torch.isclose(value, torch.tensor(1.0 * 1.0 + 0.5 * 4.0))


def test_total_variation_by_hand():
    img = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    # horizontal diffs: 1, 1 -> mean 1; vertical diffs: 0, 0 -> mean 0
    assert torch.isclose(losses.total_variation(img), torch.tensor(1.0))
    assert losses.total_variation(torch.ones(1, 3, 5, 5)) == 0


def test_normalizers_make_a_relative_error():
    targets = {"x": torch.full((1, 2, 2), 10.0), "y": torch.full((1, 2, 2), 0.1)}
    w = losses.normalizers(targets, {"x": 1.0, "y": 1.0})
    zeros = {k: torch.zeros_like(v) for k, v in targets.items()}
    # An all-zero output is off by exactly 1 per layer, whatever the targets' scale.
    value = losses.style_loss(zeros, targets, w)
    assert torch.isclose(value, torch.tensor(2.0))


def test_blend_is_a_weighted_average():
    a, b = {"x": torch.zeros(2)}, {"x": torch.ones(2)}
    out = losses.blend([a, b], [3.0, 1.0])
    assert torch.allclose(out["x"], torch.full((2,), 0.25))


def test_sliced_wasserstein_is_zero_at_the_target_whatever_the_order():
    dirs = losses.directions(16)
    a = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    shuffled = a.reshape(1, 3, -1)[..., torch.randperm(64)].reshape(1, 3, 8, 8)
    target = losses.sorted_projections(shuffled, dirs)
    assert float(losses.sliced_wasserstein(a, target, dirs)) < 1e-10
    # A painting of another size is resampled to the picture's pixel count.
    big = torch.nn.functional.interpolate(a, scale_factor=2, mode="nearest")
    assert float(losses.sliced_wasserstein(a, losses.sorted_projections(big, dirs, 64), dirs)) < 1e-3
    assert torch.allclose(losses.directions(16), dirs) and torch.allclose(dirs.norm(dim=0), torch.ones(16))


def test_sliced_wasserstein_pulls_colours_towards_the_target():
    dirs = losses.directions(16)
    dark = torch.full((1, 3, 6, 6), 0.2, requires_grad=True)
    bright = torch.full((1, 3, 6, 6), 0.8)
    loss = losses.sliced_wasserstein(dark, losses.sorted_projections(bright, dirs), dirs)
    assert float(loss.detach()) > 0
    loss.backward()
    assert dark.grad is not None and bool((dark.grad < 0).all())  # descent makes every pixel brighter


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_gradient_is_that_of_the_plain_product(channels_last, masked):
    # gram_sum's one-product backward, M X (G + G^T), must give autograd's gradient of
    # X^T M X for any upstream gradient, symmetric or not, in either layout, with or
    # without a mask's position weights M.
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(2, 5, 6, 7, generator=gen)
    if channels_last:
        f = f.contiguous(memory_format=torch.channels_last)
    mask = torch.rand(2, 1, 6, 7, generator=gen) if masked else None
    weights = torch.ones(2, 1, 42) if mask is None else mask.reshape(2, 1, 42)
    upstream = torch.randn(2, 5, 5, generator=gen)
    grads = []
    def plain(x):
        return torch.bmm(x.reshape(2, 5, 42) * weights, x.reshape(2, 5, 42).transpose(1, 2))

    for product in (lambda x: losses.gram_sum(x, mask)[0], plain):
        x = f.clone().requires_grad_(True)
        g = product(x)
        (g * upstream).sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(losses.gram_sum(f, mask)[0], plain(f))
    torch.testing.assert_close(grads[0], grads[1])


def test_histogram_loss_is_zero_for_any_arrangement_of_the_targets_values():
    gen = torch.Generator().manual_seed(2)
    painting = torch.rand(1, 40, 8, 8, generator=gen) ** 3  # skewed, unlike the picture; several chunks
    target = losses.sorted_channels(painting)
    shuffled = painting.reshape(1, 40, -1)[..., torch.randperm(64, generator=gen)].reshape(1, 40, 8, 8)
    value, grad = losses.histogram_gradient(shuffled, target)
    # Zero up to the ranking's bfloat16 resolution: values within 1/256 of each other share their ranks' mean.
    assert float(value) < 2.0**-16 * float(painting.pow(2).mean()) and float(grad.abs().max()) < 1e-5
    value, grad = losses.histogram_gradient(torch.rand(1, 40, 8, 8, generator=gen), target)
    assert float(value) > 1e-3 and bool((grad[:, 30:] != 0).any())  # the last chunk too


def test_histogram_gradient_moves_each_value_towards_the_target_value_of_its_rank():
    picture = torch.stack([torch.arange(6.0).reshape(2, 3).flip(-1), torch.zeros(2, 3)])[None]  # ranks 2 1 0 / 5 4 3
    painting = torch.stack([10.0 * torch.arange(6.0).reshape(2, 3), torch.ones(2, 3)])[None]  # 0 10 20 30 40 50
    value, grad = losses.histogram_gradient(picture, losses.sorted_channels(painting))
    matched = torch.stack([torch.tensor([[20.0, 10.0, 0.0], [50.0, 40.0, 30.0]]), torch.ones(2, 3)])[None]
    # The loss is the mean squared distance to the matched map; the gradient that of it.
    x = picture.clone().requires_grad_(True)
    reference = (x - matched).pow(2).mean()
    reference.backward()
    torch.testing.assert_close(value, reference.detach())
    assert x.grad is not None
    torch.testing.assert_close(grad, x.grad)
    assert bool((grad[0, 0] * (picture[0, 0] - matched[0, 0]) >= 0).all())  # descent moves each towards its match


def test_histogram_ties_share_the_mean_of_their_ranks_targets():
    # A ReLU map is half zeros: they hold the lowest ranks together, so each is matched to the
    # mean of those ranks' targets (not to one of them in an arbitrary order); values apart
    # keep their own rank's target.
    picture = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 2.0]).view(1, 1, 2, 3)
    painting = 10.0 * torch.arange(6.0).view(1, 1, 2, 3)  # 0 10 20 30 40 50
    value, grad = losses.histogram_gradient(picture, losses.sorted_channels(painting))
    matched = torch.tensor([15.0, 15.0, 15.0, 15.0, 40.0, 50.0]).view(1, 1, 2, 3)
    torch.testing.assert_close(value, (picture - matched).pow(2).mean())
    torch.testing.assert_close(grad, 2 * (picture - matched) / 6)


def test_histogram_gradient_is_the_sorted_matchings_up_to_bfloat16_ranks():
    # Counting keys instead of sorting: on a map with few exact ties, the gradient is the
    # rank-by-rank matching's (by a sort) to within the ranking's 1/256 resolution. In the
    # network's channels_last layout, where a channel's values are strided.
    gen = torch.Generator().manual_seed(4)
    picture = (torch.rand(1, 20, 30, 40, generator=gen) ** 2).contiguous(memory_format=torch.channels_last)
    target = losses.sorted_channels(torch.rand(1, 20, 25, 25, generator=gen) * 3)
    _, grad = losses.histogram_gradient(picture, target)
    flat = picture.reshape(20, -1)
    wanted = losses.quantiles(target, flat.shape[1])
    matched = torch.empty_like(flat).scatter_(1, torch.argsort(flat, dim=1), wanted)
    exact = (2 * (flat - matched) / flat.numel()).reshape(picture.shape)
    assert float((grad - exact).norm() / exact.norm()) < 0.01
    assert float(torch.nn.functional.cosine_similarity(grad.flatten(), exact.flatten(), dim=0)) > 0.9999


def test_histogram_matches_group_means_exactly_on_large_activations_and_sums_off_apples_gpu():
    # Each group's target is a difference of two running sums over all ranks. Activations of
    # ~1000 over 60k positions make those sums ~6e7, where a float32 running sum (a GPU's
    # cumsum accumulates in float32; the CPU's in double, so this CPU test cannot tell) is off
    # by ~4: the matched values must be the groups' exact means. Apple's MPS has no float64,
    # so there the sums are taken on the CPU (no Mac here to run that path).
    gen = torch.Generator().manual_seed(5)
    picture = 1000 + 50 * torch.rand(1, 1, 200, 300, generator=gen)
    target = torch.sort(1000 + 50 * torch.rand(1, 60000, generator=gen, dtype=torch.float64), dim=1).values
    _, grad = losses.histogram_gradient(picture, target.float())
    flat = picture.reshape(1, -1)
    got = flat - grad.reshape(1, -1) * flat.numel() / 2  # the matched values the gradient moves towards
    keys = losses.rank_keys(flat)[0]
    order = torch.argsort(keys, stable=True)
    _, sizes = torch.unique_consecutive(keys[order], return_counts=True)
    wanted = target[0]  # as many quantiles as positions: resampling keeps them (to fp32)
    means = torch.cat([part.mean().view(1) for part in torch.split(wanted.float().double(), sizes.tolist())])
    exact = torch.empty(flat.shape[1], dtype=torch.float64)
    exact[order] = torch.repeat_interleave(means, sizes)
    assert float((got[0].double() - exact).abs().max()) < 2e-3
    assert losses.running_sum_device(torch.device("mps")) == torch.device("cpu")
    assert losses.running_sum_device(torch.device("cpu")) == torch.device("cpu")
    assert losses.running_sum_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


def test_quantiles_keep_a_distribution_when_resampled():
    rows = torch.sort(torch.rand(3, 1000, generator=torch.Generator().manual_seed(3)), dim=1).values
    assert losses.quantiles(rows, 1000) is rows
    fewer = losses.quantiles(rows, 100)
    assert fewer.shape == (3, 100) and bool((fewer.diff(dim=1) >= 0).all())
    torch.testing.assert_close(fewer.mean(dim=1), rows.mean(dim=1), atol=2e-3, rtol=0)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gram_keeps_its_map_for_the_backward_at_the_maps_precision(dtype, masked):
    # Under bf16 autocast the style maps are bf16; the Gram is accumulated in fp32, but an
    # fp32 copy of each map kept for the backward was ~40% of a bf16 pass's saved tensors.
    # A masked Gram (--mask runs) keeps the map, the mask's weights and their sum, nothing more.
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(1, 8, 12, 10, generator=gen).to(dtype).contiguous(memory_format=torch.channels_last)
    mask = torch.rand(1, 1, 12, 10, generator=gen) if masked else None
    weights = torch.ones(1, 1, 120) if mask is None else mask.reshape(1, 1, 120)
    x = f.clone().requires_grad_(True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        g = losses.gram(x, mask)
    assert g.dtype == torch.float32
    allowed = f.numel() * f.element_size() + (0 if mask is None else (mask.numel() + 1) * 4)
    assert saved and sum(t.numel() * t.element_size() for t in saved) <= allowed
    upstream = torch.randn(1, 8, 8, generator=gen)
    (g * upstream).sum().backward()
    wide = f.float().requires_grad_(True)  # the same statistic, by plain autograd in fp32
    plain = torch.bmm(wide.reshape(1, 8, 120) * weights, wide.reshape(1, 8, 120).transpose(1, 2)) / weights.sum()
    (plain * upstream).sum().backward()
    torch.testing.assert_close(g, plain.detach())
    assert x.grad is not None and x.grad.dtype == dtype
    if dtype == torch.float32:
        torch.testing.assert_close(x.grad, wide.grad)
    else:  # the product in bf16 (fp32 sums): off by about bf16's resolution of the gradient's scale
        scale = float(wide.grad.abs().max())
        torch.testing.assert_close(x.grad.float(), wide.grad, atol=2**-7 * scale, rtol=2**-7)


def test_quantiles_sit_at_the_centres_of_equal_bins_clamped_at_the_ends():
    # Position i of n stands for the quantile (i + 0.5) / n; a row of m values has its value j
    # at (j + 0.5) / m, linearly between, and its end values beyond the first and last centre.
    row = torch.tensor([[0.0, 10.0]])
    torch.testing.assert_close(losses.quantiles(row, 4), torch.tensor([[0.0, 2.5, 7.5, 10.0]]))
    row = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    torch.testing.assert_close(losses.quantiles(row, 3), torch.tensor([[0.5, 2.5, 4.5]]))


def test_rank_keys_follow_the_values_order_negative_and_positive():
    # The histogram term ranks by these keys: they must rise with the value across signs
    # (a bfloat16's bits read as an integer run backwards for negative values).
    values = torch.tensor([-float("inf"), -300.0, -2.0, -1.0, -1e-3, -0.0, 0.0, 1e-3, 1.0, 1.01, 2.0, 300.0])
    keys = losses.rank_keys(values)
    assert bool((keys[1:] >= keys[:-1]).all()), keys
    assert bool((keys[1:5] > keys[:4]).all()) and bool((keys[7:] > keys[6:-1]).all())  # apart -> different keys
    close = losses.rank_keys(torch.tensor([1.0, 1.001]))
    assert close[0] == close[1]  # within bfloat16's 1/256: one key


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("masked", [False, True])
def test_a_bf16_maps_gram_is_summed_in_fp32_block_by_block(monkeypatch, masked, layout):
    # A bf16 map is widened a few positions at a time (no whole fp32 copy); the blocks, the last
    # one short, must add up to the product of the whole map in fp32, for each picture of a batch.
    monkeypatch.setattr(losses, "WIDEN_BLOCK", 2 * 8 * 7)  # 7 positions of 8 channels, 2 pictures
    gen = torch.Generator().manual_seed(1)
    f = (torch.randn(2, 8, 12, 10, generator=gen) * 50).to(torch.bfloat16).contiguous(memory_format=layout)
    mask = torch.rand(2, 1, 12, 10, generator=gen) if masked else None
    weights = torch.ones(2, 120, 1) if mask is None else mask.reshape(2, 120, 1)
    flat = f.float().reshape(2, 8, 120).transpose(1, 2)
    plain = torch.bmm((flat * weights).transpose(1, 2), flat) / weights.sum(dim=1, keepdim=True)
    torch.testing.assert_close(losses.gram(f, mask), plain, rtol=1e-6, atol=1e-3)
