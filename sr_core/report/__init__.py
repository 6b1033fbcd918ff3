"""The HTML report of a run, the cross-run history and the index of all runs.

* :func:`render_report` (``run_dir/report.html``) from the run folder alone;
* :func:`update_history` writes the run's per-method means to ``reports/history/<run_id>.parquet``;
* :func:`render_index` writes ``reports/index.html``;
* :func:`find_regressions` (from :mod:`sr_core.results`) says which methods got worse.
"""

from __future__ import annotations

from pathlib import Path

from sr_core import layout
from sr_core.report.html import render_report
from sr_core.report.index import render_index
from sr_core.results import (add_unrecorded_runs, append_history, find_regressions, history_rows, read_metrics,
                             run_record)
from sr_core.runrecords import RunDir
from sr_core.store import Store

__all__ = ["find_regressions", "render_index", "render_report", "update_history"]


def update_history(run_dir: str | Path | RunDir, reports_dir: str | Path | Store) -> str:
    """Write (or replace) this run's per-method means as ``history/<run_id>.parquet`` under the
    reports root (a folder or a shared URL); returns where the history dataset lives."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir.at(run_dir)
    if not run.metrics.is_file():
        raise FileNotFoundError(f"{run.metrics} does not exist; evaluate the run first")
    df = read_metrics(run.metrics)
    record = run_record(run, df)
    where = append_history(reports_dir, history_rows(df, record)) if len(df) else str(reports_dir)
    add_unrecorded_runs(reports_dir)  # nights killed before this stage
    return where
