"""``srbench evaluate``, ``report``, ``metrics``, ``upscale`` and ``models``: scoring and using models."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from sr_core.catalog import DEFAULT_TILE_PAD, DEFAULT_TILE_SIZE, DEFAULT_UPSCALE_MODEL, METHOD_NAMES, is_interpolation
from sr_core.numbers import fmt_number
from srbench.commands.champions import Track
from srbench.options import ConfigFile, DataDir, Dataset, Overrides, Preset, ReportsDir, build_config, fail


def _note(message: str) -> None:
    typer.secho(f"note: {message}", fg=typer.colors.YELLOW, err=True)


def _data_dir(data_dir: str | None) -> str:
    """The data root as given: a folder or a shared URL (s3://...), where the registry lives."""
    return str(data_dir) if data_dir is not None else "data"


def _parse_model_options(items: list[str] | None) -> dict[str, str]:
    models = {}
    for item in items or []:
        if "=" not in item:
            raise fail(f"--model {item!r} is not METHOD=PATH (e.g. --model mynet=runs/mynet.keras)", 2)
        name, path = item.split("=", 1)
        if not name.strip() or not Path(path).expanduser().is_file():
            raise fail(f"--model {item!r}: {path!r} is not a .keras file", 2)
        models[name.strip()] = str(Path(path).expanduser())
    return models


def evaluate(
    preset: Preset = "quick",
    dataset: Dataset = None,
    data_dir: DataDir = None,
    reports_dir: ReportsDir = None,
    overrides: Overrides = None,
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="Name of the run folder under the "
                      "reports dir. [default: <preset>-<UTC timestamp>]")] = None,
    extra_models: Annotated[Optional[list[str]], typer.Option("--model", "-m", metavar="METHOD=PATH",
                            help="Score an extra (or replacement) model: a method name and its .keras "
                            "file, repeatable.")] = None,
    config_file: ConfigFile = None,
) -> None:
    """Upscale the validation split with every method, score it, and write the report.

    Methods come from eval.methods: bicubic and bilinear always run; srcnn, srresnet and srgan use
    the newest registered export of the run's track (preset + dataset; 'srbench models'), and the
    track's champion is scored beside it as NAME@champion on the same images; the promotion rule
    then decides whether the newer export becomes the champion (docs/lifecycle.md). A model with no
    export is skipped with a note. eval.extra_sets are scored too, each in its own table. Writes REPORTS/<run-id>/metrics.parquet (one row per image x method x
    region), run.json, images/ and report.html, appends the run to REPORTS/history.parquet and
    rebuilds REPORTS/index.html. The last line printed is the report's path.

    \b
    Examples:
      srbench evaluate --preset smoke
      srbench evaluate --preset div2k --data-dir /mnt/data --reports-dir /srv/reports
      srbench evaluate --preset quick --set eval.auto_crops=4 --model vdsr=~/vdsr.keras
    """
    from sr_core.images import ImageReadError
    from sr_core.champions import models_to_benchmark
    from sr_core.runrecords import RecordError, check_run_id, new_run_id
    from sr_core.sources import DatasetUnavailableError, SourceError
    from sr_core.usecases import evaluate_and_report

    cfg = build_config(preset, dataset, data_dir, reports_dir, overrides, uses_reports=True, config_file=config_file)
    try:
        run_id = check_run_id(run_id or new_run_id(cfg.preset))
    except ValueError as exc:
        raise fail(f"--run-id / preset: {exc}", 2) from None
    try:
        models, chosen = models_to_benchmark(cfg)
    except (RecordError, ValueError) as exc:
        raise fail(str(exc)) from None
    for note in chosen:
        _note(note)
    for method in cfg.eval.methods:
        if not is_interpolation(method) and method not in models:
            _note(f"{method} skipped: no {method} model registered in {cfg.data_root}/models; run "
                  f"`srbench train --model {method}` or `srbench run`")
    models.update(_parse_model_options(extra_models))
    typer.echo(f"evaluating run {run_id} on {cfg.data.dataset} (preset {cfg.preset}, x{cfg.data.scale}): "
               f"{', '.join(m for m in cfg.eval.methods if is_interpolation(m) or m in models)}"
               + (f", {', '.join(m for m in models if m not in cfg.eval.methods)}"
                  if any(m not in cfg.eval.methods for m in models) else ""))
    bar = _Bar("images")
    started = time.monotonic()
    try:
        outcome = evaluate_and_report(cfg, models, run_id, progress=bar.update)
    except (SourceError, DatasetUnavailableError, ImageReadError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    finally:
        bar.close()
    typer.echo(f"scored in {time.monotonic() - started:.1f}s; mean over full images:")
    for row in outcome.summary.rows:
        delta = row.delta_bicubic_db
        typer.echo(f"  {row.label or row.method:<12} Y-PSNR {fmt_number(row.psnr_y)} dB  "
                   f"Y-SSIM {fmt_number(row.ssim_y, 4)}  RGB-PSNR {fmt_number(row.psnr_rgb)} dB"
                   + (f"  ({delta:+.2f} dB vs bicubic)" if delta is not None and row.method != "bicubic"
                      else ""))
    for verdict in outcome.record.verdicts:
        colour = typer.colors.RED if verdict["action"] == "reject" else None
        typer.secho(f"verdict {verdict['name']} on track {verdict['track']}: {verdict['action']} "
                    f"({verdict['explanation']})", fg=colour, err=True)
    for finding in outcome.summary.regressions:
        typer.secho(f"regression: {finding.label} Y-PSNR {finding.psnr_y:.2f} dB, "
                    f"{finding.drop_db:.2f} dB below run {finding.previous_run_id}",
                    fg=typer.colors.RED, err=True)
    for note in outcome.record.notes:
        if not any(note.startswith(f"{m} skipped") for m in cfg.eval.methods):  # said above already
            _note(note)
    typer.echo(str(outcome.report))


class _Bar:
    """A tqdm bar on stderr created on first progress call (the total is known only then)."""

    def __init__(self, unit: str):
        self.unit, self.bar = unit, None

    def update(self, done: int, total: int, name: str) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
        self.bar.set_postfix_str(str(name)[:40])
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (REPORTS/<run-id>) holding metrics.parquet, "
                                            "run.json and images/.")],
    index: Annotated[bool, typer.Option("--index/--no-index", help="Also rebuild the index.html of the "
                                        "reports folder above it.")] = True,
    embed: Annotated[Optional[bool], typer.Option("--embed/--link", help="Embed the crops in the HTML "
                     "(one portable file) or link them from images/. [default: embed up to 12 MB]")] = None,
) -> None:
    """Rebuild a run's report.html from its metrics.parquet, run.json and images/ alone.

    Nothing is re-evaluated: use it after changing the report code or to restore a deleted report.
    The nightly trend and regression banner read the history in the folder above RUN_DIR; a finished
    run that has no history file (a night killed before its history stage) is added to it.

    \b
    Example:
      srbench report reports/quick-20261125T020000000000Z
    """
    from sr_core.report import render_index, render_report

    try:
        path = render_report(run_dir, embed_images=embed)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if index:
        from sr_core.results import add_unrecorded_runs

        add_unrecorded_runs(run_dir.resolve().parent)  # e.g. this run, killed before its history stage
        render_index(run_dir.resolve().parent)
    typer.echo(str(path))


