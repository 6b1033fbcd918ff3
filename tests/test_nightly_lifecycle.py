"""Three real nights of the smoke flow on one data dir: every night retrains; --reuse-models reuses
only identical models; provenance and "what changed" reach run.json, sidecars, registry and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers_prefect import ensure_prefect_harness, flow_run_artifacts
from sr_core import layout
from sr_core.config import load_config
from sr_core.export import read_sidecar
from sr_core.runrecords import RunDir

pytestmark = pytest.mark.slow

MODELS = ("srcnn", "srresnet", "srgan")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, request):
    ensure_prefect_harness(request)
    roots = tmp_path_factory.mktemp("nights")
    return load_config("smoke", ["train.keep_runs=2"], data_dir=roots / "data", reports_dir=roots / "reports")


@pytest.fixture(scope="module")
def nights(smoke):
    """Night 1 and night 2 as a scheduled nightly runs them; night 3 with reuse_models."""
    from flows.nightly import nightly

    states = [nightly(config=smoke, return_state=True), nightly(config=smoke, return_state=True),
              nightly(config=smoke, reuse_models=True, return_state=True)]
    for state in states:
        assert state.is_completed(), state.message
    return [state.result() for state in states]


def _record(smoke, result):
    return RunDir(smoke.reports_dir, result["run_id"]).read_run()


def test_the_second_night_trains_its_configured_steps_into_its_own_checkpoints(smoke, nights):
    first, second = _record(smoke, nights[0]), _record(smoke, nights[1])
    for name in MODELS:
        steps = getattr(smoke, name).steps
        for record in (first, second):
            trained = record.trained[name]
            assert (trained.origin, trained.step, trained.steps_trained, trained.resumed_from_step) == (
                "trained", steps, steps, None), (record.run_id, name)
            assert trained.seconds_trained > 0
            sidecar = read_sidecar(trained.path)
            assert sidecar.run_id == record.run_id and sidecar.step == steps
        assert first.trained[name].path != second.trained[name].path  # night 2 exported its own model
        ckpt = layout.checkpoint_dir(smoke, name, second.run_id) / "ckpt"  # night 1's: pruned by night 3
        assert (ckpt / "checkpoint").is_file() and (ckpt / f"ckpt-{steps}.index").is_file(), ckpt
    report = RunDir(smoke.reports_dir, second.run_id).report.read_text()
    assert f"trained tonight: {smoke.srcnn.steps} steps in" in report
    assert "What changed since the previous comparable night" in report
    assert f"Compared with {first.run_id}." in report
    assert "Nothing changed: same code, config, packages, data and hardware." in report
    assert "No comparable previous night" in RunDir(smoke.reports_dir, first.run_id).report.read_text()


def test_the_third_night_with_reuse_models_reuses_the_second_nights_exports(smoke, nights):
    second, third = _record(smoke, nights[1]), _record(smoke, nights[2])
    for name in MODELS:
        reused = third.trained[name]
        assert (reused.origin, reused.run_id, reused.path) == ("reused", second.run_id, second.trained[name].path)
        assert third.methods[name].model_path == second.trained[name].path  # it scored that export
    exports = {name: sorted((layout.models_dir(smoke) / name).iterdir()) for name in MODELS}
    assert all(len(folders) == 2 for folders in exports.values())  # nights 1 and 2 only
    report = RunDir(smoke.reports_dir, third.run_id).report.read_text()
    assert f"reused from run {second.run_id}" in report
    state_id = third.prefect["flow_run_id"]
    summary = next(a for a in flow_run_artifacts(state_id) if a.key == "srbench-smoke-summary")
    assert f"- srcnn: reused from run {second.run_id}" in summary.data
    assert "## What changed since the previous comparable night" in summary.data


def test_provenance_reaches_run_json_sidecars_and_registry_entries(smoke, nights):
    from sr_core.provenance import code_fingerprint
    from sr_core.registry import read_view

    second = _record(smoke, nights[1])
    assert second.provenance.code_fingerprint == code_fingerprint()
    assert second.provenance.packages["tensorflow"] and second.provenance.host
    assert second.validation_set and second.data_fingerprint == smoke.data_fingerprint()
    sidecar = read_sidecar(second.trained["srgan"].path)
    assert sidecar.provenance.code_fingerprint == code_fingerprint()
    assert sidecar.prefect["flow_run_id"] == second.prefect["flow_run_id"]
    assert sidecar.preset == "smoke" and sidecar.config_fingerprint == smoke.fingerprint()
    assert sidecar.init["kind"] == "srresnet" and sidecar.init["run_id"] == second.run_id
    entries = {(e.name, e.run_id): e for e in read_view(smoke.data_dir).exports.values()}
    entry = entries[("srgan", second.run_id)]
    assert entry.provenance == sidecar.provenance and entry.prefect == sidecar.prefect
    on_disk = json.loads(Path(second.trained["srcnn"].sidecar).read_text())
    assert on_disk["provenance"]["code_fingerprint"] == code_fingerprint()


def test_retention_keeps_the_last_runs_checkpoints(smoke, nights):
    runs = {p.name for p in (layout.checkpoints_root(smoke.data_dir) / "runs").iterdir()}
    assert runs == {nights[1]["run_id"], nights[2]["run_id"]}  # train.keep_runs=2: night 1's are gone


def test_a_changed_code_fingerprint_prevents_reuse(smoke, nights, monkeypatch):
    from flows.stages import train
    from sr_core import provenance

    monkeypatch.setattr(provenance, "code_fingerprint", lambda *a, **k: "edited-source")
    result = train(config=smoke, models=["srcnn"], reuse_models=True)
    assert result["srcnn"]["origin"] == "trained"
    assert result["srcnn"]["steps_trained"] == smoke.srcnn.steps
    assert read_sidecar(result["srcnn"]["path"]).provenance.code_fingerprint == "edited-source"
    again = train(config=smoke, models=["srcnn"], reuse_models=True)  # that export is now the identical one
    assert again["srcnn"]["origin"] == "reused" and again["srcnn"]["path"] == result["srcnn"]["path"]
