"""The Parquet tables: per-run ``metrics.parquet`` (long format) and the cross-run history
(``history/<run_id>.parquet``, one file per run: :mod:`sr_core.history`).

Both have explicit pyarrow schemas (documented in docs/evaluation.md); every write is atomic.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pydantic import ConfigDict

from sr_core import history
from sr_core.atomic import atomic_path
from sr_core.history import utc
from sr_core.numbers import number
from sr_core.runrecords import Record, RecordError, RunDir, RunRecord
from sr_core.store import Store, is_url

METRIC_COLUMNS = ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y")
BENCHMARK_SPLIT = "benchmark"  # the split of the eval.extra_sets rows: whole folders, never tuned on
TIMESTAMP = pa.timestamp("us", tz="UTC")

METRICS_SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("started_at", TIMESTAMP, nullable=False),
    pa.field("dataset", pa.string(), nullable=False),
    pa.field("split", pa.string(), nullable=False),
    pa.field("image_id", pa.string(), nullable=False),
    pa.field("method", pa.string(), nullable=False),
    pa.field("model_step", pa.int64(), nullable=True),
    pa.field("region", pa.string(), nullable=False),
    pa.field("top", pa.int32(), nullable=False),
    pa.field("left", pa.int32(), nullable=False),
    pa.field("height", pa.int32(), nullable=False),
    pa.field("width", pa.int32(), nullable=False),
    pa.field("scale", pa.int32(), nullable=False),
    pa.field("crop_border", pa.int32(), nullable=False),
    pa.field("psnr_rgb", pa.float64(), nullable=False),
    pa.field("ssim_rgb", pa.float64(), nullable=True),
    pa.field("psnr_y", pa.float64(), nullable=False),
    pa.field("ssim_y", pa.float64(), nullable=True),
    pa.field("seconds", pa.float64(), nullable=False),
])

HISTORY_SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("started_at", TIMESTAMP, nullable=False),
    pa.field("preset", pa.string(), nullable=False),
    pa.field("dataset", pa.string(), nullable=False),
    pa.field("method", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=True),
    pa.field("model_step", pa.int64(), nullable=True),
    pa.field("n_images", pa.int32(), nullable=False),
    pa.field("mean_psnr_rgb", pa.float64(), nullable=True),
    pa.field("mean_ssim_rgb", pa.float64(), nullable=True),
    pa.field("mean_psnr_y", pa.float64(), nullable=True),
    pa.field("mean_ssim_y", pa.float64(), nullable=True),
    pa.field("delta_psnr_rgb", pa.float64(), nullable=True),
    pa.field("delta_ssim_rgb", pa.float64(), nullable=True),
    pa.field("delta_psnr_y", pa.float64(), nullable=True),
    pa.field("delta_ssim_y", pa.float64(), nullable=True),
    pa.field("seconds_per_image", pa.float64(), nullable=True),
])

NOTES_KEY = b"srbench.notes"


def slug(text: str) -> str:
    """A filesystem-safe, collision-free name: safe characters kept, a short hash when any changed."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "x"
    if safe != text:
        safe = f"{safe[:60]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return safe


def asset_relpath(image_id: str, region: str, method: str) -> str:
    """Where a region crop of one method (or ``hr``) is saved, relative to the run folder."""
    return f"{RunDir.IMAGES}/{slug(image_id)}/{slug(region)}__{slug(method)}.png"


def metrics_table(rows: list[dict[str, Any]], notes: list[str] | tuple[str, ...] = ()) -> pa.Table:
    """Rows (dicts with the schema's columns) as a table of exactly ``METRICS_SCHEMA``."""
    table = pa.Table.from_pylist(rows, schema=METRICS_SCHEMA)
    return table.replace_schema_metadata({NOTES_KEY: json.dumps(list(notes)).encode()})


