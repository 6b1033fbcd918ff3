"""The evaluate/report/metrics/upscale/models commands, end to end on generated images."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from sr_core import resize
from sr_core.export import ExportResult
from sr_core.images import read_image, write_image
from sr_core.registry import register_export
from sr_core.results import read_metrics
from srbench.cli import app
from tests.helpers_eval import save_tiny_model, textured_image

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def pair(tmp_path):
    hr = textured_image(64, 72, seed=5)
    sr = resize.upscale(resize.downscale(hr, 4), 4)
    write_image(tmp_path / "hr.png", hr)
    write_image(tmp_path / "sr.png", sr)
    return tmp_path / "hr.png", tmp_path / "sr.png", hr, sr


def test_metrics_json_is_exact_and_json_safe(pair):
    # Expected values recomputed independently (own BT.601, PSNR, scikit-image SSIM), not with the
    # library's score() the command itself calls.
    from tests.helpers_reference import ref_scores

    hr_path, sr_path, hr, sr = pair
    result = _invoke("metrics", hr_path, sr_path, "--crop-border", 4, "--json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert list(values) == ["psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"]
    assert values == pytest.approx(ref_scores(hr, sr, border=4), abs=1e-9)
    uncropped = json.loads(_invoke("metrics", hr_path, sr_path, "--crop-border", 0, "--json").stdout)
    assert uncropped["psnr_y"] != pytest.approx(values["psnr_y"], abs=1e-6)  # the option reaches the scores
    same = json.loads(_invoke("metrics", hr_path, hr_path, "--json").stdout)
    assert same["psnr_rgb"] == "inf" and same["psnr_y"] == "inf" and same["ssim_y"] == 1.0
    assert math.isinf(float(same["psnr_y"]))


def test_metrics_errors_are_clear(pair, tmp_path):
    hr_path, _, hr, _ = pair
    write_image(tmp_path / "small.png", hr[:32])
    result = _invoke("metrics", hr_path, tmp_path / "small.png")
    assert result.exit_code == 1 and "same size" in result.output
    result = _invoke("metrics", hr_path, tmp_path / "missing.png")
    assert result.exit_code == 1 and "missing.png" in result.output


def test_upscale_bicubic_files_and_folders_skips_bad_files(tmp_path):
    photos = tmp_path / "photos"
    lr1, lr2 = textured_image(12, 16, seed=1), textured_image(10, 9, seed=2)
    write_image(photos / "one.png", lr1)
    write_image(photos / "two.jpg", lr2)
    (photos / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    result = _invoke("upscale", photos, tmp_path / "nowhere.png", "--model", "bicubic", "--out", out)
    assert result.exit_code == 0, result.output
    assert "broken.png" in result.output and "nowhere.png" in result.output
    np.testing.assert_array_equal(read_image(out / "one_x4_bicubic.png"), resize.upscale(lr1, 4))
    assert read_image(out / "two_x4_bicubic.png").shape == (40, 36, 3)
    assert sorted(p.name for p in out.iterdir()) == ["one_x4_bicubic.png", "two_x4_bicubic.png"]
    result = _invoke("upscale", photos / "broken.png", "--model", "bicubic", "--out", out)
    assert result.exit_code == 1


def test_upscale_with_a_saved_keras_model_tiled_equals_untiled(tmp_path):
    model = save_tiny_model(tmp_path / "tiny.keras", label="Tiny", step=2)
    write_image(tmp_path / "in" / "photo.png", textured_image(40, 52, seed=3))
    a = _invoke("upscale", tmp_path / "in", "--model", model, "--out", tmp_path / "tiled", "--tile", 16,
                "--tile-pad", 8)
    b = _invoke("upscale", tmp_path / "in", "--model", model, "--out", tmp_path / "whole", "--tile", 0)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    tiled = read_image(tmp_path / "tiled" / "photo_x4_tiny.png")
    whole = read_image(tmp_path / "whole" / "photo_x4_tiny.png")
    assert tiled.shape == (160, 208, 3)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1
    result = _invoke("upscale", tmp_path / "in", "--model", "srgan", "--out", tmp_path / "x",
                     "--data-dir", tmp_path / "empty")
    assert result.exit_code == 1 and "srbench train" in result.output


def _register_tiny(data_dir, name="srcnn", step=4):
    folder = data_dir / "models" / name / f"20260101T000000000000Z-{step}"
    path = save_tiny_model(folder / f"{name}.keras", label=name.upper(), step=step)
    register_export(data_dir, ExportResult(name, name.upper(), path, path.with_suffix(".json"), step))
    return path


def test_models_lists_the_registry(tmp_path):
    data = tmp_path / "data"
    assert "no models registered" in _invoke("models", "--data-dir", data).output
    path = _register_tiny(data)
    result = _invoke("models", "--data-dir", data)
    assert result.exit_code == 0 and "srcnn" in result.output and str(path) in result.output
    assert json.loads(_invoke("models", "--data-dir", data, "--json").stdout)[0]["step"] == 4


def test_models_keeps_its_columns_with_variant_labels(tmp_path):
    data = tmp_path / "data"
    short = _register_tiny(data, "srcnn")
    folder = data / "models" / "srresnet" / "20260102T000000000000Z-9"
    long = save_tiny_model(folder / "srresnet.keras", label="SRResNet (4x32, skip)", step=9)
    register_export(data, ExportResult("srresnet", "SRResNet (4x32, skip)", long, long.with_suffix(".json"), 9))
    lines = _invoke("models", "--data-dir", data).output.splitlines()
    (header,) = [line for line in lines if line.split()[:2] == ["name", "label"]]
    rows = {line.lstrip("* ").split()[0]: line for line in lines if ".keras" in line}
    assert "SRResNet (4x32, skip)" in rows["srresnet"]
    for name, path in (("srcnn", short), ("srresnet", long)):
        assert rows[name].index(str(path)) == header.index("path")


def test_evaluate_smoke_then_rebuild_report(tmp_path):
    data, reports = tmp_path / "data", tmp_path / "reports"
    _register_tiny(data, "srcnn")
    result = _invoke("evaluate", "--preset", "smoke", "--data-dir", data, "--reports-dir", reports,
                     "--run-id", "smoke-test-run")
    assert result.exit_code == 0, result.output
    run_dir = reports / "smoke-test-run"
    report = run_dir / "report.html"
    assert result.stdout.strip().splitlines()[-1] == str(report)
    assert "srgan skipped" in result.output
    df = read_metrics(run_dir / "metrics.parquet")
    assert sorted(df.method.unique()) == ["bicubic", "bilinear", "srcnn"]
    assert len(df) == 1 * 3 * df.region.nunique()
    assert list((reports / "history").glob("*.parquet")) and (reports / "index.html").is_file()
    first = report.read_text()
    report.unlink()
    rebuilt = _invoke("report", run_dir)
    assert rebuilt.exit_code == 0 and report.read_text() == first
    assert "smoke-test-run" in (reports / "index.html").read_text()
    missing = _invoke("report", tmp_path / "nothing")
    assert missing.exit_code == 1 and "metrics.parquet" in missing.output


def test_every_command_has_help():
    for command in ("evaluate", "report", "metrics", "upscale", "models"):
        result = _invoke(command, "--help")
        assert result.exit_code == 0 and "Example" in result.output
