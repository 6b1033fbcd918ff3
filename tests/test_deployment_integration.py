"""The whole server/worker cycle, as a user runs it: a real `prefect server`, a process work pool,
`prefect deploy` of the smoke deployment from prefect.yaml, a worker, `prefect deployment run --watch`.

Everything runs on loopback with its own PREFECT_HOME and data/reports roots under tmp_path, and every
process started here is stopped (its whole process group) when the test ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (the worker's flow-run subprocesses included), then SIGKILL."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_healthy(api_url: str, server: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(1)
    raise TimeoutError(f"prefect server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


def _cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([PREFECT, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _api(api_url: str, path: str, body: dict | None = None) -> dict | list:
    """GET (or, with ``body``, POST) ``path`` of the server's REST API, decoded."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{api_url}{path}", data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def isolated_prefect_env(home: Path, port: int) -> dict[str, str]:
    """This process's environment without its PREFECT_* settings, for a server on ``127.0.0.1:port``
    and its clients, with their own ``home`` (profiles, database) and no UI or analytics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    })
    return env


@pytest.fixture
def prefect_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = isolated_prefect_env(home, _free_port())
    env.update({
        # What a worker host sets: where its clone is, where artifacts go.
        "SRBENCH_PROJECT_DIR": str(ROOT),
        "SRBENCH_DATA_DIR": str(tmp_path / "data"),
        "SRBENCH_REPORTS_DIR": str(tmp_path / "reports"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    })
    return env


def test_server_worker_deployment_cycle(prefect_env: dict[str, str], tmp_path: Path):
    api_url = prefect_env["PREFECT_API_URL"]
    started: list[subprocess.Popen] = []
    try:
        server_log = tmp_path / "server.log"
        server = _start([PREFECT, "server", "start", "--host", "127.0.0.1",
                         "--port", prefect_env["PREFECT_SERVER_API_PORT"]], prefect_env, server_log)
        started.append(server)
        _wait_healthy(api_url, server, server_log)

        for pool_name in ("cpu-pool", "gpu-pool"):
            pool = _cli(["work-pool", "create", pool_name, "--type", "process"], prefect_env, 120)
            assert pool.returncode == 0, pool.stdout + pool.stderr

        # Every deployment of prefect.yaml, as the docs say; only the smoke one is run below.
        deploy = _cli(["--no-prompt", "deploy", "--all"], prefect_env, 300)
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        for name in ("nightly/smoke", "nightly/nightly-div2k", "nightly/quick-cpu", "benchmark/benchmark-div2k"):
            assert name in deploy.stdout, name
        nightly = _api(api_url, "/deployments/name/nightly/nightly-div2k")
        # Prefect 3 keeps a deployment's limit as a global concurrency limit named after it.
        assert nightly["global_concurrency_limit"]["limit"] == 1
        assert nightly["concurrency_options"]["collision_strategy"] == "ENQUEUE"
        assert [s["schedule"]["cron"] for s in nightly["schedules"]] == ["0 2 * * *"]
        assert nightly["work_pool_name"] == "gpu-pool"
        assert nightly["job_variables"]["env"]["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"

        worker_log = tmp_path / "worker.log"
        started.append(_start([PREFECT, "worker", "start", "--pool", "cpu-pool", "--limit", "1"],
                              prefect_env, worker_log))

        run = _cli(["deployment", "run", "nightly/smoke", "--watch", "--watch-timeout", "480"],
                   prefect_env, 540)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output + "\n--- worker log ---\n" + worker_log.read_text()[-6000:]
        assert "Completed" in output

        reports = tmp_path / "reports"
        (run_dir,) = [p for p in reports.iterdir() if p.is_dir() and p.name.startswith("smoke-")]
        for name in ("report.html", "metrics.parquet", "run.json"):
            assert (run_dir / name).is_file(), name
        assert (reports / "index.html").is_file() and (reports / "history" / f"{run_dir.name}.parquet").is_file()
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["prefect"]["deployment_id"], "the run came from the deployment"
        assert list((tmp_path / "data" / "models" / "registry").glob("*.json")), "no registry records"
    finally:
        for proc in reversed(started):
            _stop(proc)
    assert all(proc.poll() is not None for proc in started)
