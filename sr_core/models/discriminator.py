"""The SRGAN discriminator (the seed's layer stack), producing one logit per image of any size."""

from __future__ import annotations

import keras

from sr_core.config import SRGANConfig
from sr_core.models.layers import SpatialMean


def build_discriminator(cfg: SRGANConfig, *, dtype_policy: str | None = None) -> keras.Model:
    """HR-size pixels (N, H, W, 3) in 0..255 -> logits (N, 1).

    Conv k3n64 LReLU -> Conv k3n64s2 BN LReLU -> for n in 2f, 4f, 8f: [Conv k3 n s1 BN LReLU,
    Conv k3 n s2 BN LReLU] -> Dense(d) LReLU -> Dense(1), with f = ``discriminator_filters`` and
    d = ``discriminator_dense`` (seed: 64 and 1024). As in the seed, the dense layers act on every
    spatial position (no Flatten); the per-position logits are then averaged. The paper flattens,
    which ties the network to one input size; averaging keeps the seed's layers, accepts any patch
    or image size, and behaves like a patch discriminator. No sigmoid: the losses use logits.
    """
    f, dt = cfg.discriminator_filters, dtype_policy
    hr = keras.Input(shape=(None, None, 3), name="hr")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_signed_unit", dtype=dt)(hr)
    x = keras.layers.Conv2D(f, 3, padding="same", name="conv0", dtype=dt)(x)
    x = keras.layers.LeakyReLU(0.2, name="lrelu0", dtype=dt)(x)
    specs = [(f, 2)] + [(n, s) for n in (2 * f, 4 * f, 8 * f) for s in (1, 2)]
    for i, (filters, stride) in enumerate(specs, start=1):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"conv{i}", dtype=dt)(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}", dtype=dt)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu{i}", dtype=dt)(x)
    x = keras.layers.Dense(cfg.discriminator_dense, name="dense", dtype=dt)(x)
    x = keras.layers.LeakyReLU(0.2, name="dense_lrelu", dtype=dt)(x)
    x = keras.layers.Dense(1, name="logit", dtype=dt)(x)
    logits = SpatialMean(name="mean_logit")(x)
    return keras.Model(hr, logits, name="discriminator")
