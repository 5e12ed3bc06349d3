"""VGG-19 as a feature extractor with named layers.

Callers hand it images in the package convention (float32 NCHW RGB in
[0, 1]); the conversion to the network's own colour space (channel order,
scale, mean, std) happens here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from . import weights as W
from .errors import InputError

_CHANNELS = (64, 128, 256, 512, 512)  # output channels of each VGG block


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
        for name, layer in zip(self.names, self.layers):
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
