"""The fast metric paths keep scikit-image's numbers (issue 12, figure 5): checked on many shapes,
on noisy and on real photos, against scikit-image itself and against a plain 2-D Gaussian filter."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sr_core import metrics
from sr_core.resize import downscale, upscale


def _pairs():
    rng = np.random.default_rng(12)
    for shape in [(7, 7, 3), (8, 13, 3), (31, 17, 3), (64, 64, 3), (101, 203, 3)]:
        hr = rng.integers(0, 256, shape, dtype=np.uint8)
        yield f"noise{shape[:2]}", hr, rng.integers(0, 256, shape, dtype=np.uint8)
        yield f"close{shape[:2]}", hr, np.clip(hr.astype(int) + rng.integers(-3, 4, shape), 0, 255).astype(np.uint8)
    astronaut = data.astronaut()[:400, :300]  # a real photo, bicubic x4 round trip as the SR
    yield "astronaut", astronaut, upscale(downscale(astronaut, 4), 4)
    coffee = data.coffee()[:200, :360]
    yield "coffee-extremes", coffee, np.where(coffee > 128, 255, 0).astype(np.uint8)
    yield "flat", np.full((20, 30, 3), 200, np.uint8), np.full((20, 30, 3), 10, np.uint8)


PAIRS = list(_pairs())


@pytest.mark.parametrize("name,hr,sr", PAIRS, ids=[p[0] for p in PAIRS])
def test_rgb_ssim_equals_scikit_image(name, hr, sr):
    ref = structural_similarity(hr, sr, channel_axis=-1, data_range=255)
    assert metrics.ssim_rgb(hr, sr) == pytest.approx(ref, abs=1e-9, rel=0)


@pytest.mark.parametrize("name,hr,sr", PAIRS, ids=[p[0] for p in PAIRS])
def test_rgb_psnr_equals_scikit_image_bit_for_bit(name, hr, sr):
    assert metrics.psnr_rgb(hr, sr) == peak_signal_noise_ratio(hr, sr, data_range=255)


def test_rgb_ssim_chunking_does_not_change_the_value():
    _, hr, sr = PAIRS[-3]
    whole = metrics._ssim_uniform_uint8(hr, sr, 7, 255.0, rows_per_chunk=10_000)
    assert metrics._ssim_uniform_uint8(hr, sr, 7, 255.0, rows_per_chunk=5) == pytest.approx(whole, abs=1e-12)


def test_non_uint8_inputs_fall_back_to_scikit_image():
    rng = np.random.default_rng(3)
    hr = rng.uniform(0, 255, (30, 40, 3))
    sr = hr + rng.normal(0, 5, hr.shape)
    assert metrics.ssim_rgb(hr, sr) == structural_similarity(hr, sr, channel_axis=-1, data_range=255)


def _ssim_gray_2d_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The previous implementation: one non-separable 11x11 filter2D per moment."""
    x = np.arange(11, dtype=np.float64) - 5
    g = np.exp(-x * x / (2 * 1.5 ** 2))
    g /= g.sum()
    w = np.outer(g, g)

    def f(img):
        return cv2.filter2D(img, cv2.CV_64F, w, borderType=cv2.BORDER_REFLECT_101)[5:-5, 5:-5]

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = f(a), f(b)
    va, vb, cov = f(a * a) - ma ** 2, f(b * b) - mb ** 2, f(a * b) - ma * mb
    return float((((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))).mean())


@pytest.mark.parametrize("name,hr,sr", PAIRS[4:], ids=[p[0] for p in PAIRS[4:]])
def test_y_ssim_equals_the_plain_2d_gaussian_filter(name, hr, sr):
    y_hr, y_sr = metrics.rgb_to_y(hr), metrics.rgb_to_y(sr)
    if min(y_hr.shape) < 11:
        assert math.isnan(metrics.ssim_gray(y_hr, y_sr))
        return
    assert metrics.ssim_gray(y_hr, y_sr) == pytest.approx(_ssim_gray_2d_reference(y_hr, y_sr), abs=1e-12, rel=0)


def test_score_equals_the_four_functions():
    _, hr, sr = PAIRS[-3]
    s = metrics.score(hr, sr, crop_border=4)
    assert s == {"psnr_rgb": metrics.psnr_rgb(hr, sr), "ssim_rgb": metrics.ssim_rgb(hr, sr),
                 "psnr_y": metrics.psnr_y(hr, sr, 4), "ssim_y": metrics.ssim_y(hr, sr, 4)}
