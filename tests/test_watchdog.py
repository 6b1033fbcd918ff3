"""A SIGKILLed run leaves no helper process behind (issue 13, item 9): the watchdog ends every
process that inherited the run's token once the run's process is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARENT = """
import subprocess, sys, time
from flows.watchdog import start_watchdog
start_watchdog()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="the watchdog needs /proc")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    return parent, child


def test_the_children_of_a_sigkilled_process_are_ended(tmp_path):
    parent, child = _start_parent()
    try:
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the child outlived its killed parent"
    finally:
        for pid in (parent.pid, child):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_unrelated_processes_are_left_alone():
    from flows.watchdog import TOKEN_ENV, end_processes, tagged_processes

    env = {**os.environ, TOKEN_ENV: "someone-else"}
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        time.sleep(0.3)
        assert other.pid in tagged_processes("someone-else")
        assert end_processes("not-this-token", grace=0.1) == []
        assert other.poll() is None
        assert end_processes("someone-else", grace=5) == [other.pid]
        assert other.wait(timeout=10) is not None
    finally:
        other.kill()
