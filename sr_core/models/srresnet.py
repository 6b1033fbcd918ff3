"""SRResNet, the SRGAN generator (Ledig et al.), with the seed's layer stack."""

from __future__ import annotations

import math

import keras

from sr_core.config import SRResNetConfig
from sr_core.models.layers import BicubicUpsample, ClipPixels, DepthToSpace


def _residual_block(x, filters: int, index: int, dt):
    skip = x
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"block{index}_conv1", dtype=dt)(x)
    x = keras.layers.BatchNormalization(name=f"block{index}_bn1", dtype=dt)(x)
    x = keras.layers.PReLU(shared_axes=[1, 2], name=f"block{index}_prelu", dtype=dt)(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"block{index}_conv2", dtype=dt)(x)
    x = keras.layers.BatchNormalization(name=f"block{index}_bn2", dtype=dt)(x)
    return keras.layers.Add(name=f"block{index}_add", dtype=dt)([skip, x])


def build_srresnet(cfg: SRResNetConfig, scale: int, *, dtype_policy: str | None = None) -> keras.Model:
    """LR pixels (N, h, w, 3) in 0..255 -> HR pixels (N, h*scale, w*scale, 3).

    Conv k9n64 + PReLU -> B x [Conv-BN-PReLU-Conv-BN-Add] -> Conv-BN-Add(skip) ->
    log2(scale) x [Conv k3 n(4f), pixel shuffle x2, PReLU] -> Conv k9n3 (linear).
    Unlike the seed (tanh output trained against [0,1] targets, fed 0..255 at test time), the input
    is scaled to [-1, 1] inside the model and the linear output is mapped back to pixels
    (x * 127.5 + 127.5). With ``cfg.bicubic_skip`` the output is bicubic(LR) + x * 127.5 instead.
    """
    if scale < 2 or scale & (scale - 1):
        raise ValueError(f"SRResNet upsamples by pixel-shuffle x2 stages: scale must be a power of 2, got {scale}")
    f, dt = cfg.filters, dtype_policy
    lr = keras.Input(shape=(None, None, 3), name="lr")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_signed_unit", dtype=dt)(lr)
    x = keras.layers.Conv2D(f, 9, padding="same", name="head_conv", dtype=dt)(x)
    head = keras.layers.PReLU(shared_axes=[1, 2], name="head_prelu", dtype=dt)(x)
    x = head
    for i in range(cfg.num_blocks):
        x = _residual_block(x, f, i + 1, dt)
    x = keras.layers.Conv2D(f, 3, padding="same", name="trunk_conv", dtype=dt)(x)
    x = keras.layers.BatchNormalization(name="trunk_bn", dtype=dt)(x)
    x = keras.layers.Add(name="trunk_add", dtype=dt)([head, x])
    for i in range(int(math.log2(scale))):
        x = keras.layers.Conv2D(4 * f, 3, padding="same", name=f"up{i + 1}_conv", dtype=dt)(x)
        x = DepthToSpace(2, name=f"up{i + 1}_shuffle", dtype=dt)(x)
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"up{i + 1}_prelu", dtype=dt)(x)
    # With the bicubic skip the tail starts at zero: training starts exactly at bicubic.
    tail_init = "zeros" if cfg.bicubic_skip else "glorot_uniform"
    x = keras.layers.Conv2D(3, 9, padding="same", kernel_initializer=tail_init, name="tail_conv", dtype=dt)(x)
    if cfg.bicubic_skip:
        x = keras.layers.Rescaling(127.5, name="to_pixel_residual", dtype="float32")(x)
        x = keras.layers.Add(name="add_bicubic", dtype="float32")([BicubicUpsample(scale, name="bicubic")(lr), x])
    else:
        x = keras.layers.Rescaling(127.5, offset=127.5, name="to_pixels", dtype="float32")(x)
    out = ClipPixels(name="clip")(x)
    return keras.Model(lr, out, name="srresnet")
