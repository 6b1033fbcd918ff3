"""A SIGKILLed flow run stops sending heartbeats and the shipped automation marks it Crashed, on a
real ``prefect server start`` (issue 13, item 9). The automation comes from
docs/orchestration-automations.yaml, with its 5-minute window shortened for the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.test_deployment_integration import PREFECT, _free_port, _start, _stop, _wait_healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WINDOW_SECONDS = 40

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
import time
from prefect import flow
from prefect.runtime import flow_run

@flow(name="zombie-probe")
def sleepy():
    print(flow_run.id, flush=True)
    time.sleep(600)

sleepy()
"""


def _flow_run(api_url: str, run_id: str) -> dict:
    with urllib.request.urlopen(f"{api_url}/flow_runs/{run_id}", timeout=10) as response:
        return json.loads(response.read())


def test_a_sigkilled_run_is_marked_crashed_by_the_zombie_automation(tmp_path):
    port = _free_port()
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    api_url = f"http://127.0.0.1:{port}/api"
    env.update({"PREFECT_HOME": str(home), "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
                "PREFECT_API_URL": api_url, "PREFECT_SERVER_API_HOST": "127.0.0.1",
                "PREFECT_SERVER_API_PORT": str(port), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_UI_ENABLED": "false", "DO_NOT_TRACK": "1",
                "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"})
    started: list[subprocess.Popen] = []
    try:
        server_log = tmp_path / "server.log"
        server = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log)
        started.append(server)
        _wait_healthy(api_url, server, server_log)
        created = subprocess.run([sys.executable, "-c", CREATE_AUTOMATION,
                                  str(ROOT / "docs" / "orchestration-automations.yaml"), str(WINDOW_SECONDS)],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr[-3000:]

        probe = subprocess.Popen([sys.executable, "-c", SLEEPY_FLOW], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                 start_new_session=True)
        started.append(probe)
        run_id = probe.stdout.readline().strip()
        assert run_id, "the probe flow did not start"
        assert _flow_run(api_url, run_id)["state"]["type"] == "RUNNING"
        time.sleep(2)  # let the first heartbeat reach the server
        probe.send_signal(signal.SIGKILL)
        probe.wait(timeout=30)

        deadline = time.monotonic() + WINDOW_SECONDS + 120
        state = _flow_run(api_url, run_id)["state"]
        while state["type"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(2)
            state = _flow_run(api_url, run_id)["state"]
        assert state["type"] == "CRASHED", f"the killed run is still {state['type']}"
        assert "no heartbeat" in (state.get("message") or "")
    finally:
        for proc in reversed(started):
            _stop(proc)
