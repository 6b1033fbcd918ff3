"""Stage flows, so one part of the pipeline can be rerun on its own.

- ``prepare``: download + patch shards (cached like in the nightly flow);
- ``train``: train some or all models on the prepared patches;
- ``benchmark``: evaluate the newest registered models and write a full report, without training.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.common import flow_run_run_id, run_name, stage, start_reported_run
from flows.pipeline import (
    TaskRunnerKind,
    data_stages,
    evaluation_stages,
    models_to_train,
    resolve_registered_models,
    training_stage,
)
from sr_core.catalog import MODEL_NAMES
from sr_core.config import PipelineConfig, resolve_config
from sr_core.devices import require_gpu
from tasks.hooks import record_failure


@flow(name="prepare", flow_run_name=run_name("prepare"), persist_result=False)
def prepare(preset: str = "quick", overrides: list[str] | None = None,
            config: PipelineConfig | None = None) -> str:
    """Download the dataset and cut the patch shards; returns the patch directory."""
    with stage("config"):
        cfg = resolve_config(preset, overrides, config)
    return data_stages(cfg, None)


@flow(name="train", flow_run_name=run_name("train"), task_runner=ThreadPoolTaskRunner(max_workers=2),
      persist_result=False)
def train(preset: str = "quick", overrides: list[str] | None = None, config: PipelineConfig | None = None,
          models: list[str] | None = None, concurrent_training: bool = False,
          run_id: str | None = None, reuse_models: bool = False) -> dict[str, dict[str, Any]]:
    """Train ``models`` (default: every learned method in ``eval.methods``) and register them; the
    checkpoints live under ``run_id`` (default derived from this flow run, stable across retries)."""
    with stage("config"):
        cfg = resolve_config(preset, overrides, config)
        require_gpu(cfg)
        wanted = models or models_to_train(cfg)
        unknown = sorted(set(wanted) - set(MODEL_NAMES))
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}: choose from {', '.join(MODEL_NAMES)}")
    patch_dir = data_stages(cfg, None)
    return training_stage(cfg, patch_dir, run_id or flow_run_run_id(cfg.preset), None, models=wanted,
                          concurrent=concurrent_training, reuse=reuse_models)


@flow(name="benchmark", flow_run_name=run_name("benchmark"), on_failure=[record_failure],
      on_crashed=[record_failure], persist_result=False)
def benchmark(preset: str = "quick", overrides: list[str] | None = None,
              config: PipelineConfig | None = None, task_runner: TaskRunnerKind = "threads",
              dask_address: str | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Evaluate the newest registered models (no training) and write a full report."""
    cfg, run_id, tracker = start_reported_run(preset, overrides, config, run_id)
    with stage("models", tracker):
        models = resolve_registered_models(cfg)
    return evaluation_stages(cfg, models, run_id, tracker, task_runner=task_runner,
                             dask_address=dask_address, extra_meta={"flow": "benchmark"})
