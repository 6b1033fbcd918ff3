"""Shapes, ranges and the in-model bicubic of every network (smoke-sized)."""

from __future__ import annotations

import numpy as np
import pytest

from sr_core.config import PipelineConfig, SRCNNConfig, SRResNetConfig
from sr_core.resize import imresize, upscale

tf = pytest.importorskip("tensorflow")

from sr_core.models import build_discriminator, build_srcnn, build_srresnet  # noqa: E402
from sr_core.models.layers import BicubicUpsample  # noqa: E402


def _lr(n=2, h=7, w=9, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, h, w, 3)).astype("float32")


def test_bicubic_layer_equals_matlab_imresize_on_float_input():
    lr = _lr().astype(np.float64)
    got = BicubicUpsample(4)(lr.astype("float32")).numpy()
    want = np.stack([imresize(im, output_shape=(28, 36), scale=4.0) for im in lr])
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_bicubic_layer_close_to_uint8_upscale_on_a_real_photo():
    from skimage import data

    lr = data.astronaut()[::8, ::8][:40, :40]
    got = BicubicUpsample(4)(lr[None].astype("float32")).numpy()[0]
    want = upscale(lr, 4).astype(np.float64)
    # MATLAB rounds/clips uint8 between its two passes; the layer stays float.
    assert np.abs(np.clip(got, 0, 255) - want).mean() < 0.5


@pytest.mark.parametrize("residual", [False, True])
def test_srcnn_shape_range_and_dynamic_size(residual):
    model = build_srcnn(SRCNNConfig(filters=(8, 4), residual=residual), scale=4)
    assert model.input_shape == (None, None, None, 3)
    for h, w in [(6, 5), (10, 12)]:
        out = model(_lr(h=h, w=w), training=False).numpy()
        assert out.shape == (2, 4 * h, 4 * w, 3)
        assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 255


def test_residual_srcnn_with_zero_network_is_exactly_bicubic():
    model = build_srcnn(SRCNNConfig(filters=(8, 4), residual=True), scale=4)
    model.get_layer("reconstruct").set_weights([np.zeros_like(w) for w in model.get_layer("reconstruct").get_weights()])
    lr = _lr()
    np.testing.assert_allclose(model(lr, training=False).numpy(),
                               np.clip(BicubicUpsample(4)(lr).numpy(), 0, 255), atol=1e-4)


@pytest.mark.parametrize("skip", [False, True])
def test_srresnet_shape_range(skip):
    model = build_srresnet(SRResNetConfig(num_blocks=2, filters=8, bicubic_skip=skip), scale=4)
    out = model(_lr(h=5, w=7), training=False).numpy()
    assert out.shape == (2, 20, 28, 3)
    assert out.min() >= 0 and out.max() <= 255
    # Untrained, the output sits near mid-gray (no skip) or near bicubic (skip): the scaling is inside.
    ref = np.clip(BicubicUpsample(4)(_lr(h=5, w=7)).numpy(), 0, 255) if skip else 127.5
    assert np.abs(out - ref).mean() < 60


def test_srresnet_has_the_seed_layer_stack():
    model = build_srresnet(SRResNetConfig(num_blocks=5, filters=64), scale=4)
    names = [layer.name for layer in model.layers]
    assert sum(n.endswith("_add") and n.startswith("block") for n in names) == 5
    assert model.get_layer("head_conv").kernel.shape == (9, 9, 3, 64)
    assert model.get_layer("up1_conv").kernel.shape == (3, 3, 64, 256)
    assert model.get_layer("up2_conv").kernel.shape == (3, 3, 64, 256)
    assert model.get_layer("tail_conv").kernel.shape == (9, 9, 64, 3)
    assert model.get_layer("tail_conv").activation.__name__ == "linear"


def test_srresnet_rejects_non_power_of_two_scale():
    with pytest.raises(ValueError, match="power of 2"):
        build_srresnet(SRResNetConfig(num_blocks=1, filters=4), scale=3)


def test_discriminator_gives_one_logit_for_any_size():
    cfg = PipelineConfig().srgan.model_copy(update={"discriminator_filters": 4, "discriminator_dense": 8})
    disc = build_discriminator(cfg)
    for size in (32, 48, 40):
        logits = disc(_lr(n=3, h=size, w=size), training=False).numpy()
        assert logits.shape == (3, 1) and np.isfinite(logits).all()
    strides = [layer.strides[0] for layer in disc.layers if layer.name.startswith("conv")]
    assert strides == [1, 2, 1, 2, 1, 2, 1, 2]


def test_mixed_precision_models_keep_float32_outputs():
    model = build_srresnet(SRResNetConfig(num_blocks=1, filters=8, bicubic_skip=True), scale=4,
                           dtype_policy="mixed_float16")
    assert model.get_layer("head_conv").compute_dtype == "float16"
    assert model(_lr(h=4, w=4)).dtype == tf.float32
