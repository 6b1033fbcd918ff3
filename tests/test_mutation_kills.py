"""Tests written to kill mutants that survived ``make mutation`` (docs/testing.md lists them).

Each asserts an exact value the surviving mutant changed; kept TensorFlow-free so mutmut can run them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sr_core import metrics
from tests.helpers_eval import textured_image


def _pair(seed: int = 0, h: int = 24, w: int = 20):
    hr = textured_image(h, w, seed=seed)
    noise = np.random.default_rng(seed).integers(-12, 13, hr.shape)
    return hr, np.clip(hr.astype(int) + noise, 0, 255).astype(np.uint8)


def test_pair_checks_name_the_problem():
    hr, sr = _pair()
    with pytest.raises(ValueError, match=r"^HR and SR shapes differ: .*the SR image must be exactly scale x the LR "
                                         r"image and HR modcropped to match$"):
        metrics.score(hr, sr[:-1], crop_border=4)
    for bad in (hr[..., 0], np.dstack([hr, hr[..., :1]])):  # HxW and HxWx4
        with pytest.raises(ValueError, match=r"^expected HxWx3 RGB images, got shape"):
            metrics.psnr_y(bad, bad, crop_border=0)
    with pytest.raises(ValueError, match=r"^ssim_gray needs two equal 2-D arrays, got \(24, 20\) and \(24, 19\)$"):
        metrics.ssim_gray(hr[..., 0], hr[:, :-1, 0])
    with pytest.raises(ValueError, match="ssim_gray needs two equal 2-D arrays"):
        metrics.ssim_gray(hr, hr)


def test_crop_borders_of_one_pixel_crops():
    img = np.arange(5 * 6).reshape(5, 6)
    np.testing.assert_array_equal(metrics.crop_borders(img, 1), img[1:-1, 1:-1])
    assert metrics.crop_borders(img, 0) is img


def test_ssim_gray_of_uint8_equals_float():
    hr, sr = _pair(1)
    a, b = hr[..., 1], sr[..., 1]  # uint8: squaring must not wrap around
    want = metrics.ssim_gray(a.astype(np.float64), b.astype(np.float64))
    assert metrics.ssim_gray(a, b) == pytest.approx(want, abs=1e-12)
    assert metrics.ssim_gray(a, b.astype(np.float64)) == pytest.approx(want, abs=1e-12)
    ref = structural_similarity(a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255)
    assert want == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.uint8, np.float64), (np.float64, np.uint8)])
def test_rgb_metrics_of_non_uint8_inputs_equal_scikit_image(dtypes):
    hr, sr = _pair(2)
    a, b = hr.astype(dtypes[0]), sr.astype(dtypes[1])
    want_psnr = peak_signal_noise_ratio(hr.astype(np.float64), sr.astype(np.float64), data_range=255)
    want_ssim = structural_similarity(hr.astype(np.float64), sr.astype(np.float64), channel_axis=-1, data_range=255)
    assert metrics.psnr_rgb(a, b) == pytest.approx(want_psnr, abs=1e-9)
    assert metrics.ssim_rgb(a, b) == pytest.approx(want_ssim, abs=1e-7)
    assert metrics.psnr_rgb(hr, sr) == pytest.approx(want_psnr, abs=1e-9)  # the uint8 fast path agrees


def test_json_safe_infinities_and_nan():
    assert metrics.json_safe(math.inf) == "inf"
    assert metrics.json_safe(-math.inf) == "-inf"
    assert metrics.json_safe(math.nan) is None and metrics.json_safe(None) is None
    assert metrics.json_safe(-2.5) == -2.5 and isinstance(metrics.json_safe(np.float64(1.5)), float)
