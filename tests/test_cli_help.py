"""The command line's help and version: readable at 80 columns, true to the README and the commit."""

from __future__ import annotations

import re
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


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli.app, [*args, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_at_80_columns_truncates_nothing_and_shows_defaults():
    top = _help()
    commands = top.split("Commands:")[1]
    assert "..." not in commands and "…" not in top
    for command in ("run", "upscale", "serve", "evaluate"):
        text = _help(command)
        assert "…" not in text, command
        options = text.split("Options:")[1]  # wrapped to the width (examples may run longer)
        assert all(len(line) <= 80 for line in options.splitlines()), command
    run = " ".join(_help("run").split())
    assert "[default: data]" in run and "[default: reports]" in run
    assert "<smoke|quick|div2k>" in run


def test_an_unknown_preset_lists_the_choices():
    result = CliRunner().invoke(cli.app, ["prepare", "--preset", "fast"])
    assert result.exit_code == 2
    assert "'smoke', 'quick', 'div2k'" in result.output


def test_the_quick_presets_time_in_help_matches_the_readme():
    readme = " ".join((ROOT / "README.md").read_text().split())
    (readme_minutes,) = set(re.findall(r"finishes in about (\d+) minutes", readme))
    help_minutes = re.search(r"quick = about (\d+) min", " ".join(_help("run").split())).group(1)
    assert help_minutes == readme_minutes
