"""Upscalers with one call signature (LR uint8 HxWx3 -> SR uint8), and tiled whole-image inference.

Interpolation baselines (``bicubic``, ``bilinear``) are MATLAB ``imresize`` from :mod:`sr_core.resize`.
Keras models (SRCNN, SRResNet, SRGAN or any ``.keras`` file) run tile by tile: the LR image is cut
into a grid of nearly equal cores, each grown by ``tile_pad`` pixels of real image context but never
beyond the image (no window holds more pixels than a ``tile_size`` square grown by ``tile_pad``;
:func:`plan_uniform_tiles`), so the model's zero ("same") padding falls exactly where it would for
the whole image.
Each output tile is cropped back to its core, so tiled inference equals untiled inference whenever
``tile_pad`` covers the model's receptive-field radius (to float rounding: within 1 gray level), and
memory stays bounded by the tile size however large the photo is. :func:`model_upscaler` raises a
smaller ``tile_pad`` to that radius (:func:`required_tile_pad`) with a logged note.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sr_core import catalog, resize
from sr_core.config import PipelineConfig
from sr_core.export import load_model, read_sidecar
from sr_core.images import check_min_size

log = logging.getLogger(__name__)

# A model function takes float32 (1, h, w, 3) pixels in 0..255 and returns (1, h*s, w*s, 3).
ModelFn = Callable[[np.ndarray], np.ndarray]


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Clip to 0..255, round half to even, uint8: how every model output becomes an image."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64)), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Tile:
    """One tile: the core it contributes and the (larger) input window that gives it context, in LR px."""

    top: int
    left: int
    bottom: int
    right: int
    in_top: int
    in_left: int
    in_bottom: int
    in_right: int


def plan_uniform_tiles(height: int, width: int, tile_size: int, tile_pad: int) -> list[Tile]:
    """Tiles whose input windows all have one shape, so one compiled model function (and one batch
    shape) serves every tile of an image, chosen to compute as little as possible.

    Memory is set by a window's area, so ``tile_size`` bounds it: no window holds more pixels than a
    ``tile_size`` square grown by ``tile_pad`` on every side. Within that bound the grid (rows x
    columns of nearly equal cores) with the least total window area wins, i.e. the least computation
    spent on overlapping context; on a tie, fewer tiles, then fewer rows. A side split once needs no
    context and a side split in two needs it on the inner side only, so a 510x339 image at 256:24
    runs as 2x2 windows of 194x279 (1.25x its pixels), not 2x2 of 218x303 (1.53x). A window that
    would cross the image edge slides back inside instead of shrinking: its core keeps at least
    ``tile_pad`` pixels of real context towards the inside, and the image edge stays at the window
    edge, where the model's zero padding falls as it does for the whole image.
    """
    if tile_size <= 0:
        raise ValueError(f"tile_size must be positive, got {tile_size}")
    budget = (tile_size + 2 * tile_pad) ** 2
    rows, cols = min(_grids(height, width, budget, tile_pad))[2:]
    row_spans, win_h = _spans(height, rows, tile_pad)
    col_spans, win_w = _spans(width, cols, tile_pad)
    return [Tile(top, left, bottom, right, in_top, in_left, in_top + win_h, in_left + win_w)
            for top, bottom, in_top in row_spans for left, right, in_left in col_spans]


def _window(side: int, count: int, pad: int) -> int:
    """The window length when ``side`` is cut into ``count`` nearly equal cores grown by ``pad``:
    on both sides, except with two cores, which each touch an image edge and need it on one side."""
    return min(side, -(-side // count) + (pad if count == 2 else 2 * pad))


def _counts(side: int) -> list[int]:
    """Every distinct number of nearly equal cores a side can be cut into (cores of ceil(side / n))."""
    return sorted({-(-side // -(-side // n)) for n in range(1, side + 1)})


def _grids(height: int, width: int, budget: int, pad: int) -> Iterator[tuple[int, int, int, int]]:
    """(total window area, tiles, rows, columns) of every grid whose windows stay within ``budget``
    pixels (about 4 sqrt(height x width) grids to try). One-pixel cores always fit, as budget >=
    (1 + 2 pad)^2."""
    col_counts = _counts(width)
    for rows in _counts(height):
        win_h = _window(height, rows, pad)
        for cols in col_counts:
            win_w = _window(width, cols, pad)
            if win_h * win_w <= budget:
                yield rows * cols * win_h * win_w, rows * cols, rows, cols


def _spans(side: int, count: int, pad: int) -> tuple[list[tuple[int, int, int]], int]:
    """(core start, core end, window start) for ``count`` cores along ``side``, and the window length."""
    core, window = -(-side // count), _window(side, count, pad)
    return [(start, min(start + core, side), min(max(0, start - pad), side - window))
            for start in range(0, side, core)], window


def run_tiled(model_fn: ModelFn, lr: np.ndarray, scale: int, tile_size: int | None,
              tile_pad: int, *, tiles_per_batch: int = 1) -> np.ndarray:
    """Whole-image inference through ``model_fn``, tile by tile; returns uint8 SR (H*s, W*s, 3).

    ``tile_size`` None or 0 runs the whole image at once. All tiles share one input shape
    (:func:`plan_uniform_tiles`) and go through ``model_fn`` ``tiles_per_batch`` at a time (the last
    batch is filled up with repeats, so the shape never changes and nothing is traced twice).
    """
    if lr.ndim != 3 or lr.shape[2] != 3:
        raise ValueError(f"expected an LR image HxWx3, got shape {lr.shape}")
    h, w = lr.shape[:2]
    if not tile_size or (h <= tile_size and w <= tile_size):
        out = np.asarray(model_fn(lr[None].astype(np.float32)))[0]
        _check_output(out, h, w, scale)
        return to_uint8(out)
    tiles = plan_uniform_tiles(h, w, tile_size, tile_pad)
    win_h, win_w = tiles[0].in_bottom - tiles[0].in_top, tiles[0].in_right - tiles[0].in_left
    batch = max(1, min(tiles_per_batch, len(tiles)))
    windows = np.empty((batch, win_h, win_w, 3), np.float32)
    sr = np.empty((h * scale, w * scale, 3), np.uint8)
    for first in range(0, len(tiles), batch):
        group = tiles[first:first + batch]
        for i in range(batch):
            t = group[min(i, len(group) - 1)]
            windows[i] = lr[t.in_top:t.in_bottom, t.in_left:t.in_right]
        out = np.asarray(model_fn(windows))
        for i, t in enumerate(group):
            _check_output(out[i], win_h, win_w, scale)
            dy, dx = (t.top - t.in_top) * scale, (t.left - t.in_left) * scale
            core = out[i, dy:dy + (t.bottom - t.top) * scale, dx:dx + (t.right - t.left) * scale]
            sr[t.top * scale:t.bottom * scale, t.left * scale:t.right * scale] = to_uint8(core)
    return sr


def _check_output(out: np.ndarray, h: int, w: int, scale: int) -> None:
    if out.shape != (h * scale, w * scale, 3):
        raise ValueError(f"the model turned a {h}x{w} LR input into {out.shape[:2]}, expected "
                         f"{h * scale}x{w * scale} (x{scale}); is it an x{scale} model?")


@dataclass
class Upscaler:
    """A named way to make SR from LR: ``upscaler(lr) -> sr`` (uint8 in, uint8 out)."""

    name: str
    label: str
    scale: int
    run: Callable[[np.ndarray], np.ndarray]
    model_path: Path | None = None
    step: int | None = None
    info: dict | None = None

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        if lr.dtype != np.uint8 or lr.ndim != 3 or lr.shape[2] != 3:
            raise ValueError(f"{self.name}: expected a uint8 HxWx3 LR image, got {lr.dtype} {lr.shape}")
        check_min_size(lr, 2, "<LR image>", f"{self.name} upscaling (the models pad by reflection)")
        return self.run(lr)

    def timed(self, lr: np.ndarray) -> tuple[np.ndarray, float]:
        """The SR image and the seconds it took."""
        start = time.perf_counter()
        sr = self(lr)
        return sr, time.perf_counter() - start


def interpolation_upscaler(method: str, scale: int) -> Upscaler:
    if not catalog.is_interpolation(method):
        raise ValueError(f"unknown interpolation {method!r}: use {' or '.join(catalog.INTERPOLATION_NAMES)}")
    return Upscaler(name=method, label=catalog.method_label(method), scale=scale,
                    run=lambda lr: resize.upscale(lr, scale, method))


def read_model_sidecar(path: Path) -> dict:
    """The JSON written beside an exported model (label, step, ...); {} when there is none."""
    try:
        return dict(read_sidecar(path) or {})
    except (OSError, ValueError, KeyError):
        return {}


def keras_model_fn(model, max_traces: int = 8) -> ModelFn:
    """Inference mode (BatchNorm uses its moving statistics); a compiled graph per repeated input shape.

    Tiles share one shape (:func:`plan_uniform_tiles`), so a tiled image compiles once, on its second
    tile, and every later tile and image of that size reuses the graph (which also frees each layer's
    output as soon as it is consumed). A shape seen once, such as a whole small image, runs eagerly
    instead of paying a trace it would never reuse. At most ``max_traces`` shapes are kept.
    """
    import tensorflow as tf

    seen: set[tuple[int, ...]] = set()
    compiled: dict[tuple[int, ...], Callable] = {}

    def run(x: np.ndarray) -> np.ndarray:
        x = tf.convert_to_tensor(x, tf.float32)
        shape = tuple(x.shape)
        fn = compiled.get(shape)
        if fn is None and shape in seen and len(compiled) < max_traces:
            fn = compiled[shape] = tf.function(lambda t: model(t, training=False))
        seen.add(shape)
        y = fn(x) if fn is not None else model(x, training=False)
        return y.numpy() if hasattr(y, "numpy") else np.asarray(y)

    run.compiled_shapes = compiled  # type: ignore[attr-defined] - for tests and benchmarks
    return run


def model_scale(model_fn: ModelFn) -> int:
    """The factor a model upscales by, from a 12x12 probe."""
    out = np.asarray(model_fn(np.zeros((1, 12, 12, 3), np.float32)))
    if out.ndim != 4 or out.shape[1] % 12 or out.shape[1] != out.shape[2]:
        raise ValueError(f"the model maps a 12x12 input to {out.shape[1:]}; not an SR model")
    return out.shape[1] // 12


def model_upscaler(path: str | Path, scale: int, *, name: str | None = None,
                   tile_size: int | None = catalog.DEFAULT_TILE_SIZE, tile_pad: int = catalog.DEFAULT_TILE_PAD,
                   tiles_per_batch: int = 1) -> Upscaler:
    """Load a ``.keras`` model and wrap it for tiled whole-image inference."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist; train one with 'srbench train' "
                                "or list the registered ones with 'srbench models'")
    try:
        model = load_model(path)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file; say which file
        raise ValueError(f"cannot load {path} as a Keras model ({type(exc).__name__}: {exc}); "
                         "is it a complete .keras file exported by srbench?") from exc
    fn = keras_model_fn(model)
    actual = model_scale(fn)
    if actual != scale:
        raise ValueError(f"{path} upscales x{actual}, but x{scale} was asked for (--scale / data.scale)")
    info = read_model_sidecar(path)
    tile_pad = _guarded_tile_pad(path, model, info, tile_size, tile_pad)
    step = info.get("step")
    label = info.get("label") or (name or path.stem)
    return Upscaler(name=name or path.stem, label=str(label), scale=scale,
                    run=lambda lr: run_tiled(fn, lr, scale, tile_size, tile_pad, tiles_per_batch=tiles_per_batch),
                    model_path=path, step=int(step) if step is not None else None, info=info)


