"""The model registry: which exports exist and which one is the *champion* of each track.

The registry is a folder of immutable change records, ``DATA/models/registry/<UTC time>-<random>.json``,
one per change: a new export, a promotion (first of a track, by the rule, or by hand), a rejection,
or a rollback (types in :mod:`sr_core.runrecords`). Nothing is ever rewritten: the current view
(exports, and per model name and track the champion) is derived by replaying every record in name
order (:func:`read_view`). Two workers that register or promote at the same moment write two
different files, so neither can lose the other's change, with no lock and no read-modify-write, on
a local disk or an object store alike (docs/lifecycle.md, "The registry").

A *track* is a preset plus a dataset (``div2k``, ``quick``, ``quick@folder-photos``): the champion of
``srgan`` on ``div2k`` is what ``srbench upscale --model srgan`` uses, and a ``smoke`` run can never
change it. A model reference is ``NAME`` (the champion of the default track), ``NAME@champion``,
``NAME@latest`` (the newest intact export), ``NAME@<run_id>`` (the export a run registered) or a path.

The old single ``registry.json`` is still read, as the oldest export records; it is never written.
All file I/O goes through the small functions under "Storage", so a shared store can replace them.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sr_core import layout
from sr_core.catalog import MODEL_NAMES
from sr_core.export import ExportResult, export_problem, read_sidecar
from sr_core.runrecords import (ExportRecord, PromoteRecord, RecordError, Registry, RegistryChange,
                                RegistryRecord, RejectRecord, RollbackRecord, field_errors)

log = logging.getLogger(__name__)

RECORDS_DIR = "models/registry"
# The default track of a model reference without --track / $SRBENCH_TRACK: the first of these with a
# champion of the model, then any other track with one (alphabetically).
TRACK_PREFERENCE = ("div2k", "quick", "smoke")
TRACK_ENV = "SRBENCH_TRACK"
_RECORD = TypeAdapter(RegistryRecord)


class ModelNotFoundError(LookupError):
    """No registered export for a model reference, and not a path either."""


class RegisteredModel(ExportRecord):
    """An export as listed: absolute paths, whether it is intact, champion or not, latest verdict."""

    exists: bool
    status: str  # "ok", "unverified" (no checksum recorded), or what is wrong with it
    champion: bool = False
    verdict: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------------
# Tracks and people


def track_name(preset: str, dataset: str) -> str:
    """``div2k`` for a preset on its own dataset, ``quick@folder-photos`` on another one."""
    from sr_core.config import PRESET_NAMES, load_config

    if preset in PRESET_NAMES and load_config(preset).data.dataset == dataset:
        return preset
    return f"{preset}@{layout.dataset_slug(dataset)}"


def track_of(cfg) -> str:
    """The track a config's models belong to."""
    return track_name(cfg.preset, cfg.data.dataset)


def whoami() -> str:
    """``user@host`` from the environment (``$SRBENCH_USER``, else the login name)."""
    user = os.environ.get("SRBENCH_USER")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
    return f"{user}@{socket.gethostname()}"


# --------------------------------------------------------------------------------------------------
# Storage: the only functions that touch the registry's files.


def _store(data_dir: str | Path):
    from sr_core.store import Store

    return Store(data_dir)


def _write_new(data_dir: str | Path, record: RegistryChange) -> str:
    """Write one record under a fresh name (its UTC time + 8 random hex digits); returns the id.
    One atomic write of a file nobody else can name: nothing is overwritten."""
    record_id = f"{record.at.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}"
    body = json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    _store(data_dir).write_text(f"{RECORDS_DIR}/{record_id}.json", body)
    return record_id


def _record_names(data_dir: str | Path) -> list[str]:
    """The record files' names, in order (time first, so the replay order is the order of changes)."""
    return sorted(Path(rel).name for rel in _store(data_dir).files(RECORDS_DIR, ".json"))


def _read(data_dir: str | Path, rel: str) -> str | None:
    store = _store(data_dir)
    return store.read_text(rel) if store.is_file(rel) else None


def _mirror(data_dir: str | Path) -> Path:
    """Where a data root's files are on this machine: the folder itself or, for a shared URL, the
    scratch dir (where this worker writes its exports and fetches others' when it needs them)."""
    from sr_core.config import default_scratch_dir
    from sr_core.store import is_url

    return default_scratch_dir() if is_url(data_dir) else Path(data_dir)


def _where(data_dir: str | Path, rel: str) -> Path:
    """The local path of a file of the data root; a shared root's file is downloaded on first use."""
    from sr_core.store import is_url

    local = _mirror(data_dir) / rel
    if is_url(data_dir) and not local.is_file():
        store = _store(data_dir)
        if store.is_file(rel):
            store.download(rel, local)
    return local


