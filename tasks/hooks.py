"""Flow state hooks: a failed night leaves ``failure.json`` in its run folder and an alert event.

``on_failure`` hooks run in the flow run's own process after the final state is set, so they can read
the stage bookkeeping in ``flows.common`` and the exception from the state.
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path
from typing import Any

from prefect import Flow
from prefect.client.schemas.objects import FlowRun
from prefect.logging import get_logger
from prefect.states import State

from sr_core.atomic import write_json

logger = get_logger("srbench.hooks")


def _exception_of(state: State) -> BaseException | None:
    try:
        result = state.result(raise_on_failure=False)
    except Exception as exc:  # the result could not be read back: report that instead
        return exc
    return result if isinstance(result, BaseException) else None


def failure_entry(flow_name: str, flow_run: FlowRun, state: State, run_id: str, preset: str,
                  stage: str, stages_done: list[str]) -> dict[str, Any]:
    exc = _exception_of(state)
    stage_name = getattr(exc, "stage", None) or stage
    error = getattr(exc, "error", None) or (str(exc) if exc is not None else "") or state.message \
        or "unknown error"  # e.g. KeyboardInterrupt has no text; the state says 'aborted by ...'
    error_type = getattr(exc, "error_type", None) or (type(exc).__name__ if exc is not None else "unknown")
    cause = exc.__cause__ if exc is not None and exc.__cause__ is not None else exc
    return {
        "status": (state.name or "failed").lower(),  # failed or crashed
        "run_id": run_id,
        "preset": preset,
        "flow": flow_name,
        "flow_run_id": str(flow_run.id),
        "flow_run_name": flow_run.name,
        "stage": stage_name,
        "stages_done": list(stages_done),
        "error_type": error_type,
        "error": error,
        "message": state.message,
        "traceback": "".join(traceback.format_exception(cause)) if cause is not None else None,
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def record_failure(flow: Flow, flow_run: FlowRun, state: State) -> None:
    """``on_failure`` hook: write ``<reports>/<run_id>/failure.json``, re-render the index, emit an event."""
    from flows.common import forget_run, run_info
    from tasks.events import emit_run_failed

    info = run_info(flow_run.id)
    forget_run(flow_run.id)
    if info is None:  # failed before the run id existed (e.g. parameters did not validate)
        reports_dir = os.environ.get("SRBENCH_REPORTS_DIR", "reports")
        preset = str((flow_run.parameters or {}).get("preset") or "custom")
        from flows.common import new_run_id

        run_id, stage, done = new_run_id(preset), "config", []
    else:
        reports_dir, preset, run_id, stage, done = (info.reports_dir, info.preset, info.run_id,
                                                    info.stage, info.stages_done)
    entry = failure_entry(flow.name, flow_run, state, run_id, preset, stage, done)
    path = Path(reports_dir) / run_id / "failure.json"
    try:
        write_json(path, entry)
        logger.error("run %s failed in stage %r: %s (details in %s)", run_id, entry["stage"],
                     entry["error"], path)
    except OSError as exc:
        logger.error("could not write %s: %s", path, exc)
    try:
        from sr_core.report import render_index

        render_index(Path(reports_dir))
    except Exception as exc:  # the index is a convenience; never hide the real failure
        logger.warning("could not re-render the report index after the failure: %s", exc)
    emit_run_failed(run_id, preset, entry["stage"], f"{entry['error_type']}: {entry['error']}",
                    flow_run_id=str(flow_run.id), flow_run_name=flow_run.name,
                    failure_json=str(path.resolve()))
