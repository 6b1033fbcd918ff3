"""Report tasks (adapters of :mod:`sr_core.usecases`) and the Prefect artifacts of a night."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import (create_image_artifact, create_link_artifact, create_markdown_artifact,
                              create_table_artifact)
from prefect.cache_policies import NO_CACHE

from sr_core import layout, usecases
from sr_core.config import PipelineConfig
from sr_core.numbers import fmt_number
from sr_core.champions import with_champions
from sr_core.report import links
from sr_core.report.links import Crop
from sr_core.results import NightSummary
from tasks.events import emit_verdict


@task(name="begin_evaluation", cache_policy=NO_CACHE, task_run_name="begin-evaluation")
def begin_evaluation(cfg: PipelineConfig, models: dict[str, str], run_id: str, started_at: str,
                     wall_times: dict[str, float] | None = None,
                     extra: dict[str, Any] | None = None) -> list[list[str]]:
    """Write the run's ``run.json`` (what will run) and return the validation ids in chunks."""
    _, chunks = usecases.begin_evaluation(cfg, models, run_id, started_at=started_at, wall_times=wall_times,
                                          extra=extra)
    return chunks


@task(name="add_champions", cache_policy=NO_CACHE, task_run_name="add-champions")
def add_champions(cfg: PipelineConfig, models: dict[str, str]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Tonight's models plus ``NAME@champion`` for each track champion that is another export."""
    scored, champions = with_champions(cfg, models)
    for name, champ in champions.items():
        get_run_logger().info("%s: %s", name, "first model of track " + champ["track"] if champ["path"] is None
                              else f"champion of track {champ['track']} is run {champ['run_id']}"
                              + (" (tonight's model)" if champ["is_challenger"] else ", scored beside it"))
    return scored, champions


@task(name="score_extra_set", cache_policy=NO_CACHE, task_run_name="score-extra-set-{index}")
def score_extra_set(cfg: PipelineConfig, models: dict[str, str], run_id: str, index: int,
                    started_at: str) -> dict[str, Any]:
    """Score every method on one set of ``eval.extra_sets`` into its partial table."""
    path = usecases.score_extra_set(cfg, models, layout.run_dir(cfg, run_id), index, started_at)
    get_run_logger().info("benchmark set %s scored -> %s", cfg.eval.extra_sets[index], path)
    return {"path": str(path), "chunk": 10_000 + index, "images": [], "executed_on": socket.gethostname()}


@task(name="decide_promotions", cache_policy=NO_CACHE, task_run_name="decide-promotions")
def decide_promotions(cfg: PipelineConfig, run_id: str, models: dict[str, str],
                      champions: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The promotion rule on each challenger, recorded in the registry; one event per verdict and
    a markdown artifact with the numbers."""
    decisions = [d.as_dict() for d in usecases.decide_promotions(cfg, layout.run_dir(cfg, run_id), models,
                                                                   champions)]
    for decision in decisions:
        get_run_logger().info("verdict %s on track %s: %s (%s)", decision["name"], decision["track"],
                              decision["action"], decision["explanation"])
        if decision["action"] in ("promote", "reject"):
            emit_verdict(run_id, cfg.preset, decision, champions.get(decision["name"]) or {})
    if decisions:
        key = "srbench-" + "".join(c if c.isalnum() else "-" for c in cfg.preset.lower()) + "-verdict"
        create_markdown_artifact(markdown=verdict_markdown(run_id, decisions, champions), key=key,
                                 description=f"srbench {run_id}: champion vs challenger")
    return decisions


def verdict_markdown(run_id: str, decisions: list[dict[str, Any]], champions: dict[str, dict[str, Any]]) -> str:
    """Champion vs challenger per model: the decision and its paired numbers."""
    lines = [f"# srbench {run_id}: champion vs challenger", "",
             "| model | track | verdict | champion run | Δ Y-PSNR vs champion | 95% interval | better / worse | images |",
             "|---|---|---|---|---:|---|---|---:|"]
    for d in decisions:
        cmp = d.get("comparison") or {}
        champ = champions.get(d["name"]) or {}
        interval = (f"[{fmt_number(cmp.get('low'), signed=True)}, {fmt_number(cmp.get('high'), signed=True)}]"
                    if cmp else "–")
        lines.append(f"| {d['name']} | {d['track']} | {d['action']} ({d['reason']}) | {champ.get('run_id') or '–'} | "
                     f"{fmt_number(cmp.get('mean'), signed=True)} | {interval} | "
                     f"{cmp.get('wins', '–')} / {cmp.get('losses', '–')} | {cmp.get('n', '–')} |")
    lines += [""] + [f"- **{d['name']}**: {d['explanation']}" for d in decisions]
    return "\n".join(lines) + "\n"


@task(name="render_report", cache_policy=NO_CACHE, task_run_name="render-report")
def write_report(cfg: PipelineConfig, models: dict[str, str], run_id: str, started_at: str,
                 wall_times: dict[str, float] | None = None, extra: dict[str, Any] | None = None) -> str:
    """Complete ``run.json`` and write the self-contained HTML report ``report.html``."""
    path = usecases.write_report(cfg, models, layout.run_dir(cfg, run_id), started_at=started_at,
                                 wall_times=wall_times, extra=extra)
    get_run_logger().info("report written to %s", path)
    return str(path)


@task(name="update_history", cache_policy=NO_CACHE, task_run_name="update-history")
def record_history(cfg: PipelineConfig, run_id: str) -> tuple[str, str]:
    """Write this run's per-method means to the history dataset and rebuild ``index.html``
    (published to the shared reports root when there is one)."""
    history, index = usecases.record_history(layout.run_dir(cfg, run_id), cfg.reports_root)
    return str(history), str(index)


@task(name="summarize", cache_policy=NO_CACHE, task_run_name="summarize")
def summarize(cfg: PipelineConfig, run_id: str) -> NightSummary:
    """Per-method means, deltas vs bicubic and vs the previous comparable run, and regressions."""
    return usecases.summarize(cfg, layout.run_dir(cfg, run_id))


def _markdown_text(text: str) -> str:
    """``text`` shown literally in Markdown: HTML and Markdown's link/emphasis characters escaped."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]()!#|":
        out = out.replace(char, "\\" + char)
    return out


def summary_markdown(run_id: str, summary: NightSummary, report_path: str, tolerance_db: float, *,
                     changes: list[str] | tuple[str, ...] = (), models: list[str] | tuple[str, ...] = (),
                     crop: Crop | None = None, crop_url: str | None = None) -> str:
    """The night's summary: at the top what changed since the previous comparable night and how
    each model came about ("trained tonight" / "reused from"); then per-method means, deltas vs
    bicubic and vs the previous night, and the most improved crop (a thumbnail when it has a URL a
    browser can open)."""
    link = report_path if "://" in report_path else Path(report_path).resolve().as_uri()
    lines = [f"# srbench {run_id}", "",
             f"Report: [{report_path}]({link})", ""]
    if changes:
        lines += ["## What changed since the previous comparable night", ""] + [f"- {c}" for c in changes] + [""]
    if models:
        lines += ["## Models tonight", ""] + [f"- {m}" for m in models] + [""]
    lines += [
             "| method | Y-PSNR (dB) | Y-SSIM | RGB-PSNR (dB) | Δ PSNR vs bicubic | Δ PSNR vs last night |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in summary.rows:
        lines.append(f"| {row.method} | {fmt_number(row.psnr_y)} | {fmt_number(row.ssim_y, 4)} | "
                     f"{fmt_number(row.psnr_rgb)} | {fmt_number(row.delta_bicubic_db, signed=True)} | "
                     f"{fmt_number(row.delta_previous_db, signed=True)} |")
    lines.append("")
    lines.append(f"Previous night: {summary.previous_run_id or 'none (first run)'}.")
    if summary.regressions:
        lines.append("")
        lines.append(f"**Regressions beyond {tolerance_db} dB:** " + ", ".join(
            f"{r.method} {fmt_number(-r.drop_db, signed=True)} dB" for r in summary.regressions))
    if crop is not None:
        caption = _markdown_text(crop.caption)  # image ids are user data: no HTML, no links
        lines += ["", "## Most improved crop", "", caption + "."]
        if crop_url and crop_url.startswith(("http://", "https://")):
            lines += ["", f"![{caption}]({crop_url})"]
    return "\n".join(lines) + "\n"


def publish_artifacts(cfg: PipelineConfig, run_id: str, summary: NightSummary, report_path: str) -> str:
    """Markdown summary, per-method table, a link to the HTML report (https with
    ``SRBENCH_REPORTS_URL``) and, when it has a URL, the most improved crop as an image artifact;
    keyed per preset. Returns the report's link."""
    key_base = "srbench-" + "".join(c if c.isalnum() else "-" for c in cfg.preset.lower())
    run = layout.run_dir(cfg, run_id)
    link = links.report_url(cfg, run_id)
    crop = links.most_improved_crop(run)
    crop_url = links.run_file_url(cfg, run_id, crop.relpath) if crop is not None else None
    create_markdown_artifact(
        markdown=summary_markdown(run_id, summary, link, cfg.eval.regression_tolerance_db,
                                  changes=links.what_changed(run), models=links.models_tonight(run),
                                  crop=crop, crop_url=crop_url),
        key=f"{key_base}-summary", description=f"srbench {run_id}: per-method means and deltas")
    create_table_artifact(table=[row.model_dump() for row in summary.rows],
                          key=f"{key_base}-metrics", description=f"srbench {run_id}: per-method metrics")
    create_link_artifact(link=link, link_text=f"report {run_id}",
                         key=f"{key_base}-report", description=f"srbench {run_id}: HTML report")
    if crop is not None and crop_url and crop_url.startswith(("http://", "https://")):
        create_image_artifact(image_url=crop_url, key=f"{key_base}-best-crop",
                              description=f"srbench {run_id}: {crop.caption}")
    return link
