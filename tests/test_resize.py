"""MATLAB imresize: weights derived by hand from the cubic kernel, and the properties it must keep.

Hand derivation for x4 shrinking (scale s = 1/4): MATLAB widens the kernel to h(x) = s*cubic(s*x), 16
input pixels wide. Output pixel j (1-based) sits at input coordinate u = j/s + (1 - 1/s)/2 = 4j - 1.5,
so every tap is at a half-integer distance d = u - i in {+-0.5, ..., +-7.5}; the weight is
cubic(d/4)/4 with the Keys cubic (a = -0.5):
    t = d/4     0.125          0.375          0.625          0.875
    cubic(t)    0.9638671875   0.7275390625   0.3896484375   0.0908203125   (1.5t^3 - 2.5t^2 + 1)
    t = d/4     1.125          1.375          1.625          1.875
    cubic(t)   -0.0478515625  -0.0732421875  -0.0439453125  -0.0068359375   (-0.5t^3 + 2.5t^2 - 4t + 2)
Each side sums to 2, so the 16 weights sum to exactly 1 and need no normalisation in the interior.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from sr_core import resize
from sr_core.resize import contributions, downscale, imresize, modcrop, upscale

CUBIC_AT = {0.5: 0.9638671875, 1.5: 0.7275390625, 2.5: 0.3896484375, 3.5: 0.0908203125,
            4.5: -0.0478515625, 5.5: -0.0732421875, 6.5: -0.0439453125, 7.5: -0.0068359375}


def w(d: float) -> float:
    """Hand-derived x4 weight of a tap at distance d (see the module docstring)."""
    return CUBIC_AT.get(abs(d), 0.0) / 4


def test_interior_x4_weights_match_the_hand_derivation():
    weights, indices = contributions(64, 16, 0.25)
    row = 5  # 0-based output 5 = 1-based j 6: u = 22.5, taps at 1-based inputs 15..30
    expected = [w(22.5 - i) for i in range(15, 31)]
    assert indices[row].tolist() == list(range(14, 30))  # 0-based
    np.testing.assert_allclose(weights[row], expected, rtol=0, atol=1e-12)
    assert weights[row].sum() == pytest.approx(1.0, abs=1e-12)


def test_x4_downscale_of_an_impulse_float_and_uint8():
    img = np.zeros((4, 64))
    img[:, 33] = 255.0  # 1-based column 34
    out = imresize(img, 0.25)
    assert out.shape == (1, 16)
    # 1-based output j sits at u = 4j - 1.5: j = 7..11 see the impulse at d = -9.5 ... 4.5 (0 beyond 8).
    expected = [255 * w(4 * j - 1.5 - 34) for j in range(7, 12)]
    assert expected[2] == pytest.approx(61.4465, abs=1e-3)
    np.testing.assert_allclose(out[0, 6:11], expected, atol=1e-9)
    out8 = imresize(img.astype(np.uint8), 0.25)
    # MATLAB rounding, negative lobes clipped to 0: 255*0.02270508 = 5.79 -> 6, 61.45 -> 61
    assert out8[0, 6:11].tolist() == [0, 6, 61, 0, 0]


def test_x4_downscale_of_a_step_shows_the_hand_derived_overshoot():
    img = np.zeros((4, 64))
    img[:, 32:] = 255.0  # 1-based columns 33..64
    out = imresize(img, 0.25)[0]
    sum_side = lambda ds: sum(w(d) for d in ds)  # noqa: E731
    # j = 7: u = 26.5, the step is at d <= -6.5; j = 8: d <= -2.5; j = 10: all but d = 6.5, 7.5.
    assert out[6] == pytest.approx(255 * sum_side([-6.5, -7.5]))  # -3.24: undershoot
    assert out[7] == pytest.approx(255 * 0.0771484375)
    assert out[8] == pytest.approx(255 * 0.9228515625)
    assert out[9] == pytest.approx(255 * 1.0126953125)  # 258.2: overshoot
    out8 = imresize(img.astype(np.uint8), 0.25)[0]
    assert out8[5:11].tolist() == [0, 0, 20, 235, 255, 255]


@pytest.mark.parametrize("shape, scale", [((37, 53, 3), 4), ((40, 40), 2), ((29, 31, 3), 3)])
def test_a_constant_image_stays_constant(shape, scale):
    img = np.full(shape, 173, np.uint8)
    assert np.all(downscale(img, scale) == 173)
    assert np.all(upscale(downscale(img, scale), scale) == 173)


def test_a_linear_ramp_stays_linear_away_from_the_borders():
    x = np.arange(96, dtype=np.float64)
    img = np.tile(0.7 * x + 10.0, (8, 1))
    out = imresize(img, 0.25)
    j = np.arange(out.shape[1])
    # 0-based output j sits at 0-based input position 4j + 1.5
    expected = 0.7 * (4 * j + 1.5) + 10.0
    np.testing.assert_allclose(out[:, 2:-2], np.tile(expected, (2, 1))[:, 2:-2], atol=1e-9)
    assert not np.allclose(out[:, 0], expected[0])  # symmetric padding bends the border


def test_uint8_rounds_half_away_from_zero_after_each_pass():
    # Bilinear x2 of [0, 2]: 1-based outputs sit at 0.75, 1.25, 1.75, 2.25 -> 0, 0.5, 1.5, 2.
    img = np.array([[0, 2]], np.uint8)
    out = imresize(img, output_shape=(1, 4), method="bilinear")
    assert out.tolist() == [[0, 1, 2, 2]]  # numpy's round-half-even would give 0, 0, 2, 2
    np.testing.assert_allclose(imresize(img.astype(float), output_shape=(1, 4), method="bilinear"),
                               [[0, 0.5, 1.5, 2]])


def test_output_sizes_modcrop_and_dtypes():
    img = np.random.default_rng(0).integers(0, 256, (50, 43, 3), dtype=np.uint8)
    assert modcrop(img, 4).shape == (48, 40, 3)
    lr = downscale(img, 4)
    assert lr.shape == (12, 10, 3) and lr.dtype == np.uint8
    assert upscale(lr, 4).shape == (48, 40, 3)
    assert imresize(img, 0.5).shape == (25, 22, 3)  # MATLAB: ceil(size * scale)
    assert imresize(img.astype(np.float32), 0.5).dtype == np.float64
    with pytest.raises(ValueError):
        imresize(img[..., None], 0.5)


def test_rgb_channels_are_resized_independently():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)
    out = downscale(img, 4)
    for c in range(3):
        assert np.array_equal(out[..., c], downscale(img[..., c], 4))


def _whole_image_imresize(img: np.ndarray, passes: list[tuple[int, int, float]], method: str) -> np.ndarray:
    """The definition without blocks: each (axis, length, scale) pass is one sparse product over the
    whole image, rounded to uint8 after each pass for uint8 input."""
    out = img
    for axis, length, scale in passes:
        weights, indices = contributions(out.shape[axis], length, scale, method)
        rows = np.repeat(np.arange(length), weights.shape[1])
        matrix = sparse.csr_matrix((weights.ravel(), (rows, indices.ravel())), shape=(length, out.shape[axis]))
        moved = np.moveaxis(out, axis, 0)
        flat = matrix @ moved.reshape(moved.shape[0], -1).astype(np.float64)
        out = np.moveaxis(flat.reshape((length,) + moved.shape[1:]), 0, axis)
        if img.dtype == np.uint8:
            out = np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
    return out


# 1 value: one line per block; 7 and 1000: blocks that do not divide the image (the last one is
# short); 1 << 17: the whole test image is smaller than one block.
@pytest.mark.parametrize("block_floats", [1, 7, 1000, 1 << 17])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_blockwise_resize_equals_the_whole_image_product_exactly(monkeypatch, block_floats, dtype):
    monkeypatch.setattr(resize, "_BLOCK_FLOATS", block_floats)
    rng = np.random.default_rng(7)
    hr = rng.integers(0, 256, (203, 157, 3)).astype(dtype)[1:-2, 3:-2]  # a non-contiguous view, 200x152
    lr = downscale(hr, 4)
    assert np.array_equal(lr, _whole_image_imresize(hr, [(0, 50, 0.25), (1, 38, 0.25)], "bicubic"))
    for method in ("bicubic", "bilinear"):
        want = _whole_image_imresize(lr, [(0, 200, 4.0), (1, 152, 4.0)], method)
        assert np.array_equal(upscale(lr, 4, method), want)
    gray = hr[..., 1]  # 2-D, unequal scales: MATLAB resizes the columns (smaller factor) first
    want = _whole_image_imresize(gray, [(1, 51, 51 / 152), (0, 401, 401 / 200)], "bilinear")
    assert np.array_equal(imresize(gray, output_shape=(401, 51), method="bilinear"), want)
