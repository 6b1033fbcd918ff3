"""Upscalers and tiled inference: tiled == untiled on a real conv model with BatchNorm."""

from __future__ import annotations

import numpy as np
import pytest

from sr_core import resize, upscale
from tests.helpers_eval import save_tiny_model, textured_image, tiny_sr_model


def test_uniform_tiles_share_one_window_shape_and_keep_their_context():
    h, w, size, pad = 70, 45, 32, 8
    seen = np.zeros((h, w), int)
    tiles = upscale.plan_uniform_tiles(h, w, size, pad)
    shapes = {(t.in_bottom - t.in_top, t.in_right - t.in_left) for t in tiles}
    assert shapes == {(35 + pad, 45)}  # 2 rows of 35 (+ context on the inner side), the full width needs none
    for t in tiles:
        seen[t.top:t.bottom, t.left:t.right] += 1
        assert 0 <= t.in_top and t.in_bottom <= h and 0 <= t.in_left and t.in_right <= w
        assert t.top - t.in_top >= min(pad, t.top) and t.in_bottom - t.bottom >= min(pad, h - t.bottom)
        assert t.left - t.in_left >= min(pad, t.left) and t.in_right - t.right >= min(pad, w - t.right)
        assert (t.in_bottom - t.in_top) * (t.in_right - t.in_left) <= (size + 2 * pad) ** 2
    assert (seen == 1).all()


def test_run_tiled_batches_tiles_without_changing_the_result():
    calls = []

    def model_fn(x):
        calls.append(x.shape)
        return np.repeat(np.repeat(x + x.mean(axis=(1, 2, 3), keepdims=True) * 0, 2, axis=1), 2, axis=2)

    lr = textured_image(37, 29, seed=4)
    one = upscale.run_tiled(model_fn, lr, 2, tile_size=8, tile_pad=2)
    assert len(set(calls)) == 1 and calls[0][0] == 1 and len(calls) == 5 * 4
    calls.clear()
    batched = upscale.run_tiled(model_fn, lr, 2, tile_size=8, tile_pad=2, tiles_per_batch=6)
    assert [c[0] for c in calls] == [6, 6, 6, 6]  # 20 tiles: the last batch is padded to the same shape
    np.testing.assert_array_equal(batched, one)
    np.testing.assert_array_equal(one, np.repeat(np.repeat(lr, 2, axis=0), 2, axis=1))


def test_run_tiled_with_a_local_numpy_model_is_exact():
    # A 3x3 box filter with zero padding, then nearest x2: radius 1, so pad 1 is enough to be exact.
    def model_fn(x):
        p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        box = sum(p[:, i:i + x.shape[1], j:j + x.shape[2]] for i in range(3) for j in range(3)) / 9
        return box.repeat(2, axis=1).repeat(2, axis=2)

    lr = textured_image(37, 29, seed=1)
    whole = upscale.run_tiled(model_fn, lr, 2, None, 0)
    tiled = upscale.run_tiled(model_fn, lr, 2, tile_size=8, tile_pad=1)
    np.testing.assert_array_equal(tiled, whole)
    seams = upscale.run_tiled(model_fn, lr, 2, tile_size=8, tile_pad=0)
    assert not np.array_equal(seams, whole)  # without context the seams show: the test has teeth


@pytest.fixture(scope="module")
def tiny_model():
    return tiny_sr_model(scale=4, seed=0)


def test_tiled_equals_untiled_on_a_real_keras_model(tiny_model):
    fn = upscale.keras_model_fn(tiny_model)
    lr = textured_image(45, 58, seed=2)
    whole = upscale.run_tiled(fn, lr, 4, None, 0)
    assert whole.shape == (180, 232, 3) and whole.dtype == np.uint8
    tiled = upscale.run_tiled(fn, lr, 4, tile_size=16, tile_pad=6)
    diff = np.abs(tiled.astype(int) - whole.astype(int))
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.01
    no_context = upscale.run_tiled(fn, lr, 4, tile_size=16, tile_pad=0)
    assert np.abs(no_context.astype(int) - whole.astype(int)).max() > 1


