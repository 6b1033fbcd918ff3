"""Synthetic, deterministic training data for the training tests (no patch dir needed)."""

from __future__ import annotations

import numpy as np

from sr_core.resize import downscale


def photo_patches(n: int, hr_size: int = 32, seed: int = 0, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(lr, hr) uint8 patches cut from a real photo, LR by MATLAB bicubic degradation."""
    from skimage import data

    photo = data.astronaut()
    rng = np.random.default_rng(seed)
    lrs, hrs = [], []
    for _ in range(n):
        y, x = rng.integers(0, photo.shape[0] - hr_size, 2)
        hr = photo[y:y + hr_size, x:x + hr_size]
        hrs.append(hr)
        lrs.append(downscale(hr, scale))
    return np.stack(lrs), np.stack(hrs)


def step_indexed_batches(lr: np.ndarray, hr: np.ndarray, batch_size: int, poison_step: int | None = None):
    """``batches(start)`` whose k-th batch depends only on the step k (so resumed runs see the same data).

    ``poison_step`` (1-based) makes that step's LR batch NaN.
    """

    def batches(start: int):
        step = start
        while True:
            idx = [(step * batch_size + i) % len(lr) for i in range(batch_size)]
            lr_batch = lr[idx].astype(np.float32)
            if poison_step is not None and step + 1 == poison_step:
                lr_batch = np.full_like(lr_batch, np.nan)
            yield lr_batch, hr[idx].astype(np.float32)
            step += 1

    return batches
