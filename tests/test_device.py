import pytest
import torch

from impasto import device
from impasto.errors import InputError

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture
def no_mps(monkeypatch):
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("cuda, expected", [(True, "cuda"), (False, "cpu")])
def test_auto_prefers_cuda_then_cpu(monkeypatch, no_mps, cuda, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert device.pick("auto").type == expected
    assert device.pick("cpu").type == "cpu"


def test_missing_cuda_or_unknown_device_is_a_clear_error(monkeypatch, no_mps):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="no CUDA GPU"):
        device.pick("cuda")
    with pytest.raises(InputError, match="Metal"):
        device.pick("mps")
    with pytest.raises(InputError, match="unknown device"):
        device.pick("tpu")


def test_bf16_flags_are_read_from_cpuinfo():
    zen4 = "flags : fpu avx2 avx512f avx512_bf16 avx512_vnni"
    sapphire = "flags : fpu avx2 avx512f amx_bf16 amx_tile"
    avx2 = "flags : fpu avx2 fma avx512f"  # AVX-512 without bf16 is not enough
    assert device.bf16_in_cpu_flags(zen4) and device.bf16_in_cpu_flags(sapphire)
    assert not device.bf16_in_cpu_flags(avx2)
    assert not device.bf16_in_cpu_flags("flags : avx512_bf16x")  # whole words only


@pytest.mark.parametrize("vendor, flags, faster", [
    ("AuthenticAMD", "avx2 avx512f avx512_bf16", True),   # Zen 4: bf16 convs ~2x fp32's
    ("GenuineIntel", "avx2 avx512f amx_bf16 amx_tile avx512_bf16", True),  # AMX
    ("GenuineIntel", "avx2 avx512f avx512_bf16 avx512_fp16", False),  # AMX hidden: bf16 ~0.6x fp32
    ("AuthenticAMD", "avx2 avx512f", False),
    ("GenuineIntel", "avx2 fma", False),
])
def test_bf16_counts_as_faster_only_where_its_convolutions_beat_fp32(vendor, flags, faster):
    cpuinfo = f"processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: fpu {flags}\n"
    assert device.bf16_faster_in_cpu(cpuinfo) is faster


def test_the_cpu_is_judged_from_proc_cpuinfo_and_fp32_where_it_cannot_be_read(monkeypatch):
    monkeypatch.undo()  # conftest's stand-in for cpu_has_fast_bf16: here the real one is tested
    texts = {"zen4": "vendor_id\t: AuthenticAMD\nflags\t\t: avx2 avx512f avx512_bf16\n",
             "intel": "vendor_id\t: GenuineIntel\nflags\t\t: avx2 avx512f avx512_bf16\n"}

    class FakePath:
        text = ""

        def __init__(self, path: str) -> None:
            assert path == "/proc/cpuinfo"

        def read_text(self) -> str:
            if not FakePath.text:
                raise OSError("no /proc here")
            return FakePath.text

    monkeypatch.setattr(device, "Path", FakePath)
    judge = device.cpu_has_fast_bf16.__wrapped__  # past the per-process cache
    FakePath.text = texts["zen4"]
    assert judge() is True
    FakePath.text = texts["intel"]
    assert judge() is False
    FakePath.text = ""  # macOS, Windows: no cpuinfo, no claim of bf16
    assert judge() is False


def test_an_explicit_bf16_where_it_is_not_fast_gets_a_warning(monkeypatch):
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: False)
    assert "fp32" in device.bf16_warning("bf16", CPU)
    assert device.bf16_warning("auto", CPU) is None and device.bf16_warning("fp32", CPU) is None
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    assert device.bf16_warning("bf16", CPU) is None
    assert "MPS" in device.bf16_warning("bf16", torch.device("mps"))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (7, 5))
    assert "emulated" in device.bf16_warning("bf16", CUDA)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (8, 0))
    assert device.bf16_warning("bf16", CUDA) is None


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_on_the_cpu_follows_its_bf16_units(monkeypatch, native):
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: native)
    assert device.use_bf16("auto", CPU) is native
    assert device.use_bf16("fp32", CPU) is False
    assert device.use_bf16("bf16", CPU) is True  # asked for: honoured, even where emulated


@pytest.mark.parametrize("capability, expected", [((7, 5), False), ((6, 1), False), ((8, 0), True), ((9, 0), True)])
def test_auto_precision_uses_bf16_only_on_gpus_native_at_it(monkeypatch, capability, expected):
    # torch.cuda.is_bf16_supported() says yes on a Turing card too (emulation): not a reason.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)
    assert device.use_bf16("auto", CUDA) is expected
    assert device.use_bf16("bf16", CUDA) is True
    assert device.use_bf16("fp32", CUDA) is False


def test_auto_precision_on_mps_is_fp32():
    assert device.use_bf16("auto", torch.device("mps")) is False


def test_bf16_gradient_points_the_same_way_as_fp32(net, photo, painting):
    """bf16 autocast changes the arithmetic, not the direction of descent (one evaluation:
    bf16 is emulated, and slow, on CPUs without AVX512-BF16; it runs on every CPU)."""
    from impasto import image as im
    from impasto.objective import Objective

    c, s = im.to_tensor(photo), im.to_tensor(painting)
    grads = {}
    for bf16 in (False, True):
        obj = Objective(net, c, [s], content_layers=["relu4_2"],
                        style_layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
                        layer_weights=[1] * 5, blend=[1], content_weight=1.0, style_weight=10.0,
                        tv_weight=10.0, bf16=bf16)
        x = (0.8 * c + 0.1).requires_grad_(True)
        obj(x).total.backward()
        grads[bf16] = x.grad.flatten()
    cosine = torch.nn.functional.cosine_similarity(grads[False], grads[True], dim=0)
    assert cosine > 0.97
    assert abs(grads[True].norm() / grads[False].norm() - 1) < 0.1
