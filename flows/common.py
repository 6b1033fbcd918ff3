"""What every srbench flow shares: run names and stage tracking.

A reported run keeps its stage bookkeeping in its run folder (``RunDir.stages``), where the failure
hook (``tasks.hooks``) reads it: no module-global state, no import back into flows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.runtime import flow_run as runtime_flow_run

from sr_core.config import PipelineConfig, resolve_config
from sr_core.devices import require_gpu
from sr_core.runrecords import RunDir, StageProgress, check_run_id, new_run_id


def _preset_of(parameters: dict[str, Any]) -> str:
    config = parameters.get("config")
    if isinstance(config, PipelineConfig):
        return config.preset
    if isinstance(config, dict) and config.get("preset"):
        return str(config["preset"])
    return str(parameters.get("preset") or "custom")


def run_name(prefix: str):
    """A ``flow_run_name`` callable: ``<prefix>-<preset>-<UTC date>``, e.g. ``nightly-div2k-2026-11-25``."""

    def name() -> str:
        parameters = runtime_flow_run.parameters or {}
        today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
        return f"{prefix}-{_preset_of(parameters)}-{today}"

    name.__name__ = f"{prefix}_run_name"
    return name


class StageFailed(RuntimeError):
    """A pipeline stage raised: the message names the stage and the original error."""

    def __init__(self, stage: str, error: BaseException):
        self.stage = stage
        self.error_type = type(error).__name__
        self.error = str(error) or self.error_type
        super().__init__(f"stage '{stage}' failed: {self.error_type}: {self.error}")

    def __reduce__(self):  # picklable, so Prefect can persist the failed state
        return (_rebuild_stage_failed, (self.stage, self.error_type, self.error))


def _rebuild_stage_failed(stage: str, error_type: str, error: str) -> StageFailed:
    exc = StageFailed(stage, RuntimeError(error))
    exc.error_type = error_type
    exc.args = (f"stage '{stage}' failed: {error_type}: {error}",)
    return exc


class RunTracker:
    """The stages of a reported run, saved to ``stages.json`` in its run folder as they change."""

    def __init__(self, run: RunDir, progress: StageProgress):
        self.run, self.progress = run, progress
        self.save()

    @property
    def started_at(self) -> str:
        return self.progress.started_at

    @property
    def wall_times(self) -> dict[str, float]:
        return dict(self.progress.wall_times)

    def enter(self, name: str) -> None:
        self.progress.stage = name
        self.save()

    def done(self, name: str, seconds: float) -> None:
        self.progress.stages_done.append(name)
        self.progress.wall_times[name] = round(seconds, 3)
        self.save()

    def save(self) -> None:
        self.run.write_stages(self.progress)


@contextlib.contextmanager
def stage(name: str, tracker: RunTracker | None = None) -> Iterator[None]:
    """Log a stage, record it for the failure hook, and re-raise errors as :class:`StageFailed`."""
    logger = get_run_logger()
    if tracker is not None:
        tracker.enter(name)
    logger.info("stage %s: started", name)
    started = time.perf_counter()
    try:
        yield
    except StageFailed:
        raise
    except Exception as exc:
        logger.error("stage %s failed: %s: %s", name, type(exc).__name__, exc)
        raise StageFailed(name, exc) from exc
    seconds = time.perf_counter() - started
    if tracker is not None:
        tracker.done(name, seconds)
    logger.info("stage %s: done in %.1f s", name, seconds)


def current_flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


def flow_run_run_id(preset: str) -> str:
    """The default run id of this flow run: ``<preset>-<UTC time the flow run was created>``. Derived
    from the flow run (not the clock), so a Prefect retry of the same flow run gets the same run id,
    its run folder and its checkpoints; outside a flow run, a new id from the clock."""
    ctx = FlowRunContext.get()
    created = getattr(ctx.flow_run, "created", None) if ctx and ctx.flow_run else None
    return new_run_id(preset, now=created) if created is not None else new_run_id(preset)


def start_reported_run(preset: str, overrides: list[str] | None, config: PipelineConfig | dict | None,
                       run_id: str | None) -> tuple[PipelineConfig, str, RunTracker]:
    """The opening of a flow that writes a report: the ``config`` stage resolves the config and checks
    the run id; the run's stage record starts in its run folder."""
    started_at = dt.datetime.now(dt.timezone.utc).isoformat()
    t0 = time.perf_counter()
    with stage("config"):
        cfg = resolve_config(preset, overrides, config)
        run_id = check_run_id(run_id or flow_run_run_id(cfg.preset))
        require_gpu(cfg)  # a GPU preset on a worker without a GPU fails here, in seconds
    progress = StageProgress(run_id=run_id, preset=cfg.preset, flow_run_id=current_flow_run_id(),
                             started_at=started_at, stage="config", stages_done=["config"],
                             wall_times={"config": round(time.perf_counter() - t0, 3)})
    return cfg, run_id, RunTracker(RunDir(cfg.reports_dir, run_id), progress)
