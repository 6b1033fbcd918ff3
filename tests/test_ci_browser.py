"""Under CI a missing chromium fails the browser tests; on a developer machine they skip, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_browser_test(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(tmp_path)  # no chromium on this PATH
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/test_report_browser.py", "-k", "index_renders or renders_in"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_missing_chromium_skips_with_a_message_off_ci(tmp_path):
    result = _run_browser_test(tmp_path, ci=None)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "skipped" in result.stdout and "make setup-browser" in result.stdout
    assert "failed" not in result.stdout and "error" not in result.stdout


def test_missing_chromium_fails_under_ci(tmp_path):
    result = _run_browser_test(tmp_path, ci="true")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "CI must run the browser tests" in result.stdout
    assert " skipped" not in result.stdout
