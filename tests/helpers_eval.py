"""Small real Keras SR models and images for the evaluation/report tests (engineer C's helpers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_sr_model(scale: int = 4, seed: int = 0, filters: int = 8):
    """A small real x``scale`` conv net: Conv-BN-PReLU residual block, nearest upsample, conv, skip.

    BatchNorm gets non-trivial moving statistics so inference mode matters. Built only from core
    Keras layers, so it saves and loads as a ``.keras`` file in safe mode.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, 3))
    x = layers.Rescaling(1 / 255.0)(inp)
    feat = layers.Conv2D(filters, 5, padding="same")(x)
    feat = layers.PReLU(shared_axes=[1, 2])(feat)
    y = layers.Conv2D(filters, 3, padding="same")(feat)
    y = layers.BatchNormalization()(y)
    y = layers.PReLU(shared_axes=[1, 2])(y)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    y = layers.Add()([feat, y])
    y = layers.UpSampling2D(scale, interpolation="nearest")(y)
    y = layers.Conv2D(3, 3, padding="same")(y)
    base = layers.UpSampling2D(scale, interpolation="bilinear")(x)
    out = layers.Add()([base, layers.Rescaling(0.3)(y)])
    out = layers.Rescaling(255.0)(out)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
    return model


def save_tiny_model(path: Path, scale: int = 4, seed: int = 0, label: str | None = None,
                    step: int | None = None) -> Path:
    import json

    model = tiny_sr_model(scale, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    if label is not None or step is not None:
        path.with_suffix(".json").write_text(json.dumps({"label": label, "step": step}))
    return path


def textured_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth-plus-edges uint8 RGB image (more like a photo than white noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        128 + 90 * np.sin(xx / 7.0 + seed) * np.cos(yy / 11.0),
        128 + 80 * np.cos((xx + yy) / 9.0),
        (xx * 3 + yy * 2) % 256,
    ], axis=-1)
    img[h // 3: h // 2, w // 4: w // 2] = 240
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
