from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "impasto" / "examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


def small(path: Path, long_side: int) -> Image.Image:
    img = Image.open(path).convert("RGB")
    img.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return img


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """The Tübingen photo at 64 px."""
    return small(EXAMPLES / "tubingen.jpg", 64)


@pytest.fixture(scope="session")
def painting() -> Image.Image:
    """The Starry Night at 64 px."""
    return small(EXAMPLES / "starry_night.jpg", 64)


@pytest.fixture()
def files(tmp_path: Path, photo: Image.Image, painting: Image.Image) -> dict[str, Path]:
    """The small photo and painting written as files in a temporary folder."""
    paths = {"content": tmp_path / "photo.png", "style": tmp_path / "painting.jpg"}
    photo.save(paths["content"])
    painting.save(paths["style"])
    return paths


@pytest.fixture(scope="session")
def net():
    """The real VGG-19 (default weights), cut after relu5_1, on the CPU."""
    from impasto import features

    return features.build("vgg19-caffe", ["relu4_2", "relu5_1"])


def gradient_image(h: int = 48, w: int = 64) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], -1)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


@pytest.fixture(autouse=True)
def _few_threads():
    # Tests run on 2 cores; keep each test's intra-op threads predictable.
    torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _auto_precision_means_fp32(monkeypatch):
    """The suite means the same on every CPU.

    ``precision="auto"`` picks bf16 on CPUs fast at it (AMX, or AVX512-BF16 on AMD) and fp32 elsewhere, so a
    test relying on it would check different arithmetic on different machines. Here 'auto' is
    fp32 everywhere; tests whose result depends on precision ask for fp32 and bf16 explicitly
    (bf16 is emulated, and slow, on AVX2 CPUs: such tests use tiny images). The choice itself
    is tested in tests/test_device.py.
    """
    from impasto import device

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: False)
