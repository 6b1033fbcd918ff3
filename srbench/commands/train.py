"""``srbench train``: train (or resume) one model, export it and register it."""

from __future__ import annotations

import enum
import math
import time
from typing import Annotated

import typer

from sr_core.catalog import MODEL_NAMES, model_spec, with_prerequisites
from srbench.options import AllowCpu, ConfigFile, DataDir, Dataset, Overrides, Preset, ReportsDir, build_config, fail

# The catalogue's models as choices for --model.
ModelName = enum.Enum("ModelName", {name: name for name in MODEL_NAMES}, type=str)


def _summary(result) -> str:
    m = result.metrics
    parts = [f"{result.label}: step {result.step}, {result.seconds:.1f}s of training"]
    if not math.isnan(m.get("val_psnr_y", math.nan)):
        parts.append(f"validation Y-PSNR {m['val_psnr_y']:.2f} dB "
                     f"(bicubic {m.get('val_psnr_y_bicubic', math.nan):.2f} dB)")
    if "steps_per_second" in m:
        parts.append(f"{m['steps_per_second']:.2f} steps/s")
    return ", ".join(parts)


def train(
    model: Annotated[ModelName, typer.Option("--model", "-m", help="What to train: srcnn, srresnet "
                                             "(MSE-pretrained SRGAN generator) or srgan (adversarial phase; "
                                             "trains/reuses the srresnet first).")],
    preset: Preset = "quick",
    dataset: Dataset = None,
    data_dir: DataDir = None,
    reports_dir: ReportsDir = None,
    overrides: Overrides = None,
    allow_cpu: AllowCpu = False,
    config_file: ConfigFile = None,
) -> None:
    """Train one model on the preset's patches, export it as .keras and register it.

    Prepares the patch TFRecords first when they are missing. Checkpoints go to
    DATA_DIR/checkpoints/<model>-<fingerprint>/ every train.checkpoint_every steps, together with
    curves.csv and TensorBoard logs; rerunning the same command after an interruption resumes from
    the last checkpoint, and rerunning a finished one only re-registers its export. The export lands
    in DATA_DIR/models/<model>/<timestamp>-<fingerprint>/ (model .keras + JSON sidecar) and is recorded
    in DATA_DIR/models/registry/ as a challenger of its track (preset + dataset); the first model of a
    track becomes its champion, which `srbench upscale --model NAME` uses ('srbench models').

    SRGAN uses the VGG19 content loss (srgan.content_loss=vgg54) and needs the ImageNet VGG19 weights
    (downloaded by Keras, or a local file via srgan.vgg_weights / SRBENCH_VGG19_WEIGHTS); offline
    presets use the pixel-loss variant SRGAN-MSE (srgan.content_loss=mse).

    \b
    Examples:
      srbench train --preset smoke --model srcnn
      srbench train --preset quick --model srgan
      srbench train --preset quick --model srresnet --set srresnet.steps=2000
      srbench train --preset div2k --model srgan --set srgan.vgg_weights=/models/vgg19_notop.h5
    """
    from sr_core.losses import VGGWeightsUnavailable
    from sr_core.records import PatchDataError, prepare_patches
    from sr_core.registry import champion as registry_champion
    from sr_core.publish import register_and_publish
    from sr_core.sources import DatasetUnavailableError, SourceError
    from sr_core.training import NonFiniteLossError, train_model

    cfg = build_config(preset, dataset, data_dir, reports_dir, overrides, allow_cpu=allow_cpu, needs_gpu=True,
                       config_file=config_file)
    name = model.value
    started = time.monotonic()
    chain = with_prerequisites([name])
    try:
        for step_name in chain:
            model_spec(step_name).vgg_weights(cfg)  # stop before any data preparation or training
        typer.echo(f"patches for {cfg.data.dataset} (preset {cfg.preset}) ...")
        patch_dir = prepare_patches(cfg, progress=lambda done, total, msg: typer.echo(f"  [{done}/{total}] {msg}"))
        typer.echo(f"  {patch_dir}")
        exports = {}
        for step_name in chain:
            spec = model_spec(step_name)
            why = "" if step_name == name else f"; {name} starts from it"
            typer.echo(f"training {step_name} ({spec.steps(cfg)} steps{why}) ...")
            init = exports[spec.requires[0]].path if spec.requires else None
            result = exports[step_name] = train_model(cfg, step_name, patch_dir, generator_init=init)
            entry = register_and_publish(cfg, result)
            if step_name != name:
                typer.echo(f"  {_summary(result)}\n  exported {result.path}")
    except (VGGWeightsUnavailable, NonFiniteLossError, PatchDataError, SourceError, DatasetUnavailableError) as exc:
        raise fail(str(exc)) from None
    typer.echo(_summary(result))
    typer.echo(f"exported {result.path}")
    champion = registry_champion(cfg.data_root, name, entry.track)
    role = ("the champion" if champion is not None and champion.path == entry.path
            else f"a challenger (the champion stays {champion.run_id or champion.path}; 'srbench promote' or "
                 "'srbench evaluate' decide)" if champion is not None else "a challenger")
    typer.echo(f"registered on track {entry.track} as {role} ({time.monotonic() - started:.1f}s in all)")


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    app.command("train")(train)
