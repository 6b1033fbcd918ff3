"""``srbench train`` end to end on the smoke preset: real patches, training, export, registry."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("tensorflow")

from sr_core import layout  # noqa: E402
from sr_core.registry import list_models, resolve_model  # noqa: E402
from srbench.cli import app  # noqa: E402

runner = CliRunner()


def _train(tmp_path, model, *extra):
    return runner.invoke(app, ["train", "--preset", "smoke", "--model", model, "--data-dir", str(tmp_path / "data"),
                               "--reports-dir", str(tmp_path / "reports"), *extra])


def test_train_help_teaches():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "resumes" in result.output and "--model" in result.output and "srgan.content_loss" in result.output


def test_train_srcnn_then_srgan_registers_exports(tmp_path):
    first = _train(tmp_path, "srcnn")
    assert first.exit_code == 0, first.output
    assert "exported" in first.output and "Y-PSNR" in first.output
    srcnn_path = resolve_model(tmp_path / "data", "srcnn")
    assert str(srcnn_path) in first.output

    gan = _train(tmp_path, "srgan")
    assert gan.exit_code == 0, gan.output
    names = [e["name"] for e in list_models(tmp_path / "data")]
    assert sorted(names) == ["srcnn", "srgan", "srresnet"]
    sidecar = json.loads(resolve_model(tmp_path / "data", "srgan").with_suffix(".json").read_text())
    assert sidecar["label"] == "SRGAN-MSE (1x8, skip)"
    assert (layout.checkpoint_dir(_cfg(tmp_path), "srgan") / "curves.csv").is_file()

    # Rerunning a finished run resumes at the end: no new export folder.
    again = _train(tmp_path, "srcnn")
    assert again.exit_code == 0, again.output
    assert len(list((tmp_path / "data" / "models" / "srcnn").iterdir())) == 1


def test_srgan_without_vgg_weights_stops_before_preparing_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("SRBENCH_VGG19_WEIGHTS", raising=False)
    result = _train(tmp_path, "srgan", "--set", "srgan.content_loss=vgg54",
                    "--set", f"srgan.vgg_weights={tmp_path / 'absent.h5'}")
    assert result.exit_code == 1
    assert "SRBENCH_VGG19_WEIGHTS" in result.output and "srgan.content_loss=mse" in result.output
    assert not (tmp_path / "data" / "patches").exists()


def _cfg(tmp_path):
    from sr_core.config import load_config

    return load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
