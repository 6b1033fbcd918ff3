"""Nothing outlives a killed ``srbench run``: a watchdog that ends the run's helper processes.

``srbench run`` starts Prefect's temporary API server (and, with Dask, a local cluster) as child
processes. If the run itself is SIGKILLed (the OOM killer, ``kill -9``), Python's exit handlers never
run and those children live on, holding ``prefect.db`` open. :func:`start_watchdog` tags the run's
environment with a unique token, which every child inherits, and starts a small detached process
that waits for the run to end (the pipe between them closes when the run's process is gone, however
it ended) and then terminates every process that still carries the token. After a normal exit
there is nothing left to end. Linux only (it reads ``/proc``); elsewhere it does nothing.

This module imports neither Prefect nor TensorFlow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

TOKEN_ENV = "SRBENCH_RUN_TOKEN"
_GRACE_SECONDS = 5.0
_RUNNING: list[subprocess.Popen] = []  # the watchdog's pipe stays open while this process lives


def start_watchdog() -> subprocess.Popen | None:
    """Tag this process's environment and start the watchdog; returns it (None where unsupported).

    Call before any child process is started; once per process (later calls return the first).
    """
    if _RUNNING:
        return _RUNNING[0]
    if not Path("/proc/self/environ").exists():
        return None
    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    proc = subprocess.Popen([sys.executable, "-m", "flows.watchdog", token], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True, cwd=str(Path(__file__).resolve().parents[1]))
    os.environ[TOKEN_ENV] = token
    _RUNNING.append(proc)
    return proc


def tagged_processes(token: str) -> list[int]:
    """PIDs of the processes whose environment carries ``SRBENCH_RUN_TOKEN=token`` (not this one)."""
    needle = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def end_processes(token: str, grace: float = _GRACE_SECONDS) -> list[int]:
    """SIGTERM the tagged processes, SIGKILL what is left after ``grace`` seconds; returns the PIDs."""
    pids = tagged_processes(token)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    return pids


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; its parent just has not collected it


def main(token: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the run is not for us
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    end_processes(token)


if __name__ == "__main__":
    main(sys.argv[1])
