"""The metric columns against hand computations and scikit-image."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from sr_core import metrics


def _random_image(seed: int, shape=(48, 40, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_metrics_module_does_not_import_tensorflow():
    code = "import sys, sr_core.metrics; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_identical_images_give_inf_psnr_and_unit_ssim():
    img = _random_image(0)
    scores = metrics.score(img, img.copy(), crop_border=4)
    assert scores["psnr_rgb"] == math.inf and scores["psnr_y"] == math.inf
    assert scores["ssim_rgb"] == 1.0 and scores["ssim_y"] == 1.0


def test_known_mse_gives_known_psnr():
    hr = np.full((32, 32, 3), 100, np.uint8)
    sr = hr.copy()
    sr[::2] += 10  # half the pixels off by 10 -> MSE 50 in every channel
    expected = 10 * math.log10(255**2 / 50)
    assert metrics.psnr_rgb(hr, sr) == pytest.approx(expected, abs=1e-12)
    # Y difference is 10 * (65.481 + 128.553 + 24.966) / 255 on half the pixels.
    dy = 10 * (65.481 + 128.553 + 24.966) / 255
    expected_y = 10 * math.log10(255**2 / (dy * dy / 2))
    assert metrics.psnr_y(hr, sr, crop_border=0) == pytest.approx(expected_y, abs=1e-12)
    assert metrics.psnr_y(hr, sr, crop_border=4) == pytest.approx(expected_y, abs=1e-12)


@pytest.mark.parametrize(
    "rgb,expected",
    [((0, 0, 0), 16.0), ((255, 255, 255), 235.0), ((255, 0, 0), 16 + 65.481),
     ((0, 255, 0), 16 + 128.553), ((0, 0, 255), 16 + 24.966), ((128, 128, 128), 16 + 219 * 128 / 255)],
)
def test_y_of_pure_colours(rgb, expected):
    img = np.zeros((2, 2, 3), np.uint8) + np.array(rgb, np.uint8)
    y = metrics.rgb_to_y(img)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)


def test_crop_border_removes_exactly_the_border():
    hr = np.full((20, 20, 3), 50, np.uint8)
    sr = hr.copy()
    sr[:3, :] = 0  # damage confined to the top 3 rows
    assert metrics.psnr_y(hr, sr, crop_border=3) == math.inf
    assert metrics.psnr_y(hr, sr, crop_border=2) < 40
    assert metrics.crop_borders(np.zeros((20, 30)), 4).shape == (12, 22)


def test_ssim_constant_images_by_hand():
    # Constant images: variances and covariance are 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b = 100.0, 120.0
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = metrics.ssim_gray(np.full((15, 15), a), np.full((15, 15), b))
    assert got == pytest.approx(expected, rel=1e-12)


def test_ssim_single_window_by_hand():
    # An 11x11 image has exactly one valid window position: the weighted statistics by hand.
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (11, 11))
    y = np.clip(x + rng.normal(0, 20, (11, 11)), 0, 255)
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * x * x).sum() - mx**2, (w * y * y).sum() - my**2
    cxy = (w * x * y).sum() - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert metrics.ssim_gray(x, y) == pytest.approx(expected, rel=1e-10)


def test_ssim_y_agrees_with_skimage_gaussian_valid_region():
    hr = _random_image(1, (64, 72, 3)).astype(np.float64)
    noisy = np.clip(hr + np.random.default_rng(2).normal(0, 15, hr.shape), 0, 255).astype(np.uint8)
    hr = hr.astype(np.uint8)
    y1, y2 = metrics.rgb_to_y(hr), metrics.rgb_to_y(noisy)
    ours = metrics.ssim_gray(y1, y2)
    # skimage pads (reflect) and averages over the interior with crop of (win-1)/2, i.e. the same
    # valid region as ours; they agree closely.
    ref = structural_similarity(y1, y2, data_range=255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert ours == pytest.approx(ref, abs=1e-6)
    assert 0 < ours < 1


def test_rgb_columns_are_scikit_image_whole_image():
    from skimage.metrics import peak_signal_noise_ratio

    hr = _random_image(4)
    sr = np.clip(hr.astype(int) + 7, 0, 255).astype(np.uint8)
    assert metrics.psnr_rgb(hr, sr) == peak_signal_noise_ratio(hr, sr, data_range=255)
    # the fast uint8 path sums exact integers: equal to float64 rounding (tests/test_metrics_fast.py)
    assert metrics.ssim_rgb(hr, sr) == pytest.approx(
        structural_similarity(hr, sr, channel_axis=-1, data_range=255), abs=1e-12)


def test_small_and_mismatched_inputs():
    tiny = _random_image(5, (8, 8, 3))
    scores = metrics.score(tiny, tiny[::-1].copy(), crop_border=2)
    assert math.isnan(scores["ssim_y"])  # 4x4 after the crop: smaller than the 11x11 window
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.score(tiny, tiny[:4], crop_border=0)


def test_json_safe():
    assert metrics.json_safe(math.inf) == "inf"
    assert metrics.json_safe(math.nan) is None
    assert metrics.json_safe(30.5) == 30.5
