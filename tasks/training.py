"""The training task: one catalogue model per task run (``train_srcnn``, ``train_srgan``, ...).

Training is never cached across nights (``NO_CACHE``): each night trains into its own checkpoint
folder (``checkpoints/runs/<run_id>``), so a retried or resumed run continues where it stopped and a
new night starts fresh; ``reuse_models`` reuses identical earlier exports on purpose. Each task shows
a Prefect progress artifact, registers the export and returns a small dict describing it (with
"trained tonight" or "reused from").
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from sr_core import lifecycle
from sr_core.catalog import model_spec
from sr_core.config import PipelineConfig
from sr_core.runrecords import TrainedModel


class TrainingProgress:
    """An ``on_progress(step, total, metrics)`` callback that drives a Prefect progress artifact.

    Updates are throttled (every ``min_percent`` or ``min_seconds``) because each is an API call.
    """

    def __init__(self, name: str, total: int, *, min_percent: float = 2.0, min_seconds: float = 5.0):
        self.name = name
        self.min_percent = min_percent
        self.min_seconds = min_seconds
        self.last_percent = 0.0
        self.last_time = time.monotonic()
        self.artifact_id = create_progress_artifact(
            progress=0.0, key=f"training-{name}",
            description=f"{name}: training progress (0/{total} steps)")

    def __call__(self, step: int, total: int, metrics: dict[str, Any] | None = None) -> None:
        percent = 100.0 * step / total if total else 100.0
        now = time.monotonic()
        final = step >= total
        if not final and percent - self.last_percent < self.min_percent and now - self.last_time < self.min_seconds:
            return
        self.last_percent, self.last_time = percent, now
        # The library logs each step itself; this only moves the artifact's bar.
        update_progress_artifact(self.artifact_id, progress=min(100.0, percent),
                                 description=f"{self.name}: step {step}/{total} {_fmt(metrics)}".strip())


def _fmt(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return ""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


def _as_dict(result: Any) -> dict[str, Any]:
    data = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else dict(result)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}


def _prefect_ids() -> dict[str, Any]:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if not ctx or not ctx.flow_run:
        return {}
    return {"flow_run_id": str(ctx.flow_run.id), "flow_run_name": ctx.flow_run.name,
            "deployment_id": str(ctx.flow_run.deployment_id) if ctx.flow_run.deployment_id else None}


def _train(cfg: PipelineConfig, name: str, patch_dir: str, run_id: str | None,
           generator_init: str | None = None,
           progress_factory: Callable[[str, int], Any] = TrainingProgress,
           reuse: bool = False) -> dict[str, Any]:
    from sr_core.publish import register_and_publish
    from sr_core.training import train_model

    total = model_spec(name).steps(cfg)
    progress = progress_factory(name, total)
    result = train_model(cfg, name, Path(patch_dir),
                         generator_init=Path(generator_init) if generator_init else None,
                         on_progress=progress, run_id=run_id, reuse=reuse, prefect=_prefect_ids())
    progress(total, total, getattr(result, "metrics", None))
    summary = _as_dict(result)
    if result.origin == "reused":
        get_run_logger().info("%s: reused %s from run %s (step %s; --reuse-models, identical config, "
                              "data, code and TensorFlow/Keras)", name, summary["path"], result.run_id,
                              result.step)
        return summary
    register_and_publish(cfg, result, run_id=run_id)
    if cfg.data_url:
        get_run_logger().info("%s published to %s and registered there", name, cfg.data_url)
    get_run_logger().info("%s exported to %s (%s)", name, summary.get("path"),
                          TrainedModel.model_validate(summary).describe())
    return summary


@task(name="train_model", cache_policy=NO_CACHE, task_run_name="train-{name}")
def train_model_task(cfg: PipelineConfig, name: str, patch_dir: str, run_id: str | None = None,
                     init_from: dict[str, Any] | None = None, reuse: bool = False) -> dict[str, Any]:
    """Train catalogue model ``name`` on the patch shards (or, with ``reuse``, reuse an identical
    earlier export); returns the export's path, step, metrics, seconds and origin. ``init_from`` is
    the result of the model it starts from (its spec's ``requires``)."""
    generator_init = init_from["path"] if init_from else None
    return _train(cfg, name, patch_dir, run_id, generator_init=generator_init, reuse=reuse)


@task(name="run_checkpoints", cache_policy=NO_CACHE, task_run_name="run-checkpoints")
def run_checkpoints_task(cfg: PipelineConfig, run_id: str) -> str:
    """Open the night's checkpoint folder and prune the oldest beyond ``train.keep_runs``."""
    folder = lifecycle.start_run_checkpoints(cfg.data_dir, run_id)
    removed = lifecycle.prune_run_checkpoints(cfg.data_dir, cfg.train.keep_runs, run_id)
    if removed:
        get_run_logger().info("retention (train.keep_runs=%d): removed the checkpoints of %s",
                              cfg.train.keep_runs, ", ".join(p.name for p in removed))
    return str(folder)


def train_task_for(name: str):
    """The training task of one model, named ``train_<name>`` in the Prefect UI."""
    model_spec(name)  # a ValueError for an unknown name
    return train_model_task.with_options(name=f"train_{name}")
