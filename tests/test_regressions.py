"""Regression detection on a history with several earlier runs, two datasets and two presets.

Every case is built so that the common slips give a different answer: comparing with the oldest
instead of the latest earlier run, dropping the dataset or preset filter, looking at later runs,
and ``>=`` instead of ``>`` at exactly the tolerance (the values are exact in binary).
"""

from __future__ import annotations

import pytest

from sr_core import results


def _rows(run_id, day, means, *, preset="smoke", dataset="sample"):
    return [{"run_id": run_id, "started_at": results.utc(f"2026-01-{day:02d}T03:00:00Z"), "preset": preset,
             "dataset": dataset, "method": m, "label": m.upper(), "model_step": None, "n_images": 2,
             "mean_psnr_rgb": v - 1.0, "mean_ssim_rgb": 0.5, "mean_psnr_y": v, "mean_ssim_y": 0.6,
             "delta_psnr_rgb": None, "delta_ssim_rgb": None, "delta_psnr_y": None, "delta_ssim_y": None,
             "seconds_per_image": 1.0} for m, v in means.items()]


def history(tmp_path, now_srcnn: float, *, extra=()):
    """Earlier nights of smoke/sample (oldest 27.0, latest 26.0), distractors, then ``now``."""
    path = tmp_path / "history.parquet"
    results.append_history(path, _rows("s1", 1, {"bicubic": 25.0, "srcnn": 27.0}))
    results.append_history(path, _rows("s2", 2, {"bicubic": 25.0, "srcnn": 26.0}))
    # Later than s2 and higher: picked if the dataset or the preset filter were dropped.
    results.append_history(path, _rows("other-dataset", 3, {"srcnn": 31.0}, dataset="set5"))
    results.append_history(path, _rows("other-preset", 3, {"srcnn": 29.0}, preset="quick"))
    results.append_history(path, _rows("now", 4, {"bicubic": 25.0, "srcnn": now_srcnn}))
    # A later night must never be "the previous" one.
    results.append_history(path, _rows("later", 5, {"bicubic": 25.0, "srcnn": 40.0}))
    for rows in extra:
        results.append_history(path, rows)
    return results.read_history(path)


def test_compares_with_the_latest_earlier_run_of_the_same_preset_and_dataset(tmp_path):
    hist = history(tmp_path, now_srcnn=25.5)
    (found,) = results.find_regressions(hist, "now", tolerance=0.25)
    assert found == {"method": "srcnn", "label": "SRCNN", "run_id": "now", "previous_run_id": "s2",
                     "psnr_y": 25.5, "previous_psnr_y": 26.0, "drop_db": 0.5, "tolerance_db": 0.25}


def test_no_finding_when_the_latest_earlier_run_was_no_better(tmp_path):
    # 1.05 dB below the oldest run, 4+ dB below the other dataset/preset, 14.05 below a later
    # run; only 0.05 dB below the latest earlier run of its own preset and dataset.
    hist = history(tmp_path, now_srcnn=25.95)
    assert results.find_regressions(hist, "now", tolerance=0.1) == []


def test_exactly_the_tolerance_is_not_a_regression(tmp_path):
    hist = history(tmp_path, now_srcnn=25.75)  # drop 0.25, exact in binary
    assert results.find_regressions(hist, "now", tolerance=0.25) == []
    (found,) = results.find_regressions(hist, "now", tolerance=0.125)
    assert found["drop_db"] == 0.25 and found["previous_run_id"] == "s2"


def test_each_method_against_its_own_latest_scored_run(tmp_path):
    # s3 (day 3) scored only bicubic: srcnn still compares with s2, bicubic with s3.
    hist = history(tmp_path, now_srcnn=25.5, extra=[_rows("s3", 3, {"bicubic": 25.5})])
    found = {f["method"]: f for f in results.find_regressions(hist, "now", tolerance=0.25)}
    assert set(found) == {"bicubic", "srcnn"}
    assert found["bicubic"]["previous_run_id"] == "s3" and found["bicubic"]["drop_db"] == 0.5
    assert found["srcnn"]["previous_run_id"] == "s2"


def test_the_first_run_of_a_preset_and_dataset_has_nothing_to_regress_from(tmp_path):
    hist = history(tmp_path, now_srcnn=25.5)
    assert results.find_regressions(hist, "s1", tolerance=0.0) == []
    assert results.find_regressions(hist, "other-dataset", tolerance=0.0) == []
    assert results.find_regressions(hist, "other-preset", tolerance=0.0) == []
    # and a better night is not a regression at any tolerance
    assert results.find_regressions(hist, "later", tolerance=0.0) == []
