"""The metrics run in strips of rows (issue 12, figure 6); a strip must give what the whole image gives.

Each test scores an image much taller than the strips it forces (1 row per strip, strips that do not
divide the height so the last one is short) and one smaller than a single strip, against the
whole-image formulas written out here. Per-pixel values must be identical; only means summed strip by
strip may differ in float64 rounding (1e-12).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sr_core import metrics
from sr_core.resize import downscale, upscale

ONE_STRIP = 1 << 40  # a strip larger than any test image: the whole image in one piece


def _pair(h: int = 203, w: int = 157) -> tuple[np.ndarray, np.ndarray]:
    """A textured photo-like HR and its bicubic x4 round trip (SSIM well below 1, PSNR finite)."""
    rng = np.random.default_rng(20)
    base = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3)).astype(np.uint8)
    hr = np.clip(upscale(base, 4)[:h, :w].astype(int) + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)
    sr = upscale(downscale(hr[: h - h % 4, : w - w % 4], 4), 4)
    hr = hr[: h - h % 4, : w - w % 4]
    return hr, sr


def _whole_rgb_to_y(img: np.ndarray) -> np.ndarray:
    return 16.0 + img.astype(np.float64) @ (np.array([65.481, 128.553, 24.966]) / 255.0)


def _whole_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(255.0 ** 2 / float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def _whole_ssim_gray(a: np.ndarray, b: np.ndarray) -> float:
    """The whole-image Gaussian SSIM: one filter pass per moment over the whole plane."""
    g = metrics._gaussian_1d()

    def f(img):
        return metrics._valid_gaussian(img, g)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = f(a), f(b)
    va, vb, cov = f(a * a) - ma ** 2, f(b * b) - mb ** 2, f(a * b) - ma * mb
    return float((((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))).mean())


# Strip sizes in pixels for the 200x156 test image (192x148 after the border crop): 1 -> one row per
# strip; 1000 -> 6 rows, the last strip 2 rows (200, 194 and 182 rows do not divide by 6); 5000 ->
# 32 or 33 rows, the last one short; ONE_STRIP -> the image is smaller than one strip.
STRIPS = [1, 1000, 5000, ONE_STRIP]


@pytest.fixture(params=STRIPS, ids=lambda p: f"strip{p}")
def strips(request, monkeypatch):
    monkeypatch.setattr(metrics, "_STRIP_PIXELS", request.param)
    monkeypatch.setattr(metrics, "_SSIM_STRIP_PIXELS", request.param)
    return request.param


def test_luma_is_identical_strip_by_strip(strips):
    hr, _ = _pair()
    assert np.array_equal(metrics.rgb_to_y(hr), _whole_rgb_to_y(hr))
    assert np.array_equal(metrics.rgb_to_y(hr[3:-5, 1:]), _whole_rgb_to_y(hr[3:-5, 1:]))  # a view


def test_rgb_psnr_is_bit_identical_strip_by_strip(strips):
    hr, sr = _pair()
    assert metrics.psnr_rgb(hr, sr) == peak_signal_noise_ratio(hr, sr, data_range=255)
    assert metrics.psnr_rgb(hr[5:, 2:], sr[5:, 2:]) == peak_signal_noise_ratio(hr[5:, 2:], sr[5:, 2:], data_range=255)
    assert metrics.psnr_rgb(hr, hr.copy()) == math.inf
    one_pixel = hr.copy()
    one_pixel[-1, -1, 2] ^= 1  # a difference in the last strip only
    assert metrics.psnr_rgb(hr, one_pixel) == pytest.approx(10 * math.log10(255.0 ** 2 * hr.size), abs=1e-12)


def test_y_psnr_equals_the_whole_image_mean(strips):
    hr, sr = _pair()
    y_hr, y_sr = metrics.rgb_to_y(hr), metrics.rgb_to_y(sr)
    assert metrics.psnr(y_hr, y_sr) == pytest.approx(_whole_psnr(y_hr, y_sr), abs=1e-12, rel=0)
    assert metrics.psnr(hr, sr) == pytest.approx(_whole_psnr(hr, sr), abs=1e-12, rel=0)  # uint8: no wrap-around
    assert metrics.psnr(y_hr, y_hr.copy()) == math.inf


def test_gaussian_ssim_equals_the_whole_image_filter(strips):
    hr, sr = _pair()
    y_hr, y_sr = metrics.crop_borders(metrics.rgb_to_y(hr), 4), metrics.crop_borders(metrics.rgb_to_y(sr), 4)
    whole = _whole_ssim_gray(y_hr, y_sr)
    assert 0.3 < whole < 0.99
    assert metrics.ssim_gray(y_hr, y_sr) == pytest.approx(whole, abs=1e-12, rel=0)
    assert metrics.ssim_y(hr, sr, 4) == pytest.approx(whole, abs=1e-12, rel=0)
    assert metrics.ssim_gray(y_hr, y_hr.copy()) == 1.0
    # The smallest image with a window (one valid row) and one just taller: every strip is short.
    for h in (11, 12):
        assert metrics.ssim_gray(y_hr[:h], y_sr[:h]) == pytest.approx(_whole_ssim_gray(y_hr[:h], y_sr[:h]), abs=1e-12)


def test_uniform_rgb_ssim_equals_scikit_image(strips):
    hr, sr = _pair()
    want = structural_similarity(hr, sr, channel_axis=-1, data_range=255)
    assert metrics.ssim_rgb(hr, sr) == pytest.approx(want, abs=1e-9, rel=0)
    whole = metrics._ssim_uniform_uint8(hr, sr, 7, 255.0, rows_per_chunk=10_000)
    assert metrics.ssim_rgb(hr, sr) == pytest.approx(whole, abs=1e-12, rel=0)
    for h in (7, 8):  # one valid row, two
        want = structural_similarity(hr[:h], sr[:h], channel_axis=-1, data_range=255)
        assert metrics.ssim_rgb(hr[:h], sr[:h]) == pytest.approx(want, abs=1e-9, rel=0)


def test_score_is_the_same_for_every_strip_size(monkeypatch):
    hr, sr = _pair()
    monkeypatch.setattr(metrics, "_STRIP_PIXELS", ONE_STRIP)
    monkeypatch.setattr(metrics, "_SSIM_STRIP_PIXELS", ONE_STRIP)
    whole = metrics.score(hr, sr, 4)
    for size in STRIPS[:-1]:
        monkeypatch.setattr(metrics, "_STRIP_PIXELS", size)
        monkeypatch.setattr(metrics, "_SSIM_STRIP_PIXELS", size)
        got = metrics.score(hr, sr, 4)
        assert got["psnr_rgb"] == whole["psnr_rgb"]  # exact integer sums
        for column in ("ssim_rgb", "psnr_y", "ssim_y"):
            assert got[column] == pytest.approx(whole[column], abs=1e-12, rel=0), (size, column)
