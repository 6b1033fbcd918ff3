"""evaluate_images / merge_metrics / run.json / history on real images and a real saved Keras model."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sr_core import evaluation, results
from sr_core.config import load_config
from sr_core.resize import downscale
from sr_core.sources import ImageRecord
from tests.helpers_eval import save_tiny_model, textured_image


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "srcnn.keras", label="SRCNN", step=4)


def _records(ids_shapes):
    out = []
    for n, (image_id, (h, w)) in enumerate(ids_shapes):
        hr = textured_image(h, w, seed=n)
        out.append(ImageRecord(image_id, hr, downscale(hr, 4)))
    return out


def _cfg(tmp_path, **eval_overrides):
    return load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports",
                       extra={"eval": eval_overrides} if eval_overrides else None)


def test_evaluate_images_on_the_sample_source(smoke_config, model_path):
    run_id = "20260101T000000Z"
    run_dir = smoke_config.reports_dir / run_id
    evaluation.write_run_json(run_dir, smoke_config, run_id, models={"srcnn": model_path},
                              started_at="2026-01-01T00:00:00Z")
    ids = evaluation.validation_ids(smoke_config)
    assert ids == ["chelsea"]  # eval.max_images = 1
    out = evaluation.evaluate_images(smoke_config, {"srcnn": model_path}, ids, run_id,
                                     run_dir / "parts" / "c0.parquet")
    table = pq.read_table(out)
    assert table.schema.remove_metadata().equals(results.METRICS_SCHEMA)
    df = table.to_pandas()
    # methods: bicubic, bilinear, srcnn (srresnet/srgan have no model); regions: full + 3 seed + 1 auto
    assert sorted(df["method"].unique()) == ["bicubic", "bilinear", "srcnn"]
    regions = ["full", "seed-chelsea1", "seed-chelsea2", "seed-chelsea3", "auto1"]
    assert list(df["region"].unique()) == regions
    assert len(df) == 1 * 3 * 5
    assert (df["started_at"] == pd.Timestamp("2026-01-01", tz="UTC")).all()
    full = df[(df.region == "full") & (df.method == "bicubic")].iloc[0]
    assert (full.height, full.width, full.scale, full.crop_border) == (300, 448, 4, 4)
    assert df[df.method == "srcnn"]["model_step"].eq(4).all()
    assert df[df.method == "bicubic"]["model_step"].isna().all()
    assert 20 < full.psnr_y < 40 and 0 < full.ssim_y < 1 and full.seconds > 0
    notes = results.table_notes(out)
    assert any("srresnet skipped" in n for n in notes) and any("srgan skipped" in n for n in notes)
    crop = run_dir / results.asset_relpath("chelsea", "seed-chelsea1", "srcnn")
    assert crop.is_file() and (run_dir / results.asset_relpath("chelsea", "auto1", "hr")).is_file()


def test_rows_are_images_times_methods_times_regions_and_merge(tmp_path):
    cfg = _cfg(tmp_path, crops=[{"name": "big", "image_id": "b", "top": 40, "left": 0, "height": 100,
                                 "width": 30}], auto_crops=2, auto_crop_size=16)
    recs = _records([("a", (48, 64)), ("b", (64, 48)), ("c", (48, 56))])
    run_dir = tmp_path / "reports" / "r1"
    evaluation.write_run_json(run_dir, cfg, "r1", models={}, started_at="2026-02-03T04:05:06Z")
    p1 = evaluation.evaluate_images(cfg, {}, ["a", "b"], "r1", tmp_path / "p1.parquet", records=recs)
    p2 = evaluation.evaluate_images(cfg, {}, ["c"], "r1", tmp_path / "p2.parquet", records=recs)
    merged = evaluation.merge_metrics([p1, p2], run_dir)
    df = results.read_metrics(merged)
    per_image = df.groupby("image_id")["region"].nunique().to_dict()
    assert per_image == {"a": 3, "b": 4, "c": 3}  # full + 2 auto (+ the clipped config crop on b)
    assert len(df) == sum(per_image.values()) * 2  # bicubic + bilinear
    big = df[(df.region == "big")].iloc[0]
    assert (big.top, big.height, big.width) == (40, 24, 30)
    run = json.loads((run_dir / "run.json").read_text())
    assert any("clipped to 24x30" in n for n in run["notes"])
    assert run["methods"]["bicubic"]["kind"] == "interpolation"
    assert run["data_fingerprint"] == cfg.data_fingerprint() and run["preset"] == "smoke"
    assert (df["started_at"] == pd.Timestamp("2026-02-03T04:05:06", tz="UTC")).all()


def test_identical_methods_score_inf(tmp_path):
    cfg = _cfg(tmp_path, methods=["bicubic"], auto_crops=0, crops=[])
    hr = textured_image(32, 32)
    lr = downscale(hr, 4)
    from sr_core.resize import upscale

    rec = ImageRecord("same", upscale(lr, 4), lr)  # HR == bicubic(LR): perfect score
    out = evaluation.evaluate_images(cfg, {}, ["same"], "r", tmp_path / "p.parquet", records=[rec])
    row = results.read_metrics(out).iloc[0]
    assert math.isinf(row.psnr_rgb) and math.isinf(row.psnr_y) and row.ssim_y == 1.0


def test_run_json_notes_the_srgan_variant(tmp_path, model_path):
    cfg = _cfg(tmp_path)
    sidecar = model_path.with_suffix(".json")
    saved = sidecar.read_text()
    try:
        sidecar.write_text(json.dumps({"label": "SRGAN-MSE", "step": 3}))
        evaluation.write_run_json(tmp_path / "run", cfg, "x", models={"srgan": model_path})
    finally:
        sidecar.write_text(saved)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["methods"]["srgan"]["label"] == "SRGAN-MSE" and run["methods"]["srgan"]["step"] == 3
    assert any("variant SRGAN-MSE" in n for n in run["notes"])
    assert any("srcnn skipped" in n for n in run["notes"])


def _history_rows(run_id, started, psnr_by_method, preset="smoke"):
    return [{"run_id": run_id, "started_at": results.utc(started), "preset": preset, "dataset": "sample",
             "method": m, "label": m, "model_step": None, "n_images": 1, "mean_psnr_rgb": v,
             "mean_ssim_rgb": 0.5, "mean_psnr_y": v, "mean_ssim_y": 0.5, "delta_psnr_rgb": None,
             "delta_ssim_rgb": None, "delta_psnr_y": None, "delta_ssim_y": None, "seconds_per_image": 1.0}
            for m, v in psnr_by_method.items()]


def test_history_append_is_idempotent_and_regressions_found(tmp_path):
    path = tmp_path / "history.parquet"
    results.append_history(path, _history_rows("r1", "2026-01-01", {"bicubic": 25.0, "srcnn": 26.0}))
    results.append_history(path, _history_rows("r2", "2026-01-02", {"bicubic": 25.0, "srcnn": 25.5}))
    results.append_history(path, _history_rows("r2", "2026-01-02", {"bicubic": 25.0, "srcnn": 25.5}))
    results.append_history(path, _history_rows("q1", "2026-01-01T12:00", {"srcnn": 30.0}, preset="quick"))
    hist = results.read_history(path)
    assert len(hist) == 5 and list(hist["run_id"]) == ["r1", "r1", "q1", "r2", "r2"]
    # Per-image values behind those means (five images each): srcnn 0.5 dB lower on every image.
    per_image = {run: pd.DataFrame([{"run_id": run, "dataset": "sample", "split": "validation", "region": "full",
                                     "image_id": f"i{k}", "method": m, "psnr_y": v + k}
                                    for m, v in means.items() for k in range(5)])
                 for run, means in {"r1": {"bicubic": 25.0, "srcnn": 26.0}, "r2": {"bicubic": 25.0, "srcnn": 25.5},
                                    "q1": {"srcnn": 30.0}}.items()}
    found = results.find_regressions(hist, "r2", 0.1, per_image.get)
    assert [f["method"] for f in found] == ["srcnn"]
    assert found[0]["previous_run_id"] == "r1" and found[0]["drop_db"] == pytest.approx(0.5)
    assert results.find_regressions(hist, "r2", 0.6, per_image.get) == []
    assert results.find_regressions(hist, "r1", 0.0, per_image.get) == []  # no earlier run


def test_run_summary_deltas():
    df = pd.DataFrame({"region": ["full"] * 4, "method": ["bicubic", "bicubic", "srcnn", "srcnn"],
                       "image_id": ["a", "b", "a", "b"], "model_step": [None, None, 5, 5],
                       "psnr_rgb": [20.0, 22.0, 21.0, 25.0], "ssim_rgb": [0.5, 0.7, 0.6, 0.8],
                       "psnr_y": [21.0, 23.0, 22.0, 26.0], "ssim_y": [0.5, 0.7, 0.6, 0.8],
                       "seconds": [0.1, 0.1, 1.0, 3.0]})
    s = results.run_summary(df).set_index("method")
    assert s.loc["srcnn", "mean_psnr_y"] == 24.0 and s.loc["srcnn", "delta_psnr_y"] == pytest.approx(2.0)
    assert s.loc["bicubic", "delta_psnr_y"] == 0.0 and s.loc["srcnn", "model_step"] == 5
    assert np.isclose(s.loc["srcnn", "seconds_per_image"], 2.0)


def test_concurrent_history_appends_keep_every_run(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "history.parquet"

    def add(n):
        results.append_history(path, _history_rows(f"r{n:02d}", f"2026-01-01T00:{n:02d}", {"bicubic": 25.0}))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(12)))
    assert sorted(results.read_history(path)["run_id"]) == [f"r{n:02d}" for n in range(12)]
