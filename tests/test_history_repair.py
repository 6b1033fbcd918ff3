"""A damaged history.parquet is moved aside, named, and rebuilt from the runs' own metrics
(issue 13, item 4): the next report, evaluate and night work instead of failing with ArrowInvalid."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sr_core.report import render_index, render_report, update_history
from sr_core.results import read_history
from srbench.cli import app
from tests.helpers_report import make_run


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("history") / "reports"
    runs = [make_run(root, "20260101-a", "2026-01-01T00:00:00Z"),
            make_run(root, "20260102-b", "2026-01-02T00:00:00Z")]
    for run in runs:
        update_history(run, root)
    return root, runs, (root / "history.parquet").read_bytes()


@pytest.fixture
def history(reports):
    root, runs, good = reports
    path = root / "history.parquet"
    path.write_bytes(good)
    for old in root.glob("history.parquet.damaged-*"):
        old.unlink()
    return path, runs, read_history(path)


def _damage(path, how):
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(b"PAR1" + b"\x00" * 300)
    else:  # a valid Parquet file of the wrong shape
        pq.write_table(pa.table({"run_id": ["x"], "psnr": ["not a number"]}), path)


@pytest.mark.parametrize("how", ["truncated", "garbage", "wrong-schema"])
def test_a_damaged_history_is_moved_aside_and_rebuilt_from_the_runs(history, caplog, how):
    path, runs, before = history
    _damage(path, how)
    damaged = path.read_bytes()
    with caplog.at_level("WARNING", logger="sr_core.results"):
        after = read_history(path)
    pd.testing.assert_frame_equal(after, before)
    aside = list(path.parent.glob("history.parquet.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    assert f"{path} is unreadable" in caplog.text and f"moved it to {aside[0]}" in caplog.text
    assert "rebuilt" in caplog.text and "from 2 run folders" in caplog.text
    pd.testing.assert_frame_equal(read_history(path), before)  # written back: read again as is


def test_appending_to_a_damaged_history_keeps_the_earlier_runs(history):
    path, runs, before = history
    _damage(path, "truncated")
    update_history(runs[1], path.parent)
    pd.testing.assert_frame_equal(read_history(path), before)


def test_report_and_index_work_on_a_damaged_history(history):
    path, runs, _ = history
    _damage(path, "garbage")
    result = CliRunner().invoke(app, ["report", str(runs[1])])
    assert result.exit_code == 0, result.output
    assert "20260101-a" in render_index(path.parent).read_text()
    assert render_report(runs[0]).is_file()


def test_a_run_folder_with_unreadable_metrics_is_named_and_left_out(history, caplog):
    path, runs, before = history
    bad = runs[0] / "metrics.parquet"
    good = bad.read_bytes()
    try:
        bad.write_bytes(b"garbage")
        _damage(path, "truncated")
        with caplog.at_level("WARNING", logger="sr_core.results"):
            after = read_history(path)
        assert set(after["run_id"]) == {"20260102-b"}
        assert f"history rebuild: left out {bad}" in caplog.text
    finally:
        bad.write_bytes(good)


def test_a_run_killed_between_report_and_history_is_not_listed_as_complete(tmp_path):
    import re

    root = tmp_path / "reports"
    run = make_run(root, "20260103-killed", "2026-01-03T00:00:00Z")
    render_report(run)  # the report stage finished; the history stage never ran

    def status() -> str:
        page = render_index(root).read_text()
        row = re.search(r'<tr class="run">.*?20260103-killed.*?</tr>', page, re.S).group(0)
        return re.search(r'<td style="text-align:left"><span class="([^"]+)">([^<]+)</span>', row).groups()

    assert status() == ("muted", "incomplete (not in history)")
    update_history(run, root)
    assert status() == ("status-complete", "complete")
