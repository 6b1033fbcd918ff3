"""The TensorFlow-free parts of :mod:`sr_core.upscale`: the ``Upscaler`` input checks, messages and
timing, interpolation upscalers, and ``run_tiled``'s whole-image threshold, batches and dtypes, with
a recording x4 model function whose output differs from any interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from sr_core import resize, upscale
from sr_core.images import ImageTooSmallError
from tests.helpers_eval import textured_image


class Recorder:
    """An x4 'model': nearest-neighbour x4 plus 0.25, recording each batch's shape and dtype."""

    def __init__(self):
        self.calls = []

    def __call__(self, batch):
        self.calls.append((batch.shape, batch.dtype))
        return np.repeat(np.repeat(batch, 4, axis=1), 4, axis=2) + 0.25


def _expected(lr):
    return upscale.to_uint8(np.repeat(np.repeat(lr.astype(np.float64), 4, axis=0), 4, axis=1) + 0.25)


def test_an_upscaler_checks_its_input_and_names_itself():
    lr = textured_image(6, 5, seed=1)
    up = upscale.interpolation_upscaler("bicubic", 4)
    assert (up.name, up.label, up.scale) == ("bicubic", "Bicubic", 4)
    np.testing.assert_array_equal(up(lr), resize.upscale(lr, 4, "bicubic"))
    bilinear = upscale.interpolation_upscaler("bilinear", 3)
    assert (bilinear.label, bilinear.scale, bilinear(lr).shape) == ("Bilinear", 3, (18, 15, 3))
    for bad in (lr.astype(np.float32), lr[..., 0], lr[..., :2], np.dstack([lr, lr[..., :1]])):
        with pytest.raises(ValueError) as caught:
            up(bad)
        assert str(caught.value) == f"bicubic: expected a uint8 HxWx3 LR image, got {bad.dtype} {bad.shape}"
    with pytest.raises(ImageTooSmallError) as caught:
        up(lr[:1])
    assert str(caught.value) == ("image too small: <LR image>: it is 5x1 pixels; bicubic upscaling (the models pad by "
                                 "reflection) needs at least 2x2. Use a larger image, or leave this one out.")
    assert up(lr[:2, :2]).shape == (8, 8, 3)  # 2x2 is enough
    with pytest.raises(ValueError) as caught:
        upscale.interpolation_upscaler("lanczos", 4)
    assert str(caught.value) == "unknown interpolation 'lanczos': use bicubic or bilinear"


def test_timed_returns_the_seconds_between_start_and_end(monkeypatch):
    clock = iter([100.0, 100.75])
    monkeypatch.setattr(upscale.time, "perf_counter", lambda: next(clock))
    up = upscale.interpolation_upscaler("bilinear", 4)
    lr = textured_image(4, 4, seed=2)
    sr, seconds = up.timed(lr)
    assert seconds == 0.75 and sr.shape == (16, 16, 3)


def test_run_tiled_runs_the_whole_image_up_to_the_tile_size_in_float32():
    lr = textured_image(8, 8, seed=3)
    model = Recorder()
    out = upscale.run_tiled(model, lr, 4, 8, 2)
    assert model.calls == [((1, 8, 8, 3), np.float32)]
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, _expected(lr))


def test_run_tiled_tiles_an_image_wider_than_the_tile_in_full_batches_of_float32_windows():
    lr = textured_image(6, 50, seed=4)  # as high as a tile, wider than one
    model = Recorder()
    out = upscale.run_tiled(model, lr, 4, 8, 2, tiles_per_batch=2)
    tiles = upscale.plan_uniform_tiles(6, 50, 8, 2)
    assert len(tiles) > 2 and len(tiles) % 2 != 0  # a last, partial batch (filled up with repeats)
    shape = (2, tiles[0].in_bottom - tiles[0].in_top, tiles[0].in_right - tiles[0].in_left, 3)
    assert shape[2] < 50
    assert model.calls == [(shape, np.float32)] * -(-len(tiles) // 2)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, _expected(lr))


def test_an_image_over_the_tile_size_that_fits_one_window_is_one_tile():
    lr = textured_image(4, 20, seed=5)  # wider than the tile, but 4x20 fits one (8 + 2 * 2)^2 window
    assert len(upscale.plan_uniform_tiles(4, 20, 8, 2)) == 1
    model = Recorder()
    np.testing.assert_array_equal(upscale.run_tiled(model, lr, 4, 8, 2, tiles_per_batch=4), _expected(lr))
    assert model.calls == [((1, 4, 20, 3), np.float32)]


# tile planning: the least computation within the window budget (brute force over every grid)

_RANDOM_GRIDS = [tuple(int(v) for v in c) for c in zip(*(np.random.default_rng(7).integers(lo, hi, 200)
                                                          for lo, hi in ((1, 41), (1, 41), (1, 21), (0, 9))))]


@pytest.mark.parametrize("h, w, size, pad", [(339, 510, 256, 24), (540, 960, 256, 24), (70, 45, 32, 8),
                                             (123, 7, 10, 3), (50, 50, 4, 6), (31, 97, 16, 0),
                                             (29, 35, 5, 0), (32, 49, 15, 7), (38, 38, 13, 10)] + _RANDOM_GRIDS)
def test_uniform_tiles_compute_the_least_area_any_grid_allows(h, w, size, pad):
    """Brute force over every rows x columns grid of equal cores: none within the window budget
    computes fewer pixels than the plan, and every plan covers the image once within the budget."""
    def window(side, n):  # two cores each touch an image edge: context on one side is enough
        return min(side, -(-side // n) + (pad if n == 2 else 2 * pad))

    budget = (size + 2 * pad) ** 2
    best = min(len(range(0, h, -(-h // r))) * len(range(0, w, -(-w // c))) * window(h, r) * window(w, c)
               for r in range(1, h + 1) for c in range(1, w + 1) if window(h, r) * window(w, c) <= budget)
    tiles = upscale.plan_uniform_tiles(h, w, size, pad)
    area = sum((t.in_bottom - t.in_top) * (t.in_right - t.in_left) for t in tiles)
    assert area == best
    seen = np.zeros((h, w), int)
    for t in tiles:
        seen[t.top:t.bottom, t.left:t.right] += 1
        assert (t.in_bottom - t.in_top) * (t.in_right - t.in_left) <= budget
    assert (seen == 1).all()
