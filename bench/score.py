"""A fixed scorer: impasto's own default objective without its smoothness term.

score = content error + 10 x style error, where (at 512 px on the long side,
Caffe VGG-19, max pooling, fp32 whatever the run used):
* content error = ||F - F_photo||^2 / ||F_photo||^2 at relu4_2,
* style error = mean over relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of
  ||G - G_painting||^2 / ||G_painting||^2, with G = F F^T / (H W).
Lower is better. Both terms are relative errors, so scores of different
paintings are comparable.

What it is not: independent of impasto. These are exactly the layers, the
network, the relative (target-normalised) errors and the content/style weights
(1 and 10) that impasto's default run minimises; only the total-variation term
is left out. It is fixed (it does not change when impasto's options do), so it
compares runs and tools fairly on *this* objective, but impasto is graded on
the quantity it optimises, while pastiche optimises a differently weighted sum
of the same Gram and content terms (absolute, not relative, errors). For
measures that use no network at all, see bench/measures.py (palette and texture).
"""

from __future__ import annotations

import torch
from PIL import Image

from impasto import features, image as im, losses

CONTENT = "relu4_2"
STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_FACTOR = 10.0
SIZE = 512


class Scorer:
    def __init__(self, photo: str, painting: str, size: int = SIZE) -> None:
        self.size = size
        self.net = features.build("vgg19-caffe", (CONTENT,) + STYLE)
        photo_t = im.to_tensor(im.load(photo).rgb)
        self.hw = im.fit_size(photo_t.shape[-1], photo_t.shape[-2], size)
        paint_t = im.to_tensor(im.load(painting).rgb)
        paint_t = im.resize(paint_t, im.fit_size(paint_t.shape[-1], paint_t.shape[-2], size))
        with torch.inference_mode():
            self.content = self.net(im.resize(photo_t, self.hw), [CONTENT])[CONTENT].clone()
            feats = self.net(paint_t, STYLE)
            self.grams = {k: losses.gram(feats[k]).clone() for k in STYLE}

    def parts(self, picture: str | Image.Image) -> tuple[float, float]:
        img = im.load(picture).rgb if not isinstance(picture, Image.Image) else picture
        x = im.resize(im.to_tensor(img.convert("RGB")), self.hw)
        with torch.inference_mode():
            feats = self.net(x, (CONTENT,) + STYLE)
            c = float(losses.mse(feats[CONTENT], self.content) / self.content.pow(2).mean())
            s = sum(float(losses.mse(losses.gram(feats[k]), g) / g.pow(2).mean())
                    for k, g in self.grams.items()) / len(STYLE)
        return c, s

    def score(self, picture) -> float:
        c, s = self.parts(picture)
        return c + STYLE_FACTOR * s
