"""Metrics recomputed without sr_core: own BT.601 luma and PSNR, scikit-image's SSIM.

Tests compare the library's (and the CLI's, the evaluation's) numbers with these, never with
``sr_core.metrics`` itself, so a bug shared by a wrapper and the function it wraps still fails.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def ref_y(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(np.float64) for i in range(3))
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def ref_psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def ref_scores(hr: np.ndarray, sr: np.ndarray, border: int) -> dict[str, float]:
    yh, ys = ref_y(hr)[border:-border, border:-border], ref_y(sr)[border:-border, border:-border]
    return {
        "psnr_rgb": ref_psnr(hr, sr),
        "ssim_rgb": float(structural_similarity(hr, sr, channel_axis=-1, data_range=255)),
        "psnr_y": ref_psnr(yh, ys),
        "ssim_y": float(structural_similarity(yh, ys, gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False, data_range=255)),
    }
