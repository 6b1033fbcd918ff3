"""Tiled inference's memory is bounded by the tile size, not the image size (README: "bounded memory").

No timing and no process RSS (the machine is shared): a recording model function shows that every
input the model sees is one tile window, whatever the image size, and tracemalloc (which numpy's
allocations report to) shows that the loop's peak over the uint8 output it must return grows with the
tile, not with the image.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sr_core.upscale import plan_uniform_tiles, run_tiled

SCALE = 4


class Recorder:
    """A x4 'model': nearest-neighbour upsampling plus a position-dependent offset, recording inputs."""

    def __init__(self):
        self.shapes: list[tuple[int, ...]] = []
        self.largest_bytes = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        self.largest_bytes = max(self.largest_bytes, batch.nbytes)
        return batch.repeat(SCALE, axis=1).repeat(SCALE, axis=2) * 0.5 + 10.0


def _image(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(h * 1000 + w).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _tiled_peak(lr: np.ndarray, tile: int, pad: int) -> tuple[Recorder, np.ndarray, int]:
    recorder = Recorder()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        sr = run_tiled(recorder, lr, SCALE, tile, pad)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return recorder, sr, peak


@pytest.mark.parametrize("tile,pad", [(16, 4), (24, 6)])
def test_model_inputs_stay_at_the_tile_window_for_any_image_size(tile, pad):
    window = tile + 2 * pad
    for h, w in [(48, 96), (192, 384), (50, 70)]:  # 16x as many pixels; and sides not a tile multiple
        recorder, sr, _ = _tiled_peak(_image(h, w), tile, pad)
        (shape,) = set(recorder.shapes)  # one window shape for the whole image
        # a window never holds more pixels than a tile grown by its pad (its sides may differ)
        assert shape[0] == 1 and shape[3] == 3 and shape[1] * shape[2] <= window * window, (h, w, shape)
        assert len(recorder.shapes) == len(plan_uniform_tiles(h, w, tile, pad))  # every tile, once
        assert sr.shape == (h * SCALE, w * SCALE, 3)


def test_peak_memory_beyond_the_output_does_not_grow_with_the_image():
    tile, pad = 16, 4
    small, large = _image(48, 64), _image(192, 256)  # 16x the pixels
    _, sr_small, peak_small = _tiled_peak(small, tile, pad)
    _, sr_large, peak_large = _tiled_peak(large, tile, pad)
    # the output is the only image-sized buffer: the rest of the peak is a few tile-sized arrays
    window_out = (tile + 2 * pad) ** 2 * SCALE ** 2 * 3 * 4  # one float32 model output of a window
    extra_small, extra_large = peak_small - sr_small.nbytes, peak_large - sr_large.nbytes
    assert extra_large <= 8 * window_out, (extra_large, window_out)
    # 16x the pixels: only the tile list (a few hundred bytes per tile) grows
    assert extra_large <= 1.25 * extra_small, (extra_small, extra_large)
    # untiled, the same image needs image-sized float buffers: the measurement can see the difference
    _, _, peak_untiled = _tiled_peak(large, 0, 0)
    assert peak_untiled - sr_large.nbytes > 4 * extra_large


def test_tiled_output_is_the_untiled_output():
    lr = _image(50, 70)  # not a multiple of the tile: edge tiles are shifted inside the image
    np.testing.assert_array_equal(run_tiled(Recorder(), lr, SCALE, 16, 4), run_tiled(Recorder(), lr, SCALE, 0, 0))
