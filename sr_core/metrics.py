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

# Per-pixel passes run over strips of rows of about this many pixels, so their float64 temporaries
# stay in the CPU cache; whole-image temporaries (96 MB for a 4 MP RGB image in float64) made the
# cost per pixel grow with the image size. Every per-pixel value of a strip is computed from exactly
# the inputs it has on the whole image; only means over many strips are summed in another order.
_STRIP_PIXELS = 1 << 16
# The Gaussian SSIM's strips are larger: each one also filters the 10 rows below it that its last
# windows reach (measured: 2^17 pixels is the fastest at 0.5 and 4 MP).
_SSIM_STRIP_PIXELS = 1 << 17


def _rows_per_strip(width: int) -> int:
    return max(1, _STRIP_PIXELS // max(width, 1))


def _check_pair(hr: np.ndarray, sr: np.ndarray) -> None:
    if hr.shape != sr.shape:
        raise ValueError(f"HR and SR shapes differ: {hr.shape} vs {sr.shape}; "
                         "the SR image must be exactly scale x the LR image and HR modcropped to match")
    if hr.ndim != 3 or hr.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB images, got shape {hr.shape}")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in 16..235 of an HxWx3 RGB image in 0..255, as float64 (not rounded)."""
    out = np.empty(img.shape[:-1], dtype=np.float64)
    step = _rows_per_strip(img.shape[1] if img.ndim == 3 else 1)
    for r in range(0, img.shape[0], step):  # the same dot product per pixel as on the whole image
        out[r:r + step] = 16.0 + img[r:r + step].astype(np.float64) @ _BT601
    return out


def crop_borders(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels from each side (0 keeps the image)."""
    if crop_border <= 0:
        return img
    return img[crop_border:-crop_border, crop_border:-crop_border]


def _squared_error_sum(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of ``(a - b)**2`` in float64 over equal-shaped arrays, strip by strip (``_STRIP_PIXELS``).

    For uint8 images every term is an integer <= 255^2 and the sum stays below 2^53, so it is
    exact in any summation order; their differences are taken in uint8 (``cv2.absdiff``, half the
    time of a float64 subtraction)."""
    import cv2

    uint8 = a.dtype == np.uint8 and b.dtype == np.uint8
    squared = 0.0
    step = _rows_per_strip(a[0].size)
    for r in range(0, a.shape[0], step):
        if uint8:
            diff = cv2.absdiff(np.ascontiguousarray(a[r:r + step]), np.ascontiguousarray(b[r:r + step]))
            diff = diff.astype(np.float64)
        else:
            diff = np.subtract(a[r:r + step], b[r:r + step], dtype=np.float64)
        diff *= diff
        squared += float(diff.sum())
    return squared


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """PSNR in dB in float64; ``inf`` for identical inputs, NaN for empty ones."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim == 0 or a.size == 0:
        mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    else:  # strip by strip; only the summation order of the mean differs
        mse = _squared_error_sum(a, b) / a.size
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def _gaussian_1d(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _valid_gaussian(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate with the separable window ``outer(kernel, kernel)``, only where it fits (no padding)."""
    import cv2

    half = len(kernel) // 2
    full = cv2.sepFilter2D(img, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)
    return full[half:-half, half:-half] if half else full


def _ssim_map_sum(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """Sum of the Wang et al. SSIM map over the positions of ``a``/``b`` where the window fits.

    The 11x11 Gaussian window is separable, so it runs as two 1-D passes (22 instead of 121
    multiply-adds per pixel; the same sums up to float64 rounding).
    """
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    g = _gaussian_1d()
    mu_a = _valid_gaussian(a, g)
    mu_b = _valid_gaussian(b, g)
    mu_ab = mu_a * mu_b
    mu_a *= mu_a
    mu_b *= mu_b  # from here mu_a, mu_b hold the squared means
    var_sum = _valid_gaussian(a * a + b * b, g)  # filtering is linear: one pass for var_a + var_b
    var_sum -= mu_a
    var_sum -= mu_b
    var_sum += c2
    cov = _valid_gaussian(a * b, g)
    cov -= mu_ab
    cov *= 2
    cov += c2
    mu_ab *= 2
    mu_ab += c1
    mu_a += mu_b
    mu_a += c1
    num = mu_ab
    num *= cov
    den = mu_a
    den *= var_sum
    num /= den
    return float(num.sum())


def _ssim_strips(height: int, width: int) -> list[tuple[int, int]]:
    """Row ranges of the valid SSIM map, one per strip; strip ``(r0, r1)`` reads rows r0 .. r1 + 10."""
    valid = height - SSIM_WINDOW + 1
    step = max(1, _SSIM_STRIP_PIXELS // width)
    return [(r0, min(r0 + step, valid)) for r0 in range(0, valid, step)]


def ssim_gray(a: np.ndarray, b: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """Wang et al. SSIM of two single-channel images (BasicSR's ``_ssim``); NaN if smaller than 11x11.

    Computed in strips of rows (see ``_SSIM_STRIP_PIXELS``): every SSIM map value is computed from
    exactly the window it sees on the whole image; only the summation order of the mean differs.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim_gray needs two equal 2-D arrays, got {a.shape} and {b.shape}")
    if min(a.shape) < SSIM_WINDOW:
        return math.nan
    halo = SSIM_WINDOW - 1
    total = 0.0
    for r0, r1 in _ssim_strips(*a.shape):
        total += _ssim_map_sum(a[r0:r1 + halo], b[r0:r1 + halo], data_range)
    return total / ((a.shape[0] - halo) * (a.shape[1] - halo))


def psnr_y(hr: np.ndarray, sr: np.ndarray, crop_border: int) -> float:
    _check_pair(hr, sr)
    return psnr(crop_borders(rgb_to_y(hr), crop_border), crop_borders(rgb_to_y(sr), crop_border))


def ssim_y(hr: np.ndarray, sr: np.ndarray, crop_border: int) -> float:
    _check_pair(hr, sr)
    return ssim_gray(crop_borders(rgb_to_y(hr), crop_border), crop_borders(rgb_to_y(sr), crop_border))


def psnr_rgb(hr: np.ndarray, sr: np.ndarray) -> float:
    """scikit-image ``peak_signal_noise_ratio(hr, sr, data_range=255)``, whole image (the seed's PSNR).

    For uint8 images every squared difference is an integer <= 255^2 and their sum stays below 2^53,
    so any float64 summation order is exact: strip-wise sums of the squared differences
    (``_squared_error_sum``) give scikit-image's bits without its float64 copies of both images.
    """
    _check_pair(hr, sr)
    if hr.dtype != np.uint8 or sr.dtype != np.uint8:
        if np.array_equal(hr, sr):
            return math.inf
        from skimage.metrics import peak_signal_noise_ratio

        return float(peak_signal_noise_ratio(hr, sr, data_range=DATA_RANGE))
    squared = _squared_error_sum(hr, sr)  # exact: no BLAS dot (its threads stall on a busy CPU)
    if squared == 0.0:
        return math.inf
    return float(10 * np.log10((DATA_RANGE ** 2) / (squared / hr.size)))  # scikit-image's expression


RGB_SSIM_WINDOW = 7  # scikit-image's default uniform window


def ssim_rgb(hr: np.ndarray, sr: np.ndarray) -> float:
    """scikit-image ``structural_similarity(..., channel_axis=-1, data_range=255)`` (the seed's SSIM).

    Its default is a 7x7 uniform window with the sample covariance, averaged over the positions where
    the window fits (the reflect-padded border is cropped) and then over the channels; images smaller
    than 7x7 give NaN instead of an exception. For uint8 images this computes the same formula from
    exact integer window sums (see :func:`_ssim_uniform_uint8`), about 5x faster, equal to 1e-9.
    """
    _check_pair(hr, sr)
    if min(hr.shape[:2]) < RGB_SSIM_WINDOW:
        return math.nan
    if hr.dtype == np.uint8 and sr.dtype == np.uint8:
        return _ssim_uniform_uint8(hr, sr, RGB_SSIM_WINDOW, DATA_RANGE)
    from skimage.metrics import structural_similarity

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(structural_similarity(hr, sr, channel_axis=-1, data_range=DATA_RANGE))


def _ssim_uniform_uint8(x: np.ndarray, y: np.ndarray, win: int, data_range: float,
                        rows_per_chunk: int | None = None) -> float:
    """scikit-image's uniform-window SSIM rewritten on window sums ``s_x = sum x`` over ``n = win**2`` px.

    With ``u_x = s_x / n`` and ``v_xy = (n s_xy - s_x s_y) / (n (n - 1))`` (sample covariance), the
    ``n`` factors cancel in SSIM = (2 u_x u_y + C1)(2 v_xy + C2) / ((u_x^2 + u_y^2 + C1)(v_x + v_y + C2)):

        SSIM = (2 s_x s_y + C1 n^2)(2 (n s_xy - s_x s_y) + C2 n (n-1))
               / ((s_x^2 + s_y^2 + C1 n^2)(n (s_xx + s_yy) - s_x^2 - s_y^2 + C2 n (n-1)))

    The window sums of uint8 pixels and of their products (<= 49 * 255^2 < 2^24) are exact in
    float32, so a float32 box filter gives them without rounding. Everything, the window sums
    included, runs in strips of ``rows_per_chunk`` valid rows (reading ``win - 1`` more input rows;
    by default about ``_STRIP_PIXELS`` pixels) that stay in cache. Only positions where the window fits are used, as scikit-image crops
    ``(win - 1) // 2`` pixels after filtering.
    """
    import cv2

    n = float(win * win)
    c1 = (SSIM_K1 * data_range) ** 2 * n * n
    c2 = (SSIM_K2 * data_range) ** 2 * n * (n - 1)
    pad = (win - 1) // 2

    def window_sums(img: np.ndarray) -> np.ndarray:
        summed = cv2.boxFilter(img, -1, (win, win), normalize=False, borderType=cv2.BORDER_REFLECT)
        return summed[pad:-pad, pad:-pad] if pad else summed

    if rows_per_chunk is None:
        rows_per_chunk = _rows_per_strip(x.shape[1])
    total = 0.0
    count = 0
    for r in range(0, x.shape[0] - 2 * pad, rows_per_chunk):
        # Valid rows r .. r + rows_per_chunk need input rows r .. r + rows_per_chunk + 2 pad: the
        # exact float32 window sums of those rows are the whole image's, bit for bit.
        xf = x[r:r + rows_per_chunk + 2 * pad].astype(np.float32)
        yf = y[r:r + rows_per_chunk + 2 * pad].astype(np.float32)
        sx, sy = window_sums(xf), window_sums(yf)
        sxy = window_sums(xf * yf)
        xf *= xf
        yf *= yf
        xf += yf
        sq = window_sums(xf)  # s_xx + s_yy in one pass
        a = sx.astype(np.float64)
        b = sy.astype(np.float64)
        ab = a * b
        a *= a
        b *= b
        a += b  # s_x^2 + s_y^2
        num2 = sxy.astype(np.float64)
        num2 *= n
        num2 -= ab
        num2 *= 2
        num2 += c2
        den2 = sq.astype(np.float64)
        den2 *= n
        den2 -= a
        den2 += c2
        ab *= 2
        ab += c1
        a += c1
        ab *= num2
        a *= den2
        ab /= a
        total += float(ab.sum())
        count += ab.size
    return total / count


def score(hr: np.ndarray, sr: np.ndarray, crop_border: int) -> dict[str, float]:
    """All four columns for one HR/SR pair: ``psnr_rgb``, ``ssim_rgb``, ``psnr_y``, ``ssim_y``.

    The same values as the four functions called one by one; the luma planes are computed once.
    """
    _check_pair(hr, sr)
    y_hr = crop_borders(rgb_to_y(hr), crop_border)
    y_sr = crop_borders(rgb_to_y(sr), crop_border)
    return {
        "psnr_rgb": psnr_rgb(hr, sr),
        "ssim_rgb": ssim_rgb(hr, sr),
        "psnr_y": psnr(y_hr, y_sr),
        "ssim_y": ssim_gray(y_hr, y_sr),
    }


def json_safe(value: float) -> float | str | None:
    """A metric as JSON allows it: ``inf`` -> the string ``"inf"``, NaN -> ``null``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)
