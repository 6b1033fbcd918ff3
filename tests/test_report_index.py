"""reports/index.html, without TensorFlow: run folders written from the typed records directly.

Each folder gets exactly what a real run leaves (run.json through :class:`RunRecord`, failure.json
through :class:`FailureRecord`, an empty report.html / metrics.parquet where only their existence
matters) and the history is a DataFrame with the columns ``read_history`` returns, so every number
the index shows is known here by value. The page is read back with an HTML parser: each run row's
cells, link, status classes and headline are compared exactly. These tests are in mutmut's
selection (pyproject.toml), which TensorFlow-based report tests cannot be.
"""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from sr_core import layout
from sr_core.report import render_index, render_report, update_history
from sr_core.report.index import index_page
from sr_core.runrecords import FailureRecord, MethodInfo, RunDir, RunRecord
from tests.helpers_report import make_run

OLD_MTIME = 1_600_000_000  # 2020-09-13: folder times never decide the order when started_at is valid


class _Index(HTMLParser):
    """The run rows of index.html: per row, each cell's text, its elements' attributes, stray text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[dict] = []
        self.row: dict | None = None
        self.cell: list[str] | None = None
        self.outside: list[str] = []  # text outside any run cell (must be the page's own prose)
        self.head_tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("meta", "title", "style"):
            self.head_tags.append((tag, attrs))
        if tag == "tr" and attrs.get("class") == "run":
            self.row = {"cells": [], "elements": [], "stray": []}
            self.rows.append(self.row)
        elif tag == "td" and self.row is not None:
            self.cell = []
            self.row["cells"].append(self.cell)
            self.row["elements"].append([])
        elif self.row is not None and self.cell is not None:
            self.row["elements"][-1].append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "td":
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        elif self.row is not None:
            self.row["stray"].append(data)
        else:
            self.outside.append(data)


def _parse(page: str) -> _Index:
    parsed = _Index()
    parsed.feed(page)
    for row in parsed.rows:
        row["text"] = ["".join(c) for c in row["cells"]]
    return parsed


def _history(*rows: dict) -> pd.DataFrame:
    columns = ["run_id", "method", "label", "mean_psnr_y", "mean_ssim_y", "delta_psnr_y"]
    return pd.DataFrame([{**dict.fromkeys(columns), **r} for r in rows], columns=columns)


def _row(run_id, method, label, psnr, ssim, delta):
    return {"run_id": run_id, "method": method, "label": label, "mean_psnr_y": psnr, "mean_ssim_y": ssim,
            "delta_psnr_y": delta}


def _folder(reports: Path, name: str, *, run: RunRecord | None = None, failure: FailureRecord | None = None,
            report: bool = False, metrics: bool = False, mtime: float = OLD_MTIME) -> RunDir:
    folder = RunDir(reports, name)
    folder.path.mkdir(parents=True)
    if run is not None:
        folder.write_run(run)
    if failure is not None:
        folder.write_failure(failure)
    if report:
        folder.report.write_text("<html></html>")
    if metrics:
        folder.metrics.write_bytes(b"")
    os.utime(folder.path, (mtime, mtime))
    return folder


def _record(run_id, started_at, preset="quick", dataset="div2k"):
    return RunRecord(run_id=run_id, started_at=started_at, preset=preset, dataset=dataset,
                     methods={"bicubic": MethodInfo(label="Bicubic", kind="interpolation")})


@pytest.fixture
def runs(tmp_path):
    """Four runs: complete, failed (with a stage), crashed before run.json, incomplete; plus noise."""
    reports = tmp_path / "reports"
    _folder(reports, "r-complete", run=_record("r-complete", "2026-03-02T10:00:00+00:00"), report=True,
            metrics=True)
    _folder(reports, "r-failed", run=_record("r-failed", "2026-03-04T08:30:05Z", preset="div2k"),
            failure=FailureRecord(run_id="r-failed", stage="train", error="ValueError: bad patch",
                                  message="ignored when error is set", preset="other"))
    _folder(reports, "r-crashed", failure=FailureRecord(status="crashed", run_id="r-crashed", preset="smoke",
                                                        stage="evaluate", time="2026-03-03T12:00:00Z"))
    _folder(reports, "r-incomplete", run=_record("r-incomplete", "2026-03-01T00:00:00Z", dataset="set5"),
            report=True)
    _folder(reports, "r-no-report", run=_record("r-no-report", "2026-02-01T00:00:00Z"), metrics=True)
    for name in (".hidden", "bad\\id"):  # a hidden folder, a name that is not a run id: never listed
        (reports / name).mkdir()
        (reports / name / RunDir.RUN).write_text(_record("r-x", "2026-03-09T00:00:00Z").model_dump_json())
    (reports / "empty-folder").mkdir()  # a folder with no record is not a run
    (reports / "stray-file").write_text("x")
    history = _history(
        _row("r-complete", "srcnn", "SRCNN (residual)", 27.125, 0.78125, 0.5),
        _row("r-complete", "bicubic", "Bicubic", 26.625, 0.75, 0.0),
        _row("r-complete", "bilinear", None, 25.5, 0.7, -1.125),
        _row("r-complete", "my_model", "Mine", 28.0, 0.8, 0.0),
        _row("other-run", "srcnn", "Other", 1.0, 0.1, 9.0),  # another run's row, never shown here
    )
    return reports, history


def test_index_lists_runs_newest_first_with_their_status(runs):
    reports, history = runs
    page, listed = index_page(reports, history)
    parsed = _parse(page)
    assert listed == {"r-failed", "r-crashed", "r-complete", "r-incomplete", "r-no-report"}
    assert [r["text"][0] for r in parsed.rows] == ["r-failed", "r-crashed", "r-complete", "r-incomplete",
                                                   "r-no-report"]
    failed, crashed, complete, incomplete, no_report = parsed.rows
    # run id, started (UTC, seconds), preset, dataset
    assert failed["text"][:4] == ["r-failed", "2026-03-04 08:30:05", "div2k", "div2k"]
    assert crashed["text"][:4] == ["r-crashed", "2026-03-03 12:00:00", "smoke", ""]  # from failure.json
    assert complete["text"][:4] == ["r-complete", "2026-03-02 10:00:00", "quick", "div2k"]
    assert incomplete["text"][:4] == ["r-incomplete", "2026-03-01 00:00:00", "quick", "set5"]
    # status cell: text and the classes that colour it
    assert failed["text"][4] == "failed in trainValueError: bad patch"
    assert failed["elements"][4] == [("span", {"class": "status-failed"}), ("span", {"class": "muted"}),
                                     ("div", {"class": "mono"})]
    assert crashed["text"][4] == "crashed in evaluatethe run failed"
    assert complete["text"][4] == "complete"
    assert complete["elements"][4] == [("span", {"class": "status-complete"})]
    assert incomplete["text"][4] == "incomplete (not in history)"
    assert incomplete["elements"][4] == [("span", {"class": "muted"})]
    assert no_report["text"][4] == "incomplete"  # neither a report nor a failure record yet
    assert no_report["elements"][4] == [("span", {"class": "muted"})]
    for row in parsed.rows:
        assert "".join(row["stray"]).strip() == ""
        assert len(row["cells"]) == 6


def test_links_go_to_the_report_only_when_there_is_one(runs):
    reports, history = runs
    parsed = _parse(index_page(reports, history)[0])
    by_id = {r["text"][0]: r for r in parsed.rows}
    assert by_id["r-complete"]["elements"][0] == [("a", {"href": "r-complete/report.html"})]
    assert by_id["r-incomplete"]["elements"][0] == [("a", {"href": "r-incomplete/report.html"})]
    assert by_id["r-failed"]["elements"][0] == []
    assert by_id["r-crashed"]["elements"][0] == []
    assert by_id["r-no-report"]["elements"][0] == []
    for row in parsed.rows:
        assert row["elements"][0] == [] or row["elements"][0][0][0] == "a"


def test_headline_numbers_order_and_deltas_by_value(runs):
    reports, history = runs
    parsed = _parse(index_page(reports, history)[0])
    complete = {r["text"][0]: r for r in parsed.rows}["r-complete"]
    # catalogue order (bilinear, bicubic, models), unknown methods last; label falls back to the
    # catalogue's; PSNR with 2 decimals, SSIM with 4; deltas signed, none for bicubic; other runs' rows absent
    assert complete["text"][5] == ("Bilinear 25.50 dB / 0.7000 (-1.12) · Bicubic 26.62 dB / 0.7500 · "
                                   "SRCNN (residual) 27.12 dB / 0.7812 (+0.50) · Mine 28.00 dB / 0.8000 (+0.00)")
    classes = [attrs.get("class") for tag, attrs in complete["elements"][5] if tag == "span"]
    assert classes == ["metric", "neg", "metric", "metric", "pos", "metric", "muted"]
    assert [tag for tag, _ in complete["elements"][5]] == ["span", "b", "span", "span", "b", "span", "b",
                                                           "span", "span", "b", "span"]
    # a run with no history rows says so
    incomplete = {r["text"][0]: r for r in parsed.rows}["r-incomplete"]
    assert incomplete["text"][5] == "no metrics"
    assert incomplete["elements"][5] == [("span", {"class": "muted"})]


def test_missing_and_nan_numbers_in_the_headline(tmp_path):
    reports = tmp_path / "reports"
    _folder(reports, "r1", run=_record("r1", "2026-01-01T00:00:00Z"), report=True)
    history = _history(_row("r1", "srcnn", "S", float("nan"), None, float("nan")),
                       _row("r1", "bicubic", "B", 30.0, 0.9, 1.0))  # bicubic never shows a delta
    row = _parse(index_page(reports, history)[0]).rows[0]
    assert row["text"][5] == "B 30.00 dB / 0.9000 · S – dB / –"
    assert row["text"][4] == "complete"


def test_order_falls_back_to_the_folder_time(tmp_path):
    reports = tmp_path / "reports"
    # no started_at anywhere (failure only, no time) -> folder mtime; unparsable started_at -> mtime too
    _folder(reports, "a-old", failure=FailureRecord(run_id="a-old"), mtime=OLD_MTIME)
    _folder(reports, "b-new", failure=FailureRecord(run_id="b-new"), mtime=OLD_MTIME + 3600)
    _folder(reports, "c-garbled", run=_record("c-garbled", "not a time"), mtime=OLD_MTIME + 1800)
    _folder(reports, "d-dated", run=_record("d-dated", "2019-01-01T00:00:00Z"), mtime=OLD_MTIME + 7200)
    rows = _parse(index_page(reports, _history())[0]).rows
    assert [r["text"][0] for r in rows] == ["b-new", "c-garbled", "a-old", "d-dated"]
    by_id = {r["text"][0]: r for r in rows}
    assert by_id["c-garbled"]["text"][1] == "not a time"  # shown as written when it cannot be parsed
    assert by_id["a-old"]["text"][1] == ""
    assert by_id["a-old"]["text"][2] == "custom"  # FailureRecord's default preset
    assert by_id["b-new"]["text"][4] == "failed in unknownthe run failed"


def test_message_is_shown_when_the_failure_has_no_error(tmp_path):
    reports = tmp_path / "reports"
    _folder(reports, "r1", failure=FailureRecord(run_id="r1", stage="report", message="out of disk"))
    row = _parse(index_page(reports, _history())[0]).rows[0]
    assert row["text"][4] == "failed in reportout of disk"


def test_damaged_records_are_listed_with_the_problem(tmp_path):
    reports = tmp_path / "reports"
    bad_run = _folder(reports, "r-bad-run", report=True, metrics=True, mtime=OLD_MTIME + 10)
    bad_run.run_json.write_text("{not json")
    bad_failure = _folder(reports, "r-bad-failure", run=_record("r-bad-failure", "2026-02-02T00:00:00Z"),
                          mtime=OLD_MTIME)
    bad_failure.failure.write_text(json.dumps({"status": "failed"}))  # run_id missing
    history = _history(_row("r-bad-run", "bicubic", "Bicubic", 30.0, 0.9, 0.0))
    rows = {r["text"][0]: r for r in _parse(index_page(reports, history)[0]).rows}
    damaged = rows["r-bad-run"]
    assert damaged["text"][4].startswith("damaged in run.jsonthe run record is not valid JSON")
    assert damaged["elements"][4][0] == ("span", {"class": "status-failed"})
    assert damaged["elements"][0] == [("a", {"href": "r-bad-run/report.html"})]
    assert damaged["text"][1:4] == ["", "", ""]
    assert damaged["text"][5] == "Bicubic 30.00 dB / 0.9000"  # its history rows still show
    failed = rows["r-bad-failure"]
    assert failed["text"][4].startswith("failednot a valid failure record")
    assert "run_id" in failed["text"][4]
    assert [t for t, _ in failed["elements"][4]] == ["span", "div"]  # no "in <stage>" without a stage
    assert failed["text"][1:4] == ["2026-02-02 00:00:00", "quick", "div2k"]


def test_empty_reports_folder_says_no_runs(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    page, listed = index_page(reports, _history())
    assert listed == set()
    assert '<p class="muted">No runs yet.</p>' in page
    prose = [t.strip() for t in _parse(page).outside if t.strip()]
    assert prose[-1] == "No runs yet." and prose[-2].startswith("Newest first.")
    assert "<table>" not in page


def test_page_shell(runs):
    reports, history = runs
    page, _ = index_page(reports, history)
    parsed = _parse(page)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert ("meta", {"http-equiv": "Content-Security-Policy",
                     "content": "default-src 'none'; style-src 'unsafe-inline'"}) in parsed.head_tags
    assert ("meta", {"charset": "utf-8"}) in parsed.head_tags
    prose = [t.strip() for t in parsed.outside if t.strip()]
    assert prose[:1] == ["srbench runs"]  # <title>
    assert "Newest first. Y = BT.601 luma with the scale cropped from each border." in prose
    headers = prose[prose.index("Newest first. Y = BT.601 luma with the scale cropped from each border.") + 1:]
    assert headers == ["Run", "Started (UTC)", "Preset", "Dataset", "Status",
                       "Mean Y-PSNR / Y-SSIM per method (Δ vs bicubic)"]


def test_render_index_reads_the_history_written_by_update_history(tmp_path):
    """The whole path: a real TF-free run folder, its history rows, index.html on disk."""
    reports = tmp_path / "reports"
    run_dir = make_run(reports, "r-real", "2026-01-01T01:00:00Z")
    render_report(run_dir)
    update_history(run_dir, reports)
    path = render_index(reports)
    assert path == layout.index_path(reports)
    row = _parse(path.read_text()).rows[0]
    assert row["text"][:5] == ["r-real", "2026-01-01 01:00:00", "smoke", row["text"][3], "complete"]
    from sr_core.results import read_history
    hist = read_history(reports).set_index("method")
    expected = (f"Bilinear {hist.loc['bilinear', 'mean_psnr_y']:.2f} dB / {hist.loc['bilinear', 'mean_ssim_y']:.4f}"
                f" ({hist.loc['bilinear', 'delta_psnr_y']:+.2f}) · "
                f"Bicubic {hist.loc['bicubic', 'mean_psnr_y']:.2f} dB / {hist.loc['bicubic', 'mean_ssim_y']:.4f}")
    assert row["text"][5] == expected
    assert hist.loc["bilinear", "delta_psnr_y"] < 0  # bilinear is worse than bicubic on textured images


def test_render_index_creates_the_reports_folder(tmp_path):
    path = render_index(tmp_path / "new" / "reports")
    assert path.is_file()
    assert "No runs yet." in path.read_text()


def test_publish_index_lists_the_published_runs_of_a_shared_root(tmp_path):
    """The shared root's index: records downloaded, report/metrics only checked for existence,
    runs without the published marker left out."""
    from sr_core.publish import publish_run
    from sr_core.report.index import publish_index
    from sr_core.store import Store

    local = tmp_path / "local"
    shared = Store(f"file://{tmp_path / 'shared'}")
    done = _folder(local, "r-done", run=_record("r-done", "2026-05-02T00:00:00Z", dataset="set14"), report=True,
                   metrics=True)
    failed = _folder(local, "r-failed", failure=FailureRecord(run_id="r-failed", stage="train", error="boom",
                                                              time="2026-05-01T00:00:00Z", preset="div2k"))
    real = make_run(local, "r-real", "2026-05-03T00:00:00Z")  # scored, with its history on the shared root
    render_report(real)
    for path in (done.path, failed.path, real):
        publish_run(path, shared)
    update_history(real, shared)
    half = tmp_path / "shared" / "r-half"  # an upload still under way: no marker yet
    half.mkdir()
    (half / RunDir.RUN).write_text(_record("r-half", "2026-05-09T00:00:00Z").model_dump_json())
    url = publish_index(shared)
    assert url == shared.url(layout.INDEX_FILE)
    page = (tmp_path / "shared" / layout.INDEX_FILE).read_text()
    rows = _parse(page).rows
    assert rows[0]["text"][:5] == ["r-real", "2026-05-03 00:00:00", "smoke", rows[0]["text"][3], "complete"]
    assert rows[0]["text"][5].startswith("Bilinear ") and " · Bicubic " in rows[0]["text"][5]
    rows = rows[1:]
    assert [r["text"][:5] for r in rows] == [
        ["r-done", "2026-05-02 00:00:00", "quick", "set14", "incomplete (not in history)"],
        ["r-failed", "2026-05-01 00:00:00", "div2k", "", "failed in trainboom"]]
    assert rows[0]["elements"][0] == [("a", {"href": "r-done/report.html"})]
    assert rows[1]["elements"][0] == []
