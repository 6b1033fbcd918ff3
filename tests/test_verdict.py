"""The promotion rule on known paired differences (values exact in binary, so the boundaries are exact)."""

from __future__ import annotations

import pandas as pd

from sr_core.stats import paired_bootstrap
from sr_core.verdict import decide, method_comparisons

CHAMPION = [26.0, 27.5, 25.25, 28.0, 26.5, 24.75]


def verdict(diffs, *, tolerance=0.25, **kw):
    challenger = [c + d for c, d in zip(CHAMPION, diffs)]
    cmp = paired_bootstrap(challenger, CHAMPION[: len(diffs)])
    return decide("srgan", "div2k", cmp, tolerance_db=tolerance, has_champion=True, **kw)


def test_the_first_model_of_a_track_becomes_champion_without_a_comparison():
    d = decide("srgan", "div2k", None, tolerance_db=0.1, has_champion=False)
    assert (d.action, d.reason, d.promotes) == ("promote", "first", True)


def test_a_steady_small_loss_within_tolerance_is_rejected_only_when_significant():
    # Every image 0.125 dB worse: within the 0.25 dB tolerance on average, but the interval
    # [-0.125, -0.125] lies entirely below 0: significantly worse.
    d = verdict([-0.125] * 6)
    assert (d.action, d.reason) == ("reject", "significantly-worse")
    # Noisy: the same kind of mean, but images disagree, so the interval reaches above 0: promoted.
    d = verdict([-1.0, 1.0, -0.5, 0.5, -0.75, 0.25])
    assert d.comparison.mean < 0 < d.comparison.high and (d.action, d.reason) == ("promote", "not-worse")


def test_the_tolerance_bounds_the_mean():
    assert verdict([-0.25] * 6, tolerance=0.25).reason == "significantly-worse"  # mean == -tol: the interval decides
    assert verdict([-0.5] * 6, tolerance=0.25).reason == "beyond-tolerance"
    assert verdict([0.0] * 6).action == "promote"  # identical: high == 0 is not below 0


def test_fewer_than_five_images_decide_on_the_mean_alone():
    d = verdict([-0.125] * 4)  # significantly negative with 4 images, but the interval is not used
    assert (d.action, d.reason) == ("promote", "mean-only") and "fewer than 5 images" in d.explanation
    assert verdict([-0.5] * 4).reason == "beyond-tolerance"


def test_manual_mode_records_but_does_not_apply():
    d = verdict([0.5] * 6, manual=True)
    assert d.action == "promote" and not d.promotes and d.as_dict()["applied"] is False
    assert decide("srgan", "t", None, tolerance_db=0.1, has_champion=False, manual=True).promotes
    assert verdict([-0.5] * 6, manual=True).as_dict()["applied"] is True  # a rejection changes nothing anyway


def test_a_reused_champion_has_nothing_to_decide():
    d = decide("srgan", "div2k", None, tolerance_db=0.1, has_champion=True, same_export=True)
    assert (d.action, d.reason) == ("none", "same")


def test_method_comparisons_pair_by_image_id_in_id_order():
    ids = ["f", "b", "e", "a", "d", "c"]
    values = {"bicubic": [20.0, 21.0, 22.0, 23.5, 19.0, 24.0], "srcnn": [23.0, 25.0, 22.5, 24.0, 21.5, 24.5],
              "srcnn@champion": [22.0, 24.5, 23.5, 24.25, 20.0, 25.0]}
    rows = [{"method": m, "region": "full", "dataset": "d", "image_id": i, "psnr_y": v}
            for m, vals in values.items() for i, v in zip(ids, vals)]
    rows.append({"method": "srcnn", "region": "crop", "dataset": "d", "image_id": "a", "psnr_y": 99.0})
    found = method_comparisons(pd.DataFrame(rows[::-1]), ["srcnn", "bicubic"])  # row order must not matter
    by_id = {m: [v for _, v in sorted(zip(ids, vals))] for m, vals in values.items()}
    assert found["srcnn"].vs_bicubic == paired_bootstrap(by_id["srcnn"], by_id["bicubic"])
    assert found["srcnn"].vs_champion == paired_bootstrap(by_id["srcnn"], by_id["srcnn@champion"])
    assert found["srcnn"].vs_champion != paired_bootstrap(values["srcnn"][::-1], values["srcnn@champion"][::-1])
    assert found["bicubic"].vs_bicubic is None and found["bicubic"].vs_champion is None
