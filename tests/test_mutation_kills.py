"""Tests written to kill mutants that survived ``make mutation`` (docs/testing.md lists them).

Each asserts an exact value the surviving mutant changed; kept TensorFlow-free so mutmut can run them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sr_core import metrics
from tests.helpers_eval import textured_image


def _pair(seed: int = 0, h: int = 24, w: int = 20):
    hr = textured_image(h, w, seed=seed)
    noise = np.random.default_rng(seed).integers(-12, 13, hr.shape)
    return hr, np.clip(hr.astype(int) + noise, 0, 255).astype(np.uint8)


def test_pair_checks_name_the_problem():
    hr, sr = _pair()
    with pytest.raises(ValueError, match=r"^HR and SR shapes differ: .*the SR image must be exactly scale x the LR "
                                         r"image and HR modcropped to match$"):
        metrics.score(hr, sr[:-1], crop_border=4)
    for bad in (hr[..., 0], np.dstack([hr, hr[..., :1]])):  # HxW and HxWx4
        with pytest.raises(ValueError, match=r"^expected HxWx3 RGB images, got shape"):
            metrics.psnr_y(bad, bad, crop_border=0)
    with pytest.raises(ValueError, match=r"^ssim_gray needs two equal 2-D arrays, got \(24, 20\) and \(24, 19\)$"):
        metrics.ssim_gray(hr[..., 0], hr[:, :-1, 0])
    with pytest.raises(ValueError, match="ssim_gray needs two equal 2-D arrays"):
        metrics.ssim_gray(hr, hr)


def test_crop_borders_of_one_pixel_crops():
    img = np.arange(5 * 6).reshape(5, 6)
    np.testing.assert_array_equal(metrics.crop_borders(img, 1), img[1:-1, 1:-1])
    assert metrics.crop_borders(img, 0) is img


def test_ssim_gray_of_uint8_equals_float():
    hr, sr = _pair(1)
    a, b = hr[..., 1], sr[..., 1]  # uint8: squaring must not wrap around
    want = metrics.ssim_gray(a.astype(np.float64), b.astype(np.float64))
    assert metrics.ssim_gray(a, b) == pytest.approx(want, abs=1e-12)
    assert metrics.ssim_gray(a, b.astype(np.float64)) == pytest.approx(want, abs=1e-12)
    ref = structural_similarity(a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255)
    assert want == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.uint8, np.float64), (np.float64, np.uint8)])
def test_rgb_metrics_of_non_uint8_inputs_equal_scikit_image(dtypes):
    hr, sr = _pair(2)
    a, b = hr.astype(dtypes[0]), sr.astype(dtypes[1])
    want_psnr = peak_signal_noise_ratio(hr.astype(np.float64), sr.astype(np.float64), data_range=255)
    want_ssim = structural_similarity(hr.astype(np.float64), sr.astype(np.float64), channel_axis=-1, data_range=255)
    assert metrics.psnr_rgb(a, b) == pytest.approx(want_psnr, abs=1e-9)
    assert metrics.ssim_rgb(a, b) == pytest.approx(want_ssim, abs=1e-7)
    assert metrics.psnr_rgb(hr, sr) == pytest.approx(want_psnr, abs=1e-9)  # the uint8 fast path agrees


def test_json_safe_infinities_and_nan():
    assert metrics.json_safe(math.inf) == "inf"
    assert metrics.json_safe(-math.inf) == "-inf"
    assert metrics.json_safe(math.nan) is None and metrics.json_safe(None) is None
    assert metrics.json_safe(-2.5) == -2.5 and isinstance(metrics.json_safe(np.float64(1.5)), float)


# --------------------------------------------------------------------------------------------------
# crops

from sr_core import crops  # noqa: E402
from sr_core.config import CropSpec, load_config  # noqa: E402


def test_region_overlap_is_strict_at_touching_edges():
    a = crops.Region("a", 10, 20, 5, 6)
    for other in (crops.Region("b", 15, 20, 5, 6), crops.Region("b", 5, 20, 5, 6),    # touching below / above
                  crops.Region("b", 10, 26, 5, 6), crops.Region("b", 10, 14, 5, 6)):  # right / left
        assert not a.overlaps(other) and not other.overlaps(a)
    for other in (crops.Region("b", 14, 20, 5, 6), crops.Region("b", 6, 20, 5, 6),
                  crops.Region("b", 10, 25, 5, 6), crops.Region("b", 10, 15, 5, 6)):  # one pixel in
        assert a.overlaps(other) and other.overlaps(a)
    assert not a.overlaps(crops.Region("far", 40, 20, 5, 6))  # same columns, rows apart
    assert not a.overlaps(crops.Region("far", 10, 60, 5, 6))  # same rows, columns apart


def test_region_kinds():
    assert crops.full_region((30, 40, 3)) == crops.Region("full", 0, 0, 30, 40, kind="full")
    spec = CropSpec(name="c", image_id="i", top=2, left=3, height=10, width=12)
    region, note = crops.fit_crop(spec, 50, 50)
    assert region == crops.Region("c", 2, 3, 10, 12, kind="config") and note is None
    regions, _ = crops.auto_regions(textured_image(40, 40), 1, 16)
    assert regions[0].kind == "auto"


def test_fit_crop_boundaries():
    def fit(**kw):
        return crops.fit_crop(CropSpec(**{"name": "c", "image_id": "i", "top": 0, "left": 0, "height": 20,
                                          "width": 20, **kw}), 40, 50)

    region, note = fit(left=50)
    assert region is None and note == ("crop 'c' (20x20 at top=0, left=50) skipped: it starts outside the "
                                       "40x50 image 'i'")
    region, note = fit(top=32)  # exactly MIN_CROP_SIDE rows left: kept, clipped
    assert region.height == 8 and note.endswith("clipped to 8x20 to fit the 40x50 image 'i'")
    region, note = fit(left=42)  # exactly 8 columns left
    assert region.width == 8
    region, note = fit(left=43)
    assert region is None and note == ("crop 'c' (20x20 at top=0, left=43) skipped: only 20x7 of it lies "
                                       "inside the 40x50 image 'i'")


def test_detail_map_is_the_squared_central_gradient_of_luma():
    ramp = np.zeros((5, 6, 3), np.uint8)
    ramp[..., 0] = (np.arange(6) * 10)[None, :]      # red grows along columns
    ramp[..., 1] = (np.arange(5) * 20)[:, None]      # green grows along rows
    d = crops.detail_map(ramp)
    gx = 10 * 65.481 / 255  # luma step per column
    gy = 20 * 128.553 / 255
    assert d[2, 2] == pytest.approx(gx ** 2 + gy ** 2, rel=1e-12)
    assert d[0, 2] == pytest.approx(gx ** 2, rel=1e-12) and d[2, 0] == pytest.approx(gy ** 2, rel=1e-12)
    assert d[0, 0] == 0.0


def test_window_sums_equal_brute_force():
    values = np.random.default_rng(3).random((9, 11))
    sums = crops._window_sums(values, 4)
    assert sums.shape == (6, 8)
    for r, c in [(0, 0), (5, 7), (2, 3)]:
        assert sums[r, c] == pytest.approx(values[r:r + 4, c:c + 4].sum(), rel=1e-12)


def test_auto_regions_margin_count_and_blocking():
    hr = np.full((40, 40, 3), 128, np.uint8)
    hr[0:10, 0:10] = np.random.default_rng(0).integers(0, 256, (10, 10, 3))  # detail in the corner
    assert crops.auto_regions(hr, 0, 10) == ([], [])
    (best,), _ = crops.auto_regions(hr, 1, 10)  # default margin 0: the corner itself
    assert (best.top, best.left) == (0, 0)
    (kept_off,), _ = crops.auto_regions(hr, 1, 10, margin=3)
    assert (kept_off.top, kept_off.left) == (3, 3)
    (wide,), _ = crops.auto_regions(hr[:, :15], 1, 10, margin=3)  # too narrow for the margin: dropped
    assert (wide.top, wide.left) == (0, 0)
    (tall,), _ = crops.auto_regions(hr[:15], 1, 10, margin=3)  # too short for the margin: dropped
    assert (tall.top, tall.left) == (0, 0)
    (fits,), _ = crops.auto_regions(hr[:16, :16], 1, 10, margin=3)  # exactly fits with the margin
    assert (fits.top, fits.left) == (3, 3)
    # A region to avoid blocks every window overlapping it, but not one just touching it.
    (after,), _ = crops.auto_regions(hr, 1, 10, avoid=[crops.Region("x", 0, 0, 10, 10)])
    assert not after.overlaps(crops.Region("x", 0, 0, 10, 10))
    assert (after.top, after.left) in {(0, 10), (10, 0), (1, 10), (10, 1)} or after.top + after.left >= 10
    for touching in (crops.Region("x", 0, 10, 10, 10), crops.Region("x", 10, 0, 10, 10)):
        (beside,), _ = crops.auto_regions(hr, 1, 10, avoid=[touching])  # right of / below the corner
        assert (beside.top, beside.left) == (0, 0)
    assert crops.auto_regions(hr[:9, :9], 0, 10) == ([], [])  # no crops asked: no notes either
    small, notes = crops.auto_regions(hr[:8, :30], 1, 10)  # exactly MIN_CROP_SIDE: shrunk, not skipped
    assert small[0].height == 8 and notes == ["auto crops shrunk to 8x8: the image is 8x30"]
    none, notes = crops.auto_regions(hr[:20, :7], 1, 10)
    assert none == [] and notes == ["auto crops skipped: the 20x7 image is smaller than 8 px"]


def test_blocking_covers_every_window_that_would_overlap():
    hr = np.full((30, 30, 3), 128, np.uint8)
    hr[12:18, 12:18] = np.random.default_rng(1).integers(0, 256, (6, 6, 3))
    regions, notes = crops.auto_regions(hr, 6, 10)
    for i, a in enumerate(regions):
        for b in regions[i + 1:]:
            assert not a.overlaps(b), (a, b)
    avoid = crops.Region("x", 10, 10, 10, 10)
    for r in crops.auto_regions(hr, 4, 10, avoid=[avoid])[0]:
        assert not r.overlaps(avoid), r


def test_regions_for_image_keeps_crops_after_another_images_crop_and_uses_the_scale_margin():
    hr = np.full((40, 40, 3), 128, np.uint8)
    hr[0:10, 0:10] = np.random.default_rng(0).integers(0, 256, (10, 10, 3))
    cfg = load_config("smoke", extra={"eval": {"auto_crops": 1, "auto_crop_size": 10, "crops": [
        {"name": "other", "image_id": "b", "top": 0, "left": 0, "height": 10, "width": 10},
        {"name": "mine", "image_id": "a", "top": 20, "left": 20, "height": 10, "width": 10}]}})
    regions, _ = crops.regions_for_image(cfg, "a", hr)
    assert [r.name for r in regions] == ["full", "mine", "auto1"]
    auto = regions[2]
    assert (auto.top, auto.left) == (cfg.data.scale, cfg.data.scale)  # kept off the border by the scale
    cfg2 = load_config("smoke", extra={"eval": {"auto_crops": 1, "auto_crop_size": 10, "crops": [
        {"name": "mine", "image_id": "a", "top": 2, "left": 2, "height": 10, "width": 10}]}})
    regions, _ = crops.regions_for_image(cfg2, "a", hr)
    assert not regions[2].overlaps(regions[1])  # the auto crop avoids the named one


# --------------------------------------------------------------------------------------------------
# resize

from sr_core import resize  # noqa: E402


def _quadratic(n: int) -> np.ndarray:
    x = np.arange(1, n + 1, dtype=np.float64)  # MATLAB's 1-based pixel centres
    return np.tile((0.1 * x * x)[:, None], (1, 4))


def test_cubic_interpolation_reproduces_a_quadratic_when_upscaling_by_1_5():
    # Keys' cubic (a = -0.5) reproduces quadratics exactly; a kernel widened for antialiasing (only
    # for scale < 1) would not. Interior rows only: the border uses symmetric padding.
    img = _quadratic(20)
    out = resize.imresize(img, output_shape=(30, 4))
    u = np.arange(1, 31) / 1.5 + 0.5 * (1 - 1 / 1.5)
    np.testing.assert_allclose(out[4:-4, 0], 0.1 * u[4:-4] ** 2, rtol=0, atol=1e-9)


def test_downscale_without_antialias_samples_the_cubic_interpolant():
    img = _quadratic(24)
    out = resize.imresize(img, output_shape=(12, 4), scale=0.5, antialias=False)
    u = np.arange(1, 13) / 0.5 + 0.5 * (1 - 1 / 0.5)
    np.testing.assert_allclose(out[2:-2, 0], 0.1 * u[2:-2] ** 2, rtol=0, atol=1e-9)
    assert not np.allclose(resize.imresize(img, output_shape=(12, 4), scale=0.5), out)


def test_imresize_argument_errors():
    img = np.zeros((8, 8), np.uint8)
    for scale in (None, 0, -1):
        with pytest.raises(ValueError, match=r"^give a positive scale or an output_shape$"):
            resize.imresize(img, scale=scale)
    with pytest.raises(ValueError, match=r"^expected an HxW or HxWxC image, got shape \(8,\)$"):
        resize.imresize(np.zeros(8), 0.5)


# --------------------------------------------------------------------------------------------------
# results

import hashlib  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from sr_core import results  # noqa: E402
from sr_core.history import clean_row  # noqa: E402
from sr_core.runrecords import RunRecord  # noqa: E402


def test_slug_keeps_safe_names_and_hashes_changed_ones():
    assert results.slug("img_01.png") == "img_01.png" and results.slug("AZaz09") == "AZaz09"
    assert results.slug("Xray_X") == "Xray_X"
    h = hashlib.sha1(b"a b/c").hexdigest()[:8]
    assert results.slug("a b/c") == f"a_b_c-{h}"
    assert results.slug("._x_.") == f"x-{hashlib.sha1(b'._x_.').hexdigest()[:8]}"
    assert results.slug("_a.b_") == f"a.b-{hashlib.sha1(b'_a.b_').hexdigest()[:8]}"
    assert results.slug("") == f"x-{hashlib.sha1(b'').hexdigest()[:8]}"
    assert results.slug("<>") == f"x-{hashlib.sha1(b'<>').hexdigest()[:8]}"
    long = "é" + "a" * 100
    assert results.slug(long) == "a" * 60 + "-" + hashlib.sha1(long.encode()).hexdigest()[:8]
    assert results.asset_relpath("a b", "seed 1", "srcnn") == (
        f"images/{results.slug('a b')}/{results.slug('seed 1')}__srcnn.png")


def test_utc_normalises_to_aware_utc():
    naive = results.utc("2026-01-02T03:04:05")
    assert naive == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc) and naive.tzinfo is not None
    shifted = results.utc("2026-01-02T03:04:05+02:00")
    assert shifted == datetime(2026, 1, 2, 1, 4, 5, tzinfo=timezone.utc) and shifted.utcoffset().total_seconds() == 0
    assert str(shifted.tzinfo) == "UTC" and str(naive.tzinfo) == "UTC"
    now = results.utc()
    assert now.tzinfo is not None and abs((now - datetime.now(timezone.utc)).total_seconds()) < 5


def _metric_row(**kw):
    row = {"run_id": "r", "started_at": results.utc("2026-01-01"), "dataset": "d", "split": "validation",
           "image_id": "a", "method": "bicubic", "model_step": None, "region": "full", "top": 0, "left": 0,
           "height": 8, "width": 8, "scale": 4, "crop_border": 4, "psnr_rgb": 20.0, "ssim_rgb": 0.5,
           "psnr_y": 21.0, "ssim_y": 0.6, "seconds": 0.1}
    row.update(kw)
    return row


def test_metrics_tables_keep_notes_schema_and_order(tmp_path):
    p1 = results.write_table(results.metrics_table([_metric_row()], notes=["n1", "n2"]), tmp_path / "p1.parquet")
    p2 = results.write_table(results.metrics_table([_metric_row(image_id="b")], notes=["n2", "n3"]),
                             tmp_path / "p2.parquet")
    assert results.table_notes(p1) == ["n1", "n2"]
    table, notes = results.concat_metrics([p1, p2])
    assert notes == ["n1", "n2", "n3"] and table.column("image_id").to_pylist() == ["a", "b"]
    empty, none = results.concat_metrics([])
    assert empty.num_rows == 0 and empty.schema.remove_metadata().equals(results.METRICS_SCHEMA) and none == []
    bare = tmp_path / "bare.parquet"
    pq.write_table(results.metrics_table([_metric_row()]).replace_schema_metadata(None), bare)
    assert results.table_notes(bare) == []
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(results.metrics_table([_metric_row()]).drop(["seconds"]), wrong)
    with pytest.raises(ValueError, match=r"wrong.parquet does not have the metrics schema; was it written by "
                                         r"another version\?"):
        results.concat_metrics([p1, wrong])
    extra = tmp_path / "extra.parquet"
    pq.write_table(results.metrics_table([_metric_row()]).append_column("extra", pa.array([1])), extra)
    assert "extra" not in results.read_metrics(extra).columns  # read with the schema, not what the file has


def test_run_summary_order_steps_and_missing_values():
    df = pd.DataFrame([
        _metric_row(method="srcnn", image_id="a", model_step=5, psnr_y=24.0, ssim_y=None),
        _metric_row(method="srcnn", image_id="b", model_step=6, psnr_y=26.0, ssim_y=None),
        _metric_row(method="bicubic", image_id="a", psnr_y=22.0, ssim_y=0.5),
        _metric_row(method="bicubic", image_id="b", psnr_y=23.0, ssim_y=0.7),
        _metric_row(method="bicubic", image_id="a", region="seed", psnr_y=99.0),
    ])
    s = results.run_summary(df)
    assert list(s["method"]) == ["srcnn", "bicubic"]  # first appearance, not sorted
    srcnn, bicubic = s.iloc[0], s.iloc[1]
    assert srcnn["model_step"] == 5 and pd.isna(bicubic["model_step"])
    assert srcnn["mean_psnr_y"] == 25.0 and bicubic["mean_psnr_y"] == 22.5  # the crop row is not a full row
    assert pd.isna(srcnn["mean_ssim_y"]) and pd.isna(srcnn["delta_ssim_y"])
    assert srcnn["delta_psnr_y"] == 2.5 and bicubic["delta_ssim_y"] == 0.0
    no_bicubic = results.run_summary(df[df["method"] != "bicubic"])
    assert no_bicubic["delta_psnr_y"].isna().all() and len(no_bicubic) == 1


def test_history_rows_take_labels_time_preset_and_dataset_from_run_json():
    df = pd.DataFrame([_metric_row(method="srcnn", model_step=5, dataset="from-metrics",
                                   started_at=results.utc("2026-02-02T00:00:00Z"), ssim_rgb=float("nan")),
                       _metric_row(method="bicubic", dataset="from-metrics",
                                   started_at=results.utc("2026-02-02T00:00:00Z"))])
    run = {"run_id": "r9", "started_at": "2026-03-03T01:02:03Z", "preset": "quick", "dataset": "set5",
           "methods": {"srcnn": {"label": "SRCNN-x", "kind": "model"}}}

    rows = {r["method"]: r for r in results.history_rows(df, RunRecord.model_validate(run))}
    srcnn = rows["srcnn"]
    assert srcnn["label"] == "SRCNN-x" and rows["bicubic"]["label"] is None
    assert srcnn["started_at"] == datetime(2026, 3, 3, 1, 2, 3, tzinfo=timezone.utc)
    assert srcnn["preset"] == "quick" and srcnn["dataset"] == "set5" and srcnn["run_id"] == "r9"
    assert srcnn["mean_ssim_rgb"] is None and srcnn["model_step"] == 5 and srcnn["n_images"] == 1
    bare_run = RunRecord.model_validate({"run_id": "r9", "started_at": ""})
    bare = {r["method"]: r for r in results.history_rows(df, bare_run)}["srcnn"]
    assert bare["preset"] == "custom" and bare["dataset"] == "from-metrics" and bare["label"] is None
    assert bare["started_at"] == datetime(2026, 2, 2, tzinfo=timezone.utc)
    (single,) = results.history_rows(df.iloc[:1], bare_run)  # one row: its own time and dataset
    assert single["dataset"] == "from-metrics" and single["started_at"] == datetime(2026, 2, 2, tzinfo=timezone.utc)
    assert results._finite_mean(pd.Series([np.nan, np.nan])) is None
    assert results._finite_mean(pd.Series([1.0, np.nan, 2.0])) == 1.5


def _hist(run_id, when, method="srcnn", psnr=25.0, label=None, **kw):
    row = {"run_id": run_id, "started_at": when, "preset": "p", "dataset": "d", "method": method,
           "label": label, "model_step": np.int64(3), "n_images": np.int64(2), "mean_psnr_rgb": np.float64(1.5),
           "mean_ssim_rgb": float("nan"), "mean_psnr_y": psnr, "mean_ssim_y": None, "delta_psnr_rgb": None,
           "delta_ssim_rgb": None, "delta_psnr_y": None, "delta_ssim_y": None, "seconds_per_image": 1.0}
    row.update(kw)
    return row


def test_append_history_cleans_values_sorts_by_time_one_file_per_run(tmp_path):
    path = tmp_path / "deep" / "er" / "history.parquet"  # the legacy name still names the root
    results.append_history(path, [_hist("z-first", "2026-01-01T00:00:00")])  # naive string time
    results.append_history(path, [_hist("a-second", "2026-01-02T00:00:00Z")])
    hist = results.read_history(path)
    assert list(hist["run_id"]) == ["z-first", "a-second"]  # by time, not by name
    assert sorted(p.name for p in (path.parent / "history").iterdir()) == ["a-second.parquet", "z-first.parquet"]
    rows = pq.read_table(path.parent / "history" / "z-first.parquet").to_pylist()
    assert rows[0]["started_at"] == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert rows[0]["mean_ssim_rgb"] is None and rows[0]["model_step"] == 3 and rows[0]["mean_psnr_rgb"] == 1.5
    clean = clean_row(_hist("x", "2026-01-01", label="L"))
    assert type(clean["model_step"]) is int and type(clean["n_images"]) is int
    assert type(clean["mean_psnr_rgb"]) is float and clean["mean_ssim_rgb"] is None and clean["label"] == "L"
    assert clean["started_at"] == datetime(2026, 1, 1, tzinfo=timezone.utc)


def _per_image_run(root, run_id, when, psnr_by_method):
    """A run folder with five images per method (values psnr + k), as find_regressions reads it."""
    from sr_core.runrecords import RunDir

    rows = [{"run_id": run_id, "started_at": results.utc(when), "dataset": "d", "split": "validation",
             "image_id": f"i{k}", "method": m, "model_step": None, "region": "full", "top": 0, "left": 0,
             "height": 8, "width": 8, "scale": 4, "crop_border": 4, "psnr_rgb": 1.0, "ssim_rgb": None,
             "psnr_y": v + k, "ssim_y": None, "seconds": 0.1} for m, v in psnr_by_method.items() for k in range(5)]
    results.write_table(results.metrics_table(rows), RunDir(root, run_id).metrics)


def test_find_regressions_reads_a_path_ignores_same_time_runs_and_checks_every_method(tmp_path):
    path = tmp_path / "history.parquet"
    results.append_history(path, [_hist("r1", "2026-01-01", psnr=26.0),
                                  _hist("r1", "2026-01-01", method="bicubic", psnr=25.0)])
    results.append_history(path, [_hist("twin", "2026-01-02", psnr=30.0)])  # same time as "now"
    results.append_history(path, [_hist("now", "2026-01-02", psnr=25.5),
                                  _hist("now", "2026-01-02", method="aaa-new", psnr=20.0),
                                  _hist("now", "2026-01-02", method="bicubic", psnr=float("nan"))])
    _per_image_run(tmp_path, "r1", "2026-01-01", {"srcnn": 26.0, "bicubic": 25.0})
    _per_image_run(tmp_path, "twin", "2026-01-02", {"srcnn": 30.0})
    _per_image_run(tmp_path, "now", "2026-01-02", {"srcnn": 25.5, "aaa-new": 20.0, "bicubic": float("nan")})
    (found,) = results.find_regressions(str(path), "now", tolerance=0.25)  # a path, read from disk
    assert found["method"] == "srcnn" and found["previous_run_id"] == "r1" and found["label"] == "srcnn"
    assert found["drop_db"] == 0.5 and found["n_images"] == 5


# --------------------------------------------------------------------------------------------------
# upscale: the tile planning and loop (pure numpy; the Keras parts are tested in test_upscale.py)

from sr_core import upscale  # noqa: E402


def _box_x2(x: np.ndarray) -> np.ndarray:
    """3x3 box filter with zero padding, then nearest x2: radius 1 LR pixel."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    box = sum(p[:, i:i + x.shape[1], j:j + x.shape[2]] for i in range(3) for j in range(3)) / 9
    return box.repeat(2, axis=1).repeat(2, axis=2)


