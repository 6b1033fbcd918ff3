"""``reports/index.html``: every run, newest first, with its headline numbers; failed runs shown as such."""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from sr_core import catalog, layout
from sr_core.atomic import write_text
from sr_core.numbers import number
from sr_core.report.assets import CSS
from sr_core.report.html import esc, fmt
from sr_core.publish import publish_view, published_runs
from sr_core.results import read_history, utc
from sr_core.runrecords import RecordError, RunDir, check_run_id
from sr_core.store import Store


def _sort_key(entry: dict[str, Any]) -> datetime:
    try:
        return utc(entry["started_at"]) if entry.get("started_at") else entry["mtime"]
    except (ValueError, TypeError):
        return entry["mtime"]


def _run_folders(reports_dir: Path) -> list[RunDir]:
    folders = []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            check_run_id(folder.name)
        except ValueError:
            continue
        run = RunDir(reports_dir, folder.name)
        if run.is_run():
            folders.append(run)
    return folders


def _runs(reports_dir: Path, history: pd.DataFrame) -> list[dict[str, Any]]:
    entries = []
    for run in _run_folders(reports_dir):
        entry = {"dir": run.run_id, "run_id": run.run_id, "started_at": None, "preset": "", "dataset": "",
                 "mtime": datetime.fromtimestamp(run.path.stat().st_mtime, timezone.utc),
                 "report": run.report.is_file(), "failure": None}
        try:
            record = run.read_run()
        except RecordError as exc:  # listed, with what is wrong, instead of breaking the index
            record = None
            entry.update(failure=exc.problem, failure_status="damaged", failed_task=run.RUN)
        if record is not None:
            entry.update(run_id=record.run_id, started_at=record.started_at, preset=record.preset,
                         dataset=record.dataset)
        try:
            failure = run.read_failure()
        except RecordError as exc:
            failure = None
            entry.update(failure=exc.problem, failure_status="failed", failed_task=None)
        if failure is not None:
            entry["failure"] = failure.error or failure.message or "the run failed"
            entry["failure_status"] = failure.status
            entry["failed_task"] = failure.stage
            entry["started_at"] = entry["started_at"] or failure.time
            entry["preset"] = entry["preset"] or failure.preset
        rows = history[history["run_id"] == entry["run_id"]] if len(history) else history
        entry["methods"] = rows.to_dict("records")
        entries.append(entry)
    return sorted(entries, key=_sort_key, reverse=True)


def _when(started_at: Any) -> str:
    if not started_at:
        return ""
    try:
        return utc(started_at).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, TypeError):
        return str(started_at)


def _headline(entry: dict[str, Any]) -> str:
    rank = {m: i for i, m in enumerate(catalog.REPORT_ORDER)}
    rows = sorted(entry["methods"], key=lambda r: rank.get(r["method"], len(rank)))
    if not rows:
        return '<span class="muted">no metrics</span>'
    parts = []
    for r in rows:
        label = r.get("label")
        if not isinstance(label, str) or not label:  # None, or NaN once pandas has seen the column
            label = catalog.method_label(r["method"])
        delta = r.get("delta_psnr_y")
        delta_txt = (f' <span class="{"pos" if delta > 0 else "neg" if delta < 0 else "muted"}">'
                     f"({delta:+.2f})</span>") if number(delta) is not None and r["method"] != "bicubic" else ""
        parts.append(f"<span class=\"metric\"><b>{esc(label)}</b> {fmt(r.get('mean_psnr_y'))} dB / "
                     f"{fmt(r.get('mean_ssim_y'), 4)}{delta_txt}</span>")
    return " · ".join(parts)


def render_index(reports_dir: str | Path) -> Path:
    """Write ``reports_dir/index.html`` listing every run folder, newest first."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    page, _ = index_page(reports_dir, read_history(reports_dir))
    return write_text(layout.index_path(reports_dir), page)


def publish_index(reports: Store) -> str:
    """Rebuild ``index.html`` on a shared reports root from its published run folders.

    The small records of each published run (run.json, failure.json, whether it has a report) are
    read into a temporary folder and rendered exactly as a local index; the page is rewritten until
    it lists every run published meanwhile (:func:`sr_core.publish.publish_view`).
    """
    def render() -> tuple[str, set[str]]:
        with tempfile.TemporaryDirectory(prefix="srbench-index-") as tmp:
            mirror = Path(tmp)
            for run_id in published_runs(reports):
                folder = mirror / run_id
                folder.mkdir()
                for name in (RunDir.RUN, RunDir.FAILURE):
                    if reports.is_file(f"{run_id}/{name}"):
                        reports.download(f"{run_id}/{name}", folder / name)
                for name in (RunDir.REPORT, RunDir.METRICS):  # only whether they exist matters here
                    if reports.is_file(f"{run_id}/{name}"):
                        (folder / name).touch()
            return index_page(mirror, read_history(reports))

    return publish_view(reports, layout.INDEX_FILE, render)


def index_page(reports_dir: Path, history: pd.DataFrame) -> tuple[str, set[str]]:
    """The index page of the run folders in ``reports_dir``, and the run folder names it lists."""
    in_history = set(history["run_id"])
    rows = []
    listed = set()
    for e in _runs(reports_dir, history):
        listed.add(e["dir"])
        if e["failure"]:
            status = (f'<span class="status-failed">{esc(e["failure_status"])}</span>'
                      + (f' <span class="muted">in {esc(e["failed_task"])}</span>' if e.get("failed_task") else "")
                      + f'<div class="mono">{esc(e["failure"])}</div>')
        elif e["report"] and e["run_id"] in in_history:
            status = '<span class="status-complete">complete</span>'
        elif e["report"]:  # killed between the report and the history stage
            status = '<span class="muted">incomplete (not in history)</span>'
        else:
            status = '<span class="muted">incomplete</span>'
        link = (f'<a href="{esc(e["dir"])}/{RunDir.REPORT}">{esc(e["run_id"])}</a>' if e["report"]
                else esc(e["run_id"]))
        rows.append(f'<tr class="run"><td class="mono">{link}</td><td>{esc(_when(e["started_at"]))}</td>'
                    f'<td>{esc(e["preset"])}</td><td>{esc(e["dataset"])}</td>'
                    f'<td style="text-align:left">{status}</td>'
                    f'<td style="text-align:left;white-space:normal">{_headline(e)}</td></tr>')
    body = ("<table><thead><tr><th>Run</th><th>Started (UTC)</th><th>Preset</th><th>Dataset</th>"
            "<th>Status</th><th style=\"white-space:normal\">Mean Y-PSNR / Y-SSIM per method "
            "(Δ vs bicubic)</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>") if rows else '<p class="muted">No runs yet.</p>'
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>srbench runs</title><style>{CSS}</style></head>
<body><main><h1>srbench runs</h1>
<p class="muted">Newest first. Y = BT.601 luma with the scale cropped from each border.</p>
{body}
</main></body></html>
"""
    return page, listed
