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


class _ReluMaxPool(torch.autograd.Function):
    """ReLU then 2x2 max pooling, keeping only a 2-bit position per output for backward.

    Why: in VGG-19 each block's last ReLU output (relu1_2, relu2_2, ...) is used by
    nothing but the pool after it, yet the separate layers keep it (full size) plus
    torch's int64 pool indices until the backward pass: 129 MB at 512x384, held at the
    moment a run's memory peaks. ReLU and max commute (max of relu = relu of max), so
    pooling the convolution's output first and applying the ReLU to the 4x smaller
    result gives the same values; the gradient goes to each window's maximum where
    that maximum is positive, as through the two layers. Saved: a uint8 window
    position and the pooled output (which the next convolution keeps anyway).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = F.max_pool2d(x, 2, 2)
        h, w = y.shape[-2:]
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        layout = torch.channels_last if channels_last else torch.contiguous_format
        # Which of the window's four positions holds its maximum, found by comparing strided
        # views with it (integer arithmetic on torch's int64 indices cost 70 ms a step at
        # 512x384). Filled from the last position to the first, so a tie goes to the first,
        # as in torch's own pooling; the last is what is left when none of the others is.
        where = torch.full_like(y, 3, dtype=torch.uint8, memory_format=layout)
        for k in (2, 1, 0):
            dy, dx = divmod(k, 2)
            where.masked_fill_(x[..., dy : 2 * h : 2, dx : 2 * w : 2] == y, k)
        y = y.relu_()
        ctx.save_for_backward(where, y)
        ctx.input_shape = x.shape
        ctx.channels_last = channels_last
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        where, y = ctx.saved_tensors
        n, c, h, w = y.shape
        grad = grad * (y > 0)  # the ReLU's gradient, at the maximum
        layout = torch.channels_last if ctx.channels_last else torch.contiguous_format
        inner = torch.empty((n, c, 2 * h, 2 * w), dtype=grad.dtype, device=grad.device, memory_format=layout)
        # Windows as their own axes, a free view in either layout: (n, c, h, 2, w, 2) for
        # NCHW maps, (n, h, 2, w, 2, c) for channels_last ones.
        if ctx.channels_last:
            windows = inner.permute(0, 2, 3, 1).view(n, h, 2, w, 2, c)
            g, at = grad.permute(0, 2, 3, 1), where.permute(0, 2, 3, 1)
            for k in range(4):
                windows[:, :, k // 2, :, k % 2, :] = g * (at == k)
        else:
            windows = inner.view(n, c, h, 2, w, 2)
            for k in range(4):
                windows[:, :, :, k // 2, :, k % 2] = grad * (where == k)
        if inner.shape == ctx.input_shape:
            return inner
        # Odd sizes: the last row/column is outside every window (floor mode) and gets nothing.
        out = torch.zeros(ctx.input_shape, dtype=grad.dtype, device=grad.device).contiguous(memory_format=layout)
        out[..., : 2 * h, : 2 * w] = inner
        return out


def relu_max_pool(x: torch.Tensor) -> torch.Tensor:
    """``max_pool2d(relu(x), 2)`` keeping little for backward (see :class:`_ReluMaxPool`)."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _ReluMaxPool.apply(x)
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
        self._fusable = [pooling == "max" and name.startswith("relu") and i + 1 < len(self.names)
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

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}
        x = self.preprocess(image)
        relu_pending = False
        for i, (name, layer) in enumerate(zip(self.names, self.layers)):
            if relu_pending:  # this is the max pool after a ReLU left for it
                x, relu_pending = relu_max_pool(x), False
            elif self._fusable[i] and name not in wanted:
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
