"""PSNR and SSIM, exactly as the report's columns define them (no TensorFlow needed).

Two protocols are computed for every image and region, because both are in use:

* ``psnr_rgb`` / ``ssim_rgb`` reproduce the seed's numbers: scikit-image's
  ``peak_signal_noise_ratio(hr, sr, data_range=255)`` and
  ``structural_similarity(hr, sr, channel_axis=-1, data_range=255)`` (its default 7x7 uniform window,
  sample covariance, mean over the three channels) on the whole uint8 RGB image, no border crop.
* ``psnr_y`` / ``ssim_y`` follow the SR papers and BasicSR: BT.601 luma
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` of 0..255 pixels in float64 (not rounded),
  ``crop_border`` pixels removed from each side, PSNR in float64 with peak 255, and SSIM as Wang et
  al. (2004): 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, population (biased)
  statistics, mean of the SSIM map over the valid region only (no padding).

Identical images give ``inf`` PSNR and SSIM exactly 1.0.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 255.0

_BT601 = np.array([65.481, 128.553, 24.966], dtype=np.float64) / 255.0


def _check_pair(hr: np.ndarray, sr: np.ndarray) -> None:
    if hr.shape != sr.shape:
        raise ValueError(f"HR and SR shapes differ: {hr.shape} vs {sr.shape}; "
                         "the SR image must be exactly scale x the LR image and HR modcropped to match")
    if hr.ndim != 3 or hr.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB images, got shape {hr.shape}")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in 16..235 of an HxWx3 RGB image in 0..255, as float64 (not rounded)."""
    return 16.0 + img.astype(np.float64) @ _BT601


def crop_borders(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels from each side (0 keeps the image)."""
    if crop_border <= 0:
        return img
    return img[crop_border:-crop_border, crop_border:-crop_border]


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """PSNR in dB in float64; ``inf`` for identical inputs."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)


def _valid_filter(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Correlate ``img`` with ``window`` keeping only positions where the window fits (no padding)."""
    import cv2

    half = window.shape[0] // 2
    full = cv2.filter2D(img, cv2.CV_64F, window, borderType=cv2.BORDER_REFLECT_101)
    return full[half:-half, half:-half] if half else full


def ssim_gray(a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """Wang et al. SSIM of two single-channel images (BasicSR's ``_ssim``); NaN if smaller than 11x11."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim_gray needs two equal 2-D arrays, got {a.shape} and {b.shape}")
    if min(a.shape) < SSIM_WINDOW:
        return math.nan
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    window = _gaussian_window()
    mu_a = _valid_filter(a, window)
    mu_b = _valid_filter(b, window)
    mu_a2, mu_b2, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = _valid_filter(a * a, window) - mu_a2
    var_b = _valid_filter(b * b, window) - mu_b2
    cov = _valid_filter(a * b, window) - mu_ab
    ssim_map = ((2 * mu_ab + c1) * (2 * cov + c2)) / ((mu_a2 + mu_b2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def psnr_y(hr: np.ndarray, sr: np.ndarray, crop_border: int) -> float:
    _check_pair(hr, sr)
    return psnr(crop_borders(rgb_to_y(hr), crop_border), crop_borders(rgb_to_y(sr), crop_border))


def ssim_y(hr: np.ndarray, sr: np.ndarray, crop_border: int) -> float:
    _check_pair(hr, sr)
    return ssim_gray(crop_borders(rgb_to_y(hr), crop_border), crop_borders(rgb_to_y(sr), crop_border))


def psnr_rgb(hr: np.ndarray, sr: np.ndarray) -> float:
    """scikit-image ``peak_signal_noise_ratio(hr, sr, data_range=255)``, whole image (the seed's PSNR)."""
    from skimage.metrics import peak_signal_noise_ratio

    _check_pair(hr, sr)
    if np.array_equal(hr, sr):
        return math.inf
    return float(peak_signal_noise_ratio(hr, sr, data_range=DATA_RANGE))


def ssim_rgb(hr: np.ndarray, sr: np.ndarray) -> float:
    """scikit-image ``structural_similarity(..., channel_axis=-1, data_range=255)`` (the seed's SSIM).

    Its default window is 7x7; images smaller than that give NaN instead of an exception.
    """
    from skimage.metrics import structural_similarity

    _check_pair(hr, sr)
    if min(hr.shape[:2]) < 7:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(structural_similarity(hr, sr, channel_axis=-1, data_range=DATA_RANGE))


def score(hr: np.ndarray, sr: np.ndarray, crop_border: int) -> dict[str, float]:
    """All four columns for one HR/SR pair: ``psnr_rgb``, ``ssim_rgb``, ``psnr_y``, ``ssim_y``."""
    _check_pair(hr, sr)
    return {
        "psnr_rgb": psnr_rgb(hr, sr),
        "ssim_rgb": ssim_rgb(hr, sr),
        "psnr_y": psnr_y(hr, sr, crop_border),
        "ssim_y": ssim_y(hr, sr, crop_border),
    }


def json_safe(value: float) -> float | str | None:
    """A metric as JSON allows it: ``inf`` -> the string ``"inf"``, NaN -> ``null``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)