def _guarded_tile_pad(path: Path, model, info: dict, tile_size: int | None, tile_pad: int) -> int:
    needed = required_tile_pad(model, info)
    if tile_size and tile_pad < needed:
        log.warning("%s: tile_pad %d is smaller than the model's receptive field (%d LR px); using %d "
                    "so that the tiles leave no seams", path.name, tile_pad, needed, needed)
        return needed
    return tile_pad


def required_tile_pad(model, info: dict | None = None) -> int:
    """The LR context a tile needs so that tiled inference equals whole-image inference.

    From the catalogue when the sidecar names a known model and holds its config; otherwise an
    upper bound from the Keras model's layers (:func:`layer_receptive_field`).
    """
    info = info or {}
    spec = catalog.MODELS.get(str(info.get("name")))
    if spec is not None and isinstance(info.get("config"), dict):
        try:
            return spec.receptive_field(PipelineConfig.model_validate(info["config"]))
        except ValueError:
            pass  # an old or hand-edited sidecar: measure the layers instead
    return layer_receptive_field(model)


def layer_receptive_field(model) -> int:
    """An upper bound of the receptive-field radius in LR pixels, from a Keras model's layers.

    Follows the layer graph from the inputs: each window (convolution, pooling) adds its radius at
    the resolution it runs at, rounded up to whole LR pixels (after a x2 pixel shuffle a pixel is
    half an LR pixel; after a stride, several); where branches meet the larger reach counts. Layer
    types it does not know (resizes, lambdas) add nothing.
    """
    memo: dict[tuple[int, int], tuple[int, float]] = {}

    def reach(tensor) -> tuple[int, float]:
        layer, node_index, _ = tensor._keras_history
        key = (id(layer), node_index)
        if key not in memo:
            inputs = [reach(t) for t in layer._inbound_nodes[node_index].input_tensors]
            memo[key] = _through(layer, max((r for r, _ in inputs), default=0),
                                 max((f for _, f in inputs), default=1.0))
        return memo[key]

    return max(reach(t)[0] for t in model.outputs)


