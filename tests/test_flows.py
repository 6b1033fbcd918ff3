"""The real nightly and stage flows on the smoke preset, under a temporary Prefect server."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers_prefect import (ensure_prefect_harness, flow_run_artifacts, read_flow_run, task_run_states,
                             wait_for_events)
from sr_core import layout
from sr_core.config import load_config


@pytest.fixture(scope="module")
def prefect_api(request):
    ensure_prefect_harness(request)


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nightly")


@pytest.fixture(scope="module")
def smoke(roots):
    return load_config("smoke", data_dir=roots / "data", reports_dir=roots / "reports")


@pytest.fixture(scope="module")
def first_night(prefect_api, smoke):
    from flows.nightly import nightly

    return nightly(config=smoke, return_state=True)


@pytest.fixture(scope="module")
def second_night(first_night, smoke):
    """Same config again; concurrent training (SRCNN alongside SRResNet -> SRGAN) this time.

    Every night retrains (into its own checkpoint folder), so this one trains and exports again."""
    from flows.nightly import nightly

    return nightly(config=smoke, concurrent_training=True, return_state=True)


def test_nightly_completes_and_writes_report_history_and_index(first_night, smoke):
    assert first_night.is_completed(), first_night.message
    result = first_night.result()
    run_dir = Path(result["run_dir"])
    assert run_dir.parent == Path(smoke.reports_dir)
    assert result["run_id"].startswith("smoke-") and run_dir.name == result["run_id"]
    for name in ("metrics.parquet", "report.html", "run.json"):
        assert (run_dir / name).is_file(), name
    assert (Path(smoke.reports_dir) / "history" / f"{first_night.result()['run_id']}.parquet").is_file()
    assert (Path(smoke.reports_dir) / "index.html").is_file()
    assert result["run_id"] in (Path(smoke.reports_dir) / "index.html").read_text()

    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    assert set(metrics["method"]) == {"bicubic", "bilinear", "srcnn", "srresnet", "srgan"}
    run = json.loads((run_dir / "run.json").read_text())
    assert run["prefect"]["flow_run_id"] == str(first_night.state_details.flow_run_id)
    assert set(run["trained"]) == {"srcnn", "srresnet", "srgan"}
    for name, trained in run["trained"].items():
        assert Path(trained["path"]).is_file(), name
    assert {"download", "prepare", "train-srcnn", "evaluate"} <= set(run["wall_times"])
    # The trained models are registered, so the benchmark flow can find them later.
    from sr_core.registry import resolve_model

    assert resolve_model(smoke.data_dir, "srgan") == Path(run["trained"]["srgan"]["path"])


def test_flow_run_is_named_after_preset_and_date(first_night):
    run = read_flow_run(first_night.state_details.flow_run_id)
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    assert run.name == f"nightly-smoke-{today}"


def test_artifacts_summary_table_link_and_training_progress(first_night):
    artifacts = flow_run_artifacts(first_night.state_details.flow_run_id)
    by_key = {a.key: a for a in artifacts if a.key}
    result = first_night.result()
    summary = by_key["srbench-smoke-summary"]
    assert summary.type == "markdown"
    assert "Δ PSNR vs bicubic" in summary.data and "| srcnn |" in summary.data
    table = by_key["srbench-smoke-metrics"]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {r["method"] for r in rows} == {"bicubic", "bilinear", "srcnn", "srresnet", "srgan"}
    bicubic = next(r for r in rows if r["method"] == "bicubic")
    assert bicubic["delta_bicubic_db"] == pytest.approx(0.0)
    # The table's numbers are the Parquet's: per-method means over the full-image rows.
    metrics = pd.read_parquet(Path(result["run_dir"]) / "metrics.parquet")
    full = metrics[metrics["region"] == "full"]
    for row in rows:
        group = full[full["method"] == row["method"]]
        for col in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"):
            assert row[col] == pytest.approx(group[col].mean(), abs=1e-9), (row["method"], col)
        assert row["delta_bicubic_db"] == pytest.approx(
            group["psnr_y"].mean() - full[full["method"] == "bicubic"]["psnr_y"].mean(), abs=1e-9)
        assert f"| {row['method']} | {row['psnr_y']:.2f} | {row['ssim_y']:.4f} | {row['psnr_rgb']:.2f} |" in summary.data
    link = by_key["srbench-smoke-report"]
    assert link.type == "markdown"  # Prefect stores link artifacts as a markdown link
    assert Path(result["report"]).resolve().as_uri() in link.data
    for model in ("srcnn", "srresnet", "srgan"):
        progress = by_key[f"training-{model}"]
        assert progress.type == "progress" and float(progress.data) == pytest.approx(100.0)


def test_second_run_skips_download_and_preparation(first_night, second_night):
    assert second_night.is_completed(), second_night.message
    first = task_run_states(first_night.state_details.flow_run_id, wait_for=("prepare_patches",))
    second = task_run_states(second_night.state_details.flow_run_id,
                             wait_for={"download_dataset": 1, "prepare_patches": 1, "train_model_task": 3,
                                       "upscale_and_score": 1})
    assert first["prepare_patches"] == ["Completed"]
    assert second["download_dataset"] == ["Cached"]
    assert second["prepare_patches"] == ["Cached"]
    # Training is not cached across nights; it trains (resuming from checkpoints) every time.
    assert second["train_model_task"] == ["Completed"] * 3  # srcnn, srresnet, srgan
    assert second["upscale_and_score"] == ["Completed"]

    result = second_night.result()
    assert result["previous_run_id"] == first_night.result()["run_id"]
    history = pd.read_parquet(Path(result["history"]))
    assert set(history["run_id"]) == {first_night.result()["run_id"], result["run_id"]}


def test_benchmark_flow_scores_the_registered_models_without_training(second_night, smoke):
    from flows.stages import benchmark

    state = benchmark(config=smoke, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    states = task_run_states(state.state_details.flow_run_id)
    assert not any(name.startswith("train") for name in states)
    assert set(result["models"]) == {"srcnn", "srresnet", "srgan"}
    from sr_core.registry import resolve_model

    assert result["models"]["srgan"] == str(resolve_model(smoke.data_dir, "srgan"))
    assert set(pd.read_parquet(result["metrics"])["method"]) == {"bicubic", "bilinear", "srcnn",
                                                                  "srresnet", "srgan"}
    assert result["previous_run_id"] == second_night.result()["run_id"]


def test_changed_data_config_recomputes_patches_and_missing_patches_are_rebuilt(second_night, smoke):
    from flows.stages import prepare

    changed = smoke.model_copy(update={"data": smoke.data.model_copy(update={"patches_per_image": 3})})
    state = prepare(config=changed, return_state=True)
    assert state.is_completed(), state.message
    assert task_run_states(state.state_details.flow_run_id, wait_for=("prepare_patches",))[
        "prepare_patches"] == ["Completed"]
    assert Path(state.result()) == layout.patches_dir(changed) != layout.patches_dir(smoke)

    # The cache says 'done' but the shards are gone: they are rebuilt, not trusted.
    shutil.rmtree(layout.patches_dir(smoke))
    state = prepare(config=smoke, return_state=True)
    assert state.is_completed(), state.message
    assert task_run_states(state.state_details.flow_run_id, wait_for=("prepare_patches",))[
        "prepare_patches"] == ["Completed"]
    assert (layout.patches_dir(smoke) / "manifest.json").is_file()
    state = prepare(config=smoke, return_state=True)
    assert task_run_states(state.state_details.flow_run_id, wait_for=("prepare_patches",))[
        "prepare_patches"] == ["Cached"]


def test_failing_stage_is_named_and_recorded(prefect_api, tmp_path):
    from flows.nightly import nightly

    missing = tmp_path / "no-such-photos"
    cfg = load_config("smoke", dataset=f"folder:{missing}", data_dir=tmp_path / "data",
                      reports_dir=tmp_path / "reports")
    state = nightly(config=cfg, run_id="smoke-failing", return_state=True)
    assert state.is_failed()
    assert "stage '" in state.message and "failed" in state.message
    failure = json.loads((tmp_path / "reports" / "smoke-failing" / "failure.json").read_text())
    assert failure["status"] == "failed" and failure["stage"] in ("download", "prepare")
    assert f"stage '{failure['stage']}'" in state.message
    assert str(missing) in failure["error"]
    assert failure["flow_run_id"] == str(state.state_details.flow_run_id)
    assert "smoke-failing" in (tmp_path / "reports" / "index.html").read_text()

    events = wait_for_events("srbench.run.failed",
                             lambda e: e["payload"].get("run_id") == "smoke-failing")
    assert events and events[0]["payload"]["stage"] == failure["stage"]


def test_a_regression_beyond_tolerance_emits_an_event_with_the_numbers(prefect_api, smoke):
    from prefect import flow

    from flows.pipeline import alert_on_regressions

    finding = {"method": "srgan", "label": "SRGAN-MSE", "run_id": "smoke-alert", "previous_run_id": "smoke-before",
               "psnr_y": 26.0, "previous_psnr_y": 26.5, "drop_db": 0.5, "tolerance_db": 0.1, "delta_db": -0.5,
               "n_images": 8, "low_db": -0.7, "high_db": -0.3}

    @flow
    def night_with_a_drop():
        alert_on_regressions(smoke, "smoke-alert", {"regressions": [finding], "previous_run_id": "smoke-before"})

    assert night_with_a_drop(return_state=True).is_completed()
    (event,) = wait_for_events("srbench.regression", lambda e: e["payload"].get("run_id") == "smoke-alert")
    assert event["resource"]["prefect.resource.id"] == "srbench.run.smoke-alert"
    assert event["payload"]["worst_delta_db"] == -0.5
    assert event["payload"]["regressions"][0]["previous_psnr_y"] == 26.5
    assert (event["payload"]["regressions"][0]["n_images"], event["payload"]["regressions"][0]["high_db"]) == (8, -0.3)
