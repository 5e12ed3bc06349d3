import numpy as np
import pytest
import torch

pytest.importorskip("cv2")
from impasto.video import flow
from video_clips import panned


def as_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]


def test_warping_with_the_backward_flow_brings_the_previous_frame_into_this_one():
    prev, now = panned(2, w=64, h=48, shift=3)
    d = flow.flow(flow.grey(now), flow.grey(prev))  # now(x) ~ prev(x + d): the camera moved right by 3
    assert abs(float(np.median(d[..., 0])) - 3) < 0.5
    right = flow.warp(as_tensor(prev), d)
    wrong = flow.warp(as_tensor(prev), flow.flow(flow.grey(prev), flow.grey(now)))
    inner = (..., slice(6, -6), slice(6, -6))
    err_right = float(((right - as_tensor(now)) ** 2)[inner].mean())
    err_wrong = float(((wrong - as_tensor(now)) ** 2)[inner].mean())
    assert err_right < err_wrong / 20


def test_the_mask_excludes_pixels_from_outside_and_behind_a_moving_object():
    # A static textured background and a flat square moving right by 6 px.
    rng = np.random.default_rng(0)
    bg = (rng.random((48, 64, 1)) * 255).repeat(3, -1).astype(np.uint8)
    bg = np.asarray(bg, dtype=np.uint8)
    import cv2

    bg = cv2.GaussianBlur(bg, (0, 0), 1.5)
    a, b = bg.copy(), bg.copy()
    a[16:32, 16:32] = (250, 30, 30)
    b[16:32, 22:38] = (250, 30, 30)
    back = flow.flow(flow.grey(b), flow.grey(a))
    fwd = flow.flow(flow.grey(a), flow.grey(b))
    mask = flow.reliability(back, fwd)
    # Background revealed behind the square in b (x 16..21) was covered in a: not trackable.
    assert mask[18:30, 16:21].mean() < 0.3
    # Static background far from the square is trusted.
    assert mask[36:46, 44:60].mean() > 0.9
    # A camera pan: the column that enters the frame is excluded.
    prev, now = panned(2, w=64, h=48, shift=4)
    _, c = flow.pair([flow.grey(prev), flow.grey(now)], 0, 1)  # frame 0 from frame 1: leftmost is new
    assert c[:, :3].mean() < 0.1 and c[8:40, 12:50].mean() > 0.9