def metrics(
    hr_image: Annotated[Path, typer.Argument(help="The reference (ground-truth HR) image.")],
    sr_image: Annotated[Path, typer.Argument(help="The image to score, same size as HR.")],
    crop_border: Annotated[int, typer.Option("--crop-border", min=0, help="Pixels removed from each side "
                           "for the Y metrics (the SR papers use the scale).")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: "
                       '{"psnr_rgb":…, "ssim_rgb":…, "psnr_y":…, "ssim_y":…}.')] = False,
) -> None:
    """PSNR and SSIM of one image against its reference, exactly as the report computes them.

    psnr_rgb/ssim_rgb: scikit-image on the whole RGB image (the seed's numbers). psnr_y/ssim_y: BT.601
    luma, --crop-border pixels cropped from each side, Gaussian 11x11 SSIM (BasicSR / the papers).
    Identical images have infinite PSNR: --json prints it as the string "inf" (JSON has no infinity;
    float("inf") reads it back), and an SSIM that cannot be computed (image smaller than its window)
    as null.

    \b
    Examples:
      srbench metrics hr.png sr.png
      srbench metrics hr.png sr.png --crop-border 4 --json
    """
    from sr_core.images import ImageReadError, check_min_size, read_image
    from sr_core.metrics import json_safe, score

    try:
        hr, sr = read_image(hr_image), read_image(sr_image)
    except ImageReadError as exc:
        raise fail(str(exc)) from None
    if hr.shape != sr.shape:
        raise fail(f"{sr_image} is {sr.shape[1]}x{sr.shape[0]} but {hr_image} is {hr.shape[1]}x{hr.shape[0]}; "
                    "score images of the same size (modcrop the HR to a multiple of the scale)")
    if 2 * crop_border >= min(hr.shape[:2]):
        raise fail(f"--crop-border {crop_border} leaves nothing of a {hr.shape[1]}x{hr.shape[0]} image", 2)
    try:  # SSIM's 11x11 Gaussian window must fit inside the cropped image
        check_min_size(hr, 2 * crop_border + 11, hr_image, f"SSIM with --crop-border {crop_border}")
    except ImageReadError as exc:
        raise fail(str(exc)) from None
    values = score(hr, sr, crop_border=crop_border)
    if as_json:
        typer.echo(json.dumps({k: json_safe(v) for k, v in values.items()}, allow_nan=False))
        return
    typer.echo(f"PSNR RGB {values['psnr_rgb']:.4f} dB   SSIM RGB {values['ssim_rgb']:.4f}   (whole image)")
    typer.echo(f"PSNR Y   {values['psnr_y']:.4f} dB   SSIM Y   {values['ssim_y']:.4f}   "
               f"(BT.601 luma, {crop_border} px border cropped)")


