import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from impasto import output
from impasto.errors import InputError
from impasto.recipe import read_recipe


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tif"])
def test_formats_by_extension_carry_the_recipe(tmp_path, ext):
    x = torch.rand(1, 3, 20, 30)
    path = tmp_path / f"pic.{ext}"
    output.save(x, path, recipe={"impasto": "0", "seed": 7})
    img = Image.open(path)
    assert img.size == (30, 20) and img.format == output.FORMATS["." + ext]
    assert read_recipe(path) == {"impasto": "0", "seed": 7}
    assert not list(tmp_path.glob("*.part"))


def test_sixteen_bit_tiff_keeps_more_than_8_bits(tmp_path):
    x = torch.linspace(0, 1, 3 * 8 * 8).view(1, 3, 8, 8)
    path = tmp_path / "deep.tif"
    output.save(x, path, recipe={"impasto": "0"}, bits16=True)
    pixels = tifffile.imread(path)
    assert pixels.dtype == np.uint16 and pixels.shape == (8, 8, 3)
    expected = (x[0].permute(1, 2, 0).numpy() * 65535).round().astype(np.uint16)
    assert np.array_equal(pixels, expected)
    assert len(np.unique(pixels)) > 150  # 192 distinct values survive, 8 bits would merge some
    assert Image.open(path).size == (8, 8) and read_recipe(path) == {"impasto": "0"}


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown extension"):
        output.save(torch.rand(1, 3, 4, 4), tmp_path / "x.gifv")


def test_failed_write_leaves_the_old_file_alone(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    path.write_bytes(b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        output.save(torch.rand(1, 3, 4, 4), path)
    assert path.read_bytes() == b"old" and not list(tmp_path.glob("*.part"))


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    path = tmp_path / "pic.png"
    old = os.umask(0o022)
    try:
        output.save(torch.rand(1, 3, 4, 4), path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
