"""The model registry value by value: record names and bodies, the replay, tracks and their order,
register / decide / promote / rollback, reference resolution, path confinement, the legacy
registry.json, a shared (``file://``) root, and every error message with the file it names.

Exports are real files whose sidecars are written by the project's own writer (``write_record`` of an
``ExportSidecar`` holding the file's sha256 and size), so the registry checks the same bytes it checks
after a night. TensorFlow-free, so mutmut's forked runs can use it (docs/testing.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import time
from pathlib import Path

import pytest

from sr_core import registry
from sr_core.catalog import MODEL_NAMES
from sr_core.config import load_config
from sr_core.export import ExportResult
from sr_core.provenance import Provenance
from sr_core.runrecords import (ExportRecord, ExportSidecar, PromoteRecord, RecordError, RejectRecord,
                                RollbackRecord, file_digest, write_record)

UTC = dt.timezone.utc
PROVENANCE = Provenance(code_fingerprint="c0de", host="builder", platform="Linux-x86_64", git_commit="abc123")


def make_export(root: Path, name: str, tag: str, *, preset: str | None = "smoke", dataset: str | None = "sample",
                step: int = 10, created_at: str | None = None, checksum: bool = True,
                metrics: dict | None = None) -> ExportResult:
    """``<root>/models/<name>/<tag>/<name>.keras`` (bytes unique to the tag) and its sidecar."""
    folder = Path(root) / "models" / name / tag
    folder.mkdir(parents=True, exist_ok=True)
    keras_file, sidecar = folder / f"{name}.keras", folder / f"{name}.json"
    keras_file.write_bytes(f"weights of {name} {tag}".encode())
    sha256, size = file_digest(keras_file)
    config: dict = {}
    if preset is not None:
        config["preset"] = preset
    if dataset is not None:
        config["data"] = {"dataset": dataset}
    write_record(sidecar, ExportSidecar(
        name=name, label=name.upper(), step=step, created_at=created_at, config=config,
        keras_file=keras_file.name, keras_sha256=sha256 if checksum else None, keras_size=size if checksum else None,
        model_fingerprint=f"mfp-{tag}", data_fingerprint=f"dfp-{tag}", config_fingerprint=f"cfp-{tag}",
        provenance=PROVENANCE, prefect={"flow_run_id": f"flow-{tag}"}))
    return ExportResult(name, name.upper(), keras_file, sidecar, step, metrics or {})


def register(root: Path, name: str, run_id: str | None, *, tag: str | None = None, **kw) -> ExportRecord:
    return registry.register_export(root, make_export(root, name, tag or str(run_id), **kw), run_id=run_id)


def record_files(root: Path) -> list[Path]:
    return sorted((Path(root) / "models" / "registry").glob("*.json"))


def kinds(root: Path) -> list[str]:
    return [r.kind for r in registry.read_records(root)]


DECISION = {"explanation": "challenger +0.31 dB", "action": "promote"}


# --------------------------------------------------------------------------------------------------
# Tracks and people


def test_track_names_and_the_order_tracks_are_listed_in():
    assert registry.track_name("smoke", "sample") == "smoke"
    assert registry.track_name("quick", "sample") == "quick"
    assert registry.track_name("div2k", "div2k") == "div2k"
    assert registry.track_name("div2k", "sample") == "div2k@sample"
    assert registry.track_name("quick", "div2k") == "quick@div2k"
    assert registry.track_name("quick", "folder:/home/me/photos/") == "quick@folder-photos"
    assert registry.track_name("custom", "sample") == "custom@sample"
    assert registry.track_of(load_config("smoke")) == "smoke"
    assert registry.track_of(load_config("quick", dataset="div2k")) == "quick@div2k"

    assert [registry.track_sort_key(t) for t in ("div2k", "quick", "smoke", "alpha")] == [
        (0, "div2k"), (1, "quick"), (2, "smoke"), (3, "alpha")]
    tracks = ["quick@b", "smoke", "custom@x", "quick", "alpha", "div2k"]
    assert sorted(tracks, key=registry.track_sort_key) == ["div2k", "quick", "smoke", "alpha", "custom@x", "quick@b"]


def test_whoami_is_the_configured_or_login_user_at_this_host(monkeypatch):
    host = socket.gethostname()
    monkeypatch.setenv("SRBENCH_USER", "ada")
    assert registry.whoami() == f"ada@{host}"
    monkeypatch.setenv("SRBENCH_USER", "")
    monkeypatch.setattr(registry.getpass, "getuser", lambda: "grace")
    assert registry.whoami() == f"grace@{host}"
    monkeypatch.delenv("SRBENCH_USER")
    assert registry.whoami() == f"grace@{host}"
    for error in (KeyError("uid"), OSError("no login")):
        def fail(error=error):
            raise error
        monkeypatch.setattr(registry.getpass, "getuser", fail)
        assert registry.whoami() == f"unknown@{host}"


# --------------------------------------------------------------------------------------------------
# Records on disk


def test_a_record_is_one_new_file_named_by_its_utc_time_holding_its_sorted_json(tmp_path, monkeypatch):
    at = dt.datetime(2026, 1, 2, 5, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    record = PromoteRecord(at=at, name="srcnn", track="smoke", path="models/srcnn/a/srcnn.keras", rule="manual",
                           by="ada@host", why="sharper")
    try:
        with monkeypatch.context() as local:
            local.setenv("TZ", "Asia/Tokyo")  # the name is in UTC whatever the machine's time zone
            time.tzset()
            record_id = registry._write_new(tmp_path, record)
    finally:
        time.tzset()
    assert re.fullmatch(r"20260102T030405000006Z-[0-9a-f]{8}", record_id)
    (path,) = record_files(tmp_path)
    assert path.name == f"{record_id}.json"
    text = path.read_text()
    assert json.loads(text) == record.model_dump(mode="json")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert '\n  "at": "2026-01-02T05:04:05.000006+02:00",\n' in text
    # Another record of the same instant gets another name: nothing is overwritten.
    assert registry._write_new(tmp_path, record) != record_id
    assert len(record_files(tmp_path)) == 2


def test_records_are_replayed_in_time_order_whatever_order_they_were_written_in(tmp_path):
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for minutes, name in ((30, "srgan"), (10, "srcnn"), (20, "srresnet")):
        registry._write_new(tmp_path, RejectRecord(at=base + dt.timedelta(minutes=minutes), name=name, track="smoke",
                                                   path=f"models/{name}/x/{name}.keras"))
    folder = tmp_path / "models" / "registry"
    (folder / "notes.txt").write_text("not a record")
    (folder / "old.json.bak").write_text("{}")
    (folder / "sub.json").mkdir()
    records = registry.read_records(tmp_path)
    assert [(r.name, r.kind, r.at) for r in records] == [
        ("srcnn", "reject", base + dt.timedelta(minutes=10)), ("srresnet", "reject", base + dt.timedelta(minutes=20)),
        ("srgan", "reject", base + dt.timedelta(minutes=30))]
    assert [f"{r.id}.json" for r in records] == [p.name for p in record_files(tmp_path) if p.is_file()]
    assert all(r.id.startswith("20260101T00") and not r.id.endswith(".json") for r in records)
    assert registry.read_records(tmp_path / "empty") == []


def test_a_record_that_is_not_a_known_change_names_its_file(tmp_path):
    register(tmp_path, "srcnn", "n1")
    export_file = next(p for p in record_files(tmp_path) if json.loads(p.read_text())["kind"] == "export")
    body = json.loads(export_file.read_text())
    export_file.write_text(json.dumps({**body, "step": "many"}))
    with pytest.raises(RecordError) as caught:
        registry.read_records(tmp_path)
    assert caught.value.path == export_file
    assert str(caught.value) == (
        f"{export_file}: not a valid registry record: field 'export.step': input should be a valid integer, "
        "unable to parse string as an integer; move it out of the registry folder if it is not needed")
    export_file.write_text("{\"kind\": \"export\"")
    with pytest.raises(RecordError, match=rf"^{re.escape(str(export_file))}: not a valid registry record: "
                                          r"field '\(top level\)': invalid json"):
        registry.read_records(tmp_path)


@pytest.mark.parametrize(("kind", "attr"), [("export", "path"), ("export", "sidecar"), ("promote", "path"),
                                            ("rollback", "to"), ("rollback", "path")])
def test_a_record_pointing_outside_the_data_dir_names_its_file_and_entry(tmp_path, kind, attr):
    register(tmp_path, "srcnn", "n1")
    register(tmp_path, "srcnn", "n2")
    registry.promote(tmp_path, "srcnn", "n2", "smoke", by="ada@host")
    registry.rollback(tmp_path, "srcnn", "smoke", by="ada@host")
    target = next(p for p in record_files(tmp_path) if json.loads(p.read_text())["kind"] == kind)
    target.write_text(json.dumps({**json.loads(target.read_text()), attr: "../../outside/srcnn.keras"}))
    with pytest.raises(RecordError) as caught:
        registry.read_view(tmp_path)
    assert caught.value.path == target
    assert str(caught.value) == (f"{target}: entry 'srcnn {kind}' points outside the data dir "
                                 "('../../outside/srcnn.keras'); fix or remove it")


def test_inside_keeps_paths_that_stay_in_the_data_dir_and_refuses_the_others(tmp_path):
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    source = tmp_path / "record.json"
    assert registry._inside(data, "models/a/srcnn.keras", source, "w") == "models/a/srcnn.keras"
    assert registry._inside(data, "models/../models/a.keras", source, "w") == "models/../models/a.keras"
    (data / "escape").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    absolute_inside = str(data / "models" / "a.keras")
    for rel in ("../a.keras", "models/../../a.keras", absolute_inside, "escape/a.keras", "/etc/passwd"):
        with pytest.raises(RecordError) as caught:
            registry._inside(data, rel, source, "srcnn step 3")
        assert caught.value.path == source
        assert caught.value.problem == f"entry 'srcnn step 3' points outside the data dir ({rel!r}); fix or remove it"


# --------------------------------------------------------------------------------------------------
# The view


def test_the_view_lists_exports_newest_first_with_ties_broken_by_record_id(tmp_path):
    late = register(tmp_path, "srcnn", "late", created_at="2026-01-03T00:00:00+00:00")
    register(tmp_path, "srcnn", "early", created_at="2026-01-01T00:00:00+00:00")
    tie_1 = register(tmp_path, "srcnn", "tie-1", created_at="2026-01-02T00:00:00+00:00")
    tie_2 = register(tmp_path, "srcnn", "tie-2", created_at="2026-01-02T00:00:00+00:00")
    other = register(tmp_path, "srgan", "other", created_at="2026-01-04T00:00:00+00:00", preset="quick")
    register(tmp_path, "srgan", "undated", created_at=None, preset="quick")  # its record time: today
    view = registry.read_view(tmp_path)
    assert tie_1.id < tie_2.id
    assert [e.run_id for e in view.entries()] == ["undated", "other", "late", "tie-2", "tie-1", "early"]
    assert [e.run_id for e in view.entries("srcnn")] == ["late", "tie-2", "tie-1", "early"]
    assert [e.run_id for e in view.entries(track="quick")] == ["undated", "other"]
    assert [e.run_id for e in view.entries("srgan", "smoke")] == []
    assert view.tracks() == ["quick", "smoke"]
    assert view.champion("srcnn", "smoke").entry.path == late.path
    assert view.champion("srgan", "quick").entry.path == other.path
    assert view.champion("srgan", "smoke") is None and view.champion("srcnn", "quick") is None
    assert [type(c).__name__ for c in view.champion_changes("srcnn", "smoke")] == ["PromoteRecord"]
    assert view.champion_changes("srgan", "smoke") == [] and view.champion_changes("srcnn", "quick") == []


def test_the_view_follows_promotions_rejections_rollbacks_and_re_registrations(tmp_path, caplog):
    a, b = register(tmp_path, "srcnn", "n1"), register(tmp_path, "srcnn", "n2")
    rejected = registry.record_decision(tmp_path, b, DECISION, promote=False, champion=a, evaluated_in="n2")
    view = registry.read_view(tmp_path)
    assert view.verdicts[b.path] == rejected and view.champion("srcnn", "smoke").entry.path == a.path
    promoted = registry.record_decision(tmp_path, b, DECISION, promote=True, champion=a, evaluated_in="n3")
    view = registry.read_view(tmp_path)
    champ = view.champion("srcnn", "smoke")
    assert (champ.entry.path, champ.since, champ.change) == (b.path, promoted.at, promoted)
    assert view.verdicts[b.path] == promoted
    back = registry.rollback(tmp_path, "srcnn", "smoke", by="ada@host")
    view = registry.read_view(tmp_path)
    champ = view.champion("srcnn", "smoke")
    assert (champ.entry.path, champ.since, champ.change) == (a.path, back.at, back)
    assert view.verdicts[b.path] == promoted  # a rollback is not a verdict on the export
    assert [r.kind for r in view.records] == ["export", "promote", "export", "reject", "promote", "rollback"]
    assert view.champion_changes("srcnn", "smoke") == [r for r in view.records if r.kind in ("promote", "rollback")]

    # The same export registered again by another run refreshes its entry.
    again = registry.register_export(tmp_path, ExportResult("srcnn", "SRCNN", tmp_path / a.path, tmp_path / a.sidecar,
                                                            10), run_id="n9")
    view = registry.read_view(tmp_path)
    assert view.exports[a.path].run_id == "n9" and view.exports[a.path].id == again.id
    assert len(view.exports) == 2

    # A promotion of an export nobody registered is skipped, with a warning naming it.
    ghost = registry._write_new(tmp_path, PromoteRecord(at=registry._now(), name="srcnn", track="smoke",
                                                        path="models/srcnn/ghost/srcnn.keras", rule="manual"))
    with caplog.at_level(logging.WARNING, logger="sr_core.registry"):
        view = registry.read_view(tmp_path)
    assert view.champion("srcnn", "smoke").entry.path == a.path
    assert view.verdicts["models/srcnn/ghost/srcnn.keras"].id == ghost
    assert [r.getMessage() for r in caplog.records] == [
        f"model registry: promote {ghost} names an export that was never registered (models/srcnn/ghost/srcnn.keras)"]


def test_an_export_is_ok_unverified_or_broken_for_a_named_reason(tmp_path):
    ok = register(tmp_path, "srcnn", "ok")
    register(tmp_path, "srcnn", "unverified", checksum=False)
    missing, truncated, replaced = (register(tmp_path, "srcnn", tag) for tag in ("missing", "truncated", "replaced"))
    no_sidecar, bad_sidecar = register(tmp_path, "srcnn", "no-sidecar"), register(tmp_path, "srcnn", "bad-sidecar")
    (tmp_path / missing.path).unlink()
    full = (tmp_path / truncated.path).stat().st_size
    (tmp_path / truncated.path).write_bytes(b"wei")
    size = (tmp_path / replaced.path).stat().st_size
    (tmp_path / replaced.path).write_bytes(b"x" * size)
    (tmp_path / no_sidecar.sidecar).unlink()
    (tmp_path / bad_sidecar.sidecar).write_text("{\"label\": ")
    view = registry.read_view(tmp_path)
    expected = {
        "ok": "ok", "unverified": "unverified", "missing": "file missing",
        "truncated": f"broken: size 3 bytes, the sidecar says {full} (truncated?)",
        "replaced": "broken: checksum differs from the sidecar's (damaged or replaced)",
        "no-sidecar": "broken: no sidecar next to the model; was it exported by srbench?"}
    for entry in view.entries():
        if entry.run_id == "bad-sidecar":
            assert re.fullmatch(r"broken: the model sidecar is not valid JSON \(.*\); was it cut short\?",
                                view.status(entry))
            assert not view.usable(entry)
            continue
        assert view.status(entry) == expected[entry.run_id], entry.run_id
        assert view.usable(entry) == (entry.run_id in ("ok", "unverified"))
    assert view.absolute(ok.path) == tmp_path / ok.path
    bare = registry.RegistryView(data_dir=tmp_path / "elsewhere")
    assert bare.absolute("a/b.keras") == tmp_path / "elsewhere/a/b.keras"


# --------------------------------------------------------------------------------------------------
# Writing changes


def test_register_export_records_what_the_sidecar_says_and_makes_the_first_of_a_track_champion(tmp_path):
    before = dt.datetime.now(UTC)
    result = make_export(tmp_path, "srgan", "n1", preset="quick", dataset="folder:/home/me/photos", step=7,
                         created_at="2026-01-05T00:00:00+00:00", metrics={"psnr_y": 25, "ssim_y": 0.75})
    record = registry.register_export(str(tmp_path), result, run_id="night-1")
    after = dt.datetime.now(UTC)
    assert before <= record.at <= after and record.at.utcoffset() == dt.timedelta(0)
    assert record.registered_at == record.at.isoformat()
    assert record.model_dump(exclude={"at", "registered_at"}) == {
        "kind": "export", "name": "srgan", "track": "quick@folder-photos", "label": "SRGAN",
        "path": "models/srgan/n1/srgan.keras", "sidecar": "models/srgan/n1/srgan.json", "step": 7,
        "metrics": {"psnr_y": 25.0, "ssim_y": 0.75}, "model_fingerprint": "mfp-n1", "data_fingerprint": "dfp-n1",
        "preset": "quick", "dataset": "folder:/home/me/photos", "created_at": "2026-01-05T00:00:00+00:00",
        "run_id": "night-1", "config_fingerprint": "cfp-n1", "provenance": PROVENANCE.model_dump(),
        "prefect": {"flow_run_id": "flow-n1"}, "by": None, "why": None}
    assert type(record.metrics["psnr_y"]) is float
    (export_file, promote_file) = record_files(tmp_path)
    assert record.id == export_file.stem
    assert json.loads(export_file.read_text()) == record.model_dump(mode="json")
    promotion = json.loads(promote_file.read_text())
    assert {k: promotion[k] for k in ("kind", "name", "track", "path", "run_id", "rule", "why", "replaces", "by")} == {
        "kind": "promote", "name": "srgan", "track": "quick@folder-photos", "path": "models/srgan/n1/srgan.keras",
        "run_id": "night-1", "rule": "first", "why": "first srgan model of track quick@folder-photos",
        "replaces": None, "by": None}
    assert record.at <= dt.datetime.fromisoformat(promotion["at"]) <= dt.datetime.now(UTC)

    # A second export of the track is only a challenger; one of another model is its own first.
    register(tmp_path, "srgan", "n2", preset="quick", dataset="folder:/home/me/photos")
    register(tmp_path, "srcnn", "n2", preset="quick", dataset="folder:/home/me/photos")
    assert kinds(tmp_path) == ["export", "promote", "export", "export", "promote"]


def test_register_export_without_preset_or_dataset_and_twice_for_one_run(tmp_path):
    entry = register(tmp_path, "srcnn", None, tag="t", preset=None, dataset=None)
    assert (entry.preset, entry.dataset, entry.track, entry.run_id) == ("custom", "unknown", "custom@unknown", None)
    again = registry.register_export(tmp_path, ExportResult("srcnn", "SRCNN", tmp_path / entry.path,
                                                            tmp_path / entry.sidecar, 10), run_id=None)
    assert again == entry and again.id == entry.id
    assert kinds(tmp_path) == ["export", "promote"]
    other_run = registry.register_export(tmp_path, ExportResult("srcnn", "SRCNN", tmp_path / entry.path,
                                                                tmp_path / entry.sidecar, 10), run_id="r2")
    assert other_run.id != entry.id and kinds(tmp_path) == ["export", "promote", "export"]


def test_an_export_outside_the_data_dir_is_refused_by_path(tmp_path):
    result = make_export(tmp_path / "elsewhere", "srcnn", "x")
    with pytest.raises(ValueError) as caught:
        registry.register_export(tmp_path / "data", result, run_id="r1")
    assert str(caught.value) == (f"{result.path} is outside the data dir {tmp_path / 'data'}; only exports under it "
                                 "can be registered")
    assert not (tmp_path / "data" / "models" / "registry").exists()


def test_record_decision_writes_the_verdict_with_its_numbers(tmp_path):
    champ, challenger = register(tmp_path, "srcnn", "n1"), register(tmp_path, "srcnn", "n2")
    cases = [(True, champ, PromoteRecord, "rule", champ.path), (True, None, PromoteRecord, "first", None),
             (False, champ, RejectRecord, None, champ.path), (False, None, RejectRecord, None, None)]
    for promote, current, kind, rule, seen in cases:
        before = dt.datetime.now(UTC)
        record = registry.record_decision(tmp_path, challenger, DECISION, promote=promote, champion=current,
                                          evaluated_in="night-7")
        assert type(record) is kind
        assert before <= record.at <= dt.datetime.now(UTC)
        assert (record.name, record.track, record.path, record.run_id, record.evaluated_in, record.why,
                record.decision) == ("srcnn", "smoke", challenger.path, "n2", "night-7", "challenger +0.31 dB",
                                     DECISION)
        if promote:
            assert (record.rule, record.replaces) == (rule, seen)
        else:
            assert record.champion == seen
        assert json.loads((tmp_path / "models" / "registry" / f"{record.id}.json").read_text()) == \
            record.model_dump(mode="json")
    silent = registry.record_decision(tmp_path, challenger, {"action": "reject"}, promote=False, champion=None,
                                      evaluated_in=None)
    assert (silent.why, silent.evaluated_in) == (None, None)


def test_manual_promotion_records_who_and_refuses_broken_or_current_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_USER", "ada")
    a, b = register(tmp_path, "srcnn", "n1"), register(tmp_path, "srcnn", "n2")
    broken = register(tmp_path, "srcnn", "n3")
    (tmp_path / broken.path).unlink()
    with pytest.raises(ValueError) as caught:
        registry.promote(tmp_path, "srcnn", "n3", "smoke")
    assert str(caught.value) == f"srcnn of run n3 cannot be promoted: file missing ({tmp_path / broken.path})"
    with pytest.raises(ValueError) as caught:
        registry.promote(tmp_path, "srcnn", "n1", "smoke")
    assert str(caught.value) == "srcnn of run n1 is already the champion of track smoke"
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.promote(tmp_path, "srcnn", "n2", "quick")
    assert str(caught.value) == "no srcnn export registered by run 'n2' on track quick (see 'srbench models')"

    before = dt.datetime.now(UTC)
    record = registry.promote(tmp_path, "srcnn", "n2", "smoke", why="sharper")
    assert before <= record.at <= dt.datetime.now(UTC)
    assert record.model_dump(exclude={"at"}) == {
        "kind": "promote", "name": "srcnn", "track": "smoke", "path": b.path, "run_id": "n2", "rule": "manual",
        "replaces": a.path, "by": f"ada@{socket.gethostname()}", "why": "sharper", "decision": None,
        "evaluated_in": None}
    assert registry.read_records(tmp_path)[-1] == record and record.id == record_files(tmp_path)[-1].stem
    by_hand = registry.promote(tmp_path, "srcnn", "n1", "smoke", by="grace@laptop")
    assert (by_hand.by, by_hand.why, by_hand.replaces) == ("grace@laptop", None, b.path)


def test_rollback_walks_the_reigns_back_and_says_when_it_cannot(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_USER", "ada")
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.rollback(tmp_path, "srcnn", "smoke")
    assert str(caught.value) == "track smoke has no srcnn champion to roll back"
    a = register(tmp_path, "srcnn", "n1")
    register(tmp_path, "srcnn", "q1", preset="quick")
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.rollback(tmp_path, "srcnn", "div2k")
    assert str(caught.value) == ("track div2k has no srcnn champion to roll back "
                                 "(tracks with a srcnn champion: quick, smoke)")
    with pytest.raises(ValueError) as caught:
        registry.rollback(tmp_path, "srcnn", "smoke")
    assert str(caught.value) == ("the srcnn champion of track smoke (run n1) has no predecessor to roll back to; "
                                 "promote another export with 'srbench promote'")
    # A verdict promoting the champion again starts no new reign.
    registry.record_decision(tmp_path, a, DECISION, promote=True, champion=a, evaluated_in="n1")
    with pytest.raises(ValueError, match="no predecessor"):
        registry.rollback(tmp_path, "srcnn", "smoke")

    b = register(tmp_path, "srcnn", "n2")
    registry.promote(tmp_path, "srcnn", "n2", "smoke")
    before = dt.datetime.now(UTC)
    back = registry.rollback(tmp_path, "srcnn", "smoke", why="seams")
    assert before <= back.at <= dt.datetime.now(UTC)
    assert back.model_dump(exclude={"at"}) == {"kind": "rollback", "name": "srcnn", "track": "smoke", "path": b.path,
                                               "to": a.path, "by": f"ada@{socket.gethostname()}", "why": "seams"}
    assert back.id == record_files(tmp_path)[-1].stem
    assert registry.champion(tmp_path, "srcnn", "smoke").path == a.path
    # Back at the first reign: nothing before it, even though b reigned after it.
    with pytest.raises(ValueError, match="no predecessor"):
        registry.rollback(tmp_path, "srcnn", "smoke")
    register(tmp_path, "srcnn", "n3")
    registry.promote(tmp_path, "srcnn", "n3", "smoke")
    assert registry.rollback(tmp_path, "srcnn", "smoke", by="grace@laptop").to == a.path
    assert registry.champion(tmp_path, "srcnn", "smoke").path == a.path


def test_rollback_skips_reigns_of_exports_that_were_never_registered(tmp_path):
    a = register(tmp_path, "srcnn", "n1")
    registry._write_new(tmp_path, PromoteRecord(at=registry._now(), name="srcnn", track="smoke",
                                                path="models/srcnn/ghost/srcnn.keras", rule="manual"))
    register(tmp_path, "srcnn", "n2")
    registry.promote(tmp_path, "srcnn", "n2", "smoke")
    assert registry.rollback(tmp_path, "srcnn", "smoke", by="x@y").to == a.path


def test_a_rollback_record_before_any_promotion_starts_the_reigns(tmp_path):
    a, b = make_export(tmp_path, "srcnn", "a"), make_export(tmp_path, "srcnn", "b")
    rel_a, rel_b = (str(p.path.relative_to(tmp_path)) for p in (a, b))
    side_a, side_b = (str(p.sidecar.relative_to(tmp_path)) for p in (a, b))
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    common = dict(at=t0, name="srcnn", track="smoke")
    for minutes, record in enumerate([
            ExportRecord(**common, label="SRCNN", path=rel_a, sidecar=side_a, step=1),
            ExportRecord(**common, label="SRCNN", path=rel_b, sidecar=side_b, step=1),
            RollbackRecord(**common, path=rel_b, to=rel_a),
            PromoteRecord(**common, path=rel_b, rule="manual")]):
        registry._write_new(tmp_path, record.model_copy(update={"at": t0 + dt.timedelta(minutes=minutes)}))
    view = registry.read_view(tmp_path)
    assert view.champion("srcnn", "smoke").entry.path == rel_b
    assert registry._previous_champion(view, "srcnn", "smoke") == rel_a


# --------------------------------------------------------------------------------------------------
# Resolution


def test_the_default_track_is_the_given_one_then_the_environment_then_the_preferred_champion(tmp_path, monkeypatch):
    monkeypatch.delenv("SRBENCH_TRACK", raising=False)
    view = registry.read_view(tmp_path)
    assert registry.default_track(view, "srcnn") is None
    for preset in ("custom", "smoke", "quick"):
        register(tmp_path, "srcnn", f"{preset}-1", preset=preset, dataset="sample")
    register(tmp_path, "srgan", "b", preset="custom", dataset="b")
    register(tmp_path, "srgan", "a", preset="custom", dataset="a")
    view = registry.read_view(tmp_path)
    assert registry.default_track(view, "srcnn") == "quick"
    assert registry.default_track(view, "srgan") == "custom@a"
    assert registry.default_track(view, "srresnet") is None
    assert registry.default_track(view, "srcnn", "div2k") == "div2k"
    monkeypatch.setenv("SRBENCH_TRACK", "smoke")
    assert registry.default_track(view, "srcnn") == "smoke"
    assert registry.default_track(view, "srcnn", "custom@sample") == "custom@sample"
    monkeypatch.setenv("SRBENCH_TRACK", "")
    assert registry.default_track(view, "srcnn") == "quick"


def test_model_references_split_and_are_told_from_paths():
    assert registry.split_reference("SRGAN@latest") == ("srgan", "latest")
    assert registry.split_reference("srgan@Night-1") == ("srgan", "Night-1")
    assert registry.split_reference("srgan@") == ("srgan", None)
    assert registry.split_reference("srcnn") == ("srcnn", None)
    assert registry.split_reference("srcnn@run@2") == ("srcnn", "run@2")
    assert registry.split_reference(Path("SRCNN")) == ("srcnn", None)
    for ref in ("srcnn", "SRGAN@champion", "srresnet@night-1", Path("srgan")):
        assert registry.is_model_reference(ref), ref
    for ref in ("models/srcnn", "srcnn.keras", "srcnn@x.keras", "./srgan", "srgan@runs/m", "bicubic",
                "unknown@latest"):
        assert not registry.is_model_reference(ref), ref


def test_champion_and_its_path(tmp_path):
    assert registry.champion(tmp_path, "srcnn", "smoke") is None
    assert registry.champion_path(tmp_path, "srcnn", "smoke") is None
    a = register(tmp_path, "srcnn", "n1")
    assert registry.champion(tmp_path, "srcnn", "smoke") == a
    assert registry.champion_path(str(tmp_path), "srcnn", "smoke") == tmp_path / "models/srcnn/n1/srcnn.keras"
    assert registry.champion(tmp_path, "srcnn", "quick") is None


def test_references_resolve_to_champion_latest_intact_or_a_run(tmp_path, monkeypatch):
    monkeypatch.delenv("SRBENCH_TRACK", raising=False)
    n1 = register(tmp_path, "srcnn", "n1", created_at="2026-01-01T00:00:00+00:00")
    n2 = register(tmp_path, "srcnn", "n2", created_at="2026-01-02T00:00:00+00:00")
    n3 = register(tmp_path, "srcnn", "n3", created_at="2026-01-03T00:00:00+00:00")
    q1 = register(tmp_path, "srcnn", "q1", created_at="2026-01-04T00:00:00+00:00", preset="quick")
    register(tmp_path, "srgan", "g1", created_at="2026-01-05T00:00:00+00:00")  # newer, another model
    assert registry.resolve_entry(tmp_path, "srcnn") == q1  # quick is preferred to smoke
    assert registry.resolve_entry(tmp_path, "SRCNN@champion", track="smoke") == n1
    assert registry.resolve_entry(tmp_path, "srcnn@latest") == q1
    assert registry.resolve_entry(tmp_path, "srcnn@latest", track="smoke") == n3
    assert registry.resolve_entry(tmp_path, "srcnn@n2") == n2
    assert registry.resolve_entry(tmp_path, "srcnn@n2", track="smoke") == n2
    assert registry.resolve_model(tmp_path, "srcnn@n2") == tmp_path / n2.path
    assert registry.resolve_model(str(tmp_path), "srcnn", track="smoke") == tmp_path / n1.path
    # @latest skips a broken newest export; the champion is never silently replaced.
    (tmp_path / n3.path).write_bytes(b"damaged")
    (tmp_path / q1.path).unlink()
    assert registry.resolve_entry(tmp_path, "srcnn@latest") == n2
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srcnn")
    assert str(caught.value) == (
        f"the srcnn champion of track quick (run q1) is unusable (file missing: {tmp_path / q1.path}); "
        "restore it, or `srbench rollback srcnn --track quick`")
    (tmp_path / n1.path).unlink()
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srcnn", track="smoke")
    assert str(caught.value).startswith("the srcnn champion of track smoke (run n1) is unusable (file missing: ")
    (tmp_path / n2.path).unlink()
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srcnn@latest", track="smoke")
    assert str(caught.value) == (f"no intact srcnn export in {tmp_path / 'models'} on track smoke; "
                                 "run `srbench train --model srcnn` or `srbench run`")
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srcnn@latest")
    assert str(caught.value) == (f"no intact srcnn export in {tmp_path / 'models'}; "
                                 "run `srbench train --model srcnn` or `srbench run`")


def test_a_missing_champion_says_where_it_looked_and_which_tracks_have_one(tmp_path, monkeypatch):
    monkeypatch.delenv("SRBENCH_TRACK", raising=False)
    models = tmp_path / "models"
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srgan")
    assert str(caught.value) == (f"no srgan model found in {models}: no champion on any track; run `srbench train "
                                 "--model srgan` or `srbench run`, or pick a track with --track / $SRBENCH_TRACK")
    register(tmp_path, "srgan", "s1")
    register(tmp_path, "srgan", "c1", preset="custom", dataset="x")
    register(tmp_path, "srgan", "d1", preset="div2k", dataset="div2k")
    assert registry.read_view(tmp_path).tracks() == ["div2k", "smoke", "custom@x"]
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srgan@champion", track="quick")
    assert str(caught.value) == (
        f"no srgan model found in {models}: no champion on track quick (tracks with a srgan champion: div2k, smoke, "
        "custom@x); run `srbench train --model srgan` or `srbench run`, or pick a track with --track / $SRBENCH_TRACK")
    with pytest.raises(registry.ModelNotFoundError, match=r"^no srcnn model found in .*: no champion on any track; "):
        registry.resolve_entry(tmp_path, "srcnn")


def test_an_unknown_run_lists_the_five_newest_runs_that_registered_one(tmp_path):
    for day in range(1, 8):
        register(tmp_path, "srcnn", f"r{day}", created_at=f"2026-01-0{day}T00:00:00+00:00")
    register(tmp_path, "srcnn", None, tag="by-hand", created_at="2026-01-09T00:00:00+00:00")
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srcnn@r0")
    assert str(caught.value) == ("no srcnn export registered by run 'r0'; runs that registered one: r7, r6, r5, r4, r3 "
                                 "(see 'srbench models')")
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srgan@r1")
    assert str(caught.value) == "no srgan export registered by run 'r1' (see 'srbench models')"
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_entry(tmp_path, "srcnn@r1", track="quick")
    assert str(caught.value) == "no srcnn export registered by run 'r1' on track quick (see 'srbench models')"
    # A run that registered two exports of one model: the newest.
    twice = register(tmp_path, "srcnn", "r7", tag="r7-again", created_at="2026-01-08T00:00:00+00:00")
    assert registry.resolve_entry(tmp_path, "srcnn@r7") == twice


def test_paths_resolve_to_themselves_and_anything_else_is_explained(tmp_path, monkeypatch):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    (folder / "m.keras").write_bytes(b"k")
    assert registry.resolve_model(tmp_path / "data", folder) == folder / "m.keras"
    assert registry.resolve_model(tmp_path / "data", str(folder / "m.keras")) == folder / "m.keras"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert registry.resolve_model(tmp_path / "data", "~/one/m.keras") == folder / "m.keras"
    assert registry.resolve_model(tmp_path / "data", "~/one") == folder / "m.keras"
    (folder / "n.keras").write_bytes(b"k")
    names = ", ".join(MODEL_NAMES)
    for bad in (tmp_path / "nothing.keras", "bicubic"):
        with pytest.raises(registry.ModelNotFoundError) as caught:
            registry.resolve_model(tmp_path / "data", bad)
        assert str(caught.value) == (f"'{bad}' is neither a model name ({names}, optionally with @champion, "
                                     "@latest or @<run_id>) nor an existing .keras file")
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_model(tmp_path / "data", folder)
    assert str(caught.value) == f"folder '{folder}' holds 2 .keras files (m.keras, n.keras); give the model file itself"
    (tmp_path / "empty").mkdir()
    with pytest.raises(registry.ModelNotFoundError) as caught:
        registry.resolve_model(tmp_path / "data", tmp_path / "empty")
    assert str(caught.value) == f"folder '{tmp_path / 'empty'}' holds no .keras files; give the model file itself"


def test_list_models_shows_every_export_with_its_status_champion_and_verdict(tmp_path):
    a = register(tmp_path, "srcnn", "n1", created_at="2026-01-01T00:00:00+00:00")
    b = register(tmp_path, "srcnn", "n2", created_at="2026-01-02T00:00:00+00:00")
    c = register(tmp_path, "srgan", "n3", created_at="2026-01-03T00:00:00+00:00", checksum=False)
    rejected = registry.record_decision(tmp_path, b, DECISION, promote=False, champion=a, evaluated_in="n2")
    (tmp_path / b.path).unlink()
    listed = registry.list_models(str(tmp_path))
    assert [m.run_id for m in listed] == ["n3", "n2", "n1"]
    summary = [(m.path, m.sidecar, m.exists, m.status, m.champion, (m.verdict or {}).get("kind")) for m in listed]
    assert summary == [
        (str(tmp_path / c.path), str(tmp_path / c.sidecar), True, "unverified", True, "promote"),
        (str(tmp_path / b.path), str(tmp_path / b.sidecar), False, "file missing", False, "reject"),
        (str(tmp_path / a.path), str(tmp_path / a.sidecar), True, "ok", True, "promote")]
    assert listed[1].verdict == rejected.model_dump(mode="json")
    assert listed[2].model_dump(exclude={"path", "sidecar", "exists", "status", "champion", "verdict"}) == \
        a.model_dump(exclude={"path", "sidecar"})
    assert registry.list_models(tmp_path / "empty") == []


# --------------------------------------------------------------------------------------------------
# The legacy registry.json


def _legacy_entry(tag: str, **fields) -> dict:
    return {"name": "srcnn", "label": "SRCNN", "path": f"models/srcnn/{tag}/srcnn.keras",
            "sidecar": f"models/srcnn/{tag}/srcnn.json", "step": 1, "run_id": tag, **fields}


def test_legacy_entries_become_the_oldest_records_and_each_tracks_newest_its_champion(tmp_path):
    make_export(tmp_path, "srcnn", "a", preset="smoke")
    make_export(tmp_path, "srcnn", "b", preset="quick")
    make_export(tmp_path, "srcnn", "c", preset="quick")
    make_export(tmp_path, "srcnn", "e", preset="quick")
    legacy = {"models": [
        _legacy_entry("a", preset="div2k", created_at="2025-01-01T00:00:00+00:00",
                      registered_at="2025-01-03T00:00:00+00:00"),
        _legacy_entry("b", created_at="2025-01-02T00:00:00+00:00"),
        _legacy_entry("c", registered_at="2025-01-05T00:00:00+00:00"),
        _legacy_entry("d"),  # no sidecar, no times
        _legacy_entry("e", created_at="2025-01-04T00:00:00+00:00")]}
    (tmp_path / "models" / "registry.json").write_text(json.dumps(legacy))
    records = registry.read_records(tmp_path)
    exports = [r for r in records if r.kind == "export"]
    assert [(r.id, r.run_id, r.preset, r.dataset, r.track, r.at.isoformat()) for r in exports] == [
        ("legacy-00000", "a", "div2k", "sample", "div2k@sample", "2025-01-03T00:00:00+00:00"),
        ("legacy-00001", "b", "quick", "sample", "quick", "2025-01-02T00:00:00+00:00"),
        ("legacy-00002", "c", "quick", "sample", "quick", "2025-01-05T00:00:00+00:00"),
        ("legacy-00003", "d", "custom", "unknown", "custom@unknown", "1970-01-01T00:00:00+00:00"),
        ("legacy-00004", "e", "quick", "sample", "quick", "2025-01-04T00:00:00+00:00")]
    assert [r.kind for r in records] == ["export"] * 5 + ["promote"] * 3
    assert [r.model_extra for r in exports] == [{}] * 5  # the legacy entry's own fields, no others
    promotions = [(r.track, r.path, r.run_id, r.rule, r.why, r.at) for r in records[5:]]
    why = "the newest export of its track in the legacy registry.json"
    # c has no created_at: its registration time (the newest) places it.
    assert sorted(promotions) == sorted([
        ("div2k@sample", "models/srcnn/a/srcnn.keras", "a", "first", why, exports[0].at),
        ("quick", "models/srcnn/c/srcnn.keras", "c", "first", why, exports[2].at),
        ("custom@unknown", "models/srcnn/d/srcnn.keras", "d", "first", why, exports[3].at)])
    assert registry.resolve_entry(tmp_path, "srcnn", track="quick").run_id == "c"
    assert registry.resolve_model(tmp_path, "srcnn@e") == tmp_path / "models/srcnn/e/srcnn.keras"


def test_a_damaged_legacy_registry_is_named(tmp_path):
    path = tmp_path / "models" / "registry.json"
    path.parent.mkdir(parents=True)
    path.write_text("{\"models\": [")
    with pytest.raises(RecordError) as caught:
        registry.read_records(tmp_path)
    assert (caught.value.path, caught.value.problem) == (
        path, "the model registry is not valid JSON; was it cut short?")
    path.write_text(json.dumps({"models": [_legacy_entry("a", step="x")]}))
    with pytest.raises(RecordError) as caught:
        registry.read_records(tmp_path)
    assert (caught.value.path, caught.value.problem) == (
        path, "not a valid model registry: field 'models.0.step': input should be a valid integer, unable to parse "
              "string as an integer")
    for field in ("path", "sidecar"):
        path.write_text(json.dumps({"models": [_legacy_entry("a", step=3, **{field: "../x/srcnn.keras"})]}))
        with pytest.raises(RecordError) as caught:
            registry.read_records(tmp_path)
        assert (caught.value.path, caught.value.problem) == (
            path, "entry 'srcnn step 3' points outside the data dir ('../x/srcnn.keras'); fix or remove it")


def test_a_legacy_entry_whose_sidecar_is_damaged_falls_back_to_custom(tmp_path):
    make_export(tmp_path, "srcnn", "a", preset="quick")
    (tmp_path / "models/srcnn/a/srcnn.json").write_text("{not json")
    (tmp_path / "models" / "registry.json").write_text(json.dumps({"models": [_legacy_entry("a")]}))
    (record, _) = registry.read_records(tmp_path)
    assert (record.preset, record.dataset, record.track) == ("custom", "unknown", "custom@unknown")
    assert registry._sidecar_config(tmp_path, "models/srcnn/nowhere.json") == {}
    make_export(tmp_path, "srcnn", "b", preset="quick")
    assert registry._sidecar_config(tmp_path, "models/srcnn/b/srcnn.json") == {"preset": "quick",
                                                                              "data": {"dataset": "sample"}}


# --------------------------------------------------------------------------------------------------
# A shared root (file:// URL): records there, exports mirrored in the scratch dir


def test_a_shared_root_keeps_records_remotely_and_fetches_exports_on_first_use(tmp_path, monkeypatch):
    shared, scratch = tmp_path / "shared", tmp_path / "scratch"
    shared.mkdir()
    monkeypatch.setenv("SRBENCH_SCRATCH_DIR", str(scratch))
    root = f"file://{shared}"
    (shared / "models").mkdir()
    (shared / "models" / "registry.json").write_text(json.dumps({"models": [_legacy_entry("old")]}))
    result = make_export(scratch, "srcnn", "n1")
    entry = registry.register_export(root, result, run_id="n1")
    assert entry.path == "models/srcnn/n1/srcnn.keras"
    assert [p.parent for p in record_files(shared)] == [shared / "models" / "registry"] * 2
    assert not (scratch / "models" / "registry").exists()
    assert [r.kind for r in registry.read_records(root)] == ["export", "promote"]  # the legacy file is not read
    view = registry.read_view(root)
    assert (view.data_dir, view.root) == (scratch, root)
    # Another worker: the export is on the shared root only; it is fetched into scratch when used.
    for name in ("srcnn.keras", "srcnn.json"):
        target = shared / "models/srcnn/n1" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (scratch / "models/srcnn/n1" / name).replace(target)
    assert registry.resolve_model(root, "srcnn") == scratch / entry.path
    assert (scratch / entry.path).read_bytes() == b"weights of srcnn n1"
    # An export already mirrored is used as it is, not fetched again (exports are never rewritten).
    (shared / entry.path).write_bytes(b"changed on the shared root")
    assert registry.resolve_model(root, "srcnn@n1") == scratch / entry.path
    assert (scratch / entry.path).read_bytes() == b"weights of srcnn n1"
    assert registry.list_models(root)[0].status == "ok"
    assert registry.champion_path(root, "srcnn", "smoke") == Path(root) / entry.path
    # A record pointing outside the mirror is named with its shared path's local copy.
    (export_file, _) = record_files(shared)
    export_file.write_text(json.dumps({**json.loads(export_file.read_text()), "path": "../x.keras"}))
    with pytest.raises(RecordError, match=r"entry 'srcnn export' points outside the data dir \('../x.keras'\)"):
        registry.read_view(root)


def test_known_tracks_and_describe(tmp_path):
    view = registry.read_view(tmp_path)
    assert registry._known_tracks(view, "srcnn") == ""
    register(tmp_path, "srcnn", "n1", preset="custom", dataset="z")
    register(tmp_path, "srcnn", "n2")
    register(tmp_path, "srgan", "g1", preset="quick")
    view = registry.read_view(tmp_path)
    assert registry._known_tracks(view, "srcnn") == " (tracks with a srcnn champion: smoke, custom@z)"
    entry = view.entries("srcnn", "smoke")[0]
    assert registry._describe(entry) == "run n2"
    assert registry._describe(entry.model_copy(update={"run_id": None})) == "step 10, models/srcnn/n2/srcnn.keras"


def test_a_record_that_vanishes_while_the_registry_is_read_is_skipped(tmp_path, monkeypatch):
    register(tmp_path, "srcnn", "n1")
    register(tmp_path, "srcnn", "n2")
    files = record_files(tmp_path)
    gone = f"models/registry/{files[0].name}"  # moved away by someone between listing and reading
    real_read = registry._read
    monkeypatch.setattr(registry, "_read", lambda data_dir, rel: None if rel == gone else real_read(data_dir, rel))
    assert [r.id for r in registry.read_records(tmp_path)] == [p.stem for p in files[1:]]


def test_a_manual_promotion_on_a_track_without_champion_replaces_nothing(tmp_path):
    result = make_export(tmp_path, "srcnn", "n1")
    registry._write_new(tmp_path, ExportRecord(at=registry._now(), name="srcnn", track="smoke", label="SRCNN",
                                               path="models/srcnn/n1/srcnn.keras", sidecar="models/srcnn/n1/srcnn.json",
                                               step=10, run_id="n1"))  # no first-promotion record
    assert registry.champion(tmp_path, "srcnn", "smoke") is None
    record = registry.promote(tmp_path, "srcnn", "n1", "smoke", by="ada@host")
    assert (record.replaces, record.path) == (None, "models/srcnn/n1/srcnn.keras")
    assert registry.champion_path(tmp_path, "srcnn", "smoke") == result.path
