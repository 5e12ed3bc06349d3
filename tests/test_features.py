import copy

import pytest
import torch

from impasto import features, weights as W
from impasto.errors import InputError


def test_layer_names_follow_vgg19():
    names = W.LAYER_NAMES
    assert names.index("relu1_1") == 1 and names.index("pool1") == 4
    assert names.count("pool3") == 1 and "relu5_4" in names
    assert len([n for n in names if n.startswith("conv")]) == 16


def test_cut_after_deepest_layer_needed():
    net = features.build("vgg19-caffe", ["relu1_1", "relu3_1"])
    assert net.names[-1] == "relu3_1"
    assert len(net.layers) == W.LAYER_NAMES.index("relu3_1") + 1


def test_outputs_have_expected_shapes(net):
    x = torch.rand(1, 3, 64, 48)
    out = net(x, ["relu1_1", "relu4_2", "relu5_1"])
    assert out["relu1_1"].shape == (1, 64, 64, 48)
    assert out["relu4_2"].shape == (1, 512, 8, 6)
    assert out["relu5_1"].shape == (1, 512, 4, 3)
    assert (out["relu1_1"] >= 0).all()


def test_parameters_are_frozen_and_only_the_image_gets_a_gradient(net):
    assert all(not p.requires_grad for p in net.parameters())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(x, ["relu4_2"])["relu4_2"].pow(2).mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_colour_conversion_to_caffe_space(net):
    x = torch.zeros(1, 3, 2, 2)
    x[:, 0] = 1.0  # pure red
    y = net.preprocess(x)
    # Caffe wants BGR, 0-255, mean subtracted: red ends up in the last channel.
    assert torch.allclose(y[0, :, 0, 0], torch.tensor([-103.939, -116.779, 255 - 123.68]), atol=1e-3)


def test_real_weights_respond_to_structure(net):
    # A flat image and a textured one must give clearly different deep features.
    flat = torch.full((1, 3, 64, 64), 0.5)
    textured = flat + 0.3 * torch.sign(torch.sin(torch.arange(64.0) / 2)).view(1, 1, 1, 64)
    a = net(flat, ["relu3_1"])["relu3_1"]
    b = net(textured.clamp(0, 1), ["relu3_1"])["relu3_1"]
    assert (a - b).abs().mean() > 0.1 * a.abs().mean()


def test_average_pooling_option():
    net = features.build("vgg19-caffe", ["relu2_1"], pooling="avg")
    assert isinstance(net.layers[W.LAYER_NAMES.index("pool1")], torch.nn.AvgPool2d)


def test_bad_layer_and_pooling_are_refused():
    with pytest.raises(InputError, match="unknown VGG-19 layer"):
        features.build("vgg19-caffe", ["relu9_9"])
    with pytest.raises(InputError, match="pooling"):
        features.build("vgg19-caffe", ["relu1_1"], pooling="median")


def test_deeper_layer_than_cut_is_an_error():
    net = features.build("vgg19-caffe", ["relu1_1"])
    with pytest.raises(InputError, match="beyond"):
        net(torch.rand(1, 3, 16, 16), ["relu2_1"])


def _unfused(net, image, layers):
    """The same network run layer by layer, as torch's own ReLU and MaxPool2d."""
    x, out = net.preprocess(image), {}
    for name, layer in zip(net.names, net.layers):
        x = torch.nn.functional.max_pool2d(x, 2, 2) if name.startswith("pool") else layer(x)
        if name in layers:
            out[name] = x
    return out


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("size", [(32, 48), (34, 42)])  # the second has odd sizes after two pools
def test_relu_folded_into_the_max_pool_gives_the_layers_values_and_gradient(net, channels_last, size, bf16):
    # The ReLU before each pool is applied after pooling: the features and the
    # image's gradient must be those of the two layers.
    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_2")
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, *size, generator=gen)
    weight = {k: torch.randn(1, generator=gen) for k in layers}
    model = copy.deepcopy(net).to(memory_format=torch.channels_last) if channels_last else net
    grads, feats = [], []
    for run in (model, lambda x, ls: _unfused(model, x, ls)):
        x = image.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # emulated on AVX2 CPUs
            f = run(x, layers)
        sum(weight[k] * f[k].float().pow(2).mean() for k in layers).backward()
        grads.append(x.grad)
        feats.append(f)
    tol = dict(rtol=2e-2, atol=1e-2) if bf16 else dict(rtol=1e-5, atol=1e-5)
    for k in layers:
        assert feats[0][k].dtype == feats[1][k].dtype
        torch.testing.assert_close(feats[0][k], feats[1][k], **tol)
    # Same values, same pooling indices: the gradients agree up to summation order.
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-9)
    assert grads[0].abs().sum() > 0


def test_a_relu_asked_for_is_not_folded(net):
    # relu1_2 feeds only the pool, unless a caller asks for it: then it is the ReLU's own output.
    x = torch.rand(1, 3, 32, 32)
    out = net(x, ["relu1_2", "pool1"])
    ref = _unfused(net, x, ["relu1_2", "pool1"])
    assert out["relu1_2"].shape == (1, 64, 32, 32) and (out["relu1_2"] >= 0).all()
    torch.testing.assert_close(out["relu1_2"], ref["relu1_2"])
    torch.testing.assert_close(out["pool1"], ref["pool1"])


def test_folded_pool_keeps_no_full_size_tensor_for_backward():
    # What the fold saves for backward: the pooled output and torch's indices, both pooled-size.
    x = torch.rand(1, 4, 8, 8, requires_grad=True)
    y = features.max_pool_relu(x * 1.0)
    saved = y.grad_fn.saved_tensors
    assert {t.dtype for t in saved} == {torch.int32, torch.float32}
    assert all(t.shape == (1, 4, 4, 4) for t in saved)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_relu1_1_grid_is_forwards_relu1_1_at_every_strideth_position(net, stride):
    x = torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(4))
    full = net(x, ["relu1_1"])["relu1_1"]
    grid = net.relu1_1_grid(x, stride)
    assert grid.shape[-2:] == full[..., ::stride, ::stride].shape[-2:]
    torch.testing.assert_close(grid, full[..., ::stride, ::stride])
