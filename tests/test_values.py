"""Scores checked by value: recomputed here, independently of sr_core.metrics and the evaluation path.

The reference metrics below are written from the protocol (BT.601 Y in float64, crop, PSNR with
peak 255; SSIM-Y with scikit-image's Gaussian 11x11 / sigma 1.5 / population statistics) and read
the images from disk, so a bug in how rows are scored (crop rows scored on the full image, the
border crop ignored, columns swapped) shows up as a number that differs.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from sr_core import evaluation, metrics, results
from sr_core.config import load_config
from sr_core.images import read_image
from sr_core.resize import downscale, upscale
from sr_core.sources import ImageRecord
from tests.helpers_eval import textured_image
from tests.helpers_reference import ref_scores

CROP = {"name": "detail", "image_id": "a", "top": 12, "left": 20, "height": 28, "width": 36}


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("values")
    cfg = load_config("smoke", data_dir=tmp / "data", reports_dir=tmp / "reports",
                      extra={"eval": {"methods": ["bicubic", "bilinear"], "auto_crops": 0, "crops": [CROP]}})
    hr = textured_image(64, 80, seed=3)
    record = ImageRecord("a", hr, downscale(hr, 4))
    run_dir = tmp / "reports" / "r1"
    evaluation.write_run_json(run_dir, cfg, "r1", models={}, started_at="2026-03-01T00:00:00Z")
    part = evaluation.evaluate_images(cfg, {}, ["a"], "r1", run_dir / "parts" / "p0.parquet", records=[record])
    evaluation.merge_metrics([part], run_dir)
    return run_dir, hr, record.lr


def _row(df: pd.DataFrame, method: str, region: str) -> pd.Series:
    (row,) = df[(df.method == method) & (df.region == region)].itertuples(index=False)
    return pd.Series(row._asdict())


def test_full_image_row_equals_an_independent_recomputation(scored_run):
    run_dir, hr, lr = scored_run
    df = results.read_metrics(run_dir / "metrics.parquet")
    for method in ("bicubic", "bilinear"):
        row = _row(df, method, "full")
        want = ref_scores(hr, upscale(lr, 4, method), border=4)
        for col, value in want.items():
            assert row[col] == pytest.approx(value, abs=1e-9), (method, col)
    # the two methods really differ, so a swapped method column could not pass
    assert abs(_row(df, "bicubic", "full").psnr_y - _row(df, "bilinear", "full").psnr_y) > 0.1


def test_crop_row_is_scored_on_the_crop_read_from_disk(scored_run):
    run_dir, hr, _ = scored_run
    df = results.read_metrics(run_dir / "metrics.parquet")
    row = _row(df, "bicubic", "detail")
    assert (row.top, row.left, row.height, row.width) == (12, 20, 28, 36)
    hr_crop = read_image(run_dir / results.asset_relpath("a", "detail", "hr"))
    sr_crop = read_image(run_dir / results.asset_relpath("a", "detail", "bicubic"))
    np.testing.assert_array_equal(hr_crop, hr[12:40, 20:56])  # the saved crop is the region of HR
    want = ref_scores(hr_crop, sr_crop, border=4)
    for col, value in want.items():
        assert row[col] == pytest.approx(value, abs=1e-9), col
    full = _row(df, "bicubic", "full")
    assert abs(full.psnr_y - row.psnr_y) > 0.05  # crop and full image score differently here


def test_ssim_y_and_psnr_y_honour_the_border_crop():
    hr = textured_image(40, 44, seed=5)
    sr = hr.copy()
    sr[:4] = 255 - sr[:4]  # only the 4-pixel border differs
    sr[:, -4:] = 0
    assert metrics.ssim_y(hr, sr, crop_border=4) == 1.0
    assert metrics.psnr_y(hr, sr, crop_border=4) == float("inf")
    assert metrics.ssim_y(hr, sr, crop_border=0) < 0.9
    assert metrics.psnr_y(hr, sr, crop_border=0) < 20
    noisy = np.clip(hr.astype(int) + np.random.default_rng(0).integers(-9, 10, hr.shape), 0, 255).astype(np.uint8)
    noisy[:2] = 0
    for border in (2, 3):
        want = ref_scores(hr, noisy, border)
        assert metrics.ssim_y(hr, noisy, border) == pytest.approx(want["ssim_y"], abs=1e-9)
        assert metrics.psnr_y(hr, noisy, border) == pytest.approx(want["psnr_y"], abs=1e-9)


class _Tables(HTMLParser):
    """Every <table id=...>: rows of (data-value or None, text) cells."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str | None, str]]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id") or f"t{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = [attrs.get("data-value"), ""]

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append((self._cell[0], self._cell[1].strip()))
            self._cell = None
        elif tag == "tr" and self._row:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def report_tables(page: str) -> dict[str, list[list[tuple[str | None, str]]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def test_report_tables_show_the_parquet_numbers_in_their_columns(scored_run):
    from sr_core.report import render_report

    run_dir, _, _ = scored_run
    page = render_report(run_dir).read_text()
    df = results.read_metrics(run_dir / "metrics.parquet")
    full = df[df.region == "full"]
    tables = report_tables(page)
    summary = {re.sub(r"\s*\(.*", "", cells[0][1]): cells for cells in tables["summary-table"]}
    assert set(summary) == {"Bicubic", "Bilinear"}
    for label, method in (("Bicubic", "bicubic"), ("Bilinear", "bilinear")):
        cells = summary[label]
        # Method, step, images, then PSNR RGB, SSIM RGB, PSNR Y, SSIM Y (the header order).
        for cell, col in zip(cells[3:7], ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"), strict=True):
            want = full[full.method == method][col].mean()
            assert float(cell[0]) == pytest.approx(want, abs=1e-6), (method, col)
            digits = 2 if col.startswith("psnr") else 4
            assert cell[1] == f"{want:.{digits}f}", (method, col)
        delta = float(cells[7][0])
        assert delta == pytest.approx(full[full.method == method].psnr_y.mean()
                                      - full[full.method == "bicubic"].psnr_y.mean(), abs=1e-6)
    (image_row,) = tables["images-table"]
    # image, size, PSNR Y per method, SSIM Y per method (both in the summary's method order), best
    order = [{"Bicubic": "bicubic", "Bilinear": "bilinear"}[label] for label in summary]
    values = [float(v) for v, _ in image_row[2:6]]
    want = [full[full.method == m][c].iloc[0] for c in ("psnr_y", "ssim_y") for m in order]
    assert values == pytest.approx(want, abs=1e-6)
