"""Optical flow between frames, warping, and where the flow can be trusted.

Direction convention (the one that matters): ``flow(a, b)`` gives, for each
pixel x of ``a``, the displacement d with a(x) ~ b(x + d). To bring a picture
aligned with frame t-1 into frame t, use ``flow(grey_t, grey_t-1)`` and sample
the picture at x + d (:func:`warp`). Flows are computed at the painting size,
so their vectors are in that size's pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from ._deps import need

# Sundaram et al. (2010) thresholds, as Ruder et al.'s consistency checker uses them.
OCCLUSION_RATIO, OCCLUSION_FLOOR = 0.01, 0.5
BOUNDARY_RATIO, BOUNDARY_FLOOR = 0.01, 0.002


def grey(frame: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> HxW uint8 luminance, DIS's input."""
    cv2 = need("cv2")
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """HxWx2 float32 displacement d with a(x) ~ b(x + d) (DIS, medium preset)."""
    cv2 = need("cv2")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(a, b, None)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return gx, gy


def warp_array(image: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``image`` (HxW or HxWxC float32) sampled at x + d(x), bilinear, edges repeated."""
    cv2 = need("cv2")
    gx, gy = _grid(*d.shape[:2])
    return cv2.remap(image, gx + d[..., 0], gy + d[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def warp(image: torch.Tensor, d: np.ndarray) -> torch.Tensor:
    """A 1xCxHxW tensor warped by ``d`` (see :func:`warp_array`); same device and dtype."""
    arr = image.detach()[0].float().permute(1, 2, 0).cpu().numpy()
    out = warp_array(np.ascontiguousarray(arr), d)
    if out.ndim == 2:
        out = out[..., None]
    return torch.from_numpy(out).permute(2, 0, 1)[None].to(image)


def reliability(backward: np.ndarray, forward: np.ndarray, blur: float = 0.8) -> np.ndarray:
    """HxW float32 weights in [0, 1]: 0 where frame t's pixel was not visible in the other frame.

    ``backward`` = flow(t, other), ``forward`` = flow(other, t). A pixel is
    unreliable where the two flows disagree (occlusion, disocclusion), at motion
    boundaries, or where it comes from outside the other frame. A slight blur
    then lowers the weights next to those pixels too.
    """
    cv2 = need("cv2")
    h, w = backward.shape[:2]
    # The forward flow at the point each pixel moves to: w~(x) = w(x + w^(x)).
    there = warp_array(forward, backward)
    disagree = ((there + backward) ** 2).sum(-1)
    scale = (there ** 2).sum(-1) + (backward ** 2).sum(-1)
    occluded = disagree > OCCLUSION_RATIO * scale + OCCLUSION_FLOOR
    du = np.gradient(backward[..., 0])
    dv = np.gradient(backward[..., 1])
    grad = du[0] ** 2 + du[1] ** 2 + dv[0] ** 2 + dv[1] ** 2
    boundary = grad > BOUNDARY_RATIO * (backward ** 2).sum(-1) + BOUNDARY_FLOOR
    gx, gy = _grid(h, w)
    tx, ty = gx + backward[..., 0], gy + backward[..., 1]
    outside = (tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)
    mask = (~(occluded | boundary | outside)).astype(np.float32)
    if blur > 0:
        # Multiplying by the blurred mask keeps the zeros and fades their neighbours.
        mask *= cv2.GaussianBlur(mask, (0, 0), blur)
    return mask


def pair(frames: list[np.ndarray], t: int, other: int) -> tuple[np.ndarray, np.ndarray]:
    """(flow from frame t to ``other``, its reliability), for greyscale frames."""
    back = flow(frames[t], frames[other])
    return back, reliability(back, flow(frames[other], frames[t]))


def chain(frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each i, (flow from frames[i] to frames[-1], its reliability), composed pair by pair.

    DIS loses track over displacements of many frames (on a 64 px pan of 2 px a
    frame, the direct flow across 4 frames is off by 2 px where it claims to be
    reliable); consecutive flows are what the painter trusts, so long-range ones
    are their composition: d(i->n) = d(i->i+1) + d(i+1->n) at x + d(i->i+1), and
    a pixel is reliable only where every step was. The last entry is (zeros, ones).
    """
    h, w = frames[0].shape[:2]
    total, trust = np.zeros((h, w, 2), np.float32), np.ones((h, w), np.float32)
    out = [(total, trust)]
    for i in range(len(frames) - 2, -1, -1):
        d, c = pair(frames, i, i + 1)
        total = d + warp_array(total, d)
        trust = c * warp_array(trust, d)
        out.append((total, trust))
    return out[::-1]
