"""Flow state hooks: a failed night leaves ``failure.json`` in its run folder and an alert event.

The hook learns everything from the flow run itself: its parameters give the config (reports dir,
preset) and the run id, and the run folder's stage record (``stages.json``, written by the flow's
stages) says which stage was running and which finished. Nothing is imported from ``flows``.
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path

from prefect import Flow
from prefect.client.schemas.objects import FlowRun
from prefect.logging import get_logger
from prefect.states import State

from sr_core.config import resolve_config
from sr_core.publish import publish_run
from sr_core.report import render_index
from sr_core.report.index import publish_index
from sr_core.runrecords import FailureRecord, RecordError, RunDir, StageProgress, check_run_id, new_run_id
from sr_core.store import Store
from tasks.events import emit_run_failed

logger = get_logger("srbench.hooks")


def _exception_of(state: State) -> BaseException | None:
    try:
        result = state.result(raise_on_failure=False)
    except Exception as exc:  # the result could not be read back: report that instead
        return exc
    return result if isinstance(result, BaseException) else None


def failure_entry(flow_name: str, flow_run: FlowRun, state: State, run_id: str, preset: str,
                  stage: str, stages_done: list[str]) -> FailureRecord:
    exc = _exception_of(state)
    stage_name = getattr(exc, "stage", None) or stage
    error = getattr(exc, "error", None) or (str(exc) if exc is not None else "") or state.message \
        or "unknown error"  # e.g. KeyboardInterrupt has no text; the state says 'aborted by ...'
    error_type = getattr(exc, "error_type", None) or (type(exc).__name__ if exc is not None else "unknown")
    cause = exc.__cause__ if exc is not None and exc.__cause__ is not None else exc
    return FailureRecord(
        status=(state.name or "failed").lower(),  # failed or crashed
        run_id=run_id, preset=preset, flow=flow_name, flow_run_id=str(flow_run.id),
        flow_run_name=flow_run.name, stage=stage_name, stages_done=list(stages_done), error_type=error_type,
        error=error, message=state.message,
        traceback="".join(traceback.format_exception(cause)) if cause is not None else None,
        time=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def _roots(flow_run: FlowRun) -> tuple[Path, str, str | None]:
    """The reports dir, preset and shared reports root (if any) the flow run was started with (env
    defaults if they do not resolve)."""
    params = flow_run.parameters or {}
    try:
        cfg = resolve_config(params.get("preset") or "quick", params.get("overrides"), params.get("config"))
        return Path(cfg.reports_dir), cfg.preset, cfg.reports_url
    except Exception:  # noqa: BLE001 - the parameters themselves may be what failed
        return Path(os.environ.get("SRBENCH_REPORTS_DIR", "reports")), str(params.get("preset") or "custom"), None


def _stage_record(reports_dir: Path, flow_run: FlowRun) -> StageProgress | None:
    """The stage record of this flow run: in the run folder named by its ``run_id`` parameter, or the
    newest run folder whose record names this flow run (the run id was generated in the flow)."""
    run_id = (flow_run.parameters or {}).get("run_id")
    if run_id:
        candidates = [run_id]
    elif reports_dir.is_dir():
        candidates = sorted((p.name for p in reports_dir.iterdir() if (p / RunDir.STAGES).is_file()),
                            reverse=True)
    else:
        candidates = []
    for name in candidates:
        try:
            record = RunDir(reports_dir, name).read_stages()
        except (ValueError, RecordError):
            continue
        if record is not None and (run_id or record.flow_run_id == str(flow_run.id)):
            return record
    return None


def record_failure(flow: Flow, flow_run: FlowRun, state: State) -> None:
    """``on_failure`` hook: write ``<reports>/<run_id>/failure.json``, re-render the index, emit an event."""
    reports_dir, preset, reports_url = _roots(flow_run)
    progress = _stage_record(reports_dir, flow_run)
    run_id = progress.run_id if progress else str((flow_run.parameters or {}).get("run_id") or "")
    try:
        check_run_id(run_id)
    except ValueError:  # failed before a usable run id existed (e.g. in the config stage)
        run_id = new_run_id(preset)
    entry = failure_entry(flow.name, flow_run, state, run_id, preset, progress.stage if progress else "config",
                          progress.stages_done if progress else [])
    run = RunDir(reports_dir, run_id)
    try:
        run.write_failure(entry)
        logger.error("run %s failed in stage %r: %s (details in %s)", run_id, entry.stage, entry.error,
                     run.failure)
    except OSError as exc:
        logger.error("could not write %s: %s", run.failure, exc)
    try:
        if reports_url:  # the team sees the failed night in the shared index too
            shared = Store(reports_url)
            publish_run(run.path, shared)
            publish_index(shared)
        else:
            render_index(reports_dir)
    except Exception as exc:  # the index is a convenience; never hide the real failure
        logger.warning("could not re-render the report index after the failure: %s", exc)
    emit_run_failed(run_id, preset, entry.stage, f"{entry.error_type}: {entry.error}",
                    flow_run_id=str(flow_run.id), flow_run_name=flow_run.name,
                    failure_json=str(run.failure.resolve()))