# --------------------------------------------------------------------------------------------------
# Reading: the records replayed into the current view


@dataclass
class Champion:
    """The current champion of one model name on one track."""

    entry: ExportRecord
    since: datetime
    change: PromoteRecord | RollbackRecord  # what made it champion


@dataclass
class RegistryView:
    """Everything derived from the records: exports, champions and the latest verdict per export."""

    data_dir: Path
    records: list[RegistryChange] = field(default_factory=list)
    root: str = ""  # the data root as given (a folder or a shared URL); data_dir is its local copy
    exports: dict[str, ExportRecord] = field(default_factory=dict)  # by relative path
    champions: dict[tuple[str, str], Champion] = field(default_factory=dict)  # (name, track)
    verdicts: dict[str, PromoteRecord | RejectRecord] = field(default_factory=dict)  # by export path

    def entries(self, name: str | None = None, track: str | None = None) -> list[ExportRecord]:
        """Exports, newest first, optionally of one name and one track."""
        found = [e for e in self.exports.values()
                 if (name is None or e.name == name) and (track is None or e.track == track)]
        return sorted(found, key=lambda e: (e.created_at or e.at.isoformat(), e.id), reverse=True)

    def champion(self, name: str, track: str) -> Champion | None:
        return self.champions.get((name, track))

    def tracks(self) -> list[str]:
        return sorted({e.track for e in self.exports.values()}, key=track_sort_key)

    def absolute(self, rel: str) -> Path:
        return _where(self.root, rel) if self.root else self.data_dir / rel

    def status(self, entry: ExportRecord) -> str:
        """"ok", "unverified" (no checksum recorded), or what is wrong with the export."""
        path = self.absolute(entry.path)
        if not path.is_file():
            return "file missing"
        try:
            meta = read_sidecar(self.absolute(entry.sidecar))
        except RecordError as exc:
            return f"broken: {exc.problem}"
        problem = export_problem(path, meta)
        if problem:
            return f"broken: {problem}"
        return "ok" if meta.keras_sha256 else "unverified"

    def usable(self, entry: ExportRecord) -> bool:
        return self.status(entry) in ("ok", "unverified")

    def champion_changes(self, name: str, track: str) -> list[PromoteRecord | RollbackRecord]:
        return [r for r in self.records if r.name == name and r.track == track
                and isinstance(r, (PromoteRecord, RollbackRecord))]


def track_sort_key(track: str) -> tuple[int, str]:
    return (TRACK_PREFERENCE.index(track) if track in TRACK_PREFERENCE else len(TRACK_PREFERENCE), track)


def _inside(data_dir: Path, rel: str, source: Path, what: str) -> str:
    """``rel`` if it stays inside the data dir; a RecordError naming the file and entry otherwise."""
    if Path(rel).is_absolute() or not (data_dir / rel).resolve().is_relative_to(data_dir.resolve()):
        raise RecordError(source, f"entry {what!r} points outside the data dir ({rel!r}); fix or remove it")
    return rel


def _legacy_records(data_dir: Path) -> list[ExportRecord | PromoteRecord]:
    """The entries of the old single ``registry.json``, as the oldest export records, each track's
    newest one its champion."""
    rel = str(layout.registry_path(".").as_posix())
    text = _read(data_dir, rel)
    if text is None:
        return []
    source = _where(data_dir, rel)
    try:
        legacy = Registry.model_validate_json(text)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise RecordError(source, "the model registry is not valid JSON; was it cut short?") from None
        raise RecordError(source, f"not a valid model registry: {field_errors(exc)}") from None
    out = []
    for n, item in enumerate(legacy.models):
        what = f"{item.name} step {item.step}"
        config = _sidecar_config(data_dir, _inside(data_dir, item.sidecar, source, what))
        preset = item.preset or config.get("preset") or "custom"
        dataset = (config.get("data") or {}).get("dataset") or "unknown"
        at = item.registered_at or item.created_at or "1970-01-01T00:00:00+00:00"
        record = ExportRecord(**{**item.model_dump(), "path": _inside(data_dir, item.path, source, what),
                                 "at": datetime.fromisoformat(at), "track": track_name(preset, dataset),
                                 "preset": preset, "dataset": dataset})
        record.id = f"legacy-{n:05d}"
        out.append(record)
    # The old registry resolved a name to its newest export: that export becomes the track's champion.
    newest: dict[tuple[str, str], ExportRecord] = {}
    for record in sorted(out, key=lambda r: r.created_at or r.at.isoformat()):
        newest[(record.name, record.track)] = record
    promotions = [PromoteRecord(at=r.at, name=r.name, track=r.track, path=r.path, run_id=r.run_id, rule="first",
                                why="the newest export of its track in the legacy registry.json")
                  for r in newest.values()]
    return [*out, *promotions]


