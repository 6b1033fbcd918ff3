"""A night whose host dies stops sending heartbeats; the shipped automation marks it Crashed, which
frees the deployment's concurrency slot, and the night queued behind it starts (issue 13, item 9).

All on a real ``prefect server start``: a process work pool, a deployment of a sleepy flow with
``nightly-div2k``'s concurrency limit from prefect.yaml (1, ENQUEUE), the ``srbench-crash-zombie-runs``
automation from docs/orchestration-automations.yaml with its 5-minute window shortened, and workers.
The first night's worker and flow process are SIGKILLed together (a lost GPU host: nobody is left to
report the crash, so only the automation can), while the second night waits as AwaitingConcurrencySlot.
A second worker (the host back) then runs the second night once the first is Crashed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.test_deployment_integration import (PREFECT, _api, _free_port, _start, _stop, _wait_healthy,
                                               isolated_prefect_env)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HEARTBEAT_SECONDS = 30  # Prefect's minimum
WINDOW_SECONDS = 40  # the automation's 300 s, shortened; must exceed the heartbeat interval

CREATE_AUTOMATION = """
import sys, yaml
from prefect.automations import Automation
from prefect.events.schemas.automations import AutomationCore
item = next(a for a in yaml.safe_load(open(sys.argv[1]))["automations"] if a["name"] == "srbench-crash-zombie-runs")
item["trigger"]["within"] = int(sys.argv[2])
core = AutomationCore.model_validate(item)
print(Automation(**core.model_dump()).create().id)
"""

SLEEPY_FLOW = """
import os, time
from pathlib import Path
from prefect import flow
from prefect.runtime import flow_run

@flow(name="zombie-probe")
def sleepy(seconds: float):
    # The test kills this process by the pid written here (the worker starts it in its own session);
    # a test that fails early makes the file `stop` so that no run outlives it.
    here = Path(__file__).parent
    (here / f"{flow_run.id}.pid").write_text(str(os.getpid()))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (here / "stop").exists():
        time.sleep(0.5)
"""


def _wait_for(what: str, check: Callable[[], object], timeout: float, logs: dict[str, Path]) -> object:
    """Poll ``check`` until it returns something truthy; on timeout, fail naming ``what`` with the logs."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {name} ---\n{path.read_text(errors='replace')[-3000:]}"
                              for name, path in logs.items() if path.exists())
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(1)


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _project(tmp_path: Path) -> Path:
    """A one-deployment Prefect project whose concurrency limit is nightly-div2k's, read from prefect.yaml."""
    shipped = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (nightly,) = [d for d in shipped["deployments"] if d["name"] == "nightly-div2k"]
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
    project = tmp_path / "project"
    project.mkdir()
    (project / "sleepy.py").write_text(SLEEPY_FLOW)
    (project / "prefect.yaml").write_text(yaml.safe_dump({
        "name": "zombie-probe",
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": str(project)}}],
        "deployments": [{"name": "night", "entrypoint": "sleepy.py:sleepy", "parameters": {"seconds": 0},
                         "concurrency_limit": nightly["concurrency_limit"],
                         "work_pool": {"name": "night-pool"}}],
    }))
    return project


