"""VGG-19 as a feature extractor with named layers.

Callers hand it images in the package convention (float32 NCHW RGB in
[0, 1]); the conversion to the network's own colour space (channel order,
scale, mean, std) happens here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import weights as W
from .errors import InputError

_CHANNELS = (64, 128, 256, 512, 512)  # output channels of each VGG block


class _MaxPoolRelu(torch.autograd.Function):
    """2x2 max pooling then ReLU, keeping for backward only the pooled output and torch's indices.

    Why: in VGG-19 each block's last ReLU output (relu1_2, relu2_2, ...) feeds nothing
    but the pool after it, yet as separate layers the ReLU and the pool both keep that
    full-size map for backward, and the pool its int64 indices: 141 MB at 512x384, held
    when a run's memory peaks; 24 MB (int32 indices) here. ReLU and max commute (max of
    relu = relu of max), so pooling the convolution's output and applying the ReLU to
    the 4x smaller result gives the same values; the gradient goes to each window's
    maximum where that maximum is positive, as through the two layers. Pooling and
    unpooling are torch's own kernels, so nothing is slower: the ReLU and its gradient
    even run on a quarter of the values. (A first fold that kept a uint8 window position
    instead of the indices saved 18 MB more but its own passes made a 512 px step 6-15%
    slower.)
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y, indices = F.max_pool2d(x, 2, 2, return_indices=True)
        y = y.relu_()
        # Positions within a map fit in int32 (2^31 positions: 46k px square): half the bytes.
        ctx.save_for_backward(y, indices.to(torch.int32) if x.shape[-2] * x.shape[-1] < 2**31 else indices)
        ctx.shape = x.shape
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        ctx.layout = torch.channels_last if channels_last else torch.contiguous_format
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        y, indices = ctx.saved_tensors
        grad = grad * (y > 0)  # the ReLU's gradient, at each window's maximum
        # torch's unpooling reads only the indices and the input's size and layout; an
        # uninitialised stand-in for the input is never written, so it costs no memory.
        stand_in = torch.empty(ctx.shape, dtype=grad.dtype, device=grad.device, memory_format=ctx.layout)
        return torch.ops.aten.max_pool2d_with_indices_backward(
            grad, stand_in, [2, 2], [2, 2], [0, 0], [1, 1], False, indices.long())


def max_pool_relu(x: torch.Tensor) -> torch.Tensor:
    """``relu(max_pool2d(x, 2))`` (= ``max_pool2d(relu(x), 2)``), keeping little for backward."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _MaxPoolRelu.apply(x)
    return F.max_pool2d(x, 2, 2).relu_()


class VGGFeatures(nn.Module):
    scale: torch.Tensor  # buffers, registered in __init__
    shift: torch.Tensor
    """VGG-19 cut after the deepest layer a run needs, with frozen parameters.

    ``forward(image, layers)`` returns ``{layer name: feature map}``.
    """

    def __init__(
        self,
        params: W.ConvParams,
        convention: W.InputConvention,
        layers: Iterable[str],
        pooling: str = "max",
    ) -> None:
        super().__init__()
        layers = tuple(layers)
        unknown = [name for name in layers if name not in W.LAYER_NAMES]
        if unknown:
            raise InputError(f"unknown VGG-19 layer(s) {unknown}; known: {', '.join(W.LAYER_NAMES)}")
        if pooling not in ("max", "avg"):
            raise InputError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        deepest = max(W.LAYER_NAMES.index(name) for name in layers)
        self.names: tuple[str, ...] = W.LAYER_NAMES[: deepest + 1]
        self.layers = nn.ModuleList(self._make(name, params, pooling) for name in self.names)
        # ReLUs directly followed by a max pool (each block's last), which forward() folds into it.
        self._foldable = [pooling == "max" and name.startswith("relu") and i + 1 < len(self.names)
                          and self.names[i + 1].startswith("pool") for i, name in enumerate(self.names)]
        # The affine part of the input convention, as buffers so .to(device) moves them.
        mean = torch.tensor(convention.mean).view(1, 3, 1, 1)
        std = torch.tensor(convention.std).view(1, 3, 1, 1)
        self.register_buffer("scale", convention.scale / std)
        self.register_buffer("shift", mean / std)
        self.bgr = convention.bgr
        self.requires_grad_(False)  # weights are never optimised: backward computes only d/dimage
        self.eval()

    @staticmethod
    def _make(name: str, params: W.ConvParams, pooling: str) -> nn.Module:
        if name.startswith("relu"):
            return nn.ReLU(inplace=True)  # conv backward needs only its input, so overwrite its output
        if name.startswith("pool"):
            return nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
        block = int(name[4])
        weight, bias = params[name]
        out_ch = _CHANNELS[block - 1]
        in_ch = 3 if name == "conv1_1" else (out_ch if name[6] != "1" else _CHANNELS[block - 2])
        if tuple(weight.shape) != (out_ch, in_ch, 3, 3) or tuple(bias.shape) != (out_ch,):
            raise InputError(
                f"weights for {name} have shape {tuple(weight.shape)}, "
                f"expected {(out_ch, in_ch, 3, 3)}: not a VGG-19"
            )
        conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(weight)
            assert conv.bias is not None
            conv.bias.copy_(bias)
        return conv

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> the network's input space."""
        if self.bgr:
            image = image.flip(1)
        return image * self.scale - self.shift

    def relu1_1_grid(self, image: torch.Tensor, stride: int) -> torch.Tensor:
        """relu1_1 at every ``stride``-th row and column from the first: forward's values there.

        One strided convolution of the pixels, without the full-size map: cheap, and
        it needs no tiling on any picture (the histogram term, objective.py, uses it).
        """
        conv = self.layers[0]
        assert isinstance(conv, nn.Conv2d) and self.names[:2] == ("conv1_1", "relu1_1")
        # In place: the convolution's backward needs its input, not its output.
        return F.conv2d(self.preprocess(image), conv.weight, conv.bias, stride=stride, padding=1).relu_()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}
        x = self.preprocess(image)
        relu_pending = False
        for i, (name, layer) in enumerate(zip(self.names, self.layers)):
            if relu_pending:  # this is the max pool after a ReLU left for it
                x, relu_pending = max_pool_relu(x), False
            elif self._foldable[i] and name not in wanted:
                relu_pending = True  # nobody needs this ReLU's full-size output: pool first
                continue
            else:
                x = layer(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break  # nothing deeper is needed for this call
        missing = wanted - out.keys()
        if missing:
            raise InputError(f"layer(s) {sorted(missing)} are beyond this extractor's cut")
        return out


def build(
    weights: str | W.WeightsInfo, layers: Iterable[str], pooling: str = "max"
) -> VGGFeatures:
    """Load ``weights`` and build an extractor cut after the deepest of ``layers``."""
    layers = tuple(layers)
    info = weights if isinstance(weights, W.WeightsInfo) else W.resolve(weights)
    known = [name for name in layers if name in W.LAYER_NAMES]
    deepest = max(known, key=W.LAYER_NAMES.index) if known else "conv1_1"
    deepest_conv = max(
        (c for c in W.CONV_NAMES if W.LAYER_NAMES.index(c) <= W.LAYER_NAMES.index(deepest)),
        key=W.CONV_NAMES.index,
    )
    return VGGFeatures(W.load(info, upto=deepest_conv), info.convention, layers, pooling)
