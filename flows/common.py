"""What every srbench flow shares: run ids, run names, the config parameter and stage tracking."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.runtime import flow_run as runtime_flow_run

from sr_core.config import PipelineConfig, load_config

from flows.ids import RUN_ID_TIME_FORMAT, new_run_id  # noqa: F401  (re-exported)


def resolve_config(preset: str, overrides: list[str] | None, config: PipelineConfig | dict | None) -> PipelineConfig:
    """The flow's config: a full ``config`` wins; otherwise ``preset`` plus ``key=value`` overrides."""
    if config is not None:
        cfg = config if isinstance(config, PipelineConfig) else PipelineConfig.model_validate(config)
        if overrides:
            tree = cfg.model_dump(mode="json")
            preset_name = cfg.preset if cfg.preset in ("smoke", "quick", "div2k") else "quick"
            # Re-apply the overrides on top of the given config (load_config merges 'extra' first).
            return load_config(preset_name, overrides, extra=tree)
        return cfg
    return load_config(preset, overrides or [])


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


@dataclass
class RunInfo:
    """What a flow's failure hook needs to know about the run it is cleaning up after."""

    run_id: str
    reports_dir: str
    preset: str
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    stage: str = "config"
    stages_done: list[str] = field(default_factory=list)
    wall_times: dict[str, float] = field(default_factory=dict)


# Keyed by Prefect flow run id. State hooks run in the flow's own process, so they can read it.
_RUNS: dict[str, RunInfo] = {}


def current_flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


def register_run(info: RunInfo) -> RunInfo:
    flow_run_id = current_flow_run_id()
    if flow_run_id:
        _RUNS[flow_run_id] = info
    return info


def run_info(flow_run_id: Any) -> RunInfo | None:
    return _RUNS.get(str(flow_run_id))


def forget_run(flow_run_id: Any = None) -> None:
    """Drop a finished run's bookkeeping (the current flow run's by default)."""
    _RUNS.pop(str(flow_run_id or current_flow_run_id()), None)


@contextlib.contextmanager
def stage(name: str, info: RunInfo | None = None) -> Iterator[None]:
    """Log a stage, remember it for the failure hook, and re-raise errors as :class:`StageFailed`."""
    logger = get_run_logger()
    if info is not None:
        info.stage = name
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
    if info is not None:
        info.stages_done.append(name)
        info.wall_times[name] = round(seconds, 3)
    logger.info("stage %s: done in %.1f s", name, seconds)


def start_reported_run(preset: str, overrides: list[str] | None, config: PipelineConfig | dict | None,
                       run_id: str | None) -> tuple[PipelineConfig, str, RunInfo]:
    """The opening of a flow that writes a report: pick the run id, register the run for the failure
    hook, and resolve the config inside the ``config`` stage."""
    preset_name = config.preset if isinstance(config, PipelineConfig) else preset
    run_id = run_id or new_run_id(preset_name)
    info = register_run(RunInfo(run_id=run_id, reports_dir="reports", preset=preset_name))
    with stage("config", info):
        cfg = resolve_config(preset, overrides, config)
        info.reports_dir = str(cfg.reports_dir)
    return cfg, run_id, info


def chunked(items: list[str], size: int) -> list[list[str]]:
    """Consecutive chunks of at most ``size`` items (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [items[i:i + size] for i in range(0, len(items), size)]
