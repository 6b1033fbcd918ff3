"""Content and adversarial losses: correct VGG preprocessing, scaling, and the missing-weights error."""

from __future__ import annotations

import numpy as np
import pytest

from sr_core.config import SRGANConfig

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from sr_core import losses  # noqa: E402


def _img(seed, n=2, size=32):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.fixture(scope="module")
def vgg22():
    keras.utils.set_random_seed(0)
    return losses.ContentLoss("vgg22", weights=None)


def test_vgg_content_loss_uses_preprocess_input_on_0_255_rgb(vgg22):
    hr, sr = _img(1), _img(2)
    features = vgg22.features
    # Manual: RGB->BGR, subtract the ImageNet BGR means, VGG features, / 12.75, MSE.
    means = np.array([103.939, 116.779, 123.68], np.float32)

    def manual(x):
        return features(x[..., ::-1] - means).numpy() / 12.75

    want = np.mean((manual(hr) - manual(sr)) ** 2)
    got = float(vgg22(hr, sr))
    assert got == pytest.approx(want, rel=1e-4)
    # The seed's bug (feeding [0, 1] images) gives a different value: the test would catch it.
    wrong = np.mean((features(hr / 255.0).numpy() / 12.75 - features(sr / 255.0).numpy() / 12.75) ** 2)
    assert abs(wrong - want) > 1e-3 * want


def test_vgg_layers_are_the_named_ones(vgg22):
    assert vgg22.features.layers[-1].name == "block2_conv2"
    assert losses.VGG_LAYERS == {"vgg54": "block5_conv4", "vgg22": "block2_conv2"}
    assert vgg22.features.trainable is False
    hr = _img(3)
    assert float(vgg22(hr, hr)) == 0.0


def test_mse_content_loss_is_on_the_signed_unit_scale():
    hr = np.zeros((1, 4, 4, 3), np.float32)
    sr = np.full_like(hr, 127.5)
    assert float(losses.ContentLoss("mse")(hr, sr)) == pytest.approx(1.0)
    assert float(losses.pixel_mse(hr, sr)) == pytest.approx(0.25)


def test_adversarial_losses_from_logits():
    big = tf.constant([[30.0], [30.0]])
    assert float(losses.generator_adversarial_loss(big)) < 1e-6
    assert float(losses.generator_adversarial_loss(-big)) == pytest.approx(30.0, rel=1e-3)
    zero = tf.zeros((2, 1))
    assert float(losses.discriminator_loss(zero, zero)) == pytest.approx(2 * np.log(2), rel=1e-5)
    assert float(losses.discriminator_loss(big, -big)) < 1e-6


def test_missing_weights_file_stops_with_instructions(tmp_path, monkeypatch):
    monkeypatch.delenv(losses.VGG_WEIGHTS_ENV, raising=False)
    cfg = SRGANConfig(vgg_weights=str(tmp_path / "nope.h5"))
    with pytest.raises(losses.VGGWeightsUnavailable) as err:
        losses.content_loss_for(cfg)
    text = str(err.value)
    assert "nope.h5" in text and losses.VGG_WEIGHTS_ENV in text and "srgan.content_loss=mse" in text


def test_failed_download_stops_with_instructions(monkeypatch):
    monkeypatch.delenv(losses.VGG_WEIGHTS_ENV, raising=False)

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(losses.keras.utils, "get_file", offline)
    with pytest.raises(losses.VGGWeightsUnavailable, match="Name or service not known"):
        losses.content_loss_for(SRGANConfig(content_loss="vgg54"))


def test_env_weights_path_is_used(tmp_path, monkeypatch):
    weights = tmp_path / "vgg.h5"
    weights.write_bytes(b"x")
    monkeypatch.setenv(losses.VGG_WEIGHTS_ENV, str(weights))
    assert losses.resolve_vgg_weights(SRGANConfig()) == str(weights)
    assert SRGANConfig(content_loss="mse").label == "SRGAN-MSE"
