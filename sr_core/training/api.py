"""``train_model``: train (or resume) one model from a patch dir and export it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from sr_core import layout
from sr_core.catalog import model_spec
from sr_core.config import PipelineConfig
from sr_core.export import ExportResult, export_model, find_export, load_model
from sr_core.training.loop import Validator, run_loop

ProgressFn = Callable[[int, int, dict], None]


def _patch_batches(cfg: PipelineConfig, patch_dir: Path, batch_size: int) -> Callable[[int], Iterator]:
    """Training batches; a run resuming at step s reshuffles with seed + s (reproducible from config)."""
    from sr_core.records import patch_dataset

    def batches(start_step: int):
        return patch_dataset(patch_dir, "train", batch_size, shuffle_buffer=cfg.train.shuffle_buffer,
                             augment=True, repeat=True, seed=cfg.train.seed + start_step)

    return batches


def _validator(cfg: PipelineConfig, patch_dir: Path) -> Validator:
    from sr_core.records import load_patches

    lr, hr = load_patches(patch_dir, "validation", limit=cfg.train.val_patches)
    return Validator(lr, hr, cfg.data.scale)


def float32_copy(cfg: PipelineConfig, name: str, model):
    """The same weights in a float32 model without distribution: what gets exported and evaluated."""
    from sr_core.models import build_generator

    plain = build_generator(cfg, name)
    plain.set_weights(model.get_weights())
    return plain


def train_model(
    cfg: PipelineConfig,
    name: str,
    patch_dir: str | Path,
    *,
    generator_init: str | Path | None = None,
    on_progress: ProgressFn | None = None,
    show_progress: bool = True,
    batches: Callable[[int], Iterator] | None = None,
    validator: Validator | None = None,
) -> ExportResult:
    """Train catalogue model ``name`` to its configured step count and export it.

    Resumes from the last checkpoint in ``layout.checkpoint_dir(cfg, name)`` when there is one, and
    reuses an existing export of the same model and step instead of writing a duplicate. A model
    that starts from another (its spec's ``requires``: SRGAN from the pretrained SRResNet) takes
    ``generator_init`` (that model's ``.keras``); when None, the required model of this config is
    trained (or resumed, or reused) first. ``batches``/``validator`` replace the patch-dir inputs
    (tests, custom data).
    """
    import keras

    from sr_core import losses
    from sr_core.training.checkpoints import training_lock
    from sr_core.training.trainers import AdversarialTrainer, Runtime, SupervisedTrainer

    spec = model_spec(name)
    patch_dir = Path(patch_dir)
    section = spec.settings(cfg)
    total = section.steps
    ckpt_dir = layout.checkpoint_dir(cfg, name)
    # Before anything else (even training a prerequisite): missing VGG weights must stop the run now.
    vgg_weights = spec.vgg_weights(cfg)

    custom_batches = batches
    batches = batches or _patch_batches(cfg, patch_dir, section.batch_size)
    validator = validator or _validator(cfg, patch_dir)
    runtime = Runtime.from_config(cfg)
    keras.utils.set_random_seed(cfg.train.seed)

    if spec.requires and generator_init is None:
        pretrained = train_model(cfg, spec.requires[0], patch_dir, on_progress=on_progress,
                                 show_progress=show_progress, batches=custom_batches, validator=validator)
        generator_init = pretrained.path
    if spec.trainer == "adversarial":
        init_weights = load_model(generator_init).get_weights() if generator_init is not None else None
        with runtime.strategy.scope():
            content = losses.ContentLoss(section.content_loss, vgg_weights)
        trainer = AdversarialTrainer(cfg, runtime, total, content, init_weights)
    else:
        trainer = SupervisedTrainer(cfg, name, runtime, total)

    # One writer per checkpoint folder: a second run on the same roots waits, then reuses.
    with training_lock(ckpt_dir):
        step, metrics, seconds = run_loop(
            trainer, name=name, total_steps=total, batches=batches, validator=validator, ckpt_dir=ckpt_dir,
            checkpoint_every=cfg.train.checkpoint_every, log_every=cfg.train.log_every,
            validate_every=cfg.train.validate_every, on_progress=on_progress, show_progress=show_progress)
        existing = find_export(cfg, name, step)
        if existing is not None:
            return existing
        metrics = {k: float(v) for k, v in metrics.items() if np.isfinite(v)}
        if generator_init is not None and spec.requires:
            metrics["init_from_step"] = float(_init_step(generator_init))
        result = export_model(float32_copy(cfg, name, trainer.generator), cfg, name, step=step, metrics=metrics,
                              seconds=seconds)
        return result


def _init_step(path) -> int:
    from sr_core.export import read_sidecar
    from sr_core.runrecords import RecordError

    try:
        return read_sidecar(path).step
    except RecordError:
        return -1
