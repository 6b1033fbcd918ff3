"""Unusable --data-dir / --reports-dir are found at start, with one clear message, in every command
that uses them (issue 13, item 13)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from srbench.cli import app

runner = CliRunner()

DATA_COMMANDS = [["run"], ["prepare"], ["train", "--model", "srcnn"], ["evaluate"], ["download"]]
REPORTS_COMMANDS = [["run"], ["evaluate"]]


def _invoke(args, tmp_path, data, reports):
    return runner.invoke(app, [*args, "--preset", "smoke", "--data-dir", str(data),
                               "--reports-dir", str(reports)])


@pytest.mark.parametrize("args", DATA_COMMANDS, ids=lambda a: a[0])
def test_a_data_dir_that_is_a_file_stops_every_command_at_start(tmp_path, args):
    data = tmp_path / "data"
    data.write_text("not a folder")
    result = _invoke(args, tmp_path, data, tmp_path / "reports")
    assert result.exit_code == 2, result.output
    assert f"error: --data-dir {data} is a file, not a folder: point --data-dir (or SRBENCH_DATA_DIR) " \
           "at a folder you can write to" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "reports").exists()


@pytest.mark.parametrize("args", REPORTS_COMMANDS, ids=lambda a: a[0])
def test_an_unusable_reports_dir_stops_the_commands_that_write_reports_at_start(tmp_path, args):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    for reports, why in [(blocker, "is a file, not a folder"),
                         (blocker / "reports", "cannot be created: a part of the path is a file")]:
        result = _invoke(args, tmp_path, tmp_path / "data", reports)
        assert result.exit_code == 2, result.output
        assert f"error: --reports-dir {reports} {why}" in result.output
        assert "SRBENCH_REPORTS_DIR" in result.output
    assert not (tmp_path / "data" / "prefect").exists()  # nothing started


def test_train_does_not_need_the_reports_dir(tmp_path):
    from srbench.options import build_config

    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    cfg = build_config("smoke", None, tmp_path / "data", blocker)
    assert cfg.reports_dir == blocker and (tmp_path / "data").is_dir()


def test_root_problem_reports_a_folder_it_cannot_write(tmp_path, monkeypatch):
    import tempfile

    from srbench.options import root_problem

    assert root_problem(tmp_path / "new" / "root") is None and (tmp_path / "new" / "root").is_dir()

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # root ignores chmod, so the refusal is simulated
    assert root_problem(tmp_path) == "is not writable (Permission denied)"
