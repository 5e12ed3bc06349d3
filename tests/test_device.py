import pytest
import torch

from impasto import device
from impasto.errors import InputError


def test_auto_picks_an_available_device():
    d = device.pick("auto")
    assert d.type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        assert d.type != "cuda"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(InputError, match="no CUDA GPU"):
        device.pick("cuda")


def test_precision_choice():
    cpu = torch.device("cpu")
    assert device.use_bf16("fp32", cpu) is False
    assert device.use_bf16("bf16", cpu) is True
    assert device.use_bf16("auto", cpu) is device.cpu_has_fast_bf16()


def test_bf16_gradient_points_the_same_way_as_fp32(net, photo, painting):
    """bf16 autocast changes the arithmetic, not the direction of descent.

    (End-to-end, bf16 pictures score within 2% of fp32 ones: bench/RESULTS.md.
    One evaluation here: bf16 is emulated, and slow, on CPUs without AVX512-BF16.)
    """
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
