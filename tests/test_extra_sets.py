"""eval.extra_sets: every method scored on whole benchmark folders in the same run, their own rows in
the Parquet and their own tables in the report, with the papers' published numbers beside them."""

from __future__ import annotations

import pytest

from sr_core import resize
from sr_core.config import load_config
from sr_core.images import read_image, write_image
from sr_core.published import known_set, published
from sr_core.results import read_metrics
from sr_core.usecases import evaluate_and_report
from tests.conftest import SHARED_DATASETS
from tests.helpers_eval import textured_image
from tests.helpers_reference import ref_scores

SET5 = SHARED_DATASETS / "Set5"


def _cfg(tmp_path, extra_sets):
    photos = tmp_path / "photos"
    for split in ("train", "validation"):
        write_image(photos / split / f"{split}.png", textured_image(40, 48, seed=len(split)))
    return load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", extra={
        "data": {"dataset": f"folder:{photos}"},
        "eval": {"methods": ["bicubic", "bilinear"], "auto_crops": 0, "crops": [], "extra_sets": extra_sets}})


def test_a_generated_set_is_scored_whole_in_its_own_rows_and_table(tmp_path):
    bench = tmp_path / "Set14"  # a known name: the papers' Set14 numbers are printed beside it
    images = {f"img{i}": textured_image(36 + 4 * i, 44, seed=20 + i) for i in range(3)}
    for name, img in images.items():
        write_image(bench / f"{name}.png", img)
    # An HR,LR pair folder: the LR files are used as given (here: a deliberately shifted LR).
    pairs_hr, pairs_lr = tmp_path / "pairs" / "HR", tmp_path / "pairs" / "LR"
    hr = textured_image(40, 40, seed=7)
    write_image(pairs_hr / "p.png", hr)
    write_image(pairs_lr / "px4.png", resize.downscale(hr, 4)[::-1])  # flipped: not what bicubic makes
    cfg = _cfg(tmp_path, [f"folder:{bench}", f"folder:{pairs_hr},{pairs_lr}"])
    outcome = evaluate_and_report(cfg, {}, "sets-1")
    df = read_metrics(outcome.metrics)
    sets = df[df["split"] == "benchmark"]
    assert set(sets["dataset"]) == {f"folder:{bench}", f"folder:{pairs_hr},{pairs_lr}"}
    one = sets[sets["dataset"] == f"folder:{bench}"]
    assert sorted(one["image_id"].unique()) == sorted(images)  # the whole folder, no held-out split
    assert set(one["method"]) == {"bicubic", "bilinear"} and set(one["region"]) == {"full"}
    for name, img in images.items():  # the same numbers as scoring the image by hand
        hr_crop = resize.modcrop(img, 4)
        sr = resize.upscale(resize.downscale(hr_crop, 4), 4)
        row = one[(one["image_id"] == name) & (one["method"] == "bicubic")].iloc[0]
        assert row["psnr_y"] == pytest.approx(ref_scores(hr_crop, sr, border=4)["psnr_y"], abs=1e-9)
    paired = sets[(sets["dataset"] == f"folder:{pairs_hr},{pairs_lr}") & (sets["method"] == "bicubic")].iloc[0]
    flipped = resize.upscale(resize.downscale(hr, 4)[::-1], 4)
    assert paired["psnr_y"] == pytest.approx(ref_scores(hr, flipped, border=4)["psnr_y"], abs=1e-9)
    # The validation summary is the validation images only.
    (row,) = [r for r in outcome.summary.rows if r.method == "bicubic"]
    assert row.n_images == 1
    html = outcome.report.read_text()
    assert html.count('class="extra-set"') == 2 and 'data-set="Set14"' in html
    assert "26.00" in html and "0.7027" in html and "Kim et al. 2016" in html  # published Set14 bicubic


def test_published_numbers_are_looked_up_by_set_name():
    assert known_set("../shared/datasets/Set5") == "Set5" and known_set("/data/B100/HR") == "BSD100"
    assert known_set("/data/photos") is None
    assert (published("Set5", "bicubic").psnr_y, published("Set5", "bicubic").ssim_y) == (28.42, 0.8104)
    assert published("Set5", "srresnet").psnr_y == 32.05 and published("Urban100", "srresnet") is None
    assert published("Set5", "bicubic", scale=2) is None  # only x4 numbers are kept


def test_set5_bicubic_matches_the_published_number(tmp_path):
    if not SET5.is_dir():
        pytest.skip(f"{SET5} is not here (the shared benchmark sets are optional)")
    cfg = _cfg(tmp_path, [f"folder:{SET5}"])
    outcome = evaluate_and_report(cfg, {}, "set5-1")
    df = read_metrics(outcome.metrics)
    bicubic = df[(df["split"] == "benchmark") & (df["method"] == "bicubic")]
    assert bicubic["image_id"].nunique() == 5
    # BENCHMARKS.md: 28.43 dB / 0.8111 with this protocol; the paper prints 28.42 / 0.8104.
    assert bicubic["psnr_y"].mean() == pytest.approx(28.42, abs=0.05)
    assert bicubic["ssim_y"].mean() == pytest.approx(0.8104, abs=0.002)
    assert 'data-set="Set5"' in outcome.report.read_text()
    assert read_image(next(SET5.glob("*.png"))).ndim == 3