def _sidecar_config(data_dir: Path, sidecar: str) -> dict[str, Any]:
    try:
        return read_sidecar(data_dir / sidecar).config
    except (OSError, ValueError):
        return {}


def read_records(data_dir: str | Path) -> list[RegistryChange]:
    """Every change, oldest first: the legacy file's entries, then the records in name order.

    Reading is validation: a record that is not valid JSON or not a known change raises
    :class:`RecordError` naming its file (they are written atomically, so only a hand edit does
    that), as does a path that leaves the data dir.
    """
    from sr_core.store import is_url

    records: list[RegistryChange] = [] if is_url(data_dir) else list(_legacy_records(Path(data_dir)))
    for name in _record_names(data_dir):
        rel = f"{RECORDS_DIR}/{name}"
        text = _read(data_dir, rel)
        if text is None:
            continue
        try:
            record = _RECORD.validate_json(text)
        except ValidationError as exc:
            raise RecordError(_where(data_dir, rel), f"not a valid registry record: {field_errors(exc)}; "
                              "move it out of the registry folder if it is not needed") from None
        record.id = name.removesuffix(".json")
        for attr in ("path", "sidecar", "to"):
            if isinstance(getattr(record, attr, None), str):
                _inside(_mirror(data_dir), getattr(record, attr), _where(data_dir, rel),
                        f"{record.name} {record.kind}")
        records.append(record)
    return records


def read_view(data_dir: str | Path) -> RegistryView:
    """Replay every record, in order, into the current exports, champions and verdicts."""
    view = RegistryView(data_dir=_mirror(data_dir), root=str(data_dir))
    for record in read_records(data_dir):
        view.records.append(record)
        if isinstance(record, ExportRecord):
            view.exports[record.path] = record  # a re-registration refreshes the entry
        elif isinstance(record, (PromoteRecord, RollbackRecord)):
            target = record.path if isinstance(record, PromoteRecord) else record.to
            if isinstance(record, PromoteRecord):
                view.verdicts[record.path] = record
            entry = view.exports.get(target)
            if entry is None:
                log.warning("model registry: %s %s names an export that was never registered (%s)",
                            record.kind, record.id, target)
                continue
            view.champions[(record.name, record.track)] = Champion(entry, record.at, record)
        elif isinstance(record, RejectRecord):
            view.verdicts[record.path] = record
    return view


# --------------------------------------------------------------------------------------------------
# Writing changes


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _relative(path: str | Path, data_dir: str | Path) -> str:
    try:
        return Path(path).resolve().relative_to(_mirror(data_dir).resolve()).as_posix()
    except ValueError:
        raise ValueError(f"{path} is outside the data dir {data_dir}; only exports under it can be "
                         "registered") from None


def register_export(data_dir: str | Path, result: ExportResult, run_id: str | None = None) -> ExportRecord:
    """Record a new export, a challenger of its track. The first export of a name on a track also
    becomes its champion, so every track with a model can serve ``upscale``. Registering the same
    export for the same run again changes nothing."""
    meta = read_sidecar(result.sidecar)
    preset = meta.config.get("preset") or "custom"
    dataset = (meta.config.get("data") or {}).get("dataset") or "unknown"
    now = _now()
    record = ExportRecord(
        at=now, name=result.name, track=track_name(preset, dataset), label=result.label,
        path=_relative(result.path, data_dir), sidecar=_relative(result.sidecar, data_dir),
        step=int(result.step), metrics={k: float(v) for k, v in (result.metrics or {}).items()},
        model_fingerprint=meta.model_fingerprint, data_fingerprint=meta.data_fingerprint, preset=preset,
        dataset=dataset, created_at=meta.created_at, registered_at=now.isoformat(), run_id=run_id,
        config_fingerprint=meta.config_fingerprint, provenance=meta.provenance, prefect=meta.prefect)
    view = read_view(data_dir)
    known = view.exports.get(record.path)
    if known is not None and known.run_id == run_id:
        return known
    record.id = _write_new(data_dir, record)
    if view.champion(record.name, record.track) is None:
        _write_new(data_dir, PromoteRecord(at=_now(), name=record.name, track=record.track, path=record.path,
                                           run_id=run_id, rule="first",
                                           why=f"first {record.name} model of track {record.track}"))
    return record


