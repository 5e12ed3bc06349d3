"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in
Neural Style Transfer"): keep the photo's colours, take the painting's strokes.

* ``luminance``: transfer style on luminance only (the painting's luminance
  matched in mean and spread to the photo's), then put the photo's chroma
  back. Strokes come from the painting, every colour from the photo.
* ``histogram``: recolour the painting so its colour mean and covariance equal
  the photo's, then transfer as usual. Colours follow the photo but the
  painting's palette structure survives.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import image as im

# ITU-R BT.601 YIQ: Y is luminance, I and Q carry the colour.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", matrix.to(image), image)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    return _apply(_RGB_TO_YIQ, image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return _apply(_YIQ_TO_RGB, image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y as a 1-channel NCHW tensor."""
    return rgb_to_yiq(image)[:, :1]


def _grey(y: torch.Tensor) -> torch.Tensor:
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's luminance shifted and scaled to the content's mean and std."""
    ys, yc = luminance(style), luminance(content)
    return (ys - ys.mean()) * (yc.std() / ys.std().clamp_min(1e-6)) + yc.mean()


def match_histogram(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Affine recolouring of ``style`` giving it ``content``'s colour mean and covariance.

    Uses symmetric matrix square roots (the 'image analogies' variant Gatys
    et al. recommend), which changes the colours least among such maps.
    """
    def stats(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = img[0].reshape(3, -1).double()
        mu = flat.mean(1, keepdim=True)
        centred = flat - mu
        cov = centred @ centred.T / flat.shape[1] + 1e-5 * torch.eye(3, dtype=flat.dtype)
        return mu, cov

    def sqrtm(m: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh(m)
        vals = vals.clamp_min(1e-10).sqrt()
        return vecs @ torch.diag(1 / vals if inverse else vals) @ vecs.T

    mu_s, cov_s = stats(style)
    mu_c, cov_c = stats(content)
    transform = sqrtm(cov_c) @ sqrtm(cov_s, inverse=True)
    flat = style[0].reshape(3, -1).double()
    out = transform @ (flat - mu_s) + mu_c
    return out.reshape(style.shape).float().clamp(0, 1)


def prepare(mode: str, content: torch.Tensor, styles: Sequence[torch.Tensor]
            ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """What the network should see for ``mode``: (content, styles)."""
    if mode == "luminance":
        return _grey(luminance(content)), [_grey(match_luminance(s, content)) for s in styles]
    if mode == "histogram":
        return content, [match_histogram(s, content) for s in styles]
    return content, list(styles)


def finish(mode: str, result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Undo :func:`prepare`'s change of space: luminance mode recombines with the photo's chroma."""
    if mode != "luminance":
        return result
    photo = rgb_to_yiq(im.resize(content, tuple(result.shape[-2:])))
    y = luminance(result)
    return yiq_to_rgb(torch.cat([y, photo[:, 1:]], 1)).clamp(0, 1)
