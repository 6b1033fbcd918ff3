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

from flows.gpu import gpu_slot
from flows.common import RunTracker, stage
from sr_core import catalog, layout
from sr_core.config import PipelineConfig
from sr_core.devices import devices_used
from sr_core.partsowner import owning_parts
from sr_core.registry import track_of
from sr_core.results import NightSummary, Regression
from tasks.data import download_task_for, prepare_patches_task_for
from tasks.evaluation import upscale_and_score, write_parquet
from tasks.events import emit_regression, emit_run_completed
from tasks.reporting import (add_champions, begin_evaluation, decide_promotions, publish_artifacts, record_history,
                             score_extra_set, summarize, write_report)
from tasks.training import run_checkpoints_task, train_task_for

TaskRunnerKind = Literal["threads", "dask"]


def models_to_train(cfg: PipelineConfig) -> list[str]:
    """The learned methods the report needs, with the models they start from."""
    return catalog.with_prerequisites(catalog.learned_methods(cfg.eval.methods))


def data_stages(cfg: PipelineConfig, info: RunTracker | None) -> str:
    """download -> prepare; both cached by fingerprint. Returns the patch directory."""
    with stage("download", info):
        download_task_for(cfg)(cfg)
    with stage("prepare", info):
        patch_dir = prepare_patches_task_for(cfg)(cfg)
    return patch_dir


def training_stage(cfg: PipelineConfig, patch_dir: str, run_id: str, info: RunTracker | None,
                   models: list[str] | None = None, concurrent: bool = False,
                   reuse: bool = False) -> dict[str, dict[str, Any]]:
    """Train the requested models, each after the models it starts from, into this run's checkpoint
    folder (older nights' folders pruned to ``train.keep_runs``). Sequential by default (one GPU);
    ``concurrent`` submits them all at once (a model waits only for its prerequisites, so SRCNN
    overlaps the SRResNet -> SRGAN chain) for workers that have the memory for both. ``reuse``
    (``--reuse-models``) reuses identical earlier exports instead of training. Holds a slot of the
    'gpu' concurrency limit throughout, when the server has one (flows/gpu.py)."""
    with gpu_slot(cfg, "train"):
        return _train_models(cfg, patch_dir, run_id, info, models, concurrent, reuse)


def _train_models(cfg: PipelineConfig, patch_dir: str, run_id: str, info: RunTracker | None,
                  models: list[str] | None, concurrent: bool, reuse: bool) -> dict[str, dict[str, Any]]:
    models = models if models is not None else models_to_train(cfg)
    catalog.check_prerequisites(models)
    order = [m for m in catalog.with_prerequisites(models) if m in models]
    trained: dict[str, dict[str, Any]] = {}
    run_checkpoints_task(cfg, run_id)
    if concurrent:
        with stage("train", info):
            futures: dict[str, Any] = {}
            for name in order:
                requires = catalog.model_spec(name).requires
                futures[name] = train_task_for(name).submit(
                    cfg, name, patch_dir, run_id, futures[requires[0]] if requires else None, reuse)
            wait(list(futures.values()))
            for name, future in futures.items():
                with stage(f"train-{name}", None):
                    trained[name] = future.result()
        return trained
    for name in order:
        requires = catalog.model_spec(name).requires
        with stage(f"train-{name}", info):
            trained[name] = train_task_for(name)(cfg, name, patch_dir, run_id,
                                                 trained[requires[0]] if requires else None, reuse)
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
    """The newest intact export of each learned method on the config's track (its latest
    challenger; the champion is added beside it when the run is evaluated) for the benchmark flow."""
    from sr_core.champions import models_to_benchmark

    logger = get_run_logger()
    models, notes = models_to_benchmark(cfg)
    for note in notes:
        logger.info(note)
    missing = [name for name in catalog.learned_methods(cfg.eval.methods) if name not in models]
    for name in missing:
        logger.warning("no registered %s model: it is left out of this benchmark", name)
    if missing and not models and all(catalog.is_learned(m) for m in cfg.eval.methods):
        raise FileNotFoundError(
            f"no registered models in {cfg.data_root}/models for {', '.join(missing)}: "
            "train them first ('srbench train' or the 'train' flow)")
    return models


# --------------------------------------------------------------------------------------------------
# Evaluation and report: the steps of sr_core.usecases, one stage each


