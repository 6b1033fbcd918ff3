"""``srbench prepare``, ``srbench degrade`` and ``srbench download``: the data commands."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Annotated

import typer

from srbench.options import ConfigFile, DataDir, Dataset, Overrides, Preset, ReportsDir, build_config, fail


def prepare(
    preset: Preset = "quick",
    dataset: Dataset = None,
    data_dir: DataDir = None,
    reports_dir: ReportsDir = None,
    overrides: Overrides = None,
    config_file: ConfigFile = None,
) -> None:
    """Cut aligned HR/LR patch pairs into sharded, GZIP-compressed TFRecords.

    LR patches come from the dataset's own LR images (div2k, downloaded first if needed) or from the
    MATLAB bicubic degradation of the HR image (sample, folder). Each LR crop at (y, x) pairs with the HR crop at
    (scale*y, scale*x). The patches land in DATA_DIR/patches/<dataset>-<fingerprint>/ with a
    manifest.json (counts, sizes, seed, per-shard checksums). The same settings always give the
    same, byte-identical shards, so a directory that is already complete is reused, not rebuilt;
    changing any data.* setting writes a new directory.

    \b
    Examples:
      srbench prepare --preset smoke
      srbench prepare --preset quick --dataset folder:~/photos
      srbench prepare --preset div2k --data-dir /mnt/data
      srbench prepare --preset quick --set data.patches_per_image=32
    """
    from sr_core.images import ImageReadError
    from sr_core.records import PatchDataError, prepare_patches, read_manifest
    from sr_core.sources import DatasetUnavailableError, SourceError, ensure_dataset

    cfg = build_config(preset, dataset, data_dir, reports_dir, overrides, config_file=config_file)
    started = time.monotonic()
    typer.echo(f"preparing {cfg.data.dataset} patches (preset {cfg.preset}, HR {cfg.data.hr_patch_size}px, "
               f"LR {cfg.data.lr_patch_size}px, x{cfg.data.scale}) ...")
    state = {"wrote": False}

    def progress(done: int, total: int, message: str) -> None:
        if message.startswith(("reused", "wrote")):
            state["wrote"] = state["wrote"] or message.startswith("wrote")
            return
        state["wrote"] = True
        typer.echo(f"  [{done}/{total}] {message}")

    try:
        if cfg.data.dataset == "div2k":
            ensure_dataset(cfg)  # downloads once; a prepared dataset is reused
        patch_dir = prepare_patches(cfg, progress=progress)
        manifest = read_manifest(patch_dir)
    except (SourceError, DatasetUnavailableError, PatchDataError, ImageReadError) as exc:
        raise fail(str(exc)) from None
    status = "wrote" if state["wrote"] else "reused (already complete)"
    typer.echo(f"{status}: {patch_dir}")
    for split, entry in manifest["splits"].items():
        typer.echo(f"  {split}: {entry['count']} patches from {entry['images']} image(s) in "
                   f"{len(entry['shards'])} shards")
    typer.echo(f"  fingerprint {manifest['fingerprint']}, {time.monotonic() - started:.1f}s")


def degrade(
    hr_image: Annotated[Path, typer.Argument(help="The HR image to shrink (PNG/JPEG/BMP/TIFF/WebP).")],
    out_image: Annotated[Path, typer.Argument(help="Where to write the LR image; the format follows the "
                                              "suffix (use .png: lossless).")],
    scale: Annotated[int, typer.Option("--scale", min=2, max=8, help="Downscale factor.")] = 4,
) -> None:
    """Write the LR version of an image, exactly as DIV2K's LR images were made.

    The HR image is first modcropped (its bottom/right cropped so both sides are multiples of
    --scale), then shrunk with MATLAB's imresize(img, 1/scale, 'bicubic') -- the cubic kernel with
    a = -0.5 widened by the scale (antialiasing), symmetric borders, uint8 rounding after each pass.
    Grayscale images come out as 3-channel RGB; alpha is dropped; 16-bit becomes 8-bit.

    \b
    Examples:
      srbench degrade photo.png photo_x4.png
      srbench degrade photo.png photo_x2.png --scale 2
    """
    from sr_core.images import ImageReadError, read_image, write_image
    from sr_core.resize import downscale

    try:
        hr = read_image(hr_image)
    except ImageReadError as exc:
        raise fail(str(exc)) from None
    if min(hr.shape[:2]) < scale:
        raise fail(f"{hr_image} is {hr.shape[1]}x{hr.shape[0]}: too small to shrink by {scale}")
    lr = downscale(hr, scale)
    try:
        write_image(out_image, lr)
    except ValueError as exc:
        raise fail(f"cannot write {out_image}: {exc}") from None
    cropped = (hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale)
    note = "" if cropped == hr.shape[:2] else f" (modcropped to {cropped[1]}x{cropped[0]})"
    typer.echo(f"{hr_image} {hr.shape[1]}x{hr.shape[0]}{note} -> {out_image} {lr.shape[1]}x{lr.shape[0]}")


def download(
    preset: Preset = "div2k",
    dataset: Dataset = None,
    data_dir: DataDir = None,
    reports_dir: ReportsDir = None,
    overrides: Overrides = None,
) -> None:
    """Download and prepare the dataset (DIV2K via tensorflow-datasets) under DATA_DIR/tfds.

    Only 'div2k' needs this (about 4 GB: the HR and bicubic x4 LR zips of both splits); 'sample'
    and 'folder:...' are already on disk, and this command says so. Reruns reuse a prepared
    dataset.

    \b
    Offline machines: pre-seed the data dir with either
      - a prepared tfds folder: copy ~/tensorflow_datasets/div2k
        (holding bicubic_x4/2.0.0/) to DATA_DIR/tfds/div2k, or
      - the four DIV2K zips, DIV2K_{train,valid}_HR.zip and
        DIV2K_{train,valid}_LR_bicubic_X4.zip, in DATA_DIR/tfds/downloads/manual,
        then run this command (their checksums are verified).

    \b
    Examples:
      srbench download
      srbench download --data-dir /mnt/data
    """
    from sr_core.sources import DatasetUnavailableError, SourceError, ensure_dataset

    cfg = build_config(preset, dataset, data_dir, reports_dir, overrides)
    try:
        result = ensure_dataset(cfg)
    except (SourceError, DatasetUnavailableError) as exc:
        raise fail(str(exc)) from None
    if result["action"] == "none":
        typer.echo(f"{cfg.data.dataset}: nothing to download (the images are already on disk)")
        return
    splits = ", ".join(f"{k} {v}" for k, v in result.get("splits", {}).items())
    typer.echo(f"div2k {result['action']} in {result['data_dir']} ({splits} images)")


def _reflow(doc: str | None) -> str:
    """Join the lines of each docstring paragraph (rich would keep the source's line breaks);
    paragraphs starting with \\b (examples) keep theirs."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    out = [p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs]
    return "\n\n".join(out)


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    for command in (prepare, degrade, download):
        app.command(rich_help_panel="Data", help=_reflow(command.__doc__))(command)
