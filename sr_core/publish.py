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

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from sr_core.config import PipelineConfig
from sr_core.export import ExportResult
from sr_core.runrecords import ExportRecord
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


def register_and_publish(cfg: PipelineConfig, result: ExportResult, run_id: str | None = None) -> ExportRecord:
    """Register a new export in the model registry of ``cfg.data_root``; on a shared data root the
    export's folder is published there first (marker last), so the registry's record never names
    a model that others cannot fetch. The registry's change records are immutable files of their
    own (sr_core.registry), safe with two workers registering at once."""
    from sr_core.registry import register_export

    if cfg.data_url is None:
        return register_export(cfg.data_dir, result, run_id=run_id)
    export_dir = Path(result.path).parent
    rel = export_dir.resolve().relative_to(Path(cfg.data_dir).resolve()).as_posix()
    data = Store(cfg.data_url)
    publish_export(export_dir, data, rel)
    if data.local is not None:  # a shared folder (NFS): the registry names the published copy
        result = dataclasses.replace(result, path=data.local / rel / Path(result.path).name,
                                     sidecar=data.local / rel / Path(result.sidecar).name)
    return register_export(cfg.data_url, result, run_id=run_id)
