"""Publishing a worker's results to the roots the team shares (see docs/shared-state.md).

A worker does its work in local folders (scratch) and then publishes what others read:

* a run folder, uploaded file by file with ``.published`` written last (:func:`publish_run`);
* the run's history file, ``history/<run_id>.parquet``, one atomic write (:mod:`sr_core.history`);
* an exported model's folder, again with its marker last (:func:`publish_export`);
* the index, a view rebuilt from a listing of the shared root (:func:`publish_view`).

Nothing here reads, changes and writes back a shared file, so two workers publishing at the same
moment cannot undo each other. The one file both rewrite, ``index.html``, is derived: each writer
lists the runs, writes the index, lists again and rewrites until what it wrote covers every run
it can see, so the last index written lists every run published before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from sr_core.store import PUBLISHED_MARKER, Store

log = logging.getLogger(__name__)


def publish_run(run_dir: str | Path, reports: Store) -> str:
    """Upload a local run folder to ``<reports>/<run_id>/`` (its marker last); returns the URL."""
    run_dir = Path(run_dir)
    if reports.local is not None and reports.local.resolve() == run_dir.parent.resolve():
        return reports.url(run_dir.name)  # already there: a local reports root is its own publication
    return reports.upload_dir(run_dir, run_dir.name, marker=PUBLISHED_MARKER, marker_text=run_dir.name)


def published_runs(reports: Store) -> list[str]:
    """Run ids whose folder on a shared root is fully published (has its marker)."""
    return [name for name, is_dir in reports.listdir()
            if is_dir and not name.startswith(".") and reports.exists(f"{name}/{PUBLISHED_MARKER}")]


def publish_export(export_dir: str | Path, data: Store, rel: str) -> str:
    """Upload an exported model's folder (``.keras`` + sidecar) to ``<data>/<rel>``, marker last."""
    export_dir = Path(export_dir)
    if data.local is not None and (data.local / rel).resolve() == export_dir.resolve():
        return data.url(rel)
    return data.upload_dir(export_dir, rel, marker=PUBLISHED_MARKER, marker_text=export_dir.name)


def publish_view(reports: Store, rel: str, render: Callable[[], tuple[str, set[str]]],
                 attempts: int = 5) -> str:
    """Write a derived view (``render()`` -> text and the run ids it covers) until it covers every
    published run; converges because each writer re-lists after its own write."""
    for _ in range(attempts):
        text, covered = render()
        reports.write_text(rel, text)
        missing = set(published_runs(reports)) - covered
        if not missing:
            break
        log.info("%s: %d run(s) were published meanwhile (%s); rebuilding it", reports.url(rel),
                 len(missing), ", ".join(sorted(missing)))
    return reports.url(rel)


SHARED_REGISTRY_DIR = "models/registry.d"


def publish_model(data: Store, data_dir: str | Path, export_path: str | Path, entry: BaseModel) -> str:
    """Publish one registered export to the shared data root: its folder (``.keras`` + sidecar,
    marker last), then its registry entry as an immutable record of its own,
    ``models/registry.d/<name>--<export folder>.json`` (one PUT; two workers never write one key).
    Returns the record's URL."""
    export_dir = Path(export_path).parent
    rel = export_dir.resolve().relative_to(Path(data_dir).resolve()).as_posix()
    publish_export(export_dir, data, rel)
    record = f"{SHARED_REGISTRY_DIR}/{entry.name}--{export_dir.name}.json"
    return data.write_text(record, entry.model_dump_json(indent=2) + "\n")


def shared_registry(data: Store) -> list[dict]:
    """The registry records on a shared data root (one per published export), oldest first."""
    import json

    records = [json.loads(data.read_text(rel)) for rel in data.files(SHARED_REGISTRY_DIR, ".json")]
    return sorted(records, key=lambda r: (r.get("created_at") or "", r.get("name") or ""))
