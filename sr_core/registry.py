"""The model registry ``DATA/models/registry.json``: which exports exist, newest first per name.

Paths are stored relative to the data dir so a data dir can be moved, and must stay inside it. Every
change is an atomic read-modify-write under a lock file, so concurrent training tasks never lose each
other's entries. The file is validated on read (:class:`sr_core.runrecords.Registry`).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sr_core import layout
from sr_core.catalog import MODEL_NAMES
from sr_core.export import ExportResult, export_problem, read_sidecar
from sr_core.runrecords import Registry, RegistryEntry, RecordError, read_record, write_record


class ModelNotFoundError(LookupError):
    """No registered export for a model name, and not a path either."""


class RegisteredModel(RegistryEntry):
    """A registry entry as listed: absolute paths, and whether the export is intact."""

    exists: bool
    status: str  # "ok", "unverified" (no checksum recorded), or what is wrong with it


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[Path]:
    path = layout.registry_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> Registry:
    if not path.exists():
        return Registry()
    return read_record(path, Registry, "model registry")


def _relative(path: Path, data_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(data_dir).resolve()))
    except ValueError:
        raise ValueError(f"{path} is outside the data dir {data_dir}; only exports under it can be "
                         "registered") from None


def register_export(data_dir: str | Path, result: ExportResult, run_id: str | None = None) -> RegistryEntry:
    """Add (or refresh) the entry of one export; returns the entry."""
    data_dir = Path(data_dir)
    meta = read_sidecar(result.sidecar)
    entry = RegistryEntry(
        name=result.name, label=result.label, path=_relative(result.path, data_dir),
        sidecar=_relative(result.sidecar, data_dir), step=result.step, metrics=result.metrics,
        model_fingerprint=meta.model_fingerprint, data_fingerprint=meta.data_fingerprint,
        preset=meta.config.get("preset"), created_at=meta.created_at,
        registered_at=datetime.now(timezone.utc).isoformat(), run_id=run_id)
    with _locked(data_dir) as path:
        registry = _read(path)
        registry.models = [e for e in registry.models if e.path != entry.path] + [entry]
        write_record(path, registry)
    return entry


def _inside(entry_path: str, data_dir: Path, registry: Path, name: str) -> Path:
    """An entry's path made absolute; refused (naming the entry) when it leaves the data dir."""
    path = data_dir / entry_path
    if not path.resolve().is_relative_to(data_dir.resolve()):
        raise RecordError(registry, f"entry {name!r} points outside the data dir ({entry_path!r}); "
                          "fix or remove that entry")
    return path


def _status(path: Path, sidecar: Path) -> str:
    if not path.is_file():
        return "file missing"
    try:
        meta = read_sidecar(sidecar)
    except RecordError as exc:
        return f"broken: {exc.problem}"
    problem = export_problem(path, meta)
    if problem:
        return f"broken: {problem}"
    return "ok" if meta.keras_sha256 else "unverified"


def list_models(data_dir: str | Path) -> list[RegisteredModel]:
    """Registered exports, newest first, with absolute paths, an ``exists`` flag and a ``status``."""
    data_dir = Path(data_dir)
    registry = layout.registry_path(data_dir)
    entries = []
    for entry in _read(registry).models:
        where = f"{entry.name} step {entry.step}"
        path = _inside(entry.path, data_dir, registry, where)
        sidecar = _inside(entry.sidecar, data_dir, registry, where)
        entries.append(RegisteredModel(**{**entry.model_dump(), "path": str(path), "sidecar": str(sidecar),
                                          "exists": path.is_file(), "status": _status(path, sidecar)}))
    return sorted(entries, key=lambda e: e.created_at or "", reverse=True)


def usable(entry: RegisteredModel) -> bool:
    return entry.status in ("ok", "unverified")


def resolve_model(data_dir: str | Path, name_or_path: str | Path) -> Path:
    """A model name -> the newest registered, intact export of it; a path -> itself."""
    name = str(name_or_path)
    if name.lower() in MODEL_NAMES:
        for entry in list_models(data_dir):
            if entry.name == name.lower() and usable(entry):
                return Path(entry.path)
        raise ModelNotFoundError(
            f"no {name.lower()} model found in {Path(data_dir) / 'models'}; run "
            f"`srbench train --model {name.lower()}` or `srbench run`")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.keras"))
        if len(found) == 1:
            return found[0]
    if path.is_file():
        return path
    raise ModelNotFoundError(
        f"{name_or_path!r} is neither a model name ({', '.join(MODEL_NAMES)}) nor an existing .keras file")