def test_a_killed_night_is_crashed_by_the_automation_and_the_queued_night_starts(tmp_path):
    port = _free_port()
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = isolated_prefect_env(home, port)
    api_url = env["PREFECT_API_URL"]
    env.update({"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
                # A run refused a slot is retried after this (Prefect's default 30 s), workers poll
                # every 2 s: the test waits on the automation, not on polling intervals.
                "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
                "PREFECT_WORKER_QUERY_SECONDS": "2"})
    project = _project(tmp_path)
    logs = {"server": tmp_path / "server.log", "worker A": tmp_path / "worker-a.log",
            "worker B": tmp_path / "worker-b.log"}
    started: list[subprocess.Popen] = []
    flow_group: int | None = None

    def cli(args: list[str]) -> None:
        done = subprocess.run([PREFECT, *args], cwd=project, env=env, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    def flow_run(run_id: str) -> dict:
        return _api(api_url, f"/flow_runs/{run_id}")

    def states(run_id: str) -> list[dict]:
        return sorted(_api(api_url, f"/flow_run_states/?flow_run_id={run_id}"), key=lambda s: s["timestamp"])

    try:
        server = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env,
                        logs["server"])
        started.append(server)
        _wait_healthy(api_url, server, logs["server"])
        created = subprocess.run([sys.executable, "-c", CREATE_AUTOMATION,
                                  str(ROOT / "docs" / "orchestration-automations.yaml"), str(WINDOW_SECONDS)],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr[-3000:]
        cli(["work-pool", "create", "night-pool", "--type", "process"])
        cli(["--no-prompt", "deploy", "--all"])
        deployment = _api(api_url, "/deployments/name/zombie-probe/night")
        assert deployment["global_concurrency_limit"]["limit"] == 1
        assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE"

        worker_a = _start([PREFECT, "worker", "start", "--pool", "night-pool"], env, logs["worker A"])
        started.append(worker_a)
        first = _api(api_url, f"/deployments/{deployment['id']}/create_flow_run",
                     {"parameters": {"seconds": 600}, "name": "first-night"})["id"]
        _wait_for("the first night to run", lambda: flow_run(first)["state"]["type"] == "RUNNING", 120, logs)
        first_pid = int(_wait_for("the first night's pid file",
                                  lambda: (project / f"{first}.pid").exists()
                                  and (project / f"{first}.pid").read_text(), 30, logs))
        flow_group = os.getpgid(first_pid)
        assert flow_group not in (os.getpgrp(), server.pid), "the flow process shares a process group it must not"
        heartbeat_filter = {"filter": {"event": {"name": ["prefect.flow-run.heartbeat"]},
                                       "resource": {"id": [f"prefect.flow-run.{first}"]}}}
        _wait_for("the first night's first heartbeat",
                  lambda: _api(api_url, "/events/filter", heartbeat_filter)["events"], 60, logs)

        second = _api(api_url, f"/deployments/{deployment['id']}/create_flow_run",
                      {"parameters": {"seconds": 0}, "name": "second-night"})["id"]
        _wait_for("the second night to wait for the slot",
                  lambda: any(s["name"] == "AwaitingConcurrencySlot" for s in states(second)), 60, logs)
        limit = _api(api_url, f"/v2/concurrency_limits/{deployment['global_concurrency_limit']['id']}")
        assert limit["active_slots"] == 1, limit

        # The host dies: the worker first (so it cannot report the crash), then the flow's process.
        os.killpg(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=30)
        os.killpg(flow_group, signal.SIGKILL)
        assert flow_run(first)["state"]["type"] == "RUNNING"

        started.append(_start([PREFECT, "worker", "start", "--pool", "night-pool"], env, logs["worker B"]))
        time.sleep(1)
        assert flow_run(second)["state"]["type"] == "SCHEDULED", "the second night started before the slot was freed"

        crashed = _wait_for("the automation to mark the killed night Crashed",
                            lambda: flow_run(first)["state"]["type"] == "CRASHED" and flow_run(first)["state"],
                            WINDOW_SECONDS + 90, logs)
        assert "no heartbeat" in (crashed.get("message") or ""), crashed

        _wait_for("the queued night to complete",
                  lambda: flow_run(second)["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED"}, 120, logs)
        history = states(second)
        assert history[-1]["type"] == "COMPLETED", [(s["type"], s["name"]) for s in history]
        (running,) = [s for s in history if s["type"] == "RUNNING"]
        assert _time(running["timestamp"]) > _time(crashed["timestamp"]), \
            "the queued night ran before the killed one was Crashed"
    finally:
        (project / "stop").touch()
        if flow_group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(flow_group, signal.SIGKILL)
        for proc in reversed(started):
            _stop(proc)
