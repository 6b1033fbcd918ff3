"""A night's life cycle without a flow: run-scoped checkpoints and retention, what decides reuse,
the warm start, what changed since the previous comparable night, and a run id stable across retries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sr_core import layout, lifecycle
from sr_core.config import load_config
from sr_core.provenance import Provenance
from sr_core.runrecords import Changes, ExportSidecar, RunDir, RunRecord, TrainedModel


def _cfg(tmp_path: Path, *overrides: str):
    return load_config("smoke", list(overrides), data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")


# --------------------------------------------------------------------------------------------------
# Checkpoints and retention


def test_a_night_keys_its_checkpoints_by_run_id_and_srbench_train_by_fingerprint(tmp_path):
    cfg = _cfg(tmp_path)
    night = layout.checkpoint_dir(cfg, "srcnn", "smoke-20261128T020000000000Z")
    assert night == (tmp_path / "data" / "checkpoints" / "runs" / "smoke-20261128T020000000000Z"
                     / f"srcnn-{cfg.model_fingerprint('srcnn')}")
    assert layout.checkpoint_dir(cfg, "srcnn", "smoke-other") != night  # a new night starts fresh
    assert layout.checkpoint_dir(cfg, "srcnn") == tmp_path / "data" / "checkpoints" / f"srcnn-{cfg.model_fingerprint('srcnn')}"
    with pytest.raises(ValueError, match="single safe folder name"):
        layout.checkpoint_dir(cfg, "srcnn", "../escape")


def test_retention_keeps_the_newest_runs_and_never_the_current_one(tmp_path):
    data = tmp_path / "data"
    for n, run_id in enumerate(["r1", "r2", "r3", "r4"]):
        folder = lifecycle.start_run_checkpoints(data, run_id)
        (folder / lifecycle.STARTED_FILE).write_text(f"2026-11-2{n}T02:00:00+00:00\n")
        (folder / "srcnn-x").mkdir()
    # r1 is the oldest, but it is the night running now (a resumed run): it stays.
    removed = lifecycle.prune_run_checkpoints(data, keep=2, current_run_id="r1")
    left = sorted(p.name for p in (data / "checkpoints" / "runs").iterdir())
    assert left == ["r1", "r4"] and sorted(p.name for p in removed) == ["r2", "r3"]
    assert lifecycle.prune_run_checkpoints(data, keep=2, current_run_id="r5") == []  # r5 not started yet
    assert lifecycle.prune_run_checkpoints(data, keep=1, current_run_id="r4") == [data / "checkpoints" / "runs" / "r1"]


def test_reopening_a_run_keeps_its_start_time(tmp_path):
    folder = lifecycle.start_run_checkpoints(tmp_path, "r1")
    (folder / lifecycle.STARTED_FILE).write_text("2026-01-01T00:00:00+00:00\n")
    lifecycle.start_run_checkpoints(tmp_path, "r1")
    assert (folder / lifecycle.STARTED_FILE).read_text() == "2026-01-01T00:00:00+00:00\n"


def test_retention_and_init_settings_decide_fingerprints_as_documented(tmp_path):
    base = _cfg(tmp_path)
    assert _cfg(tmp_path, "train.keep_runs=9").model_fingerprint("srcnn") == base.model_fingerprint("srcnn")
    assert _cfg(tmp_path, "train.init=scratch").model_fingerprint("srcnn") == base.model_fingerprint("srcnn")
    assert _cfg(tmp_path, "train.init=champion").model_fingerprint("srcnn") != base.model_fingerprint("srcnn")
    with pytest.raises(ValueError):
        _cfg(tmp_path, "train.init=yesterday")
    with pytest.raises(ValueError):
        _cfg(tmp_path, "train.keep_runs=0")


# --------------------------------------------------------------------------------------------------
# What decides reuse


def _sidecar(cfg, **changes) -> ExportSidecar:
    fields = dict(label="SRCNN", step=cfg.srcnn.steps, model_fingerprint=cfg.model_fingerprint("srcnn"),
                  data_fingerprint=cfg.data_fingerprint(), versions={"tensorflow": "2.20.0", "keras": "3.12.0"},
                  provenance=Provenance(code_fingerprint="c0de", host="h", platform="p"), init=None)
    fields.update(changes)
    return ExportSidecar(**fields)


@pytest.mark.parametrize("change, reason", [
    ({}, None),
    ({"step": 3}, "it has 3 steps, the config asks for 4"),
    ({"model_fingerprint": "other"}, "model_fingerprint other != "),
    ({"data_fingerprint": "other"}, "data_fingerprint other != "),
    ({"provenance": Provenance(code_fingerprint="edited", host="h", platform="p")}, "code_fingerprint edited != c0de"),
    ({"provenance": None}, "code_fingerprint None != c0de"),
    ({"versions": {"tensorflow": "2.19.0", "keras": "3.12.0"}}, "tensorflow 2.19.0 != 2.20.0"),
    ({"versions": {"tensorflow": "2.20.0", "keras": "3.11.0"}}, "keras 3.11.0 != 3.12.0"),
    ({"init": {"kind": "srresnet", "sha256": "abc"}}, "init_sha256 abc != None"),
])
def test_reuse_needs_every_deciding_input_identical(tmp_path, change, reason):
    cfg = _cfg(tmp_path)
    wanted = lifecycle.reuse_key(cfg, "srcnn", Provenance(code_fingerprint="c0de", host="x", platform="y"),
                                 {"tensorflow": "2.20.0", "keras": "3.12.0"}, None)
    problem = lifecycle.reuse_problem(wanted, _sidecar(cfg, **change), cfg.srcnn.steps)
    if reason is None:
        assert problem is None  # host and platform do not decide a model
    else:
        assert problem is not None and reason in problem


def test_trained_tonight_and_reused_from_read_as_the_report_shows_them():
    assert TrainedModel(step=4, steps_trained=4, seconds_trained=2.25).describe() == "trained tonight: 4 steps in 2.2 s"
    assert (TrainedModel(step=8, steps_trained=8, seconds_trained=3.0, resumed_from_step=4).describe()
            == "trained tonight: 8 steps in 3.0 s (resumed at step 4)")
    assert TrainedModel(origin="reused", run_id="smoke-1").describe() == "reused from run smoke-1"


# --------------------------------------------------------------------------------------------------
# What changed since the previous comparable night


def _prov(**changes) -> Provenance:
    fields = dict(git_commit="a" * 40, git_dirty=False, code_fingerprint="f1", host="gpu-1", platform="Linux",
                  cpu="Xeon x2", gpus=["H100"], packages={"tensorflow": "2.20.0", "numpy": "2.1.0"},
                  cuda="12.5", cudnn="9")
    fields.update(changes)
    return Provenance(**fields)


def _write_run(reports: Path, run_id: str, started: str, *, preset="smoke", dataset="sample", images="v1",
               report=True, provenance=None, config=None, data_fp="d1") -> RunRecord:
    run = RunDir(reports, run_id)
    run.path.mkdir(parents=True, exist_ok=True)
    record = RunRecord(run_id=run_id, started_at=started, preset=preset, dataset=dataset, validation_set=images,
                       provenance=provenance or _prov(), config=config or {"srcnn": {"steps": 4}},
                       data_fingerprint=data_fp)
    run.write_run(record)
    if report:
        run.report.write_text("<html></html>")
    return record


def test_the_previous_comparable_night_has_the_same_preset_dataset_and_images(tmp_path):
    reports = tmp_path / "reports"
    _write_run(reports, "a", "2026-11-25T02:00:00+00:00")
    _write_run(reports, "b", "2026-11-26T02:00:00+00:00")
    _write_run(reports, "other-images", "2026-11-27T01:00:00+00:00", images="v2")
    _write_run(reports, "other-preset", "2026-11-27T01:00:00+00:00", preset="quick")
    _write_run(reports, "other-dataset", "2026-11-27T01:00:00+00:00", dataset="folder:x")
    _write_run(reports, "failed", "2026-11-27T01:30:00+00:00", report=False)
    _write_run(reports, "later", "2026-11-29T02:00:00+00:00")
    tonight = _write_run(reports, "tonight", "2026-11-27T02:00:00+00:00", report=False)
    assert lifecycle.previous_comparable_run(reports, tonight).run_id == "b"
    first = _write_run(reports, "first-quick-v3", "2026-11-27T02:00:00+00:00", preset="quick", images="v3")
    assert lifecycle.previous_comparable_run(reports, first) is None
    lines = lifecycle.describe_changes(lifecycle.changes_since(None, first))
    assert lines == ["No comparable previous night (same preset, dataset and validation images): nothing to compare."]


def test_the_previous_comparable_night_is_found_on_a_shared_reports_root():
    """Workers publish their run folders to a shared root (a URL); the previous night may be another
    worker's, so the search reads the root, not this worker's local folder."""
    import uuid

    from sr_core.store import PUBLISHED_MARKER, Store

    root = f"memory://srbench-{uuid.uuid4().hex}"
    store = Store(root)
    for run_id, started in [("worker-a", "2026-11-26T02:00:00+00:00"), ("worker-b", "2026-11-27T01:00:00+00:00")]:
        record = RunRecord(run_id=run_id, started_at=started, preset="div2k", dataset="div2k", validation_set="v")
        store.write_text(f"{run_id}/run.json", record.model_dump_json())
        store.write_text(f"{run_id}/report.html", "<html></html>")
        store.write_text(f"{run_id}/{PUBLISHED_MARKER}", run_id)  # written last by a publish
    late = RunRecord(run_id="unpublished", started_at="2026-11-27T01:30:00+00:00", preset="div2k",
                     dataset="div2k", validation_set="v")
    store.write_text("unpublished/run.json", late.model_dump_json())  # upload cut short: no marker
    store.write_text("unpublished/report.html", "<html></html>")
    tonight = RunRecord(run_id="tonight", started_at="2026-11-27T02:00:00+00:00", preset="div2k",
                        dataset="div2k", validation_set="v")
    assert lifecycle.previous_comparable_run(root, tonight).run_id == "worker-b"


def test_what_changed_lists_commits_config_packages_data_and_hardware(tmp_path):
    reports = tmp_path / "reports"
    old = _write_run(reports, "old", "2026-11-26T02:00:00+00:00", config={"srcnn": {"steps": 4, "residual": True}})
    new = _write_run(reports, "new", "2026-11-27T02:00:00+00:00", data_fp="d2",
                     config={"srcnn": {"steps": 8, "residual": True}},
                     provenance=_prov(git_commit="b" * 40, git_dirty=True, code_fingerprint="f2", host="gpu-2",
                                      gpus=["H100", "H100"], packages={"tensorflow": "2.21.0", "numpy": "2.1.0"}))
    changes = lifecycle.changes_since(old, new)
    assert changes.previous_run_id == "old"
    assert changes.config == {"srcnn.steps": [4, 8]}
    assert changes.packages == {"tensorflow": ["2.20.0", "2.21.0"]}
    assert changes.data == ["d1", "d2"]
    assert changes.hardware == {"host": ["gpu-1", "gpu-2"], "gpus": [["H100"], ["H100", "H100"]]}
    lines = lifecycle.describe_changes(changes)
    assert lines[0] == "Compared with old."
    assert f"Code: {'a' * 10}..{'b' * 10}+dirty (code fingerprint f1 -> f2)." in lines
    assert "Config srcnn.steps: 4 -> 8." in lines
    assert "Package tensorflow: 2.20.0 -> 2.21.0." in lines
    assert "Data fingerprint: d1 -> d2." in lines
    assert "Hardware host: gpu-1 -> gpu-2." in lines

    same = lifecycle.changes_since(old, old.model_copy(update={"run_id": "again"}))
    assert isinstance(same, Changes) and same.is_empty()
    assert lifecycle.describe_changes(same)[1] == "Nothing changed: same code, config, packages, data and hardware."


def test_the_validation_set_fingerprint_ignores_order_and_sees_membership():
    assert lifecycle.validation_set_fingerprint(["b", "a"]) == lifecycle.validation_set_fingerprint(["a", "b"])
    assert lifecycle.validation_set_fingerprint(["a"]) != lifecycle.validation_set_fingerprint(["a", "b"])


# --------------------------------------------------------------------------------------------------
# A run id stable across Prefect retries of one flow run


def test_a_retried_flow_run_keeps_its_run_id(request):
    from prefect import flow

    from flows.common import flow_run_run_id
    from helpers_prefect import ensure_prefect_harness

    ensure_prefect_harness(request)

    seen: list[str] = []

    @flow(retries=1, retry_delay_seconds=0, persist_result=False)
    def flaky() -> str:
        seen.append(flow_run_run_id("smoke"))
        if len(seen) == 1:
            raise RuntimeError("first attempt fails")
        return seen[-1]

    assert flaky() == seen[0]
    flaky()
    assert len(seen) == 3 and seen[0] == seen[1] and seen[2] != seen[0]
    assert seen[0].startswith("smoke-") and os.sep not in seen[0]


# --------------------------------------------------------------------------------------------------
# train.init = "champion": warm start from the track's champion


def _train(cfg, run_id: str):
    from helpers_training import photo_patches, step_indexed_batches
    from sr_core.training import train_model
    from sr_core.training.loop import Validator

    lr, hr = photo_patches(8, seed=0)
    return train_model(cfg, "srcnn", cfg.data_dir, batches=step_indexed_batches(lr, hr, batch_size=4),
                       validator=Validator(*photo_patches(2, seed=1), scale=4), show_progress=False,
                       run_id=run_id)


def test_init_champion_warm_starts_from_the_tracks_champion_and_scratch_does_not(tmp_path):
    import numpy as np

    from sr_core.export import load_model, read_sidecar
    from sr_core.registry import champion, register_export, track_of

    data = tmp_path / "data"
    first_cfg = load_config("smoke", ["srcnn.steps=3", "srcnn.lr.initial=0.01"], data_dir=data)
    assert lifecycle.champion_export(first_cfg, "srcnn") is None  # no champion yet
    first = _train(first_cfg, "night-1")
    register_export(data, first, run_id="night-1")  # the first model of a track becomes its champion
    assert champion(data, "srcnn", track_of(first_cfg)).path.endswith(first.path.relative_to(data).as_posix())
    assert lifecycle.champion_export(first_cfg, "srcnn") == first.path
    # Another track (a different dataset) has no champion of its own.
    assert lifecycle.champion_export(load_config("smoke", ["data.dataset=folder:elsewhere"], data_dir=data),
                                     "srcnn") is None

    # A tiny learning rate: what a night ends with is (to 1e-6) what it started from.
    still = ["srcnn.steps=2", "srcnn.lr.initial=1e-12"]
    warm = _train(load_config("smoke", [*still, "train.init=champion"], data_dir=data), "night-2")
    cold = _train(load_config("smoke", still, data_dir=data), "night-3")
    champion_weights = load_model(first.path).get_weights()
    for a, b in zip(load_model(warm.path).get_weights(), champion_weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert any(not np.allclose(a, b, atol=1e-3)
               for a, b in zip(load_model(cold.path).get_weights(), champion_weights, strict=True))
    init = read_sidecar(warm.path).init
    assert (init["kind"], init["run_id"], init["path"]) == ("champion", "night-1", str(first.path))
    assert read_sidecar(cold.path).init is None and warm.init == "champion night-1" and cold.init == "scratch"


def test_srbench_run_prints_per_model_trained_tonight_or_reused_from():
    from srbench.commands.run import _summary_table

    text = _summary_table({"rows": [], "trained": {
        "srcnn": {"origin": "trained", "step": 8, "steps_trained": 8, "seconds_trained": 3.04, "resumed_from_step": 4},
        "srgan": {"origin": "reused", "run_id": "smoke-1", "step": 3}}})
    assert text.splitlines()[:2] == ["srcnn: trained tonight: 8 steps in 3.0 s (resumed at step 4)",
                                     "srgan: reused from run smoke-1"]
