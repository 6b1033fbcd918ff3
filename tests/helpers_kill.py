"""SIGKILL a child process at a point it announces, as an OOM killer or an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def sigkill_when_marked(proc: subprocess.Popen, marker: Path, *, timeout: float, what: str) -> None:
    """Wait until ``proc`` creates ``marker`` (it then blocks there), SIGKILL it and reap it.

    Fails with the child's stderr when it exits first, or when ``timeout`` seconds pass; the child
    never outlives this call. ``proc`` must have been started with ``stderr=subprocess.PIPE``.
    """
    try:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if proc.poll() is not None:
                raise AssertionError(f"the {what} exited early: {proc.stderr.read().decode()[-3000:]}")
            assert time.monotonic() < deadline, f"the {what} never reached the kill step"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
