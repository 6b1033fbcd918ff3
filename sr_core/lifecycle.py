"""A night's life cycle around training: run-scoped checkpoints and their retention, deliberate
reuse of identical models, the warm-start export, and what changed since the previous comparable night.

Every night retrains: its checkpoints live in ``checkpoints/runs/<run_id>/`` (so a retried or resumed
run continues where it stopped and a new night starts fresh), and ``train.keep_runs`` of these
folders are kept. A finished model is reused only on request (``srbench run --reuse-models``) and only
when everything that decides it is identical (:func:`reuse_problem`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sr_core import layout
from sr_core.config import PipelineConfig
from sr_core.export import ExportResult, export_problem, read_sidecar
from sr_core.provenance import Provenance, changes_between
from sr_core.runrecords import Changes, ExportSidecar, RecordError, RunDir, RunRecord, file_digest

log = logging.getLogger(__name__)

STARTED_FILE = ".started"  # in a run's checkpoint folder: when the night first trained (ISO UTC)


# --------------------------------------------------------------------------------------------------
# Run-scoped checkpoints and retention


def start_run_checkpoints(data_dir: str | Path, run_id: str) -> Path:
    """The run's checkpoint folder, created with its start time (kept when a retried run reopens it)."""
    folder = layout.run_checkpoints_dir(data_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / STARTED_FILE
    if not marker.is_file():
        marker.write_text(dt.datetime.now(dt.timezone.utc).isoformat() + "\n")
    return folder


def _started(folder: Path) -> str:
    try:
        return (folder / STARTED_FILE).read_text().strip()
    except OSError:
        return dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.timezone.utc).isoformat()


def prune_run_checkpoints(data_dir: str | Path, keep: int, current_run_id: str) -> list[Path]:
    """Delete the checkpoint folders of all but the ``keep`` most recently started runs; the current
    run's folder is never deleted (and counts as one of the kept). Returns the deleted folders."""
    root = layout.checkpoints_root(data_dir) / "runs"
    if not root.is_dir():
        return []
    folders = sorted((f for f in root.iterdir() if f.is_dir()), key=_started, reverse=True)
    current = layout.run_checkpoints_dir(data_dir, current_run_id)
    kept = [current] if current in folders else []
    removed = []
    for folder in folders:
        if folder == current:
            continue
        if len(kept) < keep:
            kept.append(folder)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
        log.info("retention (train.keep_runs=%d): removed the checkpoints of run %s", keep, folder.name)
    return removed


# --------------------------------------------------------------------------------------------------
# What decides a model, and reuse


def init_record(kind: str, path: str | Path) -> dict[str, Any]:
    """How a model was initialised from another export: kind, path, that file's sha256, run and step."""
    path = Path(path)
    record: dict[str, Any] = {"kind": kind, "path": str(path), "sha256": file_digest(path)[0]}
    try:
        meta = read_sidecar(path)
        record.update(run_id=meta.run_id, step=meta.step)
    except RecordError:
        record.update(run_id=None, step=None)
    return record


def reuse_key(cfg: PipelineConfig, name: str, provenance: Provenance, versions: dict[str, str],
              init: dict[str, Any] | None) -> dict[str, Any]:
    """Everything that decides a trained model: its config sections and data (the model
    fingerprint), the data fingerprint, the library's code fingerprint, TensorFlow and Keras, and the
    weights it started from."""
    return {"model_fingerprint": cfg.model_fingerprint(name), "data_fingerprint": cfg.data_fingerprint(),
            "code_fingerprint": provenance.code_fingerprint, "tensorflow": versions.get("tensorflow"),
            "keras": versions.get("keras"), "init_sha256": (init or {}).get("sha256")}


def sidecar_key(meta: ExportSidecar) -> dict[str, Any]:
    return {"model_fingerprint": meta.model_fingerprint, "data_fingerprint": meta.data_fingerprint,
            "code_fingerprint": meta.provenance.code_fingerprint if meta.provenance else None,
            "tensorflow": meta.versions.get("tensorflow"), "keras": meta.versions.get("keras"),
            "init_sha256": (meta.init or {}).get("sha256")}


def reuse_problem(wanted: dict[str, Any], meta: ExportSidecar, steps: int) -> str | None:
    """Why an export may not stand in for training tonight (None: it may)."""
    if meta.step != steps:
        return f"it has {meta.step} steps, the config asks for {steps}"
    have = sidecar_key(meta)
    differ = [f"{key} {have[key]} != {wanted[key]}" for key in wanted if have.get(key) != wanted[key]]
    return "; ".join(differ) or None


def find_reusable(cfg: PipelineConfig, name: str, steps: int, wanted: dict[str, Any],
                  run_id: str | None) -> tuple[ExportResult, str | None] | None:
    """The newest intact export of ``name`` identical to what tonight would train (by
    :func:`reuse_key`), with the run that trained it; None when there is none."""
    root = layout.models_dir(cfg) / name
    for folder in sorted(root.glob(f"*-{wanted['model_fingerprint']}"), reverse=True):
        keras_file, sidecar = folder / f"{name}.keras", folder / f"{name}.json"
        try:
            meta = read_sidecar(sidecar)
        except RecordError:
            continue
        problem = reuse_problem(wanted, meta, steps) or export_problem(keras_file, meta) or (
            None if meta.keras_sha256 else "no checksum recorded")
        if problem:
            log.info("not reusing %s: %s", keras_file, problem)
            continue
        result = ExportResult(name, meta.label, keras_file, sidecar, meta.step, meta.metrics, meta.seconds,
                              run_id=meta.run_id, origin="reused")
        return result, meta.run_id
    return None


