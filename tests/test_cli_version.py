"""`srbench --version` names the package version and the commit the code comes from."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sr_core
from srbench import cli

ROOT = Path(__file__).resolve().parents[1]


def test_version_names_the_commit_of_this_clone():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git clone")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"srbench {sr_core.__version__} (commit {head[:12]}")


def test_version_outside_a_clone_uses_the_image_commit(monkeypatch):
    monkeypatch.setattr(cli, "git_state", lambda: (None, None))
    monkeypatch.setenv("SRBENCH_GIT_COMMIT", "feedfacecafe0123")
    assert cli.version_line() == f"srbench {sr_core.__version__} (commit feedfacecafe)"
    monkeypatch.delenv("SRBENCH_GIT_COMMIT")
    assert cli.version_line() == f"srbench {sr_core.__version__}"