def test_image_smaller_than_a_tile(tiny_model):
    fn = upscale.keras_model_fn(tiny_model)
    lr = textured_image(5, 7, seed=3)
    out = upscale.run_tiled(fn, lr, 4, tile_size=64, tile_pad=16)
    assert out.shape == (20, 28, 3)


def test_output_is_clipped_and_rounded():
    lr = np.zeros((4, 4, 3), np.uint8)
    out = upscale.run_tiled(lambda x: np.full((1, 8, 8, 3), 300.0) * np.sign(np.arange(8) - 3.5)[None, :, None, None],
                            lr, 2, None, 0)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    assert (upscale.to_uint8(np.array([1.4, 1.6, -3, 255.7])) == [1, 2, 0, 255]).all()


def test_interpolation_upscalers_are_matlab_imresize():
    lr = textured_image(10, 12)
    for method in ("bicubic", "bilinear"):
        up = upscale.make_upscaler(method, 4)
        sr, seconds = up.timed(lr)
        np.testing.assert_array_equal(sr, resize.upscale(lr, 4, method))
        assert sr.shape == (40, 48, 3) and seconds >= 0
    with pytest.raises(ValueError, match="uint8"):
        upscale.make_upscaler("bicubic", 4)(lr.astype(np.float32))


def test_model_upscaler_loads_a_saved_keras_file(tmp_path):
    path = save_tiny_model(tmp_path / "tiny.keras", label="Tiny-MSE", step=7)
    up = upscale.make_upscaler("srresnet", 4, model_path=path, tile_size=16, tile_pad=6)
    assert up.step == 7 and up.label == "Tiny-MSE" and up.model_path == path
    lr = textured_image(20, 24, seed=4)
    sr = up(lr)
    assert sr.shape == (80, 96, 3) and sr.dtype == np.uint8
    with pytest.raises(ValueError, match="x4"):
        upscale.make_upscaler("srresnet", 2, model_path=path)
    with pytest.raises(FileNotFoundError, match="srbench models"):
        upscale.make_upscaler("srcnn", 4, model_path=tmp_path / "missing.keras")


@pytest.mark.parametrize("name", ["srcnn", "srresnet"])
def test_tiled_equals_untiled_on_the_project_models(smoke_config, name):
    # The real architectures with non-trivial weights (a zero tail would make both exactly bicubic,
    # whose 2-px reach hides a too-small tile context): SRCNN with its in-model MATLAB bicubic,
    # SRResNet with BN, PReLU and pixel shuffle. Tiles touching the image border see the same
    # border handling as the whole image.
    from sr_core.models.srcnn import build_srcnn
    from sr_core.models.srresnet import build_srresnet
    from tests.helpers_models import make_nontrivial

    model = (build_srcnn(smoke_config.srcnn, 4) if name == "srcnn"
             else build_srresnet(smoke_config.srresnet, 4))
    make_nontrivial(model, seed=3, kernel_std=0.12 if name == "srcnn" else 0.05)
    fn = upscale.keras_model_fn(model)
    lr = textured_image(50, 61, seed=6)
    whole = upscale.run_tiled(fn, lr, 4, None, 0)
    tiled = upscale.run_tiled(fn, lr, 4, tile_size=24, tile_pad=16)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1
    # The receptive field reaches past 1 LR px: with that little context the seams show. (The
    # uniform windows slide inward at the image edges, so some tiles get more than tile_pad.)
    short = upscale.run_tiled(fn, lr, 4, tile_size=24, tile_pad=1)
    assert np.abs(short.astype(int) - whole.astype(int)).max() > 1


def test_a_corrupt_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="broken.keras"):
        upscale.make_upscaler("srcnn", 4, model_path=bad)