def _collect_inputs(inputs: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    from sr_core.images import is_image_file

    files, problems = [], []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and is_image_file(p))
            if not found:
                problems.append((item, "folder holds no images (png, jpg, bmp, tif, webp)"))
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            problems.append((item, "no such file or folder"))
    return files, problems


def _model_tag(model: str) -> str:
    if model.lower() in METHOD_NAMES:
        return model.lower()
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model).stem) or "model"


def upscale(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images.")],
    model: Annotated[str, typer.Option("--model", "-m", help="srcnn, srresnet, srgan (the champion of the "
                     "track; NAME@latest: the newest export, NAME@<run_id>: a run's), bicubic, bilinear, or a "
                     "path to a .keras file.")] = DEFAULT_UPSCALE_MODEL,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if needed).")] = Path("upscaled"),
    scale: Annotated[int, typer.Option("--scale", min=2, max=8, help="Upscale factor; must match the "
                     "model's.")] = 4,
    tile: Annotated[int, typer.Option("--tile", min=0, help="LR tile side for bounded-memory inference: "
                    "no tile window holds more pixels than this square plus its pad (0 = whole image at once).")] = DEFAULT_TILE_SIZE,
    tile_pad: Annotated[int, typer.Option("--tile-pad", min=0, help="LR context pixels around each tile, "
                        "cropped after inference; raised to the model's receptive field when smaller.")] = DEFAULT_TILE_PAD,
    data_dir: DataDir = None,
    track: Track = None,
) -> None:
    """Upscale your own photos with a trained model (or bicubic/bilinear).

    A model name uses its champion on the track (--track / $SRBENCH_TRACK; by default the first of
    div2k, quick, smoke that has one), so a smoke or quick run never changes what you get here.

    Each INPUT image becomes OUT/<stem>_x<scale>_<model>.png (written atomically). Large photos are
    processed in tiles with overlapping context, so memory stays bounded and the result equals
    whole-image inference. Unreadable files are named and skipped; the exit code is 1 only when
    every input failed.

    \b
    Examples:
      srbench upscale photo.jpg --model srgan --out sharp/
      srbench upscale ~/Pictures/trip --model srresnet --out sharp/ --tile 256
      srbench upscale a.png b.png --model bicubic --out compare/
      srbench upscale a.png --model runs/my_model.keras --out sharp/
    """
    from tqdm import tqdm

    from sr_core.registry import ModelNotFoundError, resolve_model
    from sr_core.runrecords import RecordError
    from sr_core.upscale import interpolation_upscaler, model_upscaler
    from sr_core.usecases import upscale_photos

    files, problems = _collect_inputs(inputs)
    for path, why in problems:
        typer.secho(f"skipped {path}: {why}", fg=typer.colors.YELLOW, err=True)
    if not files:
        raise fail("no input images to upscale")
    try:
        if is_interpolation(model.lower()):
            upscaler = interpolation_upscaler(model.lower(), scale)
        else:
            path = resolve_model(_data_dir(data_dir), model, track=track)
            upscaler = model_upscaler(path, scale, name=_model_tag(model), tile_size=tile or None,
                                      tile_pad=tile_pad)
            typer.echo(f"model {upscaler.label} (step {upscaler.step if upscaler.step is not None else '?'}) "
                       f"from {path}", err=True)
    except (ModelNotFoundError, RecordError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    bar = tqdm(total=len(files), unit="image", file=sys.stderr, dynamic_ncols=True)

    def on_image(path: Path, error: str | None) -> None:
        if error is not None:
            tqdm.write(f"failed {path}: {error}", file=sys.stderr)
        bar.update(1)

    outcome = upscale_photos(files, upscaler, out, _model_tag(model), on_image=on_image)
    bar.close()
    for target in outcome.written:
        typer.echo(str(target))
    if outcome.failed:
        typer.secho(f"{len(outcome.failed)} of {len(files)} images failed: "
                    + ", ".join(str(p) for p, _ in outcome.failed), fg=typer.colors.YELLOW, err=True)
    if not outcome.written:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    app.command("evaluate")(evaluate)
    app.command("report")(report)
    app.command("metrics")(metrics)
    app.command("upscale")(upscale)
