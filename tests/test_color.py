import numpy as np
import torch

import impasto
from impasto import color


def test_yiq_round_trip():
    x = torch.rand(1, 3, 5, 5)
    assert torch.allclose(color.yiq_to_rgb(color.rgb_to_yiq(x)), x, atol=1e-5)


def _mean_cov(img):
    flat = img.reshape(3, -1).double()
    mu = flat.mean(1, keepdim=True)
    return mu.squeeze(1), (flat - mu) @ (flat - mu).T / flat.shape[1]


def test_histogram_match_gives_the_content_colour_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    # A painting whose channels are strongly correlated, a photo whose channels are not:
    # matching only the means (or each channel's spread alone) fails the covariance check.
    base = torch.rand(1, 1, 32, 32, generator=g).expand(1, 3, 32, 32)
    style = 0.2 + 0.4 * (0.7 * base + 0.3 * torch.rand(1, 3, 32, 32, generator=g))
    content = 0.35 + 0.3 * torch.rand(1, 3, 32, 32, generator=g) * torch.tensor([1.0, 0.6, 0.3]).view(1, 3, 1, 1)
    out = color.match_histogram(style, content)
    (mo, co), (mc, cc) = _mean_cov(out), _mean_cov(content)
    assert torch.allclose(mo, mc, atol=1e-3)
    assert torch.allclose(co, cc, atol=2e-4), (co, cc)
    # A recolouring, not a new picture: the painting's structure is still there.
    corr = torch.corrcoef(torch.stack([out.mean(1).flatten(), style.mean(1).flatten()]))[0, 1]
    assert corr > 0.9


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