def test_the_tile_pad_guard_makes_a_deep_model_seamless(tmp_path, caplog):
    # The SRGAN paper's 16-block SRResNet reads 40 LR pixels around each output pixel, far more
    # than the 4 asked for here: the upscaler raises the pad (and says so), so tiles leave no seams.
    import logging

    import keras

    from sr_core import catalog
    from sr_core.config import load_config
    from sr_core.export import export_model

    cfg = load_config("div2k", ["srresnet.num_blocks=16", "srresnet.filters=16"], data_dir=tmp_path)
    keras.utils.set_random_seed(5)
    model = catalog.MODELS["srresnet"].build(cfg)
    exported = export_model(model, cfg, "srresnet", step=1)
    fn = upscale.keras_model_fn(model)
    lr = textured_image(128, 136, seed=7)
    whole = upscale.run_tiled(fn, lr, 4, None, 0)
    assert whole.std() > 20 and np.isin(whole, (0, 255)).mean() < 0.5  # a real picture, not clipped flat

    with caplog.at_level(logging.WARNING, logger="sr_core.upscale"):
        guarded = upscale.model_upscaler(exported.path, 4, tile_size=32, tile_pad=4)
    assert "tile_pad 4" in caplog.text and "(40 LR px)" in caplog.text
    np.testing.assert_array_equal(guarded(lr), whole)
    seams = upscale.run_tiled(fn, lr, 4, tile_size=32, tile_pad=4)  # what the guard prevents
    assert np.abs(seams.astype(int) - whole.astype(int)).max() > 8

    # A .keras file without a sidecar: the radius comes from the model's layers.
    bare = tmp_path / "bare.keras"
    model.save(bare)
    assert upscale.required_tile_pad(model, {}) == 40
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sr_core.upscale"):
        up = upscale.model_upscaler(bare, 4, tile_size=32, tile_pad=4)
    assert "(40 LR px)" in caplog.text
    np.testing.assert_array_equal(up(lr), whole)


def test_the_guard_leaves_a_large_enough_pad_alone(tmp_path, caplog):
    import logging

    path = save_tiny_model(tmp_path / "tiny.keras")
    with caplog.at_level(logging.WARNING, logger="sr_core.upscale"):
        upscale.model_upscaler(path, 4, tile_size=16, tile_pad=24)
        upscale.model_upscaler(path, 4, tile_size=None, tile_pad=0)  # untiled: no pad needed
    assert caplog.text == ""


def test_layer_receptive_field_follows_the_layer_graph():
    # Each window counts at the resolution it runs at, branches by their own path: a linear walk
    # over model.layers would let the early bicubic branch shrink the trunk's reach below.
    import keras

    from sr_core.models.layers import BicubicUpsample, DepthToSpace

    lr = keras.Input((None, None, 3))
    skip = BicubicUpsample(4)(lr)  # created first: 2 LR px, x4
    x = keras.layers.Conv2D(48, 9, padding="same")(lr)  # 4 LR px
    x = DepthToSpace(4)(x)
    x = keras.layers.Conv2D(3, 5, dilation_rate=2, padding="same")(x)  # 4 HR px = 1 LR px
    model = keras.Model(lr, keras.layers.Add()([skip, x]))
    assert upscale.layer_receptive_field(model) == 5

    inner = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(3, 7, padding="same")])
    outer_in = keras.Input((None, None, 3))
    nested = keras.Model(outer_in, keras.layers.Conv2D(3, 3, padding="same")(inner(outer_in)))
    assert upscale.layer_receptive_field(nested) == 3 + 1


def test_keras_model_fn_compiles_repeated_shapes_and_gives_the_eager_values(tiny_model):
    fn = upscale.keras_model_fn(tiny_model, max_traces=1)
    x = textured_image(20, 24, seed=7)[None].astype(np.float32)
    eager = tiny_model(x, training=False).numpy()
    first = fn(x)
    assert fn.compiled_shapes == {}  # a shape seen once runs eagerly
    second, third = fn(x), fn(x)  # traced, then the traced graph reused
    assert list(fn.compiled_shapes) == [x.shape]
    for out in (first, second, third):
        np.testing.assert_allclose(out, eager, rtol=0, atol=1e-3)
    other = textured_image(12, 16, seed=8)[None].astype(np.float32)  # over max_traces: stays eager
    for _ in range(2):
        np.testing.assert_allclose(fn(other), tiny_model(other, training=False).numpy(), rtol=0, atol=1e-3)
    assert list(fn.compiled_shapes) == [x.shape]
