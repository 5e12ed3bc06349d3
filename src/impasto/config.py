"""Every option of a run, once: a typed, frozen dataclass with documented defaults.

The CLI's flags and the web form are generated from these fields through
:func:`option_specs` (type, default, help, choices, bounds), so a new option is
added here and nowhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Optional

from .errors import InputError
from .options import Options, option
from .weights import DEFAULT_WEIGHTS, LAYER_NAMES

OPTIMIZERS = ("lbfgs", "adam")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
POOLINGS = ("max", "avg")
PRESERVE = ("none", "luminance", "histogram")
QUALITIES = ("draft", "standard", "high")

MIN_SIZE, MAX_SIZE = 16, 8192
#: The default palette weight. At 128 px, 30 steps (AVX2, issue 14): The Scream palette ratio
#: 0.36 / 0.27 / 0.16 and score 1.53 / 1.47 / 1.41 at weights 0 / 1 / 3; Shipwreck 0.47 / 0.26 / 0.12,
#: score 1.17 / 1.06 / 1.04; content error within 3%. By eye 3 carries the palette without artefacts.
PALETTE_WEIGHT = 3.0
#: The histogram weight that carries the painting's brushwork (issue 14; 512 px, standard, AVX2,
#: bench/RESULTS.md): texture ratio The Scream 1.09 -> 0.97 / 0.92 / 0.97 at weights 10 / 20 / 50,
#: score 0.839 -> 0.860 / 0.846 / 0.881; at 20 (bench/strength.py) Shipwreck 1.19 -> 0.93, Starry
#: Night 0.50 -> 0.47, Composition VII 0.47 -> 0.37, The Scream 0.88; scores -2% to +4%, ~10% more
#: time; peak memory 908-932 MiB with heap.py's tuning (1013-1064 without it).
HISTOGRAM_WEIGHT = 20.0
STYLE_SCALE_BOUNDS = (0.05, 8.0)
#: The start images named by a word; any other ``init`` is a path to a picture.
INIT_CONTENT, INIT_NOISE = "content", "noise"
INIT_KEYWORDS = (INIT_CONTENT, INIT_NOISE)


@dataclass(frozen=True)
class StyleConfig(Options):
    """Options of one style-transfer run. Defaults give a good picture on any painting."""

    size: int = option(512, "long side of the output in px", bounds=(MIN_SIZE, MAX_SIZE))
    steps: Optional[int] = option(
        None, "exact optimisation steps over all scales (default: the quality preset decides; "
        "each preset stops each scale once its loss stops improving)",
    )
    quality: str = option(
        "standard",
        "preset for steps and scales: draft (a preview in seconds), standard, high (for prints)",
        choices=QUALITIES,
    )
    start_size: Optional[int] = option(
        None, "long side of the first, coarsest scale (default: the preset's); equal to --size "
        "for a single scale", bounds=(MIN_SIZE, MAX_SIZE),
    )
    content_weight: float = option(1.0, "weight of the content loss (relative error of relu4_2 features)")
    style_weight: float = option(
        10.0, "weight of the style loss (relative error of the Grams); same meaning for any painting and size"
    )
    tv_weight: float = option(10.0, "weight of the total-variation smoothness prior")
    palette_weight: float = option(
        PALETTE_WEIGHT, "weight of the painting's palette (sliced Wasserstein distance between the "
        "picture's and the painting's pixel colours, relative to the painting's colour spread); "
        "0: colours only through the Grams",
    )
    histogram_weight: float = option(
        HISTOGRAM_WEIGHT, "weight of the painting's brushwork histograms (each relu1_1 channel's "
        "distribution of values, Risser et al. 2017), relative like the Grams; carries more of the "
        "painting's texture for about a tenth more time; 0: texture only through the Grams",
    )
    content_layers: tuple[str, ...] = option(("relu4_2",), "VGG-19 layers for the content", choices=LAYER_NAMES)
    style_layers: tuple[str, ...] = option(
        ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        "VGG-19 layers for the style, shallow to deep",
        choices=LAYER_NAMES,
    )
    layer_weights: tuple[float, ...] = option(
        (), "weight of each style layer (empty: equal); normalised to sum to 1"
    )
    style_weights: tuple[float, ...] = option(
        (), "weight of each painting when several are given (empty: equal)"
    )
    style_scale: float = option(1.0, "size of the painting relative to the output: >1 larger strokes, <1 finer",
                              bounds=STYLE_SCALE_BOUNDS)
    preserve_colors: str = option(
        "none", "keep the photo's colours: luminance (style on brightness only) or histogram "
        "(recolour the painting to the photo's palette first)", choices=PRESERVE,
    )
    tile_size: int = option(
        0, "work on large pictures in tiles of about this many px, with the same loss and gradient "
        "as the whole picture but bounded memory (about 1.5x slower); 0: tiles of 1024 px above "
        "4 megapixels; a size above the picture's turns tiling off",
    )
    optimizer: str = option("lbfgs", "optimiser of the pixels", choices=OPTIMIZERS)
    learning_rate: float = option(0.0, "step size (0: the optimiser's default, 1 for lbfgs, 0.02 for adam)")
    init: str = option(INIT_CONTENT, "start image: content, noise, or a path to an image")
    pooling: str = option("max", "VGG pooling: max, or avg for smoother results", choices=POOLINGS)
    seed: int = option(0, "random seed; the same seed, inputs and device give the same picture on CPU")
    device: str = option("auto", "compute device: auto picks cuda, then mps, then cpu", choices=DEVICES)
    precision: str = option(
        "auto", "arithmetic: auto uses bf16 where the hardware is fast at it, else fp32", choices=PRECISIONS
    )
    weights: str = option(DEFAULT_WEIGHTS, "VGG-19 weights: vgg19-caffe, vgg19-torchvision or a .pth path")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # accept lists, keep the dataclass hashable
                object.__setattr__(self, f.name, tuple(value))
        self._validate()

    def _validate(self) -> None:
        def need(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: {allowed}")

        for name in ("size", "steps", "start_size", "seed", "tile_size"):
            value = getattr(self, name)
            need((value is None and name in ("steps", "start_size"))
                 or (isinstance(value, int) and not isinstance(value, bool)), name, "must be an integer")
        need(MIN_SIZE <= self.size <= MAX_SIZE, "size", f"must be between {MIN_SIZE} and {MAX_SIZE}")
        need(self.steps is None or self.steps >= 1, "steps", "must be at least 1")
        need(self.start_size is None or MIN_SIZE <= self.start_size <= MAX_SIZE, "start_size",
             f"must be between {MIN_SIZE} and {MAX_SIZE}")
        need(self.tile_size == 0 or 64 <= self.tile_size <= MAX_SIZE, "tile_size",
             f"must be 0 (automatic) or between 64 and {MAX_SIZE}")
        for name in ("content_weight", "style_weight", "tv_weight", "palette_weight", "histogram_weight",
                     "learning_rate"):
            value = getattr(self, name)
            need(isinstance(value, (int, float)) and math.isfinite(value) and value >= 0,
                 name, "must be a finite number >= 0")
        low, high = STYLE_SCALE_BOUNDS
        need(isinstance(self.style_scale, (int, float)) and math.isfinite(self.style_scale)
             and low <= self.style_scale <= high, "style_scale", f"must be between {low:g} and {high:g}")
        for name, choices in (("preserve_colors", PRESERVE), ("optimizer", OPTIMIZERS), ("device", DEVICES),
                              ("precision", PRECISIONS), ("pooling", POOLINGS), ("quality", QUALITIES)):
            need(getattr(self, name) in choices, name, f"allowed: {', '.join(choices)}")
        for name in ("content_layers", "style_layers"):
            layers = getattr(self, name)
            need(len(layers) > 0 and all(x in LAYER_NAMES for x in layers), name,
                 "must name VGG-19 layers such as relu1_1 ... relu5_4")
        need(not self.layer_weights or len(self.layer_weights) == len(self.style_layers),
             "layer_weights", "needs one weight per style layer")
        for name in ("layer_weights", "style_weights"):
            values = getattr(self, name)
            need(all(math.isfinite(v) and v >= 0 for v in values) and (not values or sum(values) > 0),
                 name, "must be finite numbers >= 0, not all zero")
        need(self.content_weight + self.style_weight > 0, "style_weight",
             "content_weight and style_weight cannot both be 0")
        need(isinstance(self.init, str) and self.init != "", "init", "content, noise or an image path")

    @property
    def init_path(self) -> str | None:
        """The start picture's path, or None when ``init`` is one of :data:`INIT_KEYWORDS`."""
        return None if self.init in INIT_KEYWORDS else self.init

    def check_counts(self, styles: int, masks: int = 0, masks_named: str = "mask(s)") -> None:
        """One mask per painting (when any are given) and one style weight per painting.

        The one check for every front end; ``masks_named`` is how the caller's user
        names masks (the CLI says ``--mask``). Raises :class:`InputError`.
        """
        if masks and masks != styles:
            raise InputError(f"{masks} {masks_named} for {styles} style(s): give one mask per style")
        if self.style_weights and len(self.style_weights) != styles:
            raise InputError(f"style_weights has {len(self.style_weights)} weight(s) "
                             f"for {styles} painting(s): give one per painting")
