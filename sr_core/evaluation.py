"""Upscale the validation split with every method and score it: path in, path out.

The steps, in the order :mod:`sr_core.usecases` runs them (the flow as stages, the CLI in one call):

1. :func:`validation_ids` -> the image ids, cut into chunks of ``eval.chunk_size`` (:func:`chunks`);
2. :func:`write_run_json` -> ``run.json`` (run id, config, fingerprints, models);
3. :func:`evaluate_images` per chunk -> a partial Parquet, plus region crops under ``images/``;
4. :func:`merge_metrics` -> ``metrics.parquet`` (the notes of every chunk go into run.json);
5. ``sr_core.report``: ``render_report``, ``update_history``, ``render_index``.

Every path in a run folder comes from :class:`sr_core.runrecords.RunDir`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sr_core import catalog, layout
from sr_core.config import PipelineConfig
from sr_core.crops import regions_for_image
from sr_core.export import read_sidecar, sidecar_path
from sr_core.metrics import score
from sr_core.results import BENCHMARK_SPLIT, NOTES_KEY, asset_relpath, concat_metrics, metrics_table, utc, write_table
from sr_core.runrecords import ExportSidecar, MethodInfo, RunDir, RunRecord
from sr_core.verdict import challenged_name, champion_label
from sr_core.upscale import Upscaler, interpolation_upscaler, model_upscaler

log = logging.getLogger(__name__)

SPLIT = "validation"
# Called after each image with (images done, images in the chunk, image id).
Progress = Callable[[int, int, str], None]


def validation_ids(cfg: PipelineConfig) -> list[str]:
    """The validation images to evaluate, in source order, at most ``eval.max_images``."""
    from sr_core.sources import open_source

    ids = list(open_source(cfg).image_ids(SPLIT))
    if cfg.eval.max_images is not None:
        ids = ids[: cfg.eval.max_images]
    return ids


def chunks(ids: list[str], size: int) -> list[list[str]]:
    """Consecutive chunks of at most ``size`` ids (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def as_run_dir(run_dir: str | Path | RunDir) -> RunDir:
    return run_dir if isinstance(run_dir, RunDir) else RunDir.at(run_dir)


def method_order(cfg: PipelineConfig, models: dict[str, str | Path]) -> list[str]:
    """``eval.methods`` that can run (interpolations always, models when given), then extra models."""
    order = [m for m in cfg.eval.methods if catalog.is_interpolation(m) or m in models]
    return order + [m for m in models if m not in order]


def skipped_methods(cfg: PipelineConfig, models: dict[str, str | Path]) -> list[str]:
    return [m for m in cfg.eval.methods if not catalog.is_interpolation(m) and m not in models]


def skipped_note(method: str) -> str:
    return f"{method} skipped: no trained model was found for it"


def build_upscalers(cfg: PipelineConfig, models: dict[str, str | Path]) -> list[Upscaler]:
    scale = cfg.data.scale
    upscalers = []
    for method in method_order(cfg, models):
        if catalog.is_interpolation(method) and method not in models:
            upscalers.append(interpolation_upscaler(method, scale))
        else:
            upscalers.append(model_upscaler(models[method], scale, name=method,
                                            tile_size=cfg.eval.tile_size, tile_pad=cfg.eval.tile_pad))
    return upscalers


def _save_png(path: Path, img: np.ndarray) -> None:
    from sr_core.images import write_image

    write_image(path, img)


def _iter_records(cfg: PipelineConfig, image_ids: list[str] | None):
    from sr_core.sources import iter_pairs

    # Evaluation scores whole images: any image at least a few LR pixels across is fine.
    return iter_pairs(cfg, SPLIT, ids=image_ids, min_hr_size=cfg.data.scale * 4)


def evaluate_images(
    cfg: PipelineConfig,
    models: dict[str, str | Path],
    image_ids: list[str] | None,
    run_id: str,
    out_path: str | Path,
    *,
    started_at: datetime | str | None = None,
    run_dir: str | Path | RunDir | None = None,
    records: Iterable[Any] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Upscale and score one chunk of validation images; write its rows to ``out_path`` (Parquet).

    ``models`` maps a method name to its ``.keras`` file; bicubic and bilinear always run when listed
    in ``eval.methods``. ``image_ids`` None means all of :func:`validation_ids`. Region crops of HR
    and of every method are saved as PNG under ``run_dir/images`` (default: the run's report folder)
    for the report. ``records`` replaces the data source (an iterable of ImageRecord with ``lr``).
    """
    out_path = Path(out_path)
    run = as_run_dir(run_dir) if run_dir is not None else layout.run_dir(cfg, run_id)
    if started_at is None:
        record = run.read_run()
        started_at = record.started_at if record else None
    started = utc(started_at)
    scale = cfg.data.scale
    if image_ids is None and records is None:
        image_ids = validation_ids(cfg)
    upscalers = build_upscalers(cfg, models)
    notes = [skipped_note(m) for m in skipped_methods(cfg, models)]
    rows: list[dict[str, Any]] = []
    seen: list[str] = []
    source = records if records is not None else _iter_records(cfg, image_ids)
    total = len(image_ids) if image_ids is not None else 0
    for record in source:
        if image_ids is not None and record.image_id not in image_ids:
            continue
        hr, lr = record.hr, record.lr
        regions, region_notes = regions_for_image(cfg, record.image_id, hr)
        notes.extend(n for n in region_notes if n not in notes)
        for region in regions[1:]:
            _save_png(run.path / asset_relpath(record.image_id, region.name, "hr"), region.cut(hr))
        for up in upscalers:
            sr, seconds = up.timed(lr)
            if sr.shape != hr.shape:
                raise ValueError(f"{up.name} made a {sr.shape} image from {record.image_id!r} but HR is "
                                 f"{hr.shape}; HR must be exactly scale x LR")
            for region in regions:
                hr_cut, sr_cut = region.cut(hr), region.cut(sr)
                if region.kind != "full":
                    _save_png(run.path / asset_relpath(record.image_id, region.name, up.name), sr_cut)
                rows.append({
                    "run_id": run_id, "started_at": started, "dataset": cfg.data.dataset, "split": SPLIT,
                    "image_id": record.image_id, "method": up.name, "model_step": up.step,
                    "region": region.name, "top": region.top, "left": region.left,
                    "height": region.height, "width": region.width, "scale": scale,
                    "crop_border": scale, **score(hr_cut, sr_cut, crop_border=scale),
                    "seconds": seconds,
                })
        seen.append(record.image_id)
        if progress is not None:
            progress(len(seen), total or len(seen), record.image_id)
        log.info("evaluated %s (%d/%d)", record.image_id, len(seen), total)
    if image_ids is not None:
        missing = [i for i in image_ids if i not in seen]
        if missing:
            notes.append(f"validation images not found or too small, not scored: {', '.join(missing)}")
    return write_table(metrics_table(rows, notes), out_path)


def evaluate_set(cfg: PipelineConfig, models: dict[str, str | Path], spec: str, run_id: str,
                 out_path: str | Path, *, started_at: datetime | str | None = None) -> Path:
    """Upscale and score every image of one extra benchmark set (``eval.extra_sets``), full images
    only, into ``out_path``; rows carry ``dataset=spec`` and ``split="benchmark"``."""
    from sr_core.sources import iter_benchmark_set

    started, scale = utc(started_at), cfg.data.scale
    upscalers = build_upscalers(cfg, models)
    rows: list[dict[str, Any]] = []
    for record in iter_benchmark_set(spec, scale):
        for up in upscalers:
            sr, seconds = up.timed(record.lr)
            rows.append({
                "run_id": run_id, "started_at": started, "dataset": spec, "split": BENCHMARK_SPLIT,
                "image_id": record.image_id, "method": up.name, "model_step": up.step, "region": "full",
                "top": 0, "left": 0, "height": record.hr.shape[0], "width": record.hr.shape[1],
                "scale": scale, "crop_border": scale, **score(record.hr, sr, crop_border=scale),
                "seconds": seconds})
        log.info("benchmark set %s: scored %s", spec, record.image_id)
    notes = [] if rows else [f"benchmark set {spec}: no image could be scored"]
    return write_table(metrics_table(rows, notes), out_path)


def merge_metrics(parts: list[str | Path], run_dir: str | Path | RunDir) -> Path:
    """Concatenate the chunks into the run's ``metrics.parquet``; their notes are added to run.json."""
    run = as_run_dir(run_dir)
    table, notes = concat_metrics([Path(p) for p in parts])
    record = run.read_run()
    if record is not None and table.num_rows:
        started = pa.array([utc(record.started_at)] * table.num_rows, type=table.schema.field("started_at").type)
        table = table.set_column(table.schema.get_field_index("started_at"), "started_at", started)
    table = table.replace_schema_metadata({NOTES_KEY: json.dumps(notes).encode()})
    path = write_table(table, run.metrics)
    if record is not None:
        record.notes.extend(n for n in notes if n not in record.notes)
        run.write_run(record)
    return path


# --------------------------------------------------------------------------------------------------
# run.json


def method_info(cfg: PipelineConfig, models: dict[str, str | Path]) -> tuple[dict[str, MethodInfo], list[str]]:
    """Per-method label, kind, model path, step and fingerprint (from the model's sidecar), and
    variant notes."""
    info: dict[str, MethodInfo] = {}
    notes: list[str] = []
    for method in method_order(cfg, models):
        if catalog.is_interpolation(method) and method not in models:
            spec = catalog.INTERPOLATIONS[method]
            info[method] = MethodInfo(label=spec.label, kind="interpolation",
                                      description=spec.description(cfg.data.scale))
            continue
        path = Path(models[method])
        # A model given by path (``--model NAME=PATH``) may come without a sidecar.
        sidecar = read_sidecar(path) if sidecar_path(path).is_file() else None
        challenged = challenged_name(method)  # 'srgan@champion': the champion scored beside tonight's srgan
        spec = catalog.MODELS.get(challenged or method)
        label = (sidecar.label if sidecar else None) or (spec.label_for(cfg) if spec else path.stem)
        if challenged:
            label = champion_label(str(label), _registered_run_id(cfg, path))
        info[method] = MethodInfo(label=str(label), kind="model", model_path=str(path),
                                  step=sidecar.step if sidecar else None,
                                  created_at=sidecar.created_at if sidecar else None,
                                  model_fingerprint=sidecar.model_fingerprint if sidecar else None)
        spec_note = spec.variant_note(_model_config(sidecar, cfg)) if spec else None
        if spec_note:
            notes.append(f"{method} is the variant {label}: {spec_note}")
    for method in skipped_methods(cfg, models):
        notes.append(skipped_note(method))
    return info, notes


def _registered_run_id(cfg: PipelineConfig, path: Path) -> str | None:
    from sr_core.registry import read_view

    view = read_view(cfg.data_root)
    for entry in view.exports.values():
        if view.absolute(entry.path).resolve() == path.resolve():
            return entry.run_id
    return None


def _model_config(sidecar: ExportSidecar | None, cfg: PipelineConfig) -> PipelineConfig:
    """The config a model was trained with (from its sidecar), else the run's own."""
    try:
        return PipelineConfig.model_validate(sidecar.config) if sidecar and sidecar.config else cfg
    except ValueError:
        return cfg


def write_run_json(run_dir: str | Path | RunDir, cfg: PipelineConfig, run_id: str, **fields: Any) -> Path:
    """Write (or update) the run's ``run.json``: what was run, on what, with which models (``fields``:
    the keyword arguments of :func:`run_record`).

    Existing wall times and notes are kept and merged, so steps can add theirs as they finish.
    """
    run = as_run_dir(run_dir)
    return run.write_run(run_record(run, cfg, run_id, **fields))


def run_record(
    run: RunDir,
    cfg: PipelineConfig,
    run_id: str,
    *,
    models: dict[str, str | Path] | None = None,
    started_at: datetime | str | None = None,
    wall_times: dict[str, float] | None = None,
    notes: list[str] | tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
) -> RunRecord:
    """The record :func:`write_run_json` writes: the run folder's ``run.json`` (if any) updated with
    this config, these models, wall times and notes (merged with the old ones) and ``extra``."""
    old = run.read_run()
    methods, variant_notes = method_info(cfg, models or {})
    all_notes = list(old.notes) if old else []
    all_notes.extend(n for n in [*variant_notes, *notes] if n not in all_notes)
    try:
        from sr_core.sources import open_source

        source = open_source(cfg).describe()
    except Exception as exc:  # noqa: BLE001 - the description is informative only
        source = {"error": str(exc)}
    kept = old.model_dump() if old else {}
    return RunRecord.model_validate({
        **kept,
        "run_id": run_id,
        "started_at": utc(started_at or (old.started_at if old else None)).isoformat(),
        "preset": cfg.preset,
        "dataset": cfg.data.dataset,
        "split": SPLIT,
        "scale": cfg.data.scale,
        "config": cfg.model_dump(mode="json", exclude={"data_dir", "reports_dir"}),
        "config_fingerprint": cfg.fingerprint(),
        "data_fingerprint": cfg.data_fingerprint(),
        "source": source,
        "methods": {m: i.model_dump() for m, i in methods.items()},
        "wall_times": {**(old.wall_times if old else {}), **(wall_times or {})},
        "notes": all_notes,
        **(extra or {}),
    })