def write_table(table: pa.Table, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def _read_table(path: str | Path, schema: pa.Schema, what: str) -> pa.Table:
    """A Parquet table with exactly ``schema``'s columns; any problem is a RecordError naming the file."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise RecordError(path, f"cannot read the {what}: {exc}") from None
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise RecordError(path, f"not a valid {what}: column(s) {', '.join(missing)} missing")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise RecordError(path, f"not a valid {what}: {exc}") from None


def read_metrics(path: str | Path) -> pd.DataFrame:
    return _read_table(path, METRICS_SCHEMA, "metrics table").to_pandas()


def table_notes(path: str | Path) -> list[str]:
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(NOTES_KEY)
    return json.loads(raw) if raw else []


def concat_metrics(paths: list[str | Path]) -> tuple[pa.Table, list[str]]:
    """Concatenate partial metrics tables (schema-checked) and their notes."""
    tables, notes = [], []
    for path in paths:
        table = pq.read_table(path)
        if not table.schema.remove_metadata().equals(METRICS_SCHEMA):
            raise ValueError(f"{path} does not have the metrics schema; was it written by another version?")
        tables.append(table.cast(METRICS_SCHEMA))
        notes.extend(n for n in table_notes(path) if n not in notes)
    if not tables:
        return metrics_table([]), notes
    return pa.concat_tables(tables), notes


# --------------------------------------------------------------------------------------------------
# history (the per-run files: sr_core.history)


def _finite_mean(values: pd.Series) -> float | None:
    vals = values.astype(float)
    vals = vals[~np.isnan(vals)]
    return float(vals.mean()) if len(vals) else None


def run_summary(metrics: pd.DataFrame, split: str = "validation") -> pd.DataFrame:
    """Per-method means over the ``full`` rows of one split (the validation images; the extra
    benchmark sets are ``split="benchmark"``, summarised per set), with deltas vs bicubic."""
    full = metrics[metrics["region"] == "full"]
    if "split" in full:
        full = full[full["split"] == split]
    rows = []
    for method, group in full.groupby("method", sort=False):
        steps = group["model_step"].dropna()
        row = {"method": method, "n_images": int(group["image_id"].nunique()),
               "model_step": int(steps.iloc[0]) if len(steps) else None,
               "seconds_per_image": _finite_mean(group["seconds"])}
        for col in METRIC_COLUMNS:
            row[f"mean_{col}"] = _finite_mean(group[col])
        rows.append(row)
    summary = pd.DataFrame(rows)
    if summary.empty:
        return summary
    base = summary[summary["method"] == "bicubic"]
    for col in METRIC_COLUMNS:
        if base.empty or base.iloc[0][f"mean_{col}"] is None:
            summary[f"delta_{col}"] = None
        else:
            ref = base.iloc[0][f"mean_{col}"]
            summary[f"delta_{col}"] = [None if number(v) is None else v - ref for v in summary[f"mean_{col}"]]
    return summary


def run_record(run: RunDir, metrics: pd.DataFrame, *, read: bool = True) -> RunRecord:
    """The run's validated run.json or, when it has none (or ``read`` is False), what the metrics tell."""
    record = run.read_run() if read else None
    if record is not None:
        return record
    first = metrics.iloc[0] if len(metrics) else None
    return RunRecord(run_id=str(first.run_id) if first is not None else run.run_id,
                     started_at=utc(first.started_at if first is not None else None).isoformat(),
                     dataset=str(first.dataset) if first is not None else "")


def history_rows(metrics: pd.DataFrame, run: RunRecord) -> list[dict[str, Any]]:
    labels = {m: info.label for m, info in run.methods.items()}
    started = utc(run.started_at or metrics["started_at"].iloc[0])
    out = []
    for row in run_summary(metrics).to_dict("records"):
        row.update(run_id=run.run_id, started_at=started, preset=run.preset,
                   dataset=run.dataset or str(metrics["dataset"].iloc[0]),
                   label=labels.get(row["method"]))
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return out


def history_root(where: str | Path | Store) -> str | Path | Store:
    """The reports root of a history, given the root itself, its ``history/`` folder (what
    :func:`append_history` returns) or a legacy ``history.parquet`` in it."""
    if isinstance(where, Store):
        return where
    text = str(where).rstrip("/")
    last = text.rsplit("/", 1)[-1]
    if last in (history.HISTORY_DIR, history.LEGACY_FILE) and "/" in text:
        return text.rsplit("/", 1)[0] if is_url(text) else Path(text).parent
    return where


def read_history(where: str | Path | Store) -> pd.DataFrame:
    """Every run's per-method means, oldest first: the ``history/`` dataset of a reports root (a
    folder or a shared URL). A legacy ``history.parquet`` is migrated; damaged files are named,
    and rebuilt from their run folders where those still have the metrics."""
    return history.read_history(history_root(where), rows_from_run_folder)


def append_history(where: str | Path | Store, rows: list[dict[str, Any]]) -> str:
    """Write each run's rows as its own ``history/<run_id>.parquet`` (replacing that run's earlier
    rows); returns where the history dataset lives. No lock: no other run's file is touched."""
    root = history_root(where)
    by_run: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_run.setdefault(str(row["run_id"]), []).append(row)
    for run_id, run_rows in by_run.items():
        history.write_run_history(root, run_id, run_rows)
    return history.as_store(root).url(history.HISTORY_DIR)


def _rows_of(run: RunDir) -> list[dict[str, Any]] | None:
    log = logging.getLogger(__name__)
    try:
        df = read_metrics(run.metrics)
        try:
            record = run_record(run, df)
        except RecordError as exc:  # the metrics alone still make the history rows
            log.warning("history rebuild: %s; using the metrics alone", exc)
            record = run_record(run, df, read=False)
        return history_rows(df, record) if len(df) else []
    except Exception as exc:  # noqa: BLE001 - one bad run folder must not block the others
        log.warning("history rebuild: left out %s (%s: %s)", run.metrics, type(exc).__name__, exc)
        return None


def rows_from_run_folder(store: Store, run_id: str) -> list[dict[str, Any]] | None:
    """A run's history rows recomputed from its own ``metrics.parquet`` (+ ``run.json``); None when
    the run folder has no readable metrics. History is derived data: this is how it is rebuilt."""
    if store.local is not None:
        run = RunDir(store.local, run_id)
        return _rows_of(run) if run.metrics.is_file() else None
    if not store.is_file(f"{run_id}/{RunDir.METRICS}"):
        return None
    with tempfile.TemporaryDirectory(prefix="srbench-rebuild-") as tmp:
        run = RunDir(tmp, run_id)
        for name in (RunDir.METRICS, RunDir.RUN):
            if store.is_file(f"{run_id}/{name}"):
                store.download(f"{run_id}/{name}", run.path / name)
        return _rows_of(run)


def add_unrecorded_runs(where: str | Path | Store) -> list[str]:
    """Write the missing history file of every finished run folder (report, metrics and run.json, no
    failure record): a night killed between its report and history stages. Returns their run ids."""
    store = history.as_store(history_root(where))
    existing = set(history.history_files(store))
    added = []
    for name in history.run_folders(store):
        finished = all(store.is_file(f"{name}/{f}") for f in (RunDir.REPORT, RunDir.METRICS, RunDir.RUN))
        if (history.run_file(name) in existing or not finished
                or store.is_file(f"{name}/{RunDir.FAILURE}")):
            continue
        rows = rows_from_run_folder(store, name)
        if rows:
            history.write_run_history(store, name, rows)
            logging.getLogger(__name__).warning(
                "history: added %s, which has a report but no history file (killed before its history "
                "stage)", name)
            added.append(name)
    return added


class _Row(Record):
    model_config = ConfigDict(extra="ignore")


class Regression(_Row):
    """A method whose paired per-image Y-PSNR difference against the previous comparable night has a
    95% interval entirely below ``-tolerance_db`` (sr_core.verdict, docs/lifecycle.md)."""

    method: str
    label: str
    run_id: str
    previous_run_id: str
    psnr_y: float  # mean over the paired images, tonight
    previous_psnr_y: float  # and in the previous comparable night
    drop_db: float  # previous - now (the paired mean); the interval below says it is beyond noise
    tolerance_db: float
    n_images: int
    low_db: float  # 95% interval of now - previous
    high_db: float


# run id -> that run's metrics (None when its folder has none): how the regression rule reaches the
# per-image values of earlier nights.
MetricsOf = Callable[[str], "pd.DataFrame | None"]


def metrics_of_root(root: str | Path | Store, *current: tuple[str, pd.DataFrame]) -> MetricsOf:
    """Per-run metrics read from the run folders of a reports root (local or shared), cached;
    ``current`` gives runs already in memory (tonight's, before it is published)."""
    store = root if isinstance(root, Store) else Store(str(history_root(root)))
    cache: dict[str, pd.DataFrame | None] = dict(current)

    def load(run_id: str) -> pd.DataFrame | None:
        if run_id not in cache:
            try:
                if store.local is not None:
                    path = store.local / run_id / RunDir.METRICS
                    cache[run_id] = read_metrics(path) if path.is_file() else None
                elif store.is_file(f"{run_id}/{RunDir.METRICS}"):
                    cache[run_id] = pq.read_table(io.BytesIO(store.read_bytes(f"{run_id}/{RunDir.METRICS}")),
                                                  schema=METRICS_SCHEMA).to_pandas()
                else:
                    cache[run_id] = None
            except (OSError, ValueError, pa.ArrowException):
                cache[run_id] = None
        return cache[run_id]

    return load


def find_regressions(history: pd.DataFrame | str | Path, run_id: str, tolerance: float,
                     metrics_of: MetricsOf | None = None) -> list[dict[str, Any]]:
    """Methods of ``run_id`` that regressed against the previous *comparable* night.

    Comparable: the latest earlier run of the same preset and dataset that scored the same method
    on the same set of validation images (full images). The per-image Y-PSNR of both nights is
    paired; a regression is a 95% paired bootstrap interval of now - previous lying entirely below
    ``-tolerance`` (which needs at least ``MIN_IMAGES_FOR_VERDICT`` images). ``metrics_of`` reads a
    run's metrics; by default from the run folders beside the history (when ``history`` is a path).
    Each finding is a :class:`Regression` as a dict.
    """
    from sr_core.verdict import challenged_name, image_set, per_image, regression

    if metrics_of is None:
        if isinstance(history, pd.DataFrame):
            raise ValueError("find_regressions needs metrics_of (the per-image values) with a history table")
        metrics_of = metrics_of_root(history)
    if not isinstance(history, pd.DataFrame):
        history = read_history(history)
    tonight = metrics_of(run_id)
    if tonight is None:
        return []
    now = history[history["run_id"] == run_id]
    findings = []
    for row in now.to_dict("records"):
        method, dataset = row["method"], row["dataset"]
        if challenged_name(method):  # a champion scored for comparison: its own night is not tonight's
            continue
        earlier = history[(history["method"] == method) & (history["preset"] == row["preset"])
                          & (history["dataset"] == dataset) & (history["run_id"] != run_id)
                          & (history["started_at"] < row["started_at"])]
        images = image_set(tonight, dataset)
        for prev_id in earlier.sort_values("started_at", kind="stable")["run_id"].iloc[::-1]:
            before = metrics_of(str(prev_id))
            if before is None or image_set(before, dataset) != images:
                continue  # not comparable: look further back
            mine, theirs = per_image(tonight, method, dataset=dataset), per_image(before, method, dataset=dataset)
            found = regression(mine, theirs, tolerance)
            if found is not None:
                label = row.get("label")  # pandas 3 reads a missing label as NaN, which is truthy
                common = [i for i in mine.index if i in theirs.index]
                findings.append(Regression(
                    method=method, label=label if isinstance(label, str) and label else method,
                    run_id=run_id, previous_run_id=str(prev_id), psnr_y=float(mine.loc[common].mean()),
                    previous_psnr_y=float(theirs.loc[common].mean()), drop_db=-found.mean,
                    tolerance_db=float(tolerance), n_images=found.n, low_db=found.low,
                    high_db=found.high).model_dump())
            break
    return findings


# --------------------------------------------------------------------------------------------------
# The night's summary


class SummaryRow(_Row):
    """One method's means over the full images, with its deltas vs bicubic and vs the previous run."""

    method: str
    label: str | None = None
    n_images: int
    model_step: int | None = None
    psnr_y: float | None = None
    ssim_y: float | None = None
    psnr_rgb: float | None = None
    ssim_rgb: float | None = None
    delta_bicubic_db: float | None = None
    delta_previous_db: float | None = None


class NightSummary(_Row):
    rows: list[SummaryRow]
    previous_run_id: str | None = None
    regressions: list[Regression]


def night_summary(metrics: pd.DataFrame, history: pd.DataFrame, run_id: str, tolerance_db: float,
                  metrics_of: MetricsOf | None = None) -> NightSummary:
    """Per-method means (full images) with deltas vs bicubic and vs the previous comparable run
    (same preset and dataset), and the methods that regressed by more than ``tolerance_db`` (Y-PSNR)."""
    summary = run_summary(metrics)
    this = history[history["run_id"] == run_id]
    labels = {str(r["method"]): r.get("label") for r in this.to_dict("records")}
    previous_run_id = None
    previous_means: dict[str, float | None] = {}
    if not this.empty:
        first = this.iloc[0]
        earlier = history[(history["preset"] == first["preset"]) & (history["dataset"] == first["dataset"])
                          & (history["started_at"] < first["started_at"]) & (history["run_id"] != run_id)]
        if not earlier.empty:
            previous_run_id = str(earlier.sort_values("started_at").iloc[-1]["run_id"])
            prev = earlier[earlier["run_id"] == previous_run_id]
            previous_means = {str(r["method"]): number(r["mean_psnr_y"]) for r in prev.to_dict("records")}
    rows = []
    for rec in summary.to_dict("records"):
        method = str(rec["method"])
        now, prev = number(rec.get("mean_psnr_y")), previous_means.get(method)
        step = number(rec.get("model_step"))
        rows.append(SummaryRow(
            method=method, label=labels.get(method) if isinstance(labels.get(method), str) else None,
            n_images=int(rec.get("n_images") or 0), model_step=None if step is None else int(step),
            psnr_y=now, ssim_y=number(rec.get("mean_ssim_y")), psnr_rgb=number(rec.get("mean_psnr_rgb")),
            ssim_rgb=number(rec.get("mean_ssim_rgb")), delta_bicubic_db=number(rec.get("delta_psnr_y")),
            delta_previous_db=None if now is None or prev is None else now - prev))
    return NightSummary(rows=rows, previous_run_id=previous_run_id,
                        regressions=[Regression.model_validate(r)
                                     for r in find_regressions(history, run_id, tolerance_db, metrics_of)])