def test_to_uint8_rounds_half_to_even_and_clips():
    np.testing.assert_array_equal(upscale.to_uint8(np.array([1.5, 2.5, -3.0, 254.5, 255.7, 300.0])),
                                  np.array([2, 2, 0, 254, 255, 255], np.uint8))
    assert upscale.to_uint8(np.array([0.49])).dtype == np.uint8


def test_plan_uniform_tiles_exact_layout():
    T = upscale.Tile
    # budget 48^2 = 2304 px per window: 2 rows x 1 column of 43x45 (35 + 8 px of context on the inner side
    # only: both touch an image edge; 3870 px in all) beat 3x2 of 40x39 (9360) and 1x3 of 70x31 (6510);
    # the second window slides up to end at the edge
    assert upscale.plan_uniform_tiles(70, 45, 32, 8) == [T(0, 0, 35, 45, 0, 0, 43, 45), T(35, 0, 70, 45, 27, 0, 70, 45)]
    # the benchmark's DIV2K-size LR image at the div2k preset's 256:24: 2x2 windows of 194x279 (1.25x its
    # pixels; 1x3 of 339x218 would be 1.28x)
    assert upscale.plan_uniform_tiles(339, 510, 256, 24) == [
        T(0, 0, 170, 255, 0, 0, 194, 279), T(0, 255, 170, 510, 0, 231, 194, 510),
        T(170, 0, 339, 255, 145, 0, 339, 279), T(170, 255, 339, 510, 145, 231, 339, 510)]
    assert upscale.plan_uniform_tiles(10, 12, 32, 8) == [T(0, 0, 10, 12, 0, 0, 10, 12)]
    # equal areas and counts (2x2 of 32x32, 1x4, 4x1): the fewest rows wins
    assert upscale.plan_uniform_tiles(64, 64, 32, 0) == [T(0, l, 64, l + 16, 0, l, 64, l + 16) for l in (0, 16, 32, 48)]
    assert len(upscale.plan_uniform_tiles(3, 2, 1, 0)) == 6  # one-pixel tiles: each pixel its own core
    for bad in (0, -4):
        with pytest.raises(ValueError, match=f"^tile_size must be positive, got {bad}$"):
            upscale.plan_uniform_tiles(10, 10, bad, 2)


