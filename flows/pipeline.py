"""The stages of the pipeline as plain functions, called inside a flow (nightly or a stage flow).

Each stage runs under :func:`flows.common.stage`, so a failure names the stage that failed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, unmapped
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows.common import RunInfo, chunked, stage
from sr_core import catalog, layout
from sr_core.config import PipelineConfig
from tasks.data import download_task_for, prepare_patches_task_for
from tasks.evaluation import upscale_and_score, write_parquet
from tasks.events import emit_regression, emit_run_completed
from tasks.reporting import publish_artifacts, render_index, render_report, update_history, write_run_metadata
from tasks.training import train_task_for

TaskRunnerKind = Literal["threads", "dask"]


def models_to_train(cfg: PipelineConfig) -> list[str]:
    """The learned methods the report needs, with the models they start from."""
    return catalog.with_prerequisites(catalog.learned_methods(cfg.eval.methods))


def data_stages(cfg: PipelineConfig, info: RunInfo | None) -> str:
    """download -> prepare; both cached by fingerprint. Returns the patch directory."""
    with stage("download", info):
        download_task_for(cfg)(cfg)
    with stage("prepare", info):
        patch_dir = prepare_patches_task_for(cfg)(cfg)
    return patch_dir


def training_stage(cfg: PipelineConfig, patch_dir: str, run_id: str, info: RunInfo | None,
                   models: list[str] | None = None, concurrent: bool = False) -> dict[str, dict[str, Any]]:
    """Train the requested models, each after the models it starts from. Sequential by default (one
    GPU); ``concurrent`` submits them all at once (a model waits only for its prerequisites, so
    SRCNN overlaps the SRResNet -> SRGAN chain) for workers that have the memory for both."""
    models = models if models is not None else models_to_train(cfg)
    catalog.check_prerequisites(models)
    order = [m for m in catalog.with_prerequisites(models) if m in models]
    trained: dict[str, dict[str, Any]] = {}
    if concurrent:
        with stage("train", info):
            futures: dict[str, Any] = {}
            for name in order:
                requires = catalog.model_spec(name).requires
                futures[name] = train_task_for(name).submit(
                    cfg, name, patch_dir, run_id, futures[requires[0]] if requires else None)
            wait(list(futures.values()))
            for name, future in futures.items():
                with stage(f"train-{name}", None):
                    trained[name] = future.result()
        return trained
    for name in order:
        requires = catalog.model_spec(name).requires
        with stage(f"train-{name}", info):
            trained[name] = train_task_for(name)(cfg, name, patch_dir, run_id,
                                                 trained[requires[0]] if requires else None)
    return trained


def make_task_runner(kind: TaskRunnerKind = "threads", dask_address: str | None = None,
                     max_workers: int | None = None):
    """Thread pool by default; ``dask`` uses ``prefect_dask.DaskTaskRunner`` on ``dask_address``
    (or ``$SRBENCH_DASK_ADDRESS``), or on a temporary local cluster when neither is set."""
    address = dask_address or os.environ.get("SRBENCH_DASK_ADDRESS") or None
    if kind == "dask" or dask_address:
        from prefect_dask import DaskTaskRunner

        if address:
            return DaskTaskRunner(address=address)
        # Worker threads in this process (no second TensorFlow import); the dashboard takes any free
        # port, so several runs on one host do not collide on 8787.
        return DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": max_workers or 2,
                                              "processes": False, "dashboard_address": ":0"})
    if kind != "threads":
        raise ValueError(f"unknown task runner {kind!r}: use 'threads' or 'dask'")
    return ThreadPoolTaskRunner(max_workers=max_workers or min(4, os.cpu_count() or 1))


def resolve_registered_models(cfg: PipelineConfig) -> dict[str, str]:
    """Newest registered export of each learned method in ``cfg.eval.methods`` (benchmark flow)."""
    from sr_core.registry import resolve_model

    logger = get_run_logger()
    models: dict[str, str] = {}
    missing: list[str] = []
    for name in catalog.learned_methods(cfg.eval.methods):
        try:
            models[name] = str(resolve_model(cfg.data_dir, name))
        except (FileNotFoundError, KeyError, LookupError, ValueError) as exc:
            missing.append(name)
            logger.warning("no registered %s model (%s): it is left out of this benchmark", name, exc)
    if missing and not models and all(catalog.is_learned(m) for m in cfg.eval.methods):
        raise FileNotFoundError(
            f"no registered models in {layout.registry_path(cfg.data_dir)} for {', '.join(missing)}: "
            "train them first ('srbench train' or the 'train' flow)")
    return models


def run_dir_for(cfg: PipelineConfig, run_id: str) -> Path:
    return layout.run_dir(cfg, run_id)


# --------------------------------------------------------------------------------------------------
# Evaluation and report


@flow(name="score-validation", flow_run_name="score-validation-{run_id}",
      task_runner=ThreadPoolTaskRunner(max_workers=2), persist_result=False)
def score_validation(cfg: PipelineConfig, models: dict[str, str], run_id: str,
                     started_at: str) -> list[dict[str, Any]]:
    """Upscale and score the validation split in parallel chunks of ``cfg.eval.chunk_size`` images.

    A subflow, so its task runner (threads or Dask) is chosen per run with ``with_options``.
    """
    from sr_core.evaluation import validation_ids

    ids = list(validation_ids(cfg))
    if not ids:
        raise ValueError(f"the validation split of {cfg.data.dataset!r} has no images")
    chunks = chunked(ids, cfg.eval.chunk_size)
    run_dir = run_dir_for(cfg, run_id)
    get_run_logger().info("scoring %d validation images in %d chunks of <= %d with %s",
                          len(ids), len(chunks), cfg.eval.chunk_size, ", ".join(cfg.eval.methods))
    futures = upscale_and_score.map(unmapped(cfg), unmapped(models), chunks, unmapped(run_id),
                                    list(range(len(chunks))), unmapped(str(run_dir)),
                                    unmapped(started_at))
    return futures.result()


def evaluation_stages(cfg: PipelineConfig, models: dict[str, str], run_id: str, info: RunInfo,
                      trained: dict[str, dict[str, Any]] | None = None,
                      task_runner: TaskRunnerKind = "threads", dask_address: str | None = None,
                      extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """run.json -> score chunks -> Parquet -> HTML -> history -> index -> artifacts and alert events."""
    run_dir = run_dir_for(cfg, run_id)
    meta = {"prefect": _prefect_meta(), "trained": trained or {}, **(extra_meta or {})}
    with stage("evaluate", info):
        write_run_metadata(cfg, run_id, models, info.started_at, dict(info.wall_times), meta)
        runner = make_task_runner(task_runner, dask_address)
        parts = score_validation.with_options(task_runner=runner)(cfg, models, run_id, info.started_at)
    with stage("parquet", info):
        metrics_path = write_parquet(parts, str(run_dir))
    with stage("report", info):
        meta["executed_on"] = sorted({p["executed_on"] for p in parts})
        write_run_metadata(cfg, run_id, models, info.started_at, dict(info.wall_times), meta)
        report_path = render_report(str(run_dir))
    with stage("history", info):
        history_path = update_history(str(run_dir), str(cfg.reports_dir))
        index_path = render_index(str(cfg.reports_dir))
    with stage("summary", info):
        summary = night_summary(cfg, run_id, metrics_path, history_path)
        publish_artifacts(run_id, summary["rows"], report_path, summary["previous_run_id"],
                          summary["regressions"], cfg.eval.regression_tolerance_db)
        alert_on_regressions(cfg, run_id, summary)
        emit_run_completed(run_id, cfg.preset, str(Path(report_path).resolve()),
                           {row["method"]: row["psnr_y"] for row in summary["rows"]})
    return {"run_id": run_id, "run_dir": str(run_dir), "metrics": metrics_path, "report": report_path,
            "history": history_path, "index": index_path, "models": models,
            "executed_on": meta["executed_on"], **summary}


def _prefect_meta() -> dict[str, Any]:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if not ctx or not ctx.flow_run:
        return {}
    return {"flow": ctx.flow.name if ctx.flow else None, "flow_run_id": str(ctx.flow_run.id),
            "flow_run_name": ctx.flow_run.name,
            "deployment_id": str(ctx.flow_run.deployment_id) if ctx.flow_run.deployment_id else None}


def night_summary(cfg: PipelineConfig, run_id: str, metrics_path: str, history_path: str) -> dict[str, Any]:
    """Per-method means (full images) with deltas vs bicubic and vs the previous night, and the
    methods that regressed by more than ``cfg.eval.regression_tolerance_db`` (Y-PSNR)."""
    from sr_core.results import find_regressions, read_history, read_metrics, run_summary

    summary = run_summary(read_metrics(metrics_path))
    history = read_history(history_path)
    this = history[history["run_id"] == run_id]
    previous_run_id = None
    previous_means: dict[str, float] = {}
    if not this.empty:
        first = this.iloc[0]
        earlier = history[(history["preset"] == first["preset"]) & (history["dataset"] == first["dataset"])
                          & (history["started_at"] < first["started_at"]) & (history["run_id"] != run_id)]
        if not earlier.empty:
            previous_run_id = str(earlier.sort_values("started_at").iloc[-1]["run_id"])
            prev = earlier[earlier["run_id"] == previous_run_id]
            previous_means = {str(r["method"]): r["mean_psnr_y"] for r in prev.to_dict("records")}
    rows = []
    for rec in summary.to_dict("records"):
        method = str(rec["method"])
        prev = previous_means.get(method)
        now = rec.get("mean_psnr_y")
        rows.append({
            "method": method,
            "n_images": int(rec.get("n_images") or 0),
            "model_step": None if rec.get("model_step") is None or rec.get("model_step") != rec.get("model_step")
            else int(rec["model_step"]),
            "psnr_y": _clean(now), "ssim_y": _clean(rec.get("mean_ssim_y")),
            "psnr_rgb": _clean(rec.get("mean_psnr_rgb")), "ssim_rgb": _clean(rec.get("mean_ssim_rgb")),
            "delta_bicubic_db": _clean(rec.get("delta_psnr_y")),
            "delta_previous_db": None if prev is None or _clean(now) is None or _clean(prev) is None
            else float(now) - float(prev),
        })
    regressions = [{**r, "delta_db": -float(r["drop_db"])}
                   for r in find_regressions(history, run_id, cfg.eval.regression_tolerance_db)]
    return {"rows": rows, "previous_run_id": previous_run_id, "regressions": regressions}


def _clean(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def alert_on_regressions(cfg: PipelineConfig, run_id: str, summary: dict[str, Any]) -> None:
    """Emit ``srbench.regression`` (with the numbers) when a method fell beyond the tolerance."""
    if summary["regressions"]:
        get_run_logger().warning("regression beyond %.2f dB: %s", cfg.eval.regression_tolerance_db,
                                 ", ".join(f"{r['method']} {r['delta_db']:+.2f} dB" for r in summary["regressions"]))
        emit_regression(run_id, cfg.preset, summary["regressions"], cfg.eval.regression_tolerance_db,
                        summary["previous_run_id"])
