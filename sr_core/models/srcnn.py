"""SRCNN (Dong et al.): 9-5-5 convolutions on the bicubic-upsampled LR image ("ILR")."""

from __future__ import annotations

import keras

from sr_core.config import SRCNNConfig
from sr_core.models.layers import BicubicUpsample, ClipPixels


def build_srcnn(cfg: SRCNNConfig, scale: int, *, dtype_policy: str | None = None) -> keras.Model:
    """LR pixels (N, h, w, 3) in 0..255 -> HR-size pixels (N, h*scale, w*scale, 3).

    Patch extraction (f1 x k1, ReLU), non-linear mapping (f2 x k2, ReLU), reconstruction (3 x k3),
    on the ILR scaled to 0..1 inside the model. ``cfg.residual`` adds the ILR back (the network
    then learns only the missing detail, as VDSR does), which trains much faster on small budgets.
    ``dtype_policy`` (e.g. "mixed_float16") applies to the convolutions; resize and output stay float32.
    """
    (f1, f2), (k1, k2, k3) = cfg.filters, cfg.kernel_sizes
    dt = dtype_policy
    lr = keras.Input(shape=(None, None, 3), name="lr")
    ilr = BicubicUpsample(scale, name="bicubic")(lr)
    x = keras.layers.Rescaling(1.0 / 255.0, name="to_unit", dtype=dt)(ilr)
    x = keras.layers.Conv2D(f1, k1, padding="same", activation="relu", name="extract", dtype=dt)(x)
    x = keras.layers.Conv2D(f2, k2, padding="same", activation="relu", name="map", dtype=dt)(x)
    # With the global residual the last layer starts at zero, so training starts exactly at bicubic
    # instead of bicubic plus random noise (it still receives gradients and learns first).
    last_init = "zeros" if cfg.residual else "glorot_uniform"
    x = keras.layers.Conv2D(3, k3, padding="same", kernel_initializer=last_init, name="reconstruct", dtype=dt)(x)
    x = keras.layers.Rescaling(255.0, name="to_pixels", dtype="float32")(x)
    if cfg.residual:
        x = keras.layers.Add(name="add_ilr", dtype="float32")([ilr, x])
    out = ClipPixels(name="clip")(x)
    return keras.Model(lr, out, name="srcnn")