@pytest.mark.parametrize("tiles_per_batch", [1, 2, 4])
def test_run_tiled_equals_whole_image_with_enough_context(tiles_per_batch):
    lr = textured_image(37, 29, seed=1)
    whole = upscale.run_tiled(_box_x2, lr, 2, None, 0)
    np.testing.assert_array_equal(whole, upscale.to_uint8(_box_x2(lr[None].astype(np.float32))[0]))
    tiled = upscale.run_tiled(_box_x2, lr, 2, tile_size=8, tile_pad=1, tiles_per_batch=tiles_per_batch)
    np.testing.assert_array_equal(tiled, whole)
    assert not np.array_equal(upscale.run_tiled(_box_x2, lr, 2, tile_size=8, tile_pad=0), whole)
    small = lr[:8, :8]  # no larger than a tile: one whole-image call
    np.testing.assert_array_equal(upscale.run_tiled(_box_x2, small, 2, tile_size=8, tile_pad=1),
                                  upscale.to_uint8(_box_x2(small[None].astype(np.float32))[0]))


def test_run_tiled_checks_shapes():
    lr = textured_image(12, 12)
    with pytest.raises(ValueError, match=r"^expected an LR image HxWx3, got shape \(12, 12\)$"):
        upscale.run_tiled(_box_x2, lr[..., 0], 2, None, 0)
    with pytest.raises(ValueError, match=r"^expected an LR image HxWx3, got shape \(12, 12, 1\)$"):
        upscale.run_tiled(_box_x2, lr[..., :1], 2, None, 0)
    with pytest.raises(ValueError, match=r"^the model turned a 12x12 LR input into \(24, 24\), expected 48x48 "
                                         r"\(x4\); is it an x4 model\?$"):
        upscale.run_tiled(_box_x2, lr, 4, None, 0)
    with pytest.raises(ValueError, match=r"^the model turned a 7x7 LR input into \(14, 14\), expected 28x28"):
        upscale.run_tiled(_box_x2, lr, 4, tile_size=6, tile_pad=1)


