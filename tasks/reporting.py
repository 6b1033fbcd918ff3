"""Report tasks: run metadata, HTML report, history, index, and the Prefect artifacts of a night."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from sr_core import layout
from sr_core.config import PipelineConfig


@task(name="write_run_metadata", cache_policy=NO_CACHE, task_run_name="write-run-json")
def write_run_metadata(cfg: PipelineConfig, run_id: str, models: dict[str, str], started_at: str,
                       wall_times: dict[str, float] | None = None,
                       extra: dict[str, Any] | None = None) -> str:
    """Write or update ``<run_dir>/run.json``: what ran (config, fingerprints, models, wall times)."""
    from sr_core.evaluation import write_run_json

    path = write_run_json(layout.run_dir(cfg, run_id), cfg, run_id, models=models, started_at=started_at,
                          wall_times=wall_times, extra=extra)
    return str(path)


@task(name="render_report", cache_policy=NO_CACHE, task_run_name="render-report")
def render_report(run_dir: str) -> str:
    """The self-contained HTML report of one run: ``<run_dir>/report.html``."""
    from sr_core.report import render_report as render

    path = render(Path(run_dir))
    get_run_logger().info("report written to %s", path)
    return str(path)


@task(name="update_history", cache_policy=NO_CACHE, task_run_name="update-history")
def update_history(run_dir: str, reports_dir: str) -> str:
    """Append this run's per-method means to ``<reports_dir>/history.parquet``."""
    from sr_core.report import update_history as update

    return str(update(Path(run_dir), Path(reports_dir)))


@task(name="render_index", cache_policy=NO_CACHE, task_run_name="render-index")
def render_index(reports_dir: str) -> str:
    """``<reports_dir>/index.html``: every night, newest first, failed nights included."""
    from sr_core.report import render_index as render

    return str(render(Path(reports_dir)))


def _fmt(value: Any, digits: int = 3, signed: bool = False) -> str:
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:  # NaN
        return "–"
    return f"{number:+.{digits}f}" if signed else f"{number:.{digits}f}"


def summary_markdown(run_id: str, rows: list[dict[str, Any]], report_path: str,
                     previous_run_id: str | None, regressions: list[dict[str, Any]],
                     tolerance_db: float) -> str:
    """The night's summary: per-method means, deltas vs bicubic and vs the previous night."""
    lines = [f"# srbench {run_id}", "",
             f"Report: [{report_path}]({Path(report_path).resolve().as_uri()})", "",
             "| method | Y-PSNR (dB) | Y-SSIM | RGB-PSNR (dB) | Δ PSNR vs bicubic | Δ PSNR vs last night |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['method']} | {_fmt(row.get('psnr_y'), 2)} | {_fmt(row.get('ssim_y'), 4)} | "
                     f"{_fmt(row.get('psnr_rgb'), 2)} | {_fmt(row.get('delta_bicubic_db'), 2, True)} | "
                     f"{_fmt(row.get('delta_previous_db'), 2, True)} |")
    lines.append("")
    lines.append(f"Previous night: {previous_run_id or 'none (first run)'}.")
    if regressions:
        lines.append("")
        lines.append(f"**Regressions beyond {tolerance_db} dB:** " + ", ".join(
            f"{r['method']} {_fmt(r.get('delta_db'), 2, True)} dB" for r in regressions))
    return "\n".join(lines) + "\n"


def publish_artifacts(run_id: str, rows: list[dict[str, Any]], report_path: str, previous_run_id: str | None,
                      regressions: list[dict[str, Any]], tolerance_db: float) -> None:
    """Markdown summary, per-method table and a link to the HTML report, keyed per preset."""
    preset = run_id.rsplit("-", 1)[0]
    key_base = "srbench-" + "".join(c if c.isalnum() else "-" for c in preset.lower())
    create_markdown_artifact(
        markdown=summary_markdown(run_id, rows, report_path, previous_run_id, regressions, tolerance_db),
        key=f"{key_base}-summary", description=f"srbench {run_id}: per-method means and deltas")
    create_table_artifact(table=[{k: v for k, v in row.items()} for row in rows],
                          key=f"{key_base}-metrics", description=f"srbench {run_id}: per-method metrics")
    create_link_artifact(link=Path(report_path).resolve().as_uri(), link_text=f"report {run_id}",
                         key=f"{key_base}-report", description=f"srbench {run_id}: HTML report")
