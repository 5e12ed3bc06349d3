"""What a worker does with a chunked clip's task (video/chunk_worker.py); the tasks themselves
are painted end to end in tests/test_video_chunks.py and tests/test_ray_video.py."""

import pytest

pytest.importorskip("cv2")

from impasto.video import chunk_worker


def test_pull_weight_spreads_the_way_to_the_right_keyframe_evenly():
    # The minimiser of the temporal terms is w / (1 + w) = u of the way to the right keyframe.
    fractions = [w / (1 + w) for w in (chunk_worker.pull_weight(t, 8, 16) for t in range(9, 16))]
    assert fractions == pytest.approx([k / 8 for k in range(1, 8)])
