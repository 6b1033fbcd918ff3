"""A damaged history file (a per-run history/<run_id>.parquet, or a legacy history.parquet) is moved
aside, named, and rebuilt from the runs' own metrics (issue 13, item 4; issue 10's per-run layout):
the next report, evaluate and night work instead of failing with ArrowInvalid."""

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
    return root, runs, {p.name: p.read_bytes() for p in (root / "history").glob("*.parquet")}


@pytest.fixture
def history(reports):
    """The per-run history file of the second run (history/20260102-b.parquet), restored intact."""
    root, runs, good = reports
    for old in [*root.glob("history.parquet*"), *(root / "history").glob("*.damaged-*")]:
        old.unlink()
    for name, data in good.items():
        (root / "history" / name).write_bytes(data)
    return root / "history" / "20260102-b.parquet", runs, read_history(root)


def _damage(path, how):
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(b"PAR1" + b"\x00" * 300)
    else:  # a valid Parquet file of the wrong shape
        pq.write_table(pa.table({"run_id": ["x"], "psnr": ["not a number"]}), path)


@pytest.mark.parametrize("how", ["truncated", "garbage", "wrong-schema"])
def test_a_damaged_run_history_file_is_moved_aside_and_rebuilt_from_its_run(history, caplog, how):
    path, runs, before = history
    root = runs[0].parent
    _damage(path, how)
    damaged = path.read_bytes()
    with caplog.at_level("WARNING"):
        after = read_history(root)
    pd.testing.assert_frame_equal(after, before)
    aside = list(path.parent.glob("20260102-b.parquet.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    assert f"{path} is unreadable" in caplog.text and f"moved it to {aside[0]}" in caplog.text
    assert f"rebuilt {path} from the run folder 20260102-b" in caplog.text
    pd.testing.assert_frame_equal(read_history(root), before)  # written back: read again as is


@pytest.mark.parametrize("how", ["truncated", "garbage", "wrong-schema"])
def test_a_damaged_legacy_history_parquet_is_moved_aside_and_rebuilt_from_the_runs(history, caplog, how):
    _, runs, before = history
    root = runs[0].parent
    for path in (root / "history").glob("*.parquet"):
        path.unlink()
    legacy = root / "history.parquet"  # what a version before the per-run files left behind
    legacy.write_bytes(b"")
    _damage(legacy, "garbage") if how == "truncated" else _damage(legacy, how)
    with caplog.at_level("WARNING"):
        after = read_history(legacy)  # the old path still names the history
    pd.testing.assert_frame_equal(after, before)
    aside = list(root.glob("history.parquet.damaged-*"))
    assert len(aside) == 1 and not legacy.exists()
    assert f"{legacy} is unreadable" in caplog.text and "rebuilt" in caplog.text
    assert "from 2 run folders" in caplog.text


def test_appending_to_a_damaged_history_keeps_the_earlier_runs(history):
    path, runs, before = history
    _damage(runs[0].parent / "history" / "20260101-a.parquet", "truncated")
    update_history(runs[1], runs[1].parent)
    pd.testing.assert_frame_equal(read_history(runs[0].parent), before)


def test_report_and_index_work_on_a_damaged_history(history):
    path, runs, _ = history
    _damage(path, "garbage")
    result = CliRunner().invoke(app, ["report", str(runs[1])])
    assert result.exit_code == 0, result.output
    assert "20260101-a" in render_index(runs[0].parent).read_text()
    assert render_report(runs[0]).is_file()


def test_a_run_folder_with_unreadable_metrics_is_named_and_left_out(history, caplog):
    path, runs, before = history
    bad = runs[0] / "metrics.parquet"
    good = bad.read_bytes()
    try:
        bad.write_bytes(b"garbage")
        _damage(runs[0].parent / "history" / "20260101-a.parquet", "truncated")
        with caplog.at_level("WARNING"):
            after = read_history(runs[0].parent)
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


def test_the_next_night_adds_a_run_killed_between_report_and_history(tmp_path, caplog):
    root = tmp_path / "reports"
    killed = make_run(root, "20260103-killed", "2026-01-03T00:00:00Z")
    render_report(killed)  # report written, history stage never ran
    unscored = make_run(root, "20260104-noreport", "2026-01-04T00:00:00Z")  # killed before its report
    failed = make_run(root, "20260105-failed", "2026-01-05T00:00:00Z")
    render_report(failed)
    (failed / "failure.json").write_text("{}")  # a run that failed after its report: not a finished night
    tonight = make_run(root, "20260106-next", "2026-01-06T00:00:00Z")
    with caplog.at_level("WARNING"):
        update_history(tonight, root)  # the next night's history stage
    assert sorted(p.stem for p in (root / "history").glob("*.parquet")) == ["20260103-killed", "20260106-next"]
    assert "history: added 20260103-killed, which has a report but no history file" in caplog.text
    rows = read_history(root)
    assert str(unscored.name) not in set(rows["run_id"]) and str(failed.name) not in set(rows["run_id"])
    added = rows[rows["run_id"] == "20260103-killed"].reset_index(drop=True)
    (root / "history" / "20260103-killed.parquet").unlink()
    update_history(killed, root)  # what its own history stage would have written
    rows = read_history(root)
    pd.testing.assert_frame_equal(added, rows[rows["run_id"] == "20260103-killed"].reset_index(drop=True))
    assert len(added) == 2 and added["mean_psnr_y"].notna().all()


def test_srbench_report_adds_its_run_when_the_history_stage_never_ran(tmp_path):
    root = tmp_path / "reports"
    killed = make_run(root, "20260103-killed", "2026-01-03T00:00:00Z")
    render_report(killed)
    assert not (root / "history").exists()
    out = CliRunner().invoke(app, ["report", str(killed)])
    assert out.exit_code == 0, out.output
    assert set(read_history(root)["run_id"]) == {"20260103-killed"}
    assert "incomplete (not in history)" not in (root / "index.html").read_text()
