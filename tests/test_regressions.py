"""The regression rule on a reports root with several earlier runs, two datasets and two presets.

Each night is a real run folder (``metrics.parquet`` with per-image rows) plus its history file, as
the pipeline writes them. A regression needs the paired per-image interval against the previous
*comparable* night (same preset, dataset and validation images) to lie entirely below the
tolerance. Every case is built so that the common slips give a different answer: comparing with the
oldest instead of the latest earlier run, dropping the dataset or preset filter, looking at later
runs, comparing different image sets, judging the mean instead of the interval, and ``<=`` instead
of ``<`` at exactly the tolerance (the values are exact in binary, so the interval is too).
"""

from __future__ import annotations

import pytest

from sr_core import results
from sr_core.results import metrics_table, write_table
from sr_core.runrecords import RunDir, RunRecord

IMAGES = ["a", "b", "c", "d", "e"]
BASE = [26.0, 27.5, 25.25, 28.0, 26.5]  # per-image Y-PSNR of the latest earlier smoke/sample night


def night(root, run_id, day, psnr_by_method, *, preset="smoke", dataset="sample", images=IMAGES):
    """A scored night: per-image full-image rows in its run folder, and its history file."""
    started = results.utc(f"2026-01-{day:02d}T03:00:00Z")
    rows = [{"run_id": run_id, "started_at": started, "dataset": dataset, "split": "validation",
             "image_id": image, "method": method, "model_step": None, "region": "full", "top": 0, "left": 0,
             "height": 64, "width": 64, "scale": 4, "crop_border": 4, "psnr_rgb": v - 1.0, "ssim_rgb": 0.5,
             "psnr_y": v, "ssim_y": 0.6, "seconds": 0.1}
            for method, values in psnr_by_method.items() for image, v in zip(images, values, strict=True)]
    run = RunDir(root, run_id)
    write_table(metrics_table(rows), run.metrics)
    record = RunRecord(run_id=run_id, started_at=started.isoformat(), preset=preset, dataset=dataset)
    results.append_history(root, results.history_rows(results.read_metrics(run.metrics), record))


def shifted(values, by):
    return [v + by for v in values]


def reports(tmp_path, now_srcnn, *, extra=()):
    """Earlier nights of smoke/sample (oldest 1 dB better, latest = BASE), distractors, then ``now``."""
    root = tmp_path / "reports"
    night(root, "s1", 1, {"bicubic": shifted(BASE, -2), "srcnn": shifted(BASE, 1.0)})
    night(root, "s2", 2, {"bicubic": shifted(BASE, -2), "srcnn": BASE})
    # Later than s2 and much higher: picked if the dataset or the preset filter were dropped.
    night(root, "other-dataset", 3, {"srcnn": shifted(BASE, 5.0)}, dataset="set5")
    night(root, "other-preset", 3, {"srcnn": shifted(BASE, 3.0)}, preset="quick")
    night(root, "now", 4, {"bicubic": shifted(BASE, -2), "srcnn": now_srcnn})
    # A later night must never be "the previous" one.
    night(root, "later", 5, {"bicubic": shifted(BASE, -2), "srcnn": shifted(BASE, 14.0)})
    for args in extra:
        night(root, *args[:3], **(args[3] if len(args) > 3 else {}))
    return root


def test_compares_with_the_latest_earlier_comparable_run(tmp_path):
    root = reports(tmp_path, shifted(BASE, -0.5))
    (found,) = results.find_regressions(root, "now", tolerance=0.25)
    assert found == {"method": "srcnn", "label": "srcnn", "run_id": "now", "previous_run_id": "s2",
                     "psnr_y": sum(BASE) / 5 - 0.5, "previous_psnr_y": sum(BASE) / 5, "drop_db": 0.5,
                     "tolerance_db": 0.25, "n_images": 5, "low_db": -0.5, "high_db": -0.5}


def test_no_finding_when_the_latest_earlier_run_was_no_better(tmp_path):
    # 1.05 dB below the oldest run, far below the other dataset/preset and a later run; only
    # 0.05 dB below the latest earlier run of its own preset and dataset.
    root = reports(tmp_path, shifted(BASE, -0.05))
    assert results.find_regressions(root, "now", tolerance=0.1) == []


