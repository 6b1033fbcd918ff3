"""Helpers for the Prefect tests: one temporary Prefect server per pytest session, API queries.

``prefect_test_harness`` starts a real (temporary, SQLite) Prefect API server. Starting one costs
several seconds, so every test module that needs it shares this one, started on first use and
stopped when the interpreter exits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from typing import Any
from uuid import UUID

# Offline and quiet, like `srbench run` (read when Prefect first loads its settings).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_UI_ENABLED", "false")

_STACK: contextlib.ExitStack | None = None


def ensure_prefect_harness(request) -> None:
    """Start the session's temporary Prefect server (once); it stops when pytest finishes.

    ``request`` is the calling fixture's pytest request (its config owns the cleanup).
    """
    global _STACK
    if _STACK is not None:
        return
    from prefect.testing.utilities import prefect_test_harness

    stack = contextlib.ExitStack()
    stack.enter_context(prefect_test_harness(server_startup_timeout=120))
    _STACK = stack
    request.config.add_cleanup(_stop)


def _stop() -> None:
    global _STACK
    if _STACK is not None:
        with contextlib.suppress(Exception):
            _STACK.close()
        _STACK = None


def task_run_states(flow_run_id: UUID | str, include_subflows: bool = True) -> dict[str, list[str]]:
    """Task name -> state names of its runs in this flow run (and its subflows), e.g. 'Cached'."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        run_ids = [UUID(str(flow_run_id))]
        if include_subflows:
            children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=run_ids)))
            run_ids += [child.id for child in children]
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)))
    states: dict[str, list[str]] = {}
    for run in runs:  # task_key is '<function qualname>-<code hash>'
        name = run.task_key.rsplit("-", 1)[0]
        states.setdefault(name, []).append(run.state.name if run.state else "?")
    return states


def flow_run_artifacts(flow_run_id: UUID | str) -> list[Any]:
    """Every artifact created in this flow run (its tasks' included), oldest first."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(str(flow_run_id))])))


def read_flow_run(flow_run_id: UUID | str):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(flow_run_id)))


def wait_for_events(name: str, predicate=lambda event: True, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Events named ``name`` from the last hour matching ``predicate`` (polled: delivery is async)."""
    from prefect import get_client

    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            response = client.request("POST", "/events/filter", json={
                "filter": {"event": {"name": [name]}, "occurred": {"since": since}},
                "limit": 50})
        found = [e for e in response.json().get("events", []) if predicate(e)]
        if found:
            return found
        time.sleep(0.5)
    return found
