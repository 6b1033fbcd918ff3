"""Paired comparisons of two methods over the same images: is a difference real or noise?

A night's verdict compares per-image scores of two methods on the *same* images (tonight's model vs
bicubic, or vs the current champion scored in the same run). The per-image differences are paired,
so image difficulty cancels; the uncertainty of their mean comes from a seeded percentile bootstrap
over images, so the same numbers always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Below this many images an interval is too wide (and a percentile bootstrap too coarse) to tell a
# 0.1 dB change from noise: the comparison says so instead of giving a verdict.
MIN_IMAGES_FOR_VERDICT = 5
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 20261128


@dataclass(frozen=True)
class PairedComparison:
    """The paired difference ``a - b`` over ``n`` images, with its bootstrap interval."""

    n: int
    mean: float
    low: float
    high: float
    confidence: float
    wins: int  # images where a > b
    losses: int  # images where a < b
    ties: int

    @property
    def resolvable(self) -> bool:
        """Enough images for the interval to mean something."""
        return self.n >= MIN_IMAGES_FOR_VERDICT

    def entirely_below(self, threshold: float) -> bool:
        """The whole interval lies below ``threshold`` (strictly): ``a`` is worse beyond doubt."""
        return self.resolvable and self.high < threshold

    def describe(self, unit: str = "dB") -> str:
        """``+0.31 dB [0.12, 0.48] (95%, 19 images, 15 better / 4 worse)``."""
        text = (f"{self.mean:+.2f} {unit} [{self.low:+.2f}, {self.high:+.2f}] "
                f"({self.confidence:.0%}, {self.n} images, {self.wins} better / {self.losses} worse)")
        if not self.resolvable:
            text += f"; fewer than {MIN_IMAGES_FOR_VERDICT} images cannot resolve small differences"
        return text


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> PairedComparison:
    """Mean of ``a - b`` over paired images and its percentile bootstrap interval.

    ``a[i]`` and ``b[i]`` are the scores of the same image. NaN pairs (an image one method could not
    score) are dropped. Resampling is seeded: the same inputs always give the same interval.
    """
    a_arr, b_arr = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a_arr.shape != b_arr.shape or a_arr.ndim != 1:
        raise ValueError(f"paired scores must be two 1-D sequences of equal length, got shapes "
                         f"{a_arr.shape} and {b_arr.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    diff = a_arr - b_arr
    diff = diff[np.isfinite(diff)]
    n = int(diff.size)
    if n == 0:
        raise ValueError("no image has a finite score for both methods")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return PairedComparison(n=n, mean=float(diff.mean()), low=float(low), high=float(high),
                            confidence=confidence, wins=int((diff > 0).sum()),
                            losses=int((diff < 0).sum()), ties=int((diff == 0).sum()))
