"""Input handling over a corpus of broken and unusual files made here."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from conftest import gradient_image
from impasto import image as im
from impasto.cli import main
from impasto.errors import InputError


def _jpeg_bytes(img=None) -> bytes:
    buf = io.BytesIO()
    (img or gradient_image()).save(buf, "JPEG")
    return buf.getvalue()


def _png_with_huge_declared_size() -> bytes:
    """A valid PNG header claiming 100000 x 100000 px (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", 100_000, 100_000)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # IHDR's CRC
    return bytes(data)


BAD = {
    "zero.jpg": (b"", "file is empty"),
    "text.jpg": (b"hello, I am not a picture\n" * 10, "not an image"),
    "truncated.jpg": (_jpeg_bytes()[:300], "damaged or truncated"),
    "huge.png": (_png_with_huge_declared_size(), "over the limit"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_get_one_line_naming_the_file(tmp_path, name):
    data, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        im.load(path)
    assert message in str(err.value) and name in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", sorted(BAD) + ["missing.jpg", "folder", "tiny.png", "strip.png"])
def test_cli_refuses_bad_content_cleanly(tmp_path, capsys, files, name):
    path = tmp_path / name
    if name in BAD:
        path.write_bytes(BAD[name][0])
    elif name == "folder":
        path.mkdir()
    elif name == "tiny.png":
        Image.new("RGB", (1, 1), "white").save(path)
    elif name == "strip.png":
        Image.new("RGB", (4000, 8), "white").save(path)
    out = tmp_path / "out.png"
    code = main([str(path), str(files["style"]), "-o", str(out), "--size", "32", "--steps", "1", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and name in err and "Traceback" not in err
    assert not out.exists()


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


def test_unusual_modes_become_rgb(tmp_path):
    base = gradient_image()
    cases = {
        "grey.png": base.convert("L"),
        "palette.gif": base.convert("P"),
        "cmyk.jpg": base.convert("CMYK"),
        "rgba.png": base.convert("RGBA"),
        "bmp.bmp": base,
        "tiff.tiff": base,
        "webp.webp": base,
    }
    for name, img in cases.items():
        loaded = im.load(_save(img, tmp_path / name))
        assert loaded.rgb.mode == "RGB" and loaded.rgb.size == base.size, name


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    arr = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)  # uint16 -> mode I;16
    rgb = np.asarray(im.load(path).rgb)
    assert rgb.max() == 255 and rgb.min() == 0 and 100 < rgb.mean() < 155


def test_alpha_is_composited_on_white_and_kept(tmp_path):
    img = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    img.paste((255, 0, 0, 255), (0, 0, 20, 30))
    loaded = im.load(_save(img, tmp_path / "a.png"))
    px = loaded.rgb.load()
    assert px[5, 5] == (255, 0, 0) and px[35, 5] == (255, 255, 255)
    assert loaded.alpha is not None and loaded.alpha.getpixel((35, 5)) == 0


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (32, 32), 0)
    img.putpalette([0, 0, 255] + [255, 255, 0] * 255)
    img.info["transparency"] = 0
    loaded = im.load(_save(img, tmp_path / "t.png", transparency=0))
    assert loaded.rgb.getpixel((3, 3)) == (255, 255, 255) and loaded.alpha is not None


def test_exif_orientation_is_applied(tmp_path):
    img = gradient_image(30, 60)  # landscape 60x30
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    loaded = im.load(_save(img, tmp_path / "rot.jpg", exif=exif.tobytes()))
    assert loaded.rgb.size == (30, 60)


def _rgb_profile(red, green, blue, gamma=2.2) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile with the given D50 colorants."""
    import struct

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(v):
        return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", 5) + b"test\0" + b"\0" * 79 + b"\0\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)),
            (b"gXYZ", xyz(green)), (b"bXYZ", xyz(blue)), (b"rTRC", curve), (b"gTRC", curve),
            (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + s15(0.9642) + s15(1.0) + s15(0.8249))
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


def test_icc_profile_is_converted_to_srgb(tmp_path):
    # sRGB's D50 colorants with red and green swapped: the file's "red" channel means green.
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    swapped = _rgb_profile(green, red, blue)
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(swapped))).strip() == "test"
    img = Image.new("RGB", (32, 32), (200, 60, 60))
    path = _save(img, tmp_path / "tagged.png", icc_profile=swapped)
    r, g, b = im.load(path).rgb.getpixel((0, 0))
    assert g > 150 and r < 110 and b < 110, (r, g, b)  # shown as green, as the profile says
    # The same pixels tagged with an sRGB-like profile stay (nearly) as they are.
    plain = _save(img, tmp_path / "srgb.png", icc_profile=_rgb_profile(red, green, blue))
    assert im.load(plain).rgb.getpixel((0, 0)) == pytest.approx((200, 60, 60), abs=12)


def test_animated_gif_uses_first_frame_with_a_notice(tmp_path):
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue", "green")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = im.load(path)
    assert loaded.rgb.getpixel((1, 1))[0] > 200 and any("animated" in n for n in loaded.notices)


def test_tensor_round_trip_and_resize():
    img = gradient_image()
    t = im.to_tensor(img)
    assert t.shape == (1, 3, 48, 64) and t.dtype == torch.float32 and 0 <= t.min() <= t.max() <= 1
    assert np.array_equal(np.asarray(im.to_pil(t)), np.asarray(img))
    assert im.fit_size(64, 48, 32) == (24, 32)
    assert im.resize(t, (24, 32)).shape == (1, 3, 24, 32)


def test_the_pixel_limit_is_per_call_and_pillows_global_is_never_touched(tmp_path):
    """The studio decodes in several threads: a process-wide switch would race (and could
    leave Pillow's decompression-bomb guard off for good)."""
    import threading

    from PIL import Image as PILImage

    path = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (900, 1200, 3), dtype=np.uint8)).save(path)
    original = PILImage.MAX_IMAGE_PIXELS
    seen: set = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(PILImage.MAX_IMAGE_PIXELS)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(15):
            im.load(path)
    finally:
        stop.set()
        watcher.join()
    assert seen == {original} and PILImage.MAX_IMAGE_PIXELS == original
    # Our limit applies per call, above or below Pillow's own.
    with pytest.raises(InputError, match="over the limit of 1,000,000"):
        im.load(path, max_pixels=1_000_000)
    try:
        PILImage.MAX_IMAGE_PIXELS = 1000  # Pillow's guard would refuse this file...
        assert im.load(path, max_pixels=2_000_000).rgb.size == (1200, 900)  # ...ours decides
    finally:
        PILImage.MAX_IMAGE_PIXELS = original
