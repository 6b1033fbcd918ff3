"""The HTML report of a run, the cross-run history and the index of all runs.

* :func:`render_report` (``run_dir/report.html``) from the run folder alone;
* :func:`update_history` appends the run's per-method means to ``reports/history.parquet``;
* :func:`render_index` writes ``reports/index.html``;
* :func:`find_regressions` (from :mod:`sr_core.results`) says which methods got worse.
"""

from __future__ import annotations

import json
from pathlib import Path

from sr_core.report.html import render_report
from sr_core.report.index import render_index
from sr_core.results import append_history, find_regressions, history_rows, read_metrics

__all__ = ["find_regressions", "render_index", "render_report", "update_history"]


def update_history(run_dir: str | Path, reports_dir: str | Path) -> Path:
    """Add (or replace) this run's per-method means in ``reports_dir/history.parquet``."""
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.parquet"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path} does not exist; evaluate the run first")
    run_json = run_dir / "run.json"
    run = json.loads(run_json.read_text()) if run_json.is_file() else {}
    df = read_metrics(metrics_path)
    run.setdefault("run_id", str(df["run_id"].iloc[0]) if len(df) else run_dir.name)
    return append_history(Path(reports_dir) / "history.parquet", history_rows(df, run) if len(df) else [])
