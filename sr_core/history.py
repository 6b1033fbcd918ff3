"""The cross-run history: a dataset of one small Parquet file per run, ``<reports>/history/<run_id>.parquet``.

Each run writes only its own file (one atomic write: temp + rename, or a single PUT on an object
store), so two workers finishing at the same moment can never lose each other's rows, and no lock is
needed anywhere. Reading lists the folder and reads the files as one ``pyarrow.dataset``.

* A damaged per-run file (truncated, garbage, another schema) is named in the log and skipped; when
  its run folder still has ``metrics.parquet`` the file is moved aside (``.damaged-<UTC time>``) and
  rebuilt from it, since history is derived data.
* A legacy single ``history.parquet`` is migrated on first read: each of its runs becomes a per-run
  file (unless one exists) and the old file is renamed ``history.parquet.migrated``.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sr_core.store import Store

log = logging.getLogger(__name__)

HISTORY_DIR = "history"
LEGACY_FILE = "history.parquet"

# (store, run_id) -> the run's history rows, or None when its run folder cannot give them.
RowsOfRun = Callable[[Store, str], "list[dict[str, Any]] | None"]


def _schema() -> pa.Schema:
    from sr_core.results import HISTORY_SCHEMA

    return HISTORY_SCHEMA


def as_store(root: str | Path | Store) -> Store:
    return root if isinstance(root, Store) else Store(root)


def run_file(run_id: str) -> str:
    """The per-run file of ``run_id``, relative to the reports root."""
    from sr_core.runrecords import check_run_id

    return f"{HISTORY_DIR}/{check_run_id(run_id)}.parquet"


def utc(ts: datetime | str | pd.Timestamp | None = None) -> datetime:
    """A timezone-aware UTC datetime (now when None; naive values are taken as UTC)."""
    if ts is None:
        return datetime.now(timezone.utc)
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """Missing values as None (pandas gives NaN/NaT), integers as int, timestamps as UTC datetimes."""
    out = {}
    for key, value in row.items():
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out[key] = None
        elif key == "started_at":
            out[key] = utc(value)
        elif key in ("model_step", "n_images"):
            out[key] = int(value)
        elif isinstance(value, float) and math.isnan(value):
            out[key] = None
        else:
            out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_run_history(root: str | Path | Store, run_id: str, rows: list[dict[str, Any]]) -> str:
    """Write (or replace) ``history/<run_id>.parquet`` with this run's rows; returns its URL/path."""
    rows = sorted((clean_row(r) for r in rows), key=lambda r: str(r["method"]))
    others = {r["run_id"] for r in rows} - {run_id}
    if others:
        raise ValueError(f"history rows of run {run_id} name other runs too: {', '.join(sorted(others))}")
    table = pa.Table.from_pylist(rows, schema=_schema())
    return as_store(root).write_bytes(run_file(run_id), _parquet_bytes(table))


def history_files(root: str | Path | Store) -> list[str]:
    """The per-run files (relative paths), sorted."""
    return as_store(root).files(HISTORY_DIR, ".parquet")


def _pyarrow_fs(store: Store) -> pafs.FileSystem:
    if store.local is not None:
        return pafs.LocalFileSystem()
    return pafs.PyFileSystem(pafs.FSSpecHandler(store.fs))


