import numpy as np
import torch

import impasto
from impasto import color


def test_yiq_round_trip():
    x = torch.rand(1, 3, 5, 5)
    assert torch.allclose(color.yiq_to_rgb(color.rgb_to_yiq(x)), x, atol=1e-5)


def test_histogram_match_gives_the_content_statistics():
    style = torch.rand(1, 3, 16, 16) * torch.tensor([1.0, 0.3, 0.1]).view(1, 3, 1, 1)
    content = 0.2 + 0.5 * torch.rand(1, 3, 16, 16)
    out = color.match_histogram(style, content)
    assert torch.allclose(out.mean((2, 3)), content.mean((2, 3)), atol=0.02)


def _chroma(img):
    yiq = color.rgb_to_yiq(impasto.image.to_tensor(img))
    return yiq[:, 1:]


def test_preserved_colours_stay_close_to_the_photo(photo, painting):
    kw = dict(size=48, steps=15, start_size=48)
    plain = impasto.stylize(photo, painting, **kw)
    kept = impasto.stylize(photo, painting, preserve_colors="luminance", **kw)
    hist = impasto.stylize(photo, painting, preserve_colors="histogram", **kw)
    target = _chroma(photo.resize(plain.size))
    err = {name: float((_chroma(img) - target).abs().mean()) for name, img in
           (("plain", plain), ("luminance", kept), ("histogram", hist))}
    assert err["luminance"] < 0.2 * err["plain"]
    # Histogram matching promises the photo's palette (colour mean and spread), not per-pixel colour.
    def palette(img):
        c = _chroma(img)
        return torch.cat([c.mean((2, 3)), c.std((2, 3))], 1)
    off = {name: float((palette(img) - palette(photo)).abs().sum()) for name, img in
           (("plain", plain), ("histogram", hist))}
    assert off["histogram"] < 0.5 * off["plain"]
    assert not np.array_equal(np.asarray(kept), np.asarray(photo.resize(plain.size)))