# --------------------------------------------------------------------------------------------------
# The export a night warm-starts from


def champion_export(cfg: PipelineConfig, name: str) -> Path | None:
    """The export ``train.init = "champion"`` starts from: the current champion of this model on the
    config's track (preset + dataset), if it is intact; None when the track has none."""
    from sr_core.registry import champion, read_view, track_of

    entry = champion(cfg.data_dir, name, track_of(cfg))
    if entry is None:
        return None
    view = read_view(cfg.data_dir)
    if not view.usable(entry):
        log.warning("the %s champion %s is not usable (%s): training from scratch", name, entry.path,
                    view.status(entry))
        return None
    return view.absolute(entry.path)


# --------------------------------------------------------------------------------------------------
# What changed since the previous comparable night


def validation_set_fingerprint(image_ids: list[str]) -> str:
    """12 hex digits naming a validation image set (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(image_ids)).encode()).hexdigest()[:12]


def _finished_runs(reports_dir: str | Path) -> Iterator[RunRecord | None]:
    """The run.json of every run folder that finished its report, in a local reports dir or on a
    shared reports root (there: published folders only). Unreadable records are skipped."""
    from sr_core.publish import published_runs
    from sr_core.store import Store, is_url

    if not is_url(reports_dir):
        for folder in Path(reports_dir).iterdir() if Path(reports_dir).is_dir() else ():
            run = RunDir(reports_dir, folder.name) if folder.is_dir() and not folder.name.startswith(".") else None
            if run is not None and run.report.is_file():
                try:
                    yield run.read_run()
                except RecordError:
                    continue
        return
    store = Store(reports_dir)
    for name in published_runs(store):
        if store.is_file(f"{name}/{RunDir.REPORT}") and store.is_file(f"{name}/{RunDir.RUN}"):
            try:
                yield RunRecord.model_validate_json(store.read_bytes(f"{name}/{RunDir.RUN}"))
            except (ValueError, OSError):
                continue


def previous_comparable_run(reports_dir: str | Path, record: RunRecord) -> RunRecord | None:
    """The newest earlier run with the same preset, dataset and validation image set that finished
    its report; None when there is none. ``reports_dir`` may be a shared reports root (a URL)."""
    best: RunRecord | None = None
    for other in _finished_runs(reports_dir):
        if other is not None and other.run_id == record.run_id:
            continue
        if other is None or other.started_at >= record.started_at:
            continue
        if (other.preset, other.dataset, other.validation_set) != (record.preset, record.dataset,
                                                                   record.validation_set):
            continue
        if best is None or other.started_at > best.started_at:
            best = other
    return best


def changes_since(previous: RunRecord | None, record: RunRecord) -> Changes:
    """What changed between the previous comparable night and this one (empty ``previous_run_id``:
    no comparable predecessor). Without provenance on either side, only config and data are compared."""
    if previous is None:
        return Changes()
    if previous.provenance is not None and record.provenance is not None:
        found = changes_between(previous.provenance, record.provenance, previous.config, record.config,
                                previous.data_fingerprint, record.data_fingerprint)
    else:
        blank = Provenance(code_fingerprint="unknown", host="unknown", platform="unknown")
        found = changes_between(blank, blank, previous.config, record.config, previous.data_fingerprint,
                                record.data_fingerprint)
    return Changes(previous_run_id=previous.run_id, **found)


def describe_changes(changes: Changes | None) -> list[str]:
    """The "what changed" lines of the report and the Prefect summary, plain text."""
    if changes is None:
        return []
    if changes.previous_run_id is None:
        return ["No comparable previous night (same preset, dataset and validation images): nothing to compare."]
    lines = [f"Compared with {changes.previous_run_id}."]
    if changes.code:
        commits = changes.code.get("commits") or [None, None]
        dirty = changes.code.get("dirty") or [None, None]
        fps = changes.code.get("code_fingerprint") or [None, None]
        lines.append(f"Code: {_short(commits[0])}{'+dirty' if dirty[0] else ''}.."
                     f"{_short(commits[1])}{'+dirty' if dirty[1] else ''} (code fingerprint {fps[0]} -> {fps[1]}).")
    for key, (old, new) in changes.config.items():
        lines.append(f"Config {key}: {old!r} -> {new!r}.")
    for name, (old, new) in changes.packages.items():
        lines.append(f"Package {name}: {old} -> {new}.")
    if changes.data:
        lines.append(f"Data fingerprint: {changes.data[0]} -> {changes.data[1]}.")
    for field, (old, new) in changes.hardware.items():
        lines.append(f"Hardware {field}: {old} -> {new}.")
    if len(lines) == 1:
        lines.append("Nothing changed: same code, config, packages, data and hardware.")
    return lines


def _short(commit: str | None) -> str:
    return commit[:10] if commit else "unknown"
