"""Losses: pixel MSE, VGG19 content loss (VGG54 / VGG22) and the adversarial BCE losses (logits).

All images enter as 0..255 float pixels, the models' common range. The VGG content loss applies
``keras.applications.vgg19.preprocess_input`` to those 0..255 RGB pixels (the seed fed [0, 1] images,
which puts them ~100 units away from the ImageNet means VGG19 expects), divides the features by
12.75 (the SRGAN paper's rescaling) and takes the MSE.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf

from sr_core.config import SRGANConfig

VGG_LAYERS = {"vgg54": "block5_conv4", "vgg22": "block2_conv2"}
VGG_FEATURE_SCALE = 12.75
VGG_WEIGHTS_ENV = "SRBENCH_VGG19_WEIGHTS"
VGG_NOTOP_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG_NOTOP_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + VGG_NOTOP_FILE)

_bce = keras.losses.BinaryCrossentropy(from_logits=True)


class VGGWeightsUnavailable(RuntimeError):
    """The VGG19 weights needed by the content loss cannot be found or downloaded."""


def _vgg_help(problem: str) -> str:
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return (
        f"{problem}\nThe SRGAN content loss needs the ImageNet VGG19 'notop' weights. Provide them by one of:\n"
        f"  1. on a machine with internet, download {VGG_NOTOP_URL}\n"
        f"     and copy it to {keras_home / 'models' / VGG_NOTOP_FILE}\n"
        f"  2. put the file anywhere and set {VGG_WEIGHTS_ENV}=/path/to/{VGG_NOTOP_FILE}\n"
        f"     or pass --set srgan.vgg_weights=/path/to/{VGG_NOTOP_FILE}\n"
        "  3. or train the pixel-loss variant SRGAN-MSE instead: --set srgan.content_loss=mse"
    )


def resolve_vgg_weights(cfg: SRGANConfig) -> str:
    """The weights argument for VGG19: a local .h5 path, or "imagenet" once the Keras cache has it.

    Order: ``cfg.vgg_weights``, env ``SRBENCH_VGG19_WEIGHTS``, the Keras cache, then a download.
    Raises :class:`VGGWeightsUnavailable` (with instructions) instead of silently using anything else.
    """
    explicit = cfg.vgg_weights or os.environ.get(VGG_WEIGHTS_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        source = "srgan.vgg_weights" if cfg.vgg_weights else VGG_WEIGHTS_ENV
        if not path.is_file():
            raise VGGWeightsUnavailable(_vgg_help(f"VGG19 weights file {path} (from {source}) does not exist."))
        return str(path)
    try:
        # Returns the cached file at once; otherwise downloads it (fails fast when offline).
        keras.utils.get_file(VGG_NOTOP_FILE, VGG_NOTOP_URL, cache_subdir="models",
                             file_hash="253f8cb515780f3b799900260a226db6")
    except Exception as exc:  # noqa: BLE001 - any download failure means the same thing here
        raise VGGWeightsUnavailable(_vgg_help(f"Could not download the VGG19 weights: {exc}")) from None
    return "imagenet"


def build_vgg_features(layer: str, weights: str | None) -> keras.Model:
    """A frozen VGG19 truncated at ``layer``, for any input size, on ``preprocess_input`` output."""
    vgg = keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    features = keras.Model(vgg.input, vgg.get_layer(layer).output, name=f"vgg19_{layer}")
    features.trainable = False
    return features


def pixel_mse(hr, sr, value_range: float = 255.0):
    """Mean squared error of 0..255 pixels measured in units of ``value_range`` (255 -> [0, 1] scale)."""
    diff = (tf.cast(hr, tf.float32) - tf.cast(sr, tf.float32)) / value_range
    return tf.reduce_mean(tf.square(diff))


class ContentLoss:
    """The SRGAN content loss: "vgg54" / "vgg22" (VGG19 features) or "mse" (SRGAN-MSE).

    "mse" is measured on the [-1, 1] scale the SRGAN paper uses for HR images, so that the 1e-3
    adversarial weight means what it means in the paper.
    """

    def __init__(self, kind: str, weights: str | None = "imagenet"):
        self.kind = kind
        if kind == "mse":
            self.features = None
        elif kind in VGG_LAYERS:
            self.features = build_vgg_features(VGG_LAYERS[kind], weights)
        else:
            raise ValueError(f"unknown content loss {kind!r}: use vgg54, vgg22 or mse")

    def feature_map(self, pixels):
        x = keras.applications.vgg19.preprocess_input(tf.cast(pixels, tf.float32))
        return self.features(x, training=False) / VGG_FEATURE_SCALE

    def __call__(self, hr, sr):
        if self.features is None:
            return pixel_mse(hr, sr, value_range=127.5)
        return tf.reduce_mean(tf.square(self.feature_map(hr) - self.feature_map(sr)))


def content_loss_for(cfg: SRGANConfig) -> ContentLoss:
    """The configured content loss; VGG weights are resolved first (stops at once when missing)."""
    if cfg.content_loss == "mse":
        return ContentLoss("mse")
    return ContentLoss(cfg.content_loss, resolve_vgg_weights(cfg))


def generator_adversarial_loss(fake_logits):
    """BCE(ones, D(fake)): the generator wants its images classified as real."""
    fake_logits = tf.cast(fake_logits, tf.float32)
    return _bce(tf.ones_like(fake_logits), fake_logits)


def discriminator_loss(real_logits, fake_logits):
    """BCE(ones, D(real)) + BCE(zeros, D(fake))."""
    real_logits, fake_logits = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
    return _bce(tf.ones_like(real_logits), real_logits) + _bce(tf.zeros_like(fake_logits), fake_logits)