def record_decision(data_dir: str | Path, entry: ExportRecord, decision: dict[str, Any], *, promote: bool,
                    champion: ExportRecord | None, evaluated_in: str | None) -> PromoteRecord | RejectRecord:
    """Record the promotion rule's verdict on a challenger: promoted (it becomes champion) or not."""
    common = dict(at=_now(), name=entry.name, track=entry.track, path=entry.path, run_id=entry.run_id,
                  decision=decision, evaluated_in=evaluated_in, why=decision.get("explanation"))
    record: PromoteRecord | RejectRecord
    if promote:
        record = PromoteRecord(**common, rule="first" if champion is None else "rule",
                               replaces=champion.path if champion else None)
    else:
        record = RejectRecord(**common, champion=champion.path if champion else None)
    record.id = _write_new(data_dir, record)
    return record


def promote(data_dir: str | Path, name: str, run_id: str, track: str, *, why: str | None = None,
            by: str | None = None) -> PromoteRecord:
    """A person makes the export of ``name`` registered by ``run_id`` on ``track`` the champion."""
    view = read_view(data_dir)
    entry = _find_by_run(view, name, run_id, track)
    if not view.usable(entry):
        raise ValueError(f"{name} of run {run_id} cannot be promoted: {view.status(entry)} "
                         f"({view.absolute(entry.path)})")
    current = view.champion(name, track)
    if current is not None and current.entry.path == entry.path:
        raise ValueError(f"{name} of run {run_id} is already the champion of track {track}")
    record = PromoteRecord(at=_now(), name=name, track=track, path=entry.path, run_id=entry.run_id,
                           rule="manual", replaces=current.entry.path if current else None,
                           by=by or whoami(), why=why)
    record.id = _write_new(data_dir, record)
    return record


def rollback(data_dir: str | Path, name: str, track: str, *, why: str | None = None,
             by: str | None = None) -> RollbackRecord:
    """Put back the champion that reigned before the current one (a second rollback goes one further)."""
    view = read_view(data_dir)
    current = view.champion(name, track)
    if current is None:
        raise ModelNotFoundError(f"track {track} has no {name} champion to roll back" + _known_tracks(view, name))
    previous = _previous_champion(view, name, track)
    if previous is None:
        raise ValueError(f"the {name} champion of track {track} ({_describe(current.entry)}) has no "
                         "predecessor to roll back to; promote another export with 'srbench promote'")
    record = RollbackRecord(at=_now(), name=name, track=track, path=current.entry.path, to=previous,
                            by=by or whoami(), why=why)
    record.id = _write_new(data_dir, record)
    return record


def _previous_champion(view: RegistryView, name: str, track: str) -> str | None:
    """The export that reigned before the current champion, on the stack of reigns a rollback pops."""
    reigns: list[str] = []
    for change in view.champion_changes(name, track):
        if isinstance(change, PromoteRecord):
            if not reigns or reigns[-1] != change.path:
                reigns.append(change.path)
        else:  # a rollback ends the current reign and resumes the one before it
            if reigns:
                reigns.pop()
            if not reigns or reigns[-1] != change.to:
                reigns.append(change.to)
    earlier = [p for p in reigns[:-1] if p in view.exports]
    return earlier[-1] if earlier else None


# --------------------------------------------------------------------------------------------------
# Resolution


def default_track(view: RegistryView, name: str, track: str | None = None) -> str | None:
    """``track``, else ``$SRBENCH_TRACK``, else the first track with a champion of ``name`` in
    :data:`TRACK_PREFERENCE` order (div2k, quick, smoke, then the others alphabetically)."""
    chosen = track or os.environ.get(TRACK_ENV) or None
    if chosen:
        return chosen
    with_champion = sorted((t for (n, t) in view.champions if n == name), key=track_sort_key)
    return with_champion[0] if with_champion else None


def champion(data_dir: str | Path, name: str, track: str) -> ExportRecord | None:
    """The champion export of ``name`` on ``track``; None when the track has none."""
    found = read_view(data_dir).champion(name, track)
    return found.entry if found else None


def champion_path(data_dir: str | Path, name: str, track: str) -> Path | None:
    """The ``.keras`` file of the champion of ``name`` on ``track`` (None when the track has none),
    e.g. to warm-start tonight's training from it (``train.init = "champion"``)."""
    entry = champion(data_dir, name, track)
    return Path(data_dir) / entry.path if entry else None