@flow(name="score-validation", flow_run_name="score-validation-{run_id}",
      task_runner=ThreadPoolTaskRunner(max_workers=2), persist_result=False)
def score_validation(cfg: PipelineConfig, models: dict[str, str], run_id: str, started_at: str,
                     chunks: list[list[str]]) -> list[dict[str, Any]]:
    """Upscale and score the validation chunks in parallel.

    A subflow, so its task runner (threads or Dask) is chosen per run with ``with_options``.
    """
    get_run_logger().info("scoring %d validation images in %d chunks of <= %d with %s",
                          sum(len(c) for c in chunks), len(chunks), cfg.eval.chunk_size,
                          ", ".join(cfg.eval.methods))
    futures = upscale_and_score.map(unmapped(cfg), unmapped(models), chunks, unmapped(run_id),
                                    list(range(len(chunks))), unmapped(started_at))
    return futures.result()


def evaluation_stages(cfg: PipelineConfig, models: dict[str, str], run_id: str, tracker: RunTracker,
                      trained: dict[str, dict[str, Any]] | None = None,
                      task_runner: TaskRunnerKind = "threads", dask_address: str | None = None,
                      extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The evaluate-and-report sequence of ``sr_core.usecases``, each step a stage, then the
    night's artifacts and events."""
    meta = {"prefect": _prefect_meta(), "trained": trained or {}, **(extra_meta or {})}
    started_at = tracker.started_at
    meta["devices"] = devices_used()  # what this run computed on: the GPUs' names, or "cpu"
    with owning_parts(layout.run_dir(cfg, run_id)):  # this process writes parts/ until the merge
        with stage("evaluate", tracker):
            models, champions = add_champions(cfg, models)
            meta.update(track=track_of(cfg), champions=champions)
            chunks = begin_evaluation(cfg, models, run_id, started_at, tracker.wall_times, meta)
            runner = make_task_runner(task_runner, dask_address)
            with gpu_slot(cfg, "evaluate"):
                parts = score_validation.with_options(task_runner=runner)(cfg, models, run_id, started_at, chunks)
                parts += [score_extra_set(cfg, models, run_id, i, started_at) for i in range(len(cfg.eval.extra_sets))]
        with stage("parquet", tracker):
            metrics_path = write_parquet(cfg, run_id, parts)
    with stage("verdict", tracker):
        meta["verdicts"] = decide_promotions(cfg, run_id, models, champions)
    with stage("report", tracker):
        meta["executed_on"] = sorted({p["executed_on"] for p in parts})
        report_path = write_report(cfg, models, run_id, started_at, tracker.wall_times, meta)
    with stage("history", tracker):
        history_path, index_path = record_history(cfg, run_id)
    with stage("summary", tracker):
        summary = summarize(cfg, run_id)
        report_link = publish_artifacts(cfg, run_id, summary, report_path)
        alert_on_regressions(cfg, run_id, summary)
        emit_run_completed(run_id, cfg.preset, str(Path(report_path).resolve()),
                           {row.method: row.psnr_y for row in summary.rows})
    return {"run_id": run_id, "run_dir": str(layout.run_dir(cfg, run_id)), "metrics": metrics_path,
            "report": report_path, "report_url": report_link, "history": history_path, "index": index_path,
            "models": models, "verdicts": meta["verdicts"],
            "executed_on": meta["executed_on"], **summary.model_dump(mode="json")}


def _prefect_meta() -> dict[str, Any]:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if not ctx or not ctx.flow_run:
        return {}
    return {"flow": ctx.flow.name if ctx.flow else None, "flow_run_id": str(ctx.flow_run.id),
            "flow_run_name": ctx.flow_run.name,
            "deployment_id": str(ctx.flow_run.deployment_id) if ctx.flow_run.deployment_id else None}


def alert_on_regressions(cfg: PipelineConfig, run_id: str, summary: NightSummary | dict[str, Any]) -> None:
    """Emit ``srbench.regression`` (with the numbers) when a method fell beyond the tolerance."""
    regressions = [Regression.model_validate(r) for r in summary["regressions"]]
    if regressions:
        get_run_logger().warning("regression beyond %.2f dB: %s", cfg.eval.regression_tolerance_db,
                                 ", ".join(f"{r.method} -{r.drop_db:.2f} dB" for r in regressions))
        emit_regression(run_id, cfg.preset, regressions, cfg.eval.regression_tolerance_db,
                        summary["previous_run_id"])
