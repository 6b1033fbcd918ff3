"""The registry as immutable change records: champions per model and track, promotion, rejection,
manual promotion and rollback, track isolation, reference resolution, the legacy registry.json,
and two writers at once losing nothing.

Exports here are real files with real sidecars (no TensorFlow needed: the registry only reads the
sidecar and checks the file), so every case runs in milliseconds.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from sr_core import registry
from sr_core.export import ExportResult
from sr_core.runrecords import RecordError
from sr_core.verdict import champion_label


def fake_export(data_dir: Path, name: str, tag: str, *, preset: str = "smoke", dataset: str = "sample",
                step: int = 10) -> ExportResult:
    """An export folder under DATA/models/<name>/<tag>/ with a .keras file and its sidecar."""
    folder = Path(data_dir) / "models" / name / tag
    folder.mkdir(parents=True, exist_ok=True)
    keras_file, sidecar = folder / f"{name}.keras", folder / f"{name}.json"
    keras_file.write_bytes(f"weights of {tag}".encode())
    sidecar.write_text(json.dumps({"name": name, "label": name.upper(), "step": step,
                                   "created_at": f"2026-01-01T00:00:{len(list(folder.parent.iterdir())):02d}+00:00",
                                   "config": {"preset": preset, "data": {"dataset": dataset}}}))
    return ExportResult(name, name.upper(), keras_file, sidecar, step)


def register(data_dir, name, run_id, **kw) -> registry.ExportRecord:
    return registry.register_export(data_dir, fake_export(data_dir, name, run_id, **kw), run_id=run_id)


DECISION = {"explanation": "numbers", "action": "promote"}


def test_the_first_model_of_a_track_becomes_champion_and_later_ones_are_challengers(tmp_path):
    first = register(tmp_path, "srgan", "night-1")
    second = register(tmp_path, "srgan", "night-2")
    assert first.track == second.track == "smoke"
    assert registry.champion(tmp_path, "srgan", "smoke").run_id == "night-1"
    assert registry.champion_path(tmp_path, "srgan", "smoke") == tmp_path / first.path
    assert registry.champion_path(tmp_path, "srgan", "div2k") is None
    assert registry.resolve_model(tmp_path, "srgan") == tmp_path / first.path
    assert registry.resolve_model(tmp_path, "SRGAN@champion") == tmp_path / first.path
    assert registry.resolve_model(tmp_path, "srgan@latest") == tmp_path / second.path
    assert registry.resolve_model(tmp_path, "srgan@night-1") == tmp_path / first.path
    assert registry.resolve_model(tmp_path, tmp_path / second.path) == tmp_path / second.path
    listed = {e.run_id: e for e in registry.list_models(tmp_path)}
    assert [e.run_id for e in registry.list_models(tmp_path)] == ["night-2", "night-1"]  # newest first
    assert listed["night-1"].champion and not listed["night-2"].champion
    assert listed["night-1"].verdict["rule"] == "first" and listed["night-2"].verdict is None
    with pytest.raises(registry.ModelNotFoundError, match="no srgan export registered by run 'night-9'.*night-2"):
        registry.resolve_model(tmp_path, "srgan@night-9")
    # Registering the same export for the same run again writes nothing.
    before = len(registry.read_records(tmp_path))
    registry.register_export(tmp_path, fake_export(tmp_path, "srgan", "night-2"), run_id="night-2")
    assert len(registry.read_records(tmp_path)) == before


def test_a_rejected_challenger_leaves_the_champion_serving_and_a_promoted_one_replaces_it(tmp_path):
    champ = register(tmp_path, "srcnn", "night-1")
    worse = register(tmp_path, "srcnn", "night-2")
    rejected = registry.record_decision(tmp_path, worse, {**DECISION, "action": "reject"}, promote=False,
                                        champion=champ, evaluated_in="night-2")
    assert rejected.kind == "reject" and rejected.champion == champ.path and rejected.evaluated_in == "night-2"
    assert registry.resolve_model(tmp_path, "srcnn") == tmp_path / champ.path
    (listed,) = [e for e in registry.list_models(tmp_path) if e.run_id == "night-2"]
    assert listed.verdict["kind"] == "reject" and listed.verdict["decision"] == {**DECISION, "action": "reject"}

    better = register(tmp_path, "srcnn", "night-3")
    promoted = registry.record_decision(tmp_path, better, DECISION, promote=True, champion=champ,
                                        evaluated_in="night-3")
    assert promoted.rule == "rule" and promoted.replaces == champ.path
    assert registry.resolve_model(tmp_path, "srcnn") == tmp_path / better.path
    assert registry.champion(tmp_path, "srcnn", "smoke").run_id == "night-3"


def test_manual_promotion_and_rollback_record_who_when_and_why(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_USER", "ada")
    a, b, c = (register(tmp_path, "srresnet", f"n{i}") for i in (1, 2, 3))
    assert registry.champion(tmp_path, "srresnet", "smoke").path == a.path
    registry.promote(tmp_path, "srresnet", "n2", "smoke", why="looks sharper")
    registry.promote(tmp_path, "srresnet", "n3", "smoke")
    assert registry.champion(tmp_path, "srresnet", "smoke").path == c.path
    with pytest.raises(ValueError, match="already the champion"):
        registry.promote(tmp_path, "srresnet", "n3", "smoke")

    back = registry.rollback(tmp_path, "srresnet", "smoke", why="n3 has seams")
    assert (back.path, back.to) == (c.path, b.path)
    assert back.by.startswith("ada@") and back.why == "n3 has seams" and back.at.tzinfo is not None
    assert registry.resolve_model(tmp_path, "srresnet") == tmp_path / b.path
    # A second rollback goes one reign further back, not back and forth between the last two.
    registry.rollback(tmp_path, "srresnet", "smoke")
    assert registry.champion(tmp_path, "srresnet", "smoke").path == a.path
    with pytest.raises(ValueError, match="no predecessor to roll back to"):
        registry.rollback(tmp_path, "srresnet", "smoke")
    manual = [r for r in registry.read_records(tmp_path) if r.kind == "promote" and r.rule == "manual"]
    assert [(r.run_id, r.why, r.by.split("@")[0]) for r in manual] == [("n2", "looks sharper", "ada"),
                                                                        ("n3", None, "ada")]
    with pytest.raises(registry.ModelNotFoundError, match="track div2k has no srresnet champion"):
        registry.rollback(tmp_path, "srresnet", "div2k")


def test_a_smoke_run_never_changes_the_div2k_champion(tmp_path, monkeypatch):
    monkeypatch.delenv("SRBENCH_TRACK", raising=False)
    gpu = register(tmp_path, "srgan", "div2k-1", preset="div2k", dataset="div2k")
    smoke1 = register(tmp_path, "srgan", "smoke-1")
    smoke2 = register(tmp_path, "srgan", "smoke-2")
    registry.record_decision(tmp_path, smoke2, DECISION, promote=True, champion=smoke1, evaluated_in="smoke-2")
    assert registry.champion(tmp_path, "srgan", "div2k").path == gpu.path
    assert registry.champion(tmp_path, "srgan", "smoke").path == smoke2.path
    assert registry.resolve_model(tmp_path, "srgan") == tmp_path / gpu.path  # the default track: div2k first
    assert registry.resolve_model(tmp_path, "srgan", track="smoke") == tmp_path / smoke2.path
    monkeypatch.setenv("SRBENCH_TRACK", "smoke")
    assert registry.resolve_model(tmp_path, "srgan") == tmp_path / smoke2.path
    assert registry.resolve_model(tmp_path, "srgan@latest", track="div2k") == tmp_path / gpu.path
    monkeypatch.setenv("SRBENCH_TRACK", "quick")
    with pytest.raises(registry.ModelNotFoundError, match="no champion on track quick.*div2k, smoke"):
        registry.resolve_model(tmp_path, "srgan")


def test_a_broken_champion_is_named_not_silently_replaced(tmp_path):
    champ = register(tmp_path, "srcnn", "n1")
    register(tmp_path, "srcnn", "n2")
    (tmp_path / champ.path).unlink()
    with pytest.raises(registry.ModelNotFoundError, match="champion of track smoke .*unusable .*file missing.*rollback"):
        registry.resolve_model(tmp_path, "srcnn")
    assert registry.resolve_model(tmp_path, "srcnn@latest").parent.name == "n2"


def test_the_legacy_registry_json_is_read_with_its_newest_export_as_champion(tmp_path):
    old, new = fake_export(tmp_path, "srcnn", "old"), fake_export(tmp_path, "srcnn", "new")
    legacy = {"models": [
        {"name": "srcnn", "label": "SRCNN", "path": "models/srcnn/new/srcnn.keras", "preset": "smoke",
         "sidecar": "models/srcnn/new/srcnn.json", "step": 2, "created_at": "2026-01-02T00:00:00+00:00",
         "registered_at": "2026-01-02T00:00:00+00:00", "run_id": "r2"},
        {"name": "srcnn", "label": "SRCNN", "path": "models/srcnn/old/srcnn.keras", "preset": "smoke",
         "sidecar": "models/srcnn/old/srcnn.json", "step": 1, "created_at": "2026-01-01T00:00:00+00:00",
         "registered_at": "2026-01-01T00:00:00+00:00", "run_id": "r1"}]}
    (tmp_path / "models" / "registry.json").write_text(json.dumps(legacy))
    assert registry.resolve_model(tmp_path, "srcnn") == new.path
    assert registry.resolve_model(tmp_path, "srcnn@r1") == old.path
    # New records build on the legacy view; the legacy file is never rewritten.
    newer = register(tmp_path, "srcnn", "r3")
    registry.promote(tmp_path, "srcnn", "r3", "smoke")
    assert registry.resolve_model(tmp_path, "srcnn") == tmp_path / newer.path
    assert json.loads((tmp_path / "models" / "registry.json").read_text()) == legacy


def test_a_hand_edited_record_is_a_named_error(tmp_path):
    register(tmp_path, "srcnn", "n1")
    (record,) = [p for p in (tmp_path / "models" / "registry").glob("*.json")
                 if json.loads(p.read_text())["kind"] == "export"]
    body = json.loads(record.read_text())
    record.write_text(json.dumps({**body, "path": "../../elsewhere.keras"}))
    with pytest.raises(RecordError, match=f"{record.name}: entry 'srcnn export' points outside the data dir"):
        registry.resolve_model(tmp_path, "srcnn")
    record.write_text(json.dumps({**body, "kind": "promoted"}))
    with pytest.raises(RecordError, match=f"{record.name}: not a valid registry record"):
        registry.list_models(tmp_path)


def _writer(data_dir: str, worker: int, count: int, barrier) -> None:
    barrier.wait()
    for i in range(count):
        entry = register(Path(data_dir), "srcnn", f"w{worker}-{i}")
        registry.record_decision(Path(data_dir), entry, DECISION, promote=i % 2 == 0, champion=None,
                                 evaluated_in=entry.run_id)


def test_two_concurrent_writers_lose_nothing(tmp_path):
    count = 12
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, count, barrier)) for w in (1, 2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    records = registry.read_records(tmp_path)
    exports = sorted(r.run_id for r in records if r.kind == "export")
    assert exports == sorted(f"w{w}-{i}" for w in (1, 2) for i in range(count))
    decided = sorted(r.run_id for r in records if r.kind in ("promote", "reject") and r.evaluated_in)
    assert decided == exports
    assert len({r.id for r in records}) == len(records)
    # The champion is the export of whichever promotion was written last.
    last = [r for r in records if r.kind == "promote"][-1]
    assert registry.champion(tmp_path, "srcnn", "smoke").path == last.path


def test_champion_labels_carry_the_run():
    assert champion_label("SRGAN-MSE (4x32, skip)", "r7") == "SRGAN-MSE (4x32, skip; champion, run r7)"
    assert champion_label("SRCNN", "r7") == "SRCNN (champion, run r7)"
