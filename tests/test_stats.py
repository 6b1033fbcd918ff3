"""The paired bootstrap: known differences give known intervals, and the verdict rules hold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from sr_core.stats import MIN_IMAGES_FOR_VERDICT, paired_bootstrap


def test_constant_difference_has_a_degenerate_interval():
    a = [30.0, 25.5, 28.25, 31.0, 22.0, 27.0]
    b = [x - 0.25 for x in a]
    cmp = paired_bootstrap(a, b)
    assert cmp.n == 6
    assert cmp.mean == pytest.approx(0.25)
    assert (cmp.low, cmp.high) == (pytest.approx(0.25), pytest.approx(0.25))
    assert (cmp.wins, cmp.losses, cmp.ties) == (6, 0, 0)


def test_two_images_span_their_two_differences():
    # With two images the resampled means are d1, (d1+d2)/2 or d2 with probabilities 1/4, 1/2, 1/4:
    # the 95% percentile interval is exactly [min, max].
    cmp = paired_bootstrap([1.0, 2.0], [1.5, 1.0])  # differences -0.5 and +1.0
    assert cmp.mean == pytest.approx(0.25)
    assert (cmp.low, cmp.high) == (pytest.approx(-0.5), pytest.approx(1.0))
    assert (cmp.wins, cmp.losses) == (1, 1)
    assert not cmp.resolvable
    assert "cannot resolve" in cmp.describe()


def test_interval_is_paired_not_two_sample():
    # Image difficulty varies by 10 dB but method a is always 0.1 dB better: paired, that is certain.
    rng = np.random.default_rng(1)
    b = rng.uniform(20, 30, size=12)
    a = b + 0.1 + rng.normal(0, 0.01, size=12)
    cmp = paired_bootstrap(a, b)
    assert 0.09 < cmp.low < cmp.mean < cmp.high < 0.11


def test_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(7)
    diff = rng.normal(0.2, 0.5, size=19)
    ours = paired_bootstrap(diff, np.zeros_like(diff), resamples=40_000)
    ref = scipy_stats.bootstrap((diff,), np.mean, confidence_level=0.95, n_resamples=40_000,
                                method="percentile", random_state=np.random.default_rng(3))
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.01)


def test_seeded_and_reproducible():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=9), rng.normal(size=9)
    assert paired_bootstrap(a, b) == paired_bootstrap(a, b)
    assert paired_bootstrap(a, b, seed=1) != paired_bootstrap(a, b, seed=2)


def test_nan_pairs_are_dropped():
    cmp = paired_bootstrap([1.0, np.nan, 3.0], [0.0, 1.0, 2.0])
    assert cmp.n == 2 and cmp.mean == pytest.approx(1.0)


def test_entirely_below_is_strict_and_needs_enough_images():
    n = MIN_IMAGES_FOR_VERDICT
    worse = paired_bootstrap([0.0] * n, [0.1] * n)  # interval exactly [-0.1, -0.1]
    assert worse.entirely_below(-0.05)
    assert not worse.entirely_below(-0.1)  # at the tolerance is not beyond it
    few = paired_bootstrap([0.0] * (n - 1), [1.0] * (n - 1))
    assert not few.entirely_below(-0.5)


@pytest.mark.parametrize("a, b", [([1.0, 2.0], [1.0]), ([[1.0]], [[1.0]]), ([np.nan], [1.0])])
def test_bad_inputs_are_refused(a, b):
    with pytest.raises(ValueError):
        paired_bootstrap(a, b)
