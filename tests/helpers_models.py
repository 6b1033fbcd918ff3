"""Project networks with weights whose output is *not* bicubic, so a test on them can fail.

The smoke SRCNN (global residual) and SRResNet (bicubic skip) start with a zero last layer: untrained
or barely trained, they output bicubic bit for bit, and a test comparing two such models cannot tell
trained weights from zeros, from an untrained copy or from reset BatchNorm statistics.
``make_nontrivial`` gives every layer seeded random weights (a non-zero tail, BatchNorm moving
statistics away from 0/1) and checks the output is far from bicubic before any test relies on it.
"""

from __future__ import annotations

import numpy as np

from sr_core import resize

# Mean absolute difference from bicubic (gray levels) a "non-trivial" model must exceed.
MIN_MEAN_DIFF_FROM_BICUBIC = 2.0


def probe_image(h: int = 17, w: int = 21, seed: int = 11) -> np.ndarray:
    from tests.helpers_eval import textured_image

    return textured_image(h, w, seed=seed)


def model_pixels(model, lr: np.ndarray) -> np.ndarray:
    """One uint8 HxWx3 LR image through a Keras model in inference mode, as float64 pixels."""
    out = model(lr[None].astype(np.float32), training=False)
    return np.asarray(out, dtype=np.float64)[0]


def diff_from_bicubic(model, lr: np.ndarray | None = None, scale: int = 4) -> float:
    """Mean |model(lr) - MATLAB bicubic(lr)| in gray levels."""
    lr = probe_image() if lr is None else lr
    return float(np.abs(model_pixels(model, lr) - resize.upscale(lr, scale).astype(np.float64)).mean())


def assert_not_bicubic(model, lr: np.ndarray | None = None, scale: int = 4) -> float:
    diff = diff_from_bicubic(model, lr, scale)
    assert diff > MIN_MEAN_DIFF_FROM_BICUBIC, (
        f"the test model is (nearly) bicubic (mean |diff| {diff:.3f}); a test on it could not tell "
        "trained weights from zeros or an untrained copy")
    return diff


def make_nontrivial(model, seed: int = 0, scale: int = 4, kernel_std: float = 0.05):
    """Seeded random weights for every layer (tail included) and BatchNorm statistics away from 0/1.

    Kernels get N(0, kernel_std) scaled by 1/sqrt(fan-in) relative to 3x3x8 so deep stacks stay
    in range; BatchNorm gets gamma in [0.5, 1.5], beta ~ N(0, 0.1), moving mean ~ N(0, 0.2) and
    moving variance in [0.5, 2]. Returns the model after checking it is not bicubic.
    """
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            gamma, beta, mean, var = weights
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 2.0, var.shape)])
        elif kind == "Conv2D" or kind == "Dense":
            kernel, *rest = weights
            fan_in = int(np.prod(kernel.shape[:-1]))
            std = kernel_std * np.sqrt(72.0 / fan_in)
            layer.set_weights([rng.normal(0, std, kernel.shape).astype(kernel.dtype)]
                              + [rng.normal(0, 0.02, b.shape).astype(b.dtype) for b in rest])
        elif kind == "PReLU":
            layer.set_weights([rng.uniform(0.1, 0.3, w.shape).astype(w.dtype) for w in weights])
    assert_not_bicubic(model, scale=scale)
    return model


def bn_moving_statistics(model) -> dict[str, list[np.ndarray]]:
    """{layer name: [moving_mean, moving_variance]} of every BatchNormalization layer."""
    return {layer.name: [np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)]
            for layer in model.layers if type(layer).__name__ == "BatchNormalization"}
