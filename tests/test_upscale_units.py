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
