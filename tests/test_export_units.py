"""The TensorFlow-free half of :mod:`sr_core.export`, value by value: sidecar paths and reading, the
integrity check of an export against its sidecar, ``find_export``'s reuse rules, and the folder and
sidecar ``export_model`` writes.

``export_model`` is driven here by a stand-in whose ``save`` writes known bytes, with the TensorFlow
version lookup replaced, so that its bookkeeping (folder name, checksum, every sidecar field, the
all-or-nothing folder) runs in mutmut's forked, TensorFlow-free runs. Saving and reloading real Keras
models is tested in tests/test_export_registry.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest

from sr_core import __version__, catalog, export, layout
from sr_core.export import ExportResult, export_problem, find_export, read_sidecar, sidecar_path
from sr_core.provenance import Provenance
from sr_core.runrecords import ExportSidecar, RecordError, file_digest, write_record

PROVENANCE = Provenance(code_fingerprint="c0de", host="builder", platform="Linux-x86_64")


def test_the_sidecar_of_a_keras_file_is_the_json_beside_it():
    assert sidecar_path("a/srcnn.keras") == Path("a/srcnn.json")
    assert sidecar_path(Path("a/srcnn.json")) == Path("a/srcnn.json")
    assert sidecar_path("a/b.keras.d/model") == Path("a/b.keras.d/model")
    assert sidecar_path("a/srcnn.h5") == Path("a/srcnn.h5")


def test_read_sidecar_reads_from_the_model_or_the_sidecar_and_names_what_is_wrong(tmp_path):
    keras_file = tmp_path / "srcnn.keras"
    with pytest.raises(RecordError) as caught:
        read_sidecar(keras_file)
    assert (caught.value.path, caught.value.problem) == (
        tmp_path / "srcnn.json", "no sidecar next to the model; was it exported by srbench?")
    (tmp_path / "srcnn.json").mkdir()
    with pytest.raises(RecordError, match="no sidecar next to the model"):
        read_sidecar(keras_file)
    (tmp_path / "srcnn.json").rmdir()
    sidecar = ExportSidecar(name="srcnn", label="SRCNN", step=4, metrics={"psnr_y": 25.5}, keras_size=3)
    write_record(tmp_path / "srcnn.json", sidecar)
    assert read_sidecar(keras_file) == sidecar
    assert read_sidecar(tmp_path / "srcnn.json") == sidecar
    (tmp_path / "srcnn.json").write_text('{"label": "SRCNN", "step": "four"}')
    with pytest.raises(RecordError) as caught:
        read_sidecar(str(keras_file))
    assert caught.value.problem == ("not a valid model sidecar: field 'step': input should be a valid integer, "
                                    "unable to parse string as an integer")


def test_export_problem_compares_the_file_with_its_sidecar(tmp_path):
    keras_file = tmp_path / "m.keras"
    meta = ExportSidecar(label="M", step=1)
    assert export_problem(keras_file, meta) == "file missing"
    keras_file.write_bytes(b"12345")
    sha256, size = file_digest(keras_file)
    assert export_problem(keras_file, meta) is None  # unverified: nothing to compare with
    assert export_problem(str(keras_file), meta.model_copy(update={"keras_sha256": sha256, "keras_size": size})) is None
    assert export_problem(keras_file, meta.model_copy(update={"keras_size": 6})) == \
        "size 5 bytes, the sidecar says 6 (truncated?)"
    assert export_problem(keras_file, meta.model_copy(update={"keras_size": 0, "keras_sha256": "0" * 64})) == \
        "size 5 bytes, the sidecar says 0 (truncated?)"
    assert export_problem(keras_file, meta.model_copy(update={"keras_sha256": "0" * 64})) == \
        "checksum differs from the sidecar's (damaged or replaced)"
    assert export_problem(keras_file, meta.model_copy(update={"keras_sha256": "0" * 64, "keras_size": 5})) == \
        "checksum differs from the sidecar's (damaged or replaced)"
    (tmp_path / "d.keras").mkdir()
    assert export_problem(tmp_path / "d.keras", meta) == "file missing"


def _export_folder(cfg, name: str, stamp: str, *, step: int, run_id: str | None, checksum: bool = True,
                   fingerprint: str | None = None, metrics: dict | None = None) -> tuple[Path, Path]:
    folder = layout.models_dir(cfg) / name / f"{stamp}-{fingerprint or cfg.model_fingerprint(name)}"
    folder.mkdir(parents=True)
    keras_file, sidecar = folder / f"{name}.keras", folder / f"{name}.json"
    keras_file.write_bytes(f"{name} {stamp}".encode())
    sha256, size = file_digest(keras_file)
    write_record(sidecar, ExportSidecar(name=name, label=f"{name.upper()} {stamp}", step=step, run_id=run_id,
                                        metrics=metrics or {"psnr_y": 24.5}, seconds=12.5,
                                        keras_sha256=sha256 if checksum else None,
                                        keras_size=size if checksum else None))
    return keras_file, sidecar


def test_find_export_reuses_only_an_intact_export_of_the_same_model_step_and_run(smoke_config, caplog):
    cfg = smoke_config
    assert find_export(cfg, "srcnn", 10) is None  # no models folder at all
    older = _export_folder(cfg, "srcnn", "20260101T000000000000Z", step=10, run_id="night-1")
    newer = _export_folder(cfg, "srcnn", "20260102T000000000000Z", step=10, run_id="night-1",
                           metrics={"psnr_y": 26.0, "ssim_y": 0.8})
    _export_folder(cfg, "srcnn", "20260103T000000000000Z", step=10, run_id="night-1", fingerprint="0" * 12)
    _export_folder(cfg, "srcnn", "20260104T000000000000Z", step=20, run_id="night-1")
    _export_folder(cfg, "srcnn", "20260105T000000000000Z", step=10, run_id="night-2")
    _export_folder(cfg, "srcnn", "20260106T000000000000Z", step=10, run_id=None)
    found = find_export(cfg, "srcnn", 10, run_id="night-1")
    assert found == ExportResult("srcnn", "SRCNN 20260102T000000000000Z", newer[0], newer[1], 10,
                                 {"psnr_y": 26.0, "ssim_y": 0.8}, 12.5, run_id="night-1")
    assert find_export(cfg, "srcnn", 10).path.parent.name.startswith("20260106T")
    assert find_export(cfg, "srcnn", 20, run_id="night-1").path.parent.name.startswith("20260104T")
    assert find_export(cfg, "srcnn", 30, run_id="night-1") is None
    assert find_export(cfg, "srgan", 10, run_id="night-1") is None

    # The newer one damaged, unverified, without its sidecar or without its model: the older one is used.
    caplog.set_level(logging.WARNING, logger="sr_core.export")
    newer[0].write_bytes(b"x" * newer[0].stat().st_size)
    assert find_export(cfg, "srcnn", 10, run_id="night-1").path == older[0]
    assert caplog.messages == [f"not reusing the export {newer[0]}: checksum differs from the sidecar's (damaged or "
                               "replaced); exporting again"]
    caplog.clear()
    write_record(newer[1], ExportSidecar(label="SRCNN", step=10, run_id="night-1"))
    assert find_export(cfg, "srcnn", 10, run_id="night-1").path == older[0]
    assert caplog.messages == [f"not reusing the export {newer[0]}: no checksum recorded; exporting again"]
    caplog.clear()
    newer[1].write_text("{")
    assert find_export(cfg, "srcnn", 10, run_id="night-1").path == older[0]
    assert len(caplog.messages) == 1
    assert re.fullmatch(rf"not reusing {re.escape(str(newer[0]))}: {re.escape(str(newer[1]))}: the model sidecar is "
                        r"not valid JSON \(.*\); was it cut short\?", caplog.messages[0])
    caplog.clear()
    newer[1].unlink()
    assert find_export(cfg, "srcnn", 10, run_id="night-1").path == older[0]
    older[0].unlink()
    assert find_export(cfg, "srcnn", 10, run_id="night-1") is None
    assert caplog.messages == []


class SavingModel:
    """Stands in for a Keras model: ``save`` writes known bytes (or fails half-way)."""

    def __init__(self, payload: bytes = b"keras zip bytes", fail: bool = False):
        self.payload, self.fail, self.saved_to = payload, fail, None

    def save(self, path):
        self.saved_to = Path(path)
        Path(path).write_bytes(self.payload[:4])
        if self.fail:
            raise OSError("disk full")
        Path(path).write_bytes(self.payload)


@pytest.fixture
def fake_versions(monkeypatch):
    monkeypatch.setattr(export, "framework_versions", lambda: {"tensorflow": "9.9.9", "keras": "8.8.8"})


def test_export_model_writes_the_model_and_a_complete_sidecar_into_a_new_folder(smoke_config, fake_versions):
    cfg = smoke_config
    model = SavingModel()
    before = dt.datetime.now(dt.timezone.utc)
    result = export.export_model(model, cfg, "srcnn", step=7, metrics={"psnr_y": 25, "ssim_y": 0.75}, seconds=3,
                                 run_id="night-1", provenance=PROVENANCE, init={"kind": "scratch"},
                                 prefect={"flow_run_id": "f1"})
    after = dt.datetime.now(dt.timezone.utc)
    fingerprint = cfg.model_fingerprint("srcnn")
    folder = result.path.parent
    assert folder.parent == layout.models_dir(cfg) / "srcnn"
    assert re.fullmatch(rf"\d{{8}}T\d{{12}}Z-{fingerprint}", folder.name)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no staging folder left
    assert sorted(p.name for p in folder.iterdir()) == ["srcnn.json", "srcnn.keras"]
    label = catalog.model_spec("srcnn").label_for(cfg)
    assert result == ExportResult("srcnn", label, folder / "srcnn.keras", folder / "srcnn.json", 7,
                                  {"psnr_y": 25.0, "ssim_y": 0.75}, 3.0, run_id="night-1")
    assert type(result.seconds) is float and type(result.metrics["psnr_y"]) is float
    assert result.path.read_bytes() == b"keras zip bytes"
    assert model.saved_to.name == "srcnn.keras" and model.saved_to.parent != folder  # saved into the staging folder
    meta = read_sidecar(result.path)
    created = dt.datetime.fromisoformat(meta.created_at)
    assert before <= created <= after and created.utcoffset() == dt.timedelta(0)
    assert folder.name.startswith(created.strftime("%Y%m%dT%H%M%S%fZ"))
    assert meta.model_dump(exclude={"created_at"}) == {
        "name": "srcnn", "label": label, "step": 7, "scale": 4, "model_fingerprint": fingerprint,
        "data_fingerprint": cfg.data_fingerprint(), "metrics": {"psnr_y": 25.0, "ssim_y": 0.75}, "seconds": 3.0,
        "versions": {"tensorflow": "9.9.9", "keras": "8.8.8", "srbench": __version__}, "keras_file": "srcnn.keras",
        "keras_sha256": file_digest(result.path)[0], "keras_size": 15, "config": cfg.model_dump(mode="json"),
        "run_id": "night-1", "preset": "smoke", "config_fingerprint": cfg.fingerprint(),
        "provenance": PROVENANCE.model_dump(), "init": {"kind": "scratch"}, "prefect": {"flow_run_id": "f1"}}
    assert export_problem(result.path, meta) is None


def test_export_model_defaults_collect_provenance_and_leave_no_folder_when_saving_fails(smoke_config, fake_versions,
                                                                                         monkeypatch):
    cfg = smoke_config
    monkeypatch.setattr(export, "collect", lambda: PROVENANCE.model_copy(update={"host": "collected"}))
    result = export.export_model(SavingModel(b"xyz"), cfg, "srgan", step=2)
    meta = read_sidecar(result.sidecar)
    assert (meta.metrics, meta.seconds, meta.run_id, meta.init, meta.prefect, meta.provenance.host) == (
        {}, 0.0, None, None, {}, "collected")
    assert (result.label, result.metrics, result.seconds, result.run_id) == (meta.label, {}, 0.0, None)
    assert result.path.parent.name.endswith(f"-{cfg.model_fingerprint('srgan')}")
    second = export.export_model(SavingModel(b"abc"), cfg, "srgan", step=3)  # the model's folder exists now
    assert second.path.parent != result.path.parent and second.path.read_bytes() == b"abc"
    with pytest.raises(OSError, match="disk full"):
        export.export_model(SavingModel(fail=True), cfg, "srresnet", step=2)
    assert list((layout.models_dir(cfg) / "srresnet").iterdir()) == []
    with pytest.raises(ValueError):
        export.export_model(SavingModel(), cfg, "espcn", step=2)
    assert not (layout.models_dir(cfg) / "espcn").exists()
