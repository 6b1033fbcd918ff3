"""Typed run artifacts: run.json, sidecar, registry and failure record are validated on read, run
folders and registry paths stay inside their roots, and an export is checked against its checksum."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sr_core import layout
from sr_core.evaluation import write_run_json
from sr_core.report import render_index, render_report
from sr_core.results import metrics_table, write_table
from sr_core.runrecords import FailureRecord, RecordError, RunDir, StageProgress, check_run_id
from srbench.cli import app

tf = pytest.importorskip("tensorflow")

from sr_core.export import export_model, find_export, read_sidecar  # noqa: E402
from sr_core.models import build_srcnn  # noqa: E402
from sr_core.registry import list_models, register_export, resolve_model  # noqa: E402


@pytest.fixture
def exported(smoke_config):
    tf.keras.utils.set_random_seed(3)
    return export_model(build_srcnn(smoke_config.srcnn, 4), smoke_config, "srcnn", step=5)


def test_run_json_records_the_sidecars_model_fingerprint(smoke_config, exported):
    run = layout.run_dir(smoke_config, "fp-run")
    write_run_json(run, smoke_config, "fp-run", models={"srcnn": str(exported.path)})
    stored = json.loads(run.run_json.read_text())["methods"]["srcnn"]
    sidecar = read_sidecar(exported.path)
    assert stored["model_fingerprint"] == sidecar.model_fingerprint == smoke_config.model_fingerprint("srcnn")
    assert stored["created_at"] == sidecar.created_at and stored["step"] == 5
    assert stored["model_fingerprint"] != smoke_config.model_fingerprint("srresnet")


@pytest.mark.parametrize("bad", ["../../X", "/abs/X", "a/b", "", ".", "..", "x\\..\\y", ".hidden", "a\0b"])
def test_run_dir_refuses_a_run_id_that_leaves_the_reports_dir(tmp_path, bad):
    with pytest.raises(ValueError, match="not a single safe folder name"):
        RunDir(tmp_path, bad)
    for good in ("smoke-20261125T020000000000Z", "run \"'<&>1"):  # odd but one name: the report escapes it
        assert check_run_id(good) == good


@pytest.mark.parametrize("args", [["--run-id", "../../escaped"], ["--run-id", "/tmp/escaped"],
                                  ["--set", "preset=../../escaped"]])
def test_evaluate_refuses_run_ids_outside_the_reports_dir(tmp_path, args):
    reports = tmp_path / "a" / "reports"
    result = CliRunner().invoke(app, ["evaluate", "--preset", "smoke", "--data-dir", str(tmp_path / "data"),
                                      "--reports-dir", str(reports), *args])
    assert result.exit_code == 2, result.output
    assert "not a single safe folder name" in result.output
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "a" / "escaped").exists()
    assert not reports.exists() or not any(reports.iterdir())


def test_a_truncated_or_hand_edited_run_json_names_the_file_and_the_field(tmp_path):
    run = RunDir(tmp_path, "r1")
    run.path.mkdir()
    run.run_json.write_text('{"run_id": "r1", "started_at": "2026-01-01T00:00:00+00:00", "methods": {')
    with pytest.raises(RecordError, match=r"run\.json: the run record is not valid JSON"):
        run.read_run()
    run.run_json.write_text(json.dumps({"run_id": "r1", "started_at": "2026", "wall_times": {"train": "slow"}}))
    with pytest.raises(RecordError, match=r"run\.json: not a valid run record: field 'wall_times\.train'"):
        run.read_run()
    run.run_json.write_text(json.dumps({"started_at": "2026"}))
    with pytest.raises(RecordError, match="field 'run_id': field required"):
        run.read_run()
    # The index lists the damaged run (with what is wrong) instead of failing.
    page = render_index(tmp_path).read_text()
    assert "r1" in page and "damaged" in page and "field &#x27;run_id&#x27;" in page


def test_report_of_a_run_with_a_damaged_run_json_is_a_named_error(tmp_path):
    run = RunDir(tmp_path, "r2")
    run.path.mkdir()
    run.metrics.write_bytes(b"PAR1")  # cut short
    with pytest.raises(RecordError, match=r"metrics\.parquet: cannot read the metrics table"):
        render_report(run)
    write_table(metrics_table([]).drop_columns(["psnr_y"]), run.metrics)
    with pytest.raises(RecordError, match="metrics.parquet: not a valid metrics table: column.s. psnr_y missing"):
        render_report(run)
    write_table(metrics_table([]), run.metrics)
    run.run_json.write_text("[1, 2]")
    with pytest.raises(RecordError, match="run.json"):
        render_report(run)
    result = CliRunner().invoke(app, ["report", str(run.path)])
    assert result.exit_code == 1 and "run.json" in result.output


def test_failure_and_stage_records_round_trip(tmp_path):
    run = RunDir(tmp_path, "night-1")
    run.write_stages(StageProgress(run_id="night-1", preset="smoke", stage="train-srgan",
                                   stages_done=["config", "download"], wall_times={"download": 1.5}))
    assert run.read_stages().stages_done == ["config", "download"]
    run.write_failure(FailureRecord(run_id="night-1", stage="train-srgan", error_type="MemoryError", error="OOM"))
    assert run.read_failure().stage == "train-srgan"
    run.failure.write_text(json.dumps({"run_id": "night-1", "stages_done": "download"}))
    with pytest.raises(RecordError, match="failure.json: not a valid failure record: field 'stages_done'"):
        run.read_failure()


def test_a_wrong_shape_registry_is_a_named_error(tmp_path):
    path = layout.registry_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"models": [{"name": "srcnn", "path": "x.keras"}]}))
    with pytest.raises(RecordError, match=r"registry\.json: not a valid model registry: field 'models\.0\.label'"):
        list_models(tmp_path)
    path.write_text(json.dumps({"models": {"srcnn": 1}}))
    with pytest.raises(RecordError, match="field 'models'"):
        resolve_model(tmp_path, "srcnn")
    # evaluate stops with the file named instead of scoring bicubic alone
    result = CliRunner().invoke(app, ["evaluate", "--preset", "smoke", "--data-dir", str(tmp_path),
                                      "--reports-dir", str(tmp_path / "reports")])
    assert result.exit_code == 1 and "registry.json: not a valid model registry" in result.output
    assert not (tmp_path / "reports" / "index.html").exists()


def test_registry_paths_must_stay_inside_the_data_dir(smoke_config, exported):
    data_dir = smoke_config.data_dir
    register_export(data_dir, exported)
    path = layout.registry_path(data_dir)
    path.write_text(json.dumps({"models": [{"name": "srcnn", "label": "SRCNN", "step": 5, "path": "../../x.keras",
                                            "sidecar": "../../x.json"}]}))
    with pytest.raises(RecordError, match="entry 'srcnn step 5' points outside the data dir"):
        resolve_model(data_dir, "srcnn")


def test_a_truncated_export_is_not_reused_and_shows_as_broken(smoke_config, exported):
    data_dir = smoke_config.data_dir
    register_export(data_dir, exported)
    sidecar = read_sidecar(exported.path)
    assert sidecar.keras_size == exported.path.stat().st_size and len(sidecar.keras_sha256) == 64
    assert find_export(smoke_config, "srcnn", 5) == exported
    assert [e.status for e in list_models(data_dir)] == ["ok"]

    data = exported.path.read_bytes()
    exported.path.write_bytes(data[: len(data) // 2])
    assert find_export(smoke_config, "srcnn", 5) is None
    (entry,) = list_models(data_dir)
    assert entry.status.startswith("broken: size") and entry.exists
    output = CliRunner().invoke(app, ["models", "--data-dir", str(data_dir)]).output
    assert "(broken: size" in output
    exported.path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit changed
    assert find_export(smoke_config, "srcnn", 5) is None
    assert list_models(data_dir)[0].status == "broken: checksum differs from the sidecar's (damaged or replaced)"


@pytest.fixture(scope="module")
def prefect_api(request):
    from helpers_prefect import ensure_prefect_harness

    ensure_prefect_harness(request)


def test_the_failure_hook_finds_a_generated_run_id_through_the_run_folders_stage_record(prefect_api, tmp_path):
    """No run_id parameter: the hook finds the run folder whose stages.json names this flow run."""
    from flows.stages import benchmark
    from sr_core.config import load_config

    cfg = load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    layout.registry_path(cfg.data_dir).parent.mkdir(parents=True)
    layout.registry_path(cfg.data_dir).write_text('{"models": "not a list"}')  # fails stage 'models'
    state = benchmark(config=cfg, return_state=True)
    assert state.is_failed()
    (folder,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    run = RunDir.at(folder)
    assert folder.name.startswith("smoke-")
    progress, failure = run.read_stages(), run.read_failure()
    assert progress.flow_run_id == failure.flow_run_id == str(state.state_details.flow_run_id)
    assert failure.stage == progress.stage == "models" and failure.stages_done == ["config"]
    assert failure.error_type == "RecordError" and "registry.json" in failure.error