def split_reference(reference: str) -> tuple[str, str | None]:
    """``'srgan@latest'`` -> ``('srgan', 'latest')``; ``'SRGAN'`` -> ``('srgan', None)``."""
    name, _, selector = str(reference).partition("@")
    return name.lower(), (selector or None)


def is_model_reference(reference: str | Path) -> bool:
    """Whether ``reference`` names a registered model (``NAME`` or ``NAME@...``) rather than a path."""
    text = str(reference)
    return split_reference(text)[0] in MODEL_NAMES and "/" not in text and not text.endswith(".keras")


def resolve_entry(data_dir: str | Path, reference: str, track: str | None = None) -> ExportRecord:
    """The registered export a reference names (see the module docstring); ``track`` narrows it."""
    name, selector = split_reference(reference)
    view = read_view(data_dir)
    if selector in (None, "champion"):
        chosen = default_track(view, name, track)
        found = view.champion(name, chosen) if chosen else None
        if found is None:
            where = f"track {chosen}" if chosen else "any track"
            raise ModelNotFoundError(f"no {name} model found in {Path(data_dir) / 'models'}: no champion on "
                                     f"{where}{_known_tracks(view, name)}; run `srbench train --model {name}` "
                                     "or `srbench run`, or pick a track with --track / $SRBENCH_TRACK")
        status = view.status(found.entry)
        if status not in ("ok", "unverified"):
            raise ModelNotFoundError(f"the {name} champion of track {chosen} ({_describe(found.entry)}) is "
                                     f"unusable ({status}: {view.absolute(found.entry.path)}); restore it, or "
                                     f"`srbench rollback {name} --track {chosen}`")
        return found.entry
    if selector == "latest":
        for entry in view.entries(name, track):
            if view.usable(entry):
                return entry
        raise ModelNotFoundError(f"no intact {name} export in {Path(data_dir) / 'models'}"
                                 + (f" on track {track}" if track else "")
                                 + f"; run `srbench train --model {name}` or `srbench run`")
    return _find_by_run(view, name, selector, track)


def _find_by_run(view: RegistryView, name: str, run_id: str, track: str | None) -> ExportRecord:
    matches = [e for e in view.entries(name, track) if e.run_id == run_id]
    if not matches:
        runs = [e.run_id for e in view.entries(name, track) if e.run_id][:5]
        raise ModelNotFoundError(f"no {name} export registered by run {run_id!r}"
                                 + (f" on track {track}" if track else "")
                                 + (f"; runs that registered one: {', '.join(runs)}" if runs else "")
                                 + " (see 'srbench models')")
    return matches[0]


def resolve_model(data_dir: str | Path, name_or_path: str | Path, track: str | None = None) -> Path:
    """A model reference -> its ``.keras`` file; a path (a file, or a folder with one) -> itself."""
    if is_model_reference(name_or_path):
        return _where(data_dir, resolve_entry(data_dir, str(name_or_path), track).path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.keras"))
        if len(found) == 1:
            return found[0]
        raise ModelNotFoundError(
            f"folder {str(path)!r} holds {len(found) or 'no'} .keras files"
            + (f" ({', '.join(f.name for f in found)})" if found else "") + "; give the model file itself")
    if path.is_file():
        return path
    raise ModelNotFoundError(
        f"{str(name_or_path)!r} is neither a model name ({', '.join(MODEL_NAMES)}, optionally with @champion, "
        "@latest or @<run_id>) nor an existing .keras file")


def list_models(data_dir: str | Path) -> list[RegisteredModel]:
    """Registered exports, newest first: absolute paths, ``exists``, ``status``, ``champion`` (of its
    track) and the latest ``verdict`` on it (the promotion or rejection record, with its numbers)."""
    view = read_view(data_dir)
    out = []
    for entry in view.entries():
        champ = view.champion(entry.name, entry.track)
        verdict = view.verdicts.get(entry.path)
        out.append(RegisteredModel(
            **{**entry.model_dump(), "path": str(view.absolute(entry.path)),
               "sidecar": str(view.absolute(entry.sidecar))},
            exists=view.absolute(entry.path).is_file(), status=view.status(entry),
            champion=champ is not None and champ.entry.path == entry.path,
            verdict=verdict.model_dump(mode="json") if verdict else None))
    return out


def _known_tracks(view: RegistryView, name: str) -> str:
    tracks = sorted({t for (n, t) in view.champions if n == name}, key=track_sort_key)
    return f" (tracks with a {name} champion: {', '.join(tracks)})" if tracks else ""


def _describe(entry: ExportRecord) -> str:
    return f"run {entry.run_id}" if entry.run_id else f"step {entry.step}, {entry.path}"