# --------------------------------------------------------------------------------------------------
# report cell formatting and escaping

from sr_core.report import html as report_html  # noqa: E402


def test_esc_escapes_both_quotes_and_markup():
    assert report_html.esc("a\"b'c<d>&e") == "a&quot;b&#x27;c&lt;d&gt;&amp;e"
    assert report_html.esc(3) == "3" and report_html.esc(None) == "None"


def test_fmt_numbers_missing_and_infinite():
    assert report_html.fmt(28.4567) == "28.46" and report_html.fmt(0.81234, 4) == "0.8123"
    assert report_html.fmt(1.5, 1, " s") == "1.5 s"
    assert report_html.fmt(None) == "–" and report_html.fmt(float("nan")) == "–"
    assert report_html.fmt(float("inf")) == "∞" and report_html.fmt(float("-inf")) == "-∞"
    assert report_html.fmt(np.float64(0.5)) == "0.50"


def test_fmt_delta_cells():
    assert report_html.fmt_delta(0.4567) == '<td class="pos" data-value="0.456700">+0.46</td>'
    assert report_html.fmt_delta(-0.5, 3) == '<td class="neg" data-value="-0.500000">-0.500</td>'
    assert report_html.fmt_delta(0.0) == '<td class="" data-value="0.000000">+0.00</td>'
    assert report_html.fmt_delta(0.5) == '<td class="pos" data-value="0.500000">+0.50</td>'
    assert report_html.fmt_delta(-1.5) == '<td class="neg" data-value="-1.500000">-1.50</td>'
    for missing in (None, float("nan"), float("inf"), float("-inf")):
        assert report_html.fmt_delta(missing) == '<td data-value="">–</td>'


def test_data_value_for_sorting():
    assert report_html.data_value(1.23456789) == "1.234568" and report_html.data_value(7) == "7.000000"
    assert report_html.data_value(None) == "" and report_html.data_value(float("nan")) == ""
    assert report_html.data_value(float("inf")) == "inf" and report_html.data_value(float("-inf")) == "-inf"


def test_psnr_outside_the_strip_path_scalars_broadcasts_empties_and_one_row_images():
    # 0-d and broadcasting inputs take the one-pass mean; an empty one is NaN; a 1-row image the strips
    assert metrics.psnr(np.array(5.0), np.array(3.0)) == 10.0 * math.log10(255.0 ** 2 / 4.0)
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([1.0, 1.0, 1.0])
    assert metrics.psnr(a, b) == 10.0 * math.log10(255.0 ** 2 / ((0 + 1 + 4 + 9 + 16 + 25) / 6))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        assert math.isnan(metrics.psnr(np.zeros((0, 3)), np.zeros((0, 3))))
    row = np.array([[[10, 20, 30], [40, 50, 60]]], dtype=np.uint8)
    assert metrics.psnr(row, row + 2) == 10.0 * math.log10(255.0 ** 2 / 4.0)
