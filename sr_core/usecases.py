"""Use cases: what a person or a flow asks srbench to do, each a plain function of typed values.

The CLI commands and the Prefect tasks both call these; they only add argument parsing and printing
(CLI) or retries, caching, artifacts and events (Prefect). Evaluate-and-report is one sequence of
steps; the flow runs each step as its own stage (so a failure names it), the CLI runs them all with
:func:`evaluate_and_report`:

    evaluate   with_champions -> begin_evaluation -> score_chunk per chunk of validation images
               -> score_extra_set per eval.extra_sets entry
    parquet    merge_scores                  -> metrics.parquet
    verdict    decide_promotions             -> promotion / rejection records in the registry
    report     write_report                  -> run.json (final) + curves/ + report.html
    history    record_history                -> history/<run_id>.parquet + index.html (published
                                                to the shared reports root when there is one)
    summary    summarize                     -> NightSummary (means, deltas, regressions)

Upscaling someone's photos is :func:`upscale_photos` (``srbench upscale``); preparing patches and
training are one library call each (``records.prepare_patches``, ``training.train_model``).

With a shared reports root (``cfg.reports_url``) the run folder is written in the local scratch and
published by ``record_history``; history and index are read and written on the shared root.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sr_core import layout, lifecycle
from sr_core.config import PipelineConfig
from sr_core.champions import decide_promotions, with_champions
from sr_core.evaluation import (chunks, evaluate_images, evaluate_set, merge_metrics, run_record, validation_ids,
                                 write_run_json)
from sr_core.export import read_sidecar
from sr_core.images import ImageReadError, check_min_size, read_image, write_image
from sr_core.partsowner import owning_parts
from sr_core.provenance import collect
from sr_core.publish import publish_run
from sr_core.registry import track_of
from sr_core.report import render_index, render_report, update_history
from sr_core.report.index import publish_index
from sr_core.results import NightSummary, metrics_of_root, night_summary, read_history, read_metrics, utc
from sr_core.runrecords import RecordError, RunDir, RunRecord
from sr_core.store import Store
from sr_core.upscale import Upscaler

# Called with (images done, images in total, image id).
Progress = Callable[[int, int, str], None]
EVALUATION_STAGES = ("evaluate", "parquet", "verdict", "report", "history", "summary")


@dataclass(frozen=True)
class EvaluationOutcome:
    """Where an evaluate-and-report run left its artifacts, and its summary."""

    run: RunDir
    metrics: Path
    report: Path
    history: str
    index: str
    summary: NightSummary
    record: RunRecord


def begin_evaluation(cfg: PipelineConfig, models: dict[str, str], run_id: str, *,
                     started_at: datetime | str | None = None, wall_times: dict[str, float] | None = None,
                     extra: dict[str, Any] | None = None) -> tuple[RunDir, list[list[str]]]:
    """Write run.json (what will run, with this process's provenance and what changed since the
    previous comparable night) and cut the validation split into chunks to score."""
    run = layout.run_dir(cfg, run_id)
    ids = validation_ids(cfg)
    if not ids:
        raise ValueError(f"the validation split of {cfg.data.dataset!r} has no images")
    extra = {**(extra or {}), "provenance": collect().model_dump(mode="json"),
             "validation_set": lifecycle.validation_set_fingerprint(ids)}
    record = run_record(run, cfg, run_id, models=models, started_at=started_at, wall_times=wall_times, extra=extra)
    changes = lifecycle.changes_since(lifecycle.previous_comparable_run(cfg.reports_root, record), record)
    run.write_run(record.model_copy(update={"changes": changes}))
    return run, chunks(ids, cfg.eval.chunk_size)


def score_chunk(cfg: PipelineConfig, models: dict[str, str], run: RunDir, image_ids: list[str], index: int,
                started_at: datetime | str | None, progress: Progress | None = None) -> Path:
    """Upscale and score one chunk into its partial table ``parts/chunk-NNNN.parquet``."""
    return evaluate_images(cfg, models, list(image_ids), run.run_id, run.part(index), started_at=started_at,
                           run_dir=run, progress=progress)


def score_extra_set(cfg: PipelineConfig, models: dict[str, str], run: RunDir, index: int,
                    started_at: datetime | str | None) -> Path:
    """Score every method on the ``index``-th set of ``eval.extra_sets`` into its partial table."""
    return evaluate_set(cfg, models, cfg.eval.extra_sets[index], run.run_id,
                        run.parts / f"set-{index:02d}.parquet", started_at=started_at)


def merge_scores(run: RunDir, parts: list[Path]) -> Path:
    """The chunks merged into ``metrics.parquet``; the partial tables are removed."""
    merged = merge_metrics(parts, run)
    run.remove_parts(parts)
    return merged


def write_report(cfg: PipelineConfig, models: dict[str, str], run: RunDir, *,
                 started_at: datetime | str | None = None, wall_times: dict[str, float] | None = None,
                 extra: dict[str, Any] | None = None) -> Path:
    """run.json completed with wall times and metadata, then ``report.html``."""
    write_run_json(run, cfg, run.run_id, models=models, started_at=started_at, wall_times=wall_times, extra=extra)
    return render_report(run, history_path=cfg.reports_root, curves_from=training_curves(cfg, models))


def training_curves(cfg: PipelineConfig, models: dict[str, str]) -> dict[str, Path]:
    """Each evaluated model's ``curves.csv``: in the checkpoint folder of the fingerprint its export
    was trained with (so a reused or registered model brings its own curves, not today's config's)."""
    out = {}
    for method, path in models.items():
        try:
            sidecar = read_sidecar(path)
        except (RecordError, OSError):
            continue
        if sidecar.model_fingerprint:
            out[method] = layout.checkpoint_dir_of(cfg.data_dir, sidecar.name or method, sidecar.model_fingerprint,
                                                   sidecar.run_id)
    return out


def record_history(run: RunDir, reports_root: str | None = None) -> tuple[str, str]:
    """This run's means written as ``history/<run_id>.parquet`` and ``index.html`` rebuilt.

    With a shared ``reports_root`` (a URL, not the run's own reports dir) the history file is
    written there, the run folder is published (marker last) and the shared index is rebuilt.
    Returns where the history and the index are.
    """
    if reports_root is None or Store(reports_root) == Store(run.reports_dir):
        return update_history(run, run.reports_dir), str(render_index(run.reports_dir))
    shared = Store(reports_root)
    history = update_history(run, shared)
    publish_run(run.path, shared)
    return history, publish_index(shared)


def summarize(cfg: PipelineConfig, run: RunDir) -> NightSummary:
    """Means, deltas vs bicubic and vs the previous comparable run, and regressions beyond tolerance."""
    metrics = read_metrics(run.metrics)
    return night_summary(metrics, read_history(cfg.reports_root), run.run_id, cfg.eval.regression_tolerance_db,
                         metrics_of_root(cfg.reports_root, (run.run_id, metrics)))


def evaluate_and_report(cfg: PipelineConfig, models: dict[str, str], run_id: str, *,
                        started_at: datetime | str | None = None, progress: Progress | None = None,
                        extra: dict[str, Any] | None = None) -> EvaluationOutcome:
    """Every step of evaluate-and-report in one process, in the flow's order (the CLI's path)."""
    started = utc(started_at)
    t0 = time.perf_counter()
    models, champions = with_champions(cfg, models)
    extra = {**(extra or {}), "track": track_of(cfg), "champions": champions}
    with owning_parts(layout.run_dir(cfg, run_id)):  # a killed evaluation's parts/ are swept later
        run, id_chunks = begin_evaluation(cfg, models, run_id, started_at=started, extra=extra)
        total = sum(len(c) for c in id_chunks)
        if progress is not None:
            progress(0, total, "starting")
        parts, done = [], 0
        for index, chunk in enumerate(id_chunks):
            def chunk_progress(i: int, _n: int, image_id: str, base: int = done) -> None:
                if progress is not None:
                    progress(base + i, total, image_id)
            parts.append(score_chunk(cfg, models, run, chunk, index, started, chunk_progress))
            done += len(chunk)
        parts += [score_extra_set(cfg, models, run, i, started) for i in range(len(cfg.eval.extra_sets))]
        metrics = merge_scores(run, parts)
    decisions = decide_promotions(cfg, run, models, champions)
    report = write_report(cfg, models, run, started_at=started,
                          wall_times={"evaluate": round(time.perf_counter() - t0, 3)},
                          extra={**extra, "verdicts": [d.as_dict() for d in decisions]})
    history, index = record_history(run, cfg.reports_root)
    return EvaluationOutcome(run=run, metrics=metrics, report=report, history=history, index=index,
                             summary=summarize(cfg, run), record=run.read_run())


@dataclass(frozen=True)
class UpscaleOutcome:
    """What :func:`upscale_photos` wrote, and which inputs failed with why."""

    written: list[Path]
    failed: list[tuple[Path, str]]


def upscale_photos(files: list[Path], upscaler: Upscaler, out_dir: Path, tag: str, *,
                   on_image: Callable[[Path, str | None], None] | None = None) -> UpscaleOutcome:
    """Upscale each image file into ``out_dir/<stem>_x<scale>_<tag>.png`` (written atomically).

    A file that cannot be read, is too small, or does not fit in memory is recorded in ``failed``
    with the reason and the others go on. ``on_image(path, error)`` is called after each file (error
    None on success), e.g. for a progress bar.
    """
    written: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for path in files:
        error = None
        try:
            lr = read_image(path)
            check_min_size(lr, 2, path, "upscaling (the models pad by reflection)")
            target = out_dir / f"{path.stem}_x{upscaler.scale}_{tag}.png"
            write_image(target, upscaler(lr))
            written.append(target)
        except (ImageReadError, ValueError, OSError) as exc:
            error = str(exc)
        except MemoryError:
            error = "out of memory: use a smaller tile size"
        if error is not None:
            failed.append((path, error))
        if on_image is not None:
            on_image(path, error)
    return UpscaleOutcome(written, failed)
