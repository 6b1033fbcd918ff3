"""MATLAB-compatible ``imresize`` (bicubic and bilinear), the degradation behind DIV2K's LR images.

MATLAB's ``imresize(img, 1/scale, 'bicubic')`` uses the Keys cubic kernel with a = -0.5, widened by the
scale factor when shrinking (antialiasing), half-pixel-centred sampling, symmetric padding at the
borders, and resizes one dimension at a time (rows first when both scales are equal). For uint8 input
each pass is rounded half away from zero and clipped to 0..255, as MATLAB's ``imresizemex`` does.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import sparse

Method = Literal["bicubic", "bilinear"]


def cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB's bicubic kernel (Keys, a = -0.5)."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    return (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0
    ) * ((absx > 1) & (absx <= 2))


def _triangle(x: np.ndarray) -> np.ndarray:
    absx = np.abs(x)
    return (1.0 - absx) * (absx <= 1)


_KERNELS = {"bicubic": (cubic, 4.0), "bilinear": (_triangle, 2.0)}


def contributions(
    in_length: int, out_length: int, scale: float, method: Method = "bicubic", antialias: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based source indices, each of shape (out_length, taps), as MATLAB computes them."""
    kernel, width = _KERNELS[method]
    if scale < 1 and antialias:
        base = kernel
        kernel = lambda x: scale * base(scale * x)  # noqa: E731 - widened kernel
        width = width / scale
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index -1 maps to 0, in_length maps to in_length - 1, and so on.
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


# Each pass works on blocks of independent lines (the image's columns for the row pass, its rows for
# the column pass) holding about this many float64 values in and out, so the temporaries stay in the
# CPU cache; whole-image float64 temporaries (96 MB for a 4 MP RGB image) made the cost per pixel
# grow with the image size. Every output value is the same sparse dot product of the same input line
# as a whole-image product, so the result does not depend on the block size.
_BLOCK_FLOATS = 1 << 17


def _resize_matrix(in_length: int, out_length: int, scale: float, method: Method,
                   antialias: bool) -> sparse.csr_matrix:
    """The (out_length x in_length) resampling matrix: mirrored indices that repeat simply add up."""
    weights, indices = contributions(in_length, out_length, scale, method, antialias)
    rows = np.repeat(np.arange(out_length), weights.shape[1])
    return sparse.csr_matrix((weights.ravel(), (rows, indices.ravel())), shape=(out_length, in_length))


def _finish(values: np.ndarray, to_uint8: bool) -> np.ndarray:
    """MATLAB's per-pass uint8 rounding (half away from zero, clipped), in place on a float64 block."""
    if not to_uint8:
        return values
    values += 0.5
    np.floor(values, out=values)
    return np.clip(values, 0, 255, out=values)  # integral values: assigning to uint8 is exact


def _resize_axis(img: np.ndarray, axis: int, out_length: int, scale: float, method: Method,
                 antialias: bool, to_uint8: bool) -> np.ndarray:
    in_length = img.shape[axis]
    matrix = _resize_matrix(in_length, out_length, scale, method, antialias)
    shape = list(img.shape)
    shape[axis] = out_length
    out = np.empty(shape, dtype=np.uint8 if to_uint8 else np.float64)
    lines = max(1, _BLOCK_FLOATS // (in_length + out_length))  # independent lines per block
    if axis == 0:  # every column (and channel) is resampled on its own: blocks of columns
        src = img.reshape(in_length, -1)
        dst = out.reshape(out_length, -1)
        for c in range(0, src.shape[1], lines):
            block = np.array(src[:, c:c + lines], dtype=np.float64)
            dst[:, c:c + lines] = _finish(matrix @ block, to_uint8)
    else:  # every image row is resampled on its own: strips of rows, each transposed in cache
        rows = max(1, lines // math.prod(img.shape[2:]))
        for r in range(0, img.shape[0], rows):
            moved = np.array(np.moveaxis(img[r:r + rows], 1, 0), dtype=np.float64)  # (in_length, rows, C)
            block = _finish(matrix @ moved.reshape(in_length, -1), to_uint8)
            out[r:r + rows] = np.moveaxis(block.reshape((out_length,) + moved.shape[1:]), 0, 1)
    return out


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    method: Method = "bicubic",
    antialias: bool = True,
) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB's ``imresize``.

    Give ``scale`` (e.g. 0.25 to shrink by 4) or ``output_shape`` (rows, cols). uint8 in gives uint8
    out (MATLAB rounding); float in gives float64 out, unclipped.
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an HxW or HxWxC image, got shape {img.shape}")
    in_h, in_w = img.shape[:2]
    if output_shape is None:
        if scale is None or scale <= 0:
            raise ValueError("give a positive scale or an output_shape")
        out_h, out_w = int(math.ceil(in_h * scale)), int(math.ceil(in_w * scale))
        scale_h = scale_w = float(scale)
    else:
        out_h, out_w = output_shape
        if scale is None:
            scale_h, scale_w = out_h / in_h, out_w / in_w
        else:
            scale_h = scale_w = float(scale)
    is_uint8 = img.dtype == np.uint8
    # MATLAB resizes the dimension with the smaller scale factor first; rows first on a tie.
    order = (0, 1) if scale_h <= scale_w else (1, 0)
    out = img
    for axis in order:
        length, axis_scale = ((out_h, scale_h) if axis == 0 else (out_w, scale_w))
        out = _resize_axis(out, axis, length, axis_scale, method, antialias, is_uint8)
    return out


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so both sides are multiples of ``scale`` (the SR papers' convention)."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The degradation: MATLAB bicubic ``imresize(hr, 1/scale)`` of a modcropped uint8 HR image.

    Raises :class:`sr_core.images.ImageTooSmallError` when a side is shorter than ``scale``."""
    if min(hr.shape[:2]) < scale:
        from sr_core.images import ImageTooSmallError

        raise ImageTooSmallError("<HR image>", f"it is {hr.shape[1]}x{hr.shape[0]} pixels; shrinking it "
                                 f"x{scale} needs at least {scale}x{scale}", "Use a larger image.")
    hr = modcrop(hr, scale)
    return imresize(hr, output_shape=(hr.shape[0] // scale, hr.shape[1] // scale), scale=1.0 / scale)


def upscale(lr: np.ndarray, scale: int, method: Method = "bicubic") -> np.ndarray:
    """The interpolation baselines: MATLAB ``imresize(lr, scale, method)``."""
    return imresize(lr, output_shape=(lr.shape[0] * scale, lr.shape[1] * scale), scale=float(scale),
                    method=method)
