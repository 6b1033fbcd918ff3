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

def ensure_prefect_harness(request) -> None:
    """Start the session's temporary Prefect server (once); it stops when pytest finishes.

    ``request`` is the calling fixture's pytest request. The server is kept on the pytest config,
    not in this module, because test files import this module both as ``helpers_prefect`` and as
    ``tests.helpers_prefect`` (two module objects): a module global would start a second server,
    and Prefect's process-wide events client would keep sending to the first one.
    """
    config = request.config
    if getattr(config, "_srbench_prefect_harness", None) is not None:
        return
    from prefect.testing.utilities import prefect_test_harness

    stack = contextlib.ExitStack()
    stack.enter_context(prefect_test_harness(server_startup_timeout=120))
    config._srbench_prefect_harness = stack

    def stop() -> None:
        with contextlib.suppress(Exception):
            stack.close()
        config._srbench_prefect_harness = None

    config.add_cleanup(stop)


def task_run_states(flow_run_id: UUID | str, include_subflows: bool = True,
                    wait_for: tuple[str, ...] | dict[str, int] = (),
                    timeout: float = 30.0) -> dict[str, list[str]]:
    """Task name -> state names of its runs in this flow run (and its subflows), e.g. 'Cached'.

    Prefect 3 records task runs from events that the server processes asynchronously, so a read
    right after the flow returns can miss them: ``wait_for`` names tasks (or maps a task to how
    many runs it has) to poll for, up to ``timeout`` seconds, until those runs are in final states.
    """
    expected = wait_for if isinstance(wait_for, dict) else {name: 1 for name in wait_for}
    final = {"Completed", "Cached", "Failed", "Crashed", "Cancelled"}
    deadline = time.monotonic() + timeout
    while True:
        states = _task_run_states(flow_run_id, include_subflows)
        if all(len(states.get(name, [])) >= count and set(states[name]) <= final
               for name, count in expected.items()) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def _task_run_states(flow_run_id: UUID | str, include_subflows: bool) -> dict[str, list[str]]:
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
