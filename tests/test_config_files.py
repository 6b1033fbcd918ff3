"""--config FILE.yaml (a preset plus what it changes) and 'srbench config show'."""

from __future__ import annotations

from typer.testing import CliRunner

from sr_core.config import load_config
from srbench.cli import app


def _show(*args: str):
    return CliRunner().invoke(app, ["config", "show", *args])


def test_config_file_is_a_preset_plus_overrides_and_set_wins(tmp_path):
    path = tmp_path / "nightly.yaml"
    path.write_text("preset: smoke\nsrcnn:\n  steps: 9\neval:\n  regression_tolerance_db: 0.05\n")
    result = _show("--config", str(path), "--set", "srcnn.batch_size=2", "--fingerprints")
    assert result.exit_code == 0, result.output
    expected = load_config("smoke", ["srcnn.steps=9", "eval.regression_tolerance_db=0.05", "srcnn.batch_size=2"])
    lines = dict(line.split() for line in result.output.splitlines())
    assert lines["config"] == expected.fingerprint() != load_config("smoke").fingerprint()
    assert lines["srcnn"] == expected.model_fingerprint("srcnn")
    assert lines["srresnet"] == load_config("smoke").model_fingerprint("srresnet")  # untouched section
    assert lines["data"] == expected.data_fingerprint()


def test_show_prints_a_config_file_that_reads_back_to_the_same_config(tmp_path):
    shown = _show("--preset", "div2k", "--set", "srgan.steps=7")
    assert shown.exit_code == 0, shown.output
    assert "steps: 7" in shown.output and "# fingerprints" in shown.output
    saved = tmp_path / "div2k.yaml"
    saved.write_text(shown.output)
    again = _show("--config", str(saved))
    assert again.exit_code == 0, again.output
    assert again.output == shown.output
    assert f"config     {load_config('div2k', ['srgan.steps=7']).fingerprint()}" in shown.output


def test_bad_config_files_are_named(tmp_path):
    missing = _show("--config", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "nope.yaml" in missing.output
    typo = tmp_path / "typo.yaml"
    typo.write_text("preset: smoke\nsrcnn:\n  stepz: 9\n")
    result = _show("--config", str(typo))
    assert result.exit_code == 2 and "srcnn.stepz" in result.output
    other = tmp_path / "other.yaml"
    other.write_text("preset: smoke\n")
    clash = _show("--config", str(other), "--preset", "div2k")
    assert clash.exit_code == 2 and "disagree" in clash.output
    assert _show("--config", str(other), "--preset", "smoke").exit_code == 0
