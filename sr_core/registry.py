"""The model registry ``DATA/models/registry.json``: which exports exist, newest first per name.

Paths are stored relative to the data dir so a data dir can be moved. Every change is an atomic
read-modify-write under a lock file, so concurrent training tasks never lose each other's entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sr_core import atomic, layout
from sr_core.catalog import MODEL_NAMES
from sr_core.export import ExportResult, read_sidecar


class ModelNotFoundError(LookupError):
    """No registered export for a model name, and not a path either."""


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


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"models": []}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"model registry {path} is not valid JSON ({exc}); fix or delete it "
                         "(exports under models/ stay; re-register them with `srbench train`)") from None


def _relative(path: Path, data_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(data_dir).resolve()))
    except ValueError:
        return str(Path(path).resolve())


def register_export(data_dir: str | Path, result: ExportResult, run_id: str | None = None) -> dict[str, Any]:
    """Add (or refresh) the entry of one export; returns the entry."""
    data_dir = Path(data_dir)
    meta = read_sidecar(result.sidecar)
    entry = {
        "name": result.name, "label": result.label, "path": _relative(result.path, data_dir),
        "sidecar": _relative(result.sidecar, data_dir), "step": result.step, "metrics": result.metrics,
        "model_fingerprint": meta.get("model_fingerprint"), "data_fingerprint": meta.get("data_fingerprint"),
        "preset": meta.get("config", {}).get("preset"), "created_at": meta.get("created_at"),
        "registered_at": datetime.now(timezone.utc).isoformat(), "run_id": run_id,
    }
    with _locked(data_dir) as path:
        registry = _read(path)
        registry["models"] = [e for e in registry["models"] if e["path"] != entry["path"]] + [entry]
        atomic.write_json(path, registry)
    return entry


def _absolute(entry_path: str, data_dir: Path) -> Path:
    path = Path(entry_path)
    return path if path.is_absolute() else Path(data_dir) / path


def list_models(data_dir: str | Path) -> list[dict[str, Any]]:
    """Registered exports, newest first, each with an absolute ``path`` and an ``exists`` flag."""
    data_dir = Path(data_dir)
    entries = []
    for entry in _read(layout.registry_path(data_dir))["models"]:
        path = _absolute(entry["path"], data_dir)
        entries.append({**entry, "path": str(path), "sidecar": str(_absolute(entry["sidecar"], data_dir)),
                        "exists": path.is_file()})
    return sorted(entries, key=lambda e: e.get("created_at") or "", reverse=True)


def resolve_model(data_dir: str | Path, name_or_path: str | Path) -> Path:
    """A model name -> the newest registered export of it that still exists; a path -> itself."""
    name = str(name_or_path)
    if name.lower() in MODEL_NAMES:
        for entry in list_models(data_dir):
            if entry["name"] == name.lower() and entry["exists"]:
                return Path(entry["path"])
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