def _pair(value, default: int) -> tuple[int, ...]:
    value = default if value is None else value
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _through(layer, radius: int, factor: float) -> tuple[int, float]:
    """(radius, factor) after ``layer``; ``factor`` = the layer input's pixels per LR pixel."""
    if hasattr(layer, "outputs") and hasattr(layer, "layers"):  # a nested model
        return radius + math.ceil(layer_receptive_field(layer) / factor), factor
    config, kind = layer.get_config(), type(layer).__name__
    window = config.get("kernel_size") or config.get("pool_size")
    if window is not None:
        dilation = _pair(config.get("dilation_rate"), 1)
        reach = max(((k - 1) * d + 1) // 2 for k, d in zip(_pair(window, 1), dilation))
        return radius + math.ceil(reach / factor), factor / max(_pair(config.get("strides"), 1))
    if kind == "BicubicUpsample":
        return radius + catalog.BICUBIC_RADIUS, factor * config["scale"]
    if kind == "DepthToSpace":
        return radius, factor * config["block_size"]
    if kind == "UpSampling2D":
        return radius, factor * max(_pair(config.get("size"), 2))
    return radius, factor


def make_upscaler(method: str, scale: int, *, model_path: str | Path | None = None,
                  tile_size: int | None = catalog.DEFAULT_TILE_SIZE,
                  tile_pad: int = catalog.DEFAULT_TILE_PAD) -> Upscaler:
    """``bicubic``/``bilinear``, or a model method backed by ``model_path``."""
    if catalog.is_interpolation(method):
        return interpolation_upscaler(method, scale)
    if model_path is None:
        raise ValueError(f"method {method!r} needs a model file")
    return model_upscaler(model_path, scale, name=method, tile_size=tile_size, tile_pad=tile_pad)