def _file_problem(store: Store, rel: str, filesystem: pafs.FileSystem) -> str | None:
    """Why one per-run file cannot be part of the dataset (unreadable footer, wrong columns)."""
    try:
        fragment = next(iter(ds.dataset(store.fs_path(rel), format="parquet", filesystem=filesystem).get_fragments()))
        physical = fragment.physical_schema
    except (pa.ArrowException, OSError, StopIteration, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    schema = _schema()
    missing = [name for name in schema.names if name not in physical.names]
    if missing:
        return f"not a history file: column(s) {', '.join(missing)} missing"
    for field in schema:
        if not physical.field(field.name).type.equals(field.type):
            got = physical.field(field.name).type
            try:
                pa.array([], type=got).cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                return f"column {field.name} is {got}, not {field.type}"
    return None


def _set_aside(store: Store, rel: str, problem: str, then: str = "") -> str:
    aside = f"{rel}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    if store.local is not None:
        Path(store.fs_path(rel)).replace(store.fs_path(aside))
    else:
        store.write_bytes(aside, store.read_bytes(rel))
        store.remove(rel)
    log.warning("%s is unreadable (%s); moved it to %s%s", store.url(rel), problem, store.url(aside), then)
    return aside


def run_folders(store: Store) -> list[str]:
    """The names of the folders in a reports root that may be runs (not history/, not hidden)."""
    return [name for name, is_dir in store.listdir() if is_dir and name != HISTORY_DIR and not name.startswith(".")]


def rebuild_missing(store: Store, rows_of_run: RowsOfRun) -> int:
    """Write the history file of every run folder that has metrics but no history file yet."""
    existing = set(history_files(store))
    runs = rows = 0
    for name in run_folders(store):
        if run_file(name) in existing:
            continue
        run_rows = rows_of_run(store, name)
        if run_rows:
            write_run_history(store, name, run_rows)
            runs, rows = runs + 1, rows + len(run_rows)
    log.warning("rebuilt the history under %s from %d run folders (%d rows)", store.url(HISTORY_DIR), runs, rows)
    return runs


def migrate_legacy(root: str | Path | Store, rows_of_run: RowsOfRun | None = None) -> int:
    """Split a legacy single ``history.parquet`` into per-run files; returns how many were written.

    Runs that already have their own file keep it (it is newer). The legacy file is then renamed
    ``history.parquet.migrated``. A damaged legacy file is moved aside (``.damaged-<time>``) and,
    with ``rows_of_run``, the runs' files are rebuilt from their run folders instead. Safe to run
    twice or from two workers: every write is a whole file with the same content.
    """
    store = as_store(root)
    if not store.is_file(LEGACY_FILE):
        return 0
    try:
        table = pq.read_table(io.BytesIO(store.read_bytes(LEGACY_FILE)))
        table = table.select(_schema().names).cast(_schema())
    except (pa.ArrowException, OSError, KeyError, ValueError) as exc:
        _set_aside(store, LEGACY_FILE, f"{type(exc).__name__}: {exc}",
                   " and rebuilding it from the run folders" if rows_of_run else "")
        return rebuild_missing(store, rows_of_run) if rows_of_run else 0
    existing = set(history_files(store))
    written = 0
    by_run: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        by_run.setdefault(row["run_id"], []).append(row)
    for run_id, rows in by_run.items():
        if run_file(run_id) not in existing:
            write_run_history(store, run_id, rows)
            written += 1
    store.write_bytes(LEGACY_FILE + ".migrated", store.read_bytes(LEGACY_FILE))
    store.remove(LEGACY_FILE)
    log.info("migrated %s into %d per-run files under %s/", store.url(LEGACY_FILE), written,
             store.url(HISTORY_DIR))
    return written


def read_history_table(root: str | Path | Store, rows_of_run: RowsOfRun | None = None) -> pa.Table:
    """Every run's rows as one table (oldest first), read as a ``pyarrow.dataset``.

    Damaged files are named in the log and skipped; with ``rows_of_run`` (which recomputes a run's
    rows from its run folder) a damaged file is also moved aside and rebuilt.
    """
    store = as_store(root)
    migrate_legacy(store, rows_of_run)
    files = history_files(store)
    if not files:
        return _schema().empty_table()
    filesystem = _pyarrow_fs(store)
    good = []
    for rel in files:
        problem = _file_problem(store, rel, filesystem)
        if problem is None:
            good.append(rel)
            continue
        run_id = rel[len(HISTORY_DIR) + 1:-len(".parquet")]
        rows = rows_of_run(store, run_id) if rows_of_run is not None else None
        if rows is None:
            log.warning("history: skipped %s (%s)", store.url(rel), problem)
            continue
        _set_aside(store, rel, problem)
        write_run_history(store, run_id, rows)
        log.warning("history: rebuilt %s from the run folder %s (%d rows)", store.url(rel), run_id, len(rows))
        good.append(rel)
    if not good:
        return _schema().empty_table()
    dataset = ds.dataset([store.fs_path(rel) for rel in good], format="parquet", filesystem=filesystem,
                         schema=_schema())
    table = dataset.to_table()
    return table.sort_by([("started_at", "ascending"), ("run_id", "ascending"), ("method", "ascending")])


def read_history(root: str | Path | Store, rows_of_run: RowsOfRun | None = None) -> pd.DataFrame:
    """:func:`read_history_table` as a DataFrame (empty, with the history columns, when none)."""
    return read_history_table(root, rows_of_run).to_pandas()