def test_exactly_the_tolerance_is_not_a_regression(tmp_path):
    root = reports(tmp_path, shifted(BASE, -0.25))  # every image 0.25 dB lower: interval [-0.25, -0.25]
    assert results.find_regressions(root, "now", tolerance=0.25) == []
    (found,) = results.find_regressions(root, "now", tolerance=0.125)
    assert found["drop_db"] == 0.25 and found["high_db"] == -0.25 and found["previous_run_id"] == "s2"


def test_a_mean_drop_the_images_do_not_resolve_is_not_a_regression(tmp_path):
    # Mean 0.5 dB lower (twice the tolerance), but two images got better by 1.5-2 dB: noise.
    noisy = [b + d for b, d in zip(BASE, [-2.5, 1.5, -2.0, 2.0, -1.5], strict=True)]
    root = reports(tmp_path, noisy)
    assert results.find_regressions(root, "now", tolerance=0.25) == []
    # The same mean drop on every image is one.
    root = reports(tmp_path / "steady", shifted(BASE, -0.5))
    assert len(results.find_regressions(root, "now", tolerance=0.25)) == 1


def test_a_night_on_other_images_is_not_comparable(tmp_path):
    # s3 (day 3) is the latest earlier smoke/sample night, but scored other images: skipped, so
    # 'now' compares with s2 (0.5 dB better) and not with s3 (which would show no drop).
    other = ["a", "b", "c", "d", "zz"]
    root = reports(tmp_path, shifted(BASE, -0.5), extra=[("s3", 3, {"srcnn": shifted(BASE, -0.5)},
                                                           {"images": other})])
    (found,) = results.find_regressions(root, "now", tolerance=0.25)
    assert found["previous_run_id"] == "s2"


def test_each_method_against_its_own_latest_scored_run(tmp_path):
    # s3 (day 3) scored only bicubic: srcnn still compares with s2, bicubic with s3.
    root = reports(tmp_path, shifted(BASE, -0.5), extra=[("s3", 3, {"bicubic": shifted(BASE, -1.5)})])
    found = {f["method"]: f for f in results.find_regressions(root, "now", tolerance=0.25)}
    assert set(found) == {"bicubic", "srcnn"}
    assert found["bicubic"]["previous_run_id"] == "s3" and found["bicubic"]["drop_db"] == 0.5
    assert found["srcnn"]["previous_run_id"] == "s2"


def test_a_champion_scored_beside_tonight_is_not_tonight_s_regression(tmp_path):
    root = reports(tmp_path, BASE, extra=[("s3", 3, {"srcnn@champion": BASE}),
                                           ("now", 4, {"srcnn": BASE, "srcnn@champion": shifted(BASE, -1.0)})])
    assert results.find_regressions(root, "now", tolerance=0.25) == []


def test_fewer_than_five_images_never_alert(tmp_path):
    root = tmp_path / "reports"
    night(root, "p1", 1, {"srcnn": [30.0, 31.0]}, images=["a", "b"])
    night(root, "p2", 2, {"srcnn": [27.0, 28.0]}, images=["a", "b"])  # 3 dB worse on both images
    assert results.find_regressions(root, "p2", tolerance=0.1) == []


def test_the_first_run_of_a_preset_and_dataset_has_nothing_to_regress_from(tmp_path):
    root = reports(tmp_path, shifted(BASE, -0.5))
    assert results.find_regressions(root, "s1", tolerance=0.0) == []
    assert results.find_regressions(root, "other-dataset", tolerance=0.0) == []
    assert results.find_regressions(root, "other-preset", tolerance=0.0) == []
    # and a better night is not a regression at any tolerance
    assert results.find_regressions(root, "later", tolerance=0.0) == []


def test_a_history_table_needs_the_per_image_values(tmp_path):
    root = reports(tmp_path, shifted(BASE, -0.5))
    with pytest.raises(ValueError, match="metrics_of"):
        results.find_regressions(results.read_history(root), "now", tolerance=0.25)
    (found,) = results.find_regressions(results.read_history(root), "now", 0.25, results.metrics_of_root(root))
    assert found["previous_run_id"] == "s2"
