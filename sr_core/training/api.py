"""``train_model``: train (or resume) one model from a patch dir and export it."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from sr_core import layout, lifecycle
from sr_core.catalog import model_spec
from sr_core.config import PipelineConfig
from sr_core.export import ExportResult, export_model, find_export, framework_versions, load_model
from sr_core.provenance import collect
from sr_core.training.loop import Validator, run_loop

log = logging.getLogger(__name__)

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
    run_id: str | None = None,
    reuse: bool = False,
    prefect: dict | None = None,
) -> ExportResult:
    """Train catalogue model ``name`` to its configured step count and export it.

    With ``run_id`` (a night) the checkpoints live in that run's folder
    (``layout.checkpoint_dir(cfg, name, run_id)``): rerunning the same run id resumes from its own
    last checkpoint, a new run id starts fresh. Without one (``srbench train``) they are keyed by the
    model fingerprint, so rerunning the same command resumes. An export this run already made (same
    model, step and run) is returned instead of a duplicate.

    ``reuse`` (``--reuse-models``): an earlier export identical in everything that decides it
    (:func:`sr_core.lifecycle.reuse_key`: config sections, data, code fingerprint, TensorFlow/Keras,
    the weights it started from) is returned instead of training. ``cfg.train.init = "champion"``
    warm-starts from :func:`sr_core.lifecycle.champion_export` (scratch when there is none).

    A model that starts from another (its spec's ``requires``: SRGAN from the pretrained SRResNet)
    takes ``generator_init`` (that model's ``.keras``); when None, the required model is trained (or
    resumed, or reused) first. ``batches``/``validator`` replace the patch-dir inputs (tests).
    ``prefect`` (flow run and deployment ids) goes into the sidecar.
    """
    import keras

    from sr_core import losses
    from sr_core.training.checkpoints import training_lock
    from sr_core.training.trainers import AdversarialTrainer, Runtime, SupervisedTrainer

    spec = model_spec(name)
    patch_dir = Path(patch_dir)
    section = spec.settings(cfg)
    total = section.steps
    ckpt_dir = layout.checkpoint_dir(cfg, name, run_id)
    # Before anything else (even training a prerequisite): missing VGG weights must stop the run now.
    vgg_weights = spec.vgg_weights(cfg)

    if spec.requires and generator_init is None:
        pretrained = train_model(cfg, spec.requires[0], patch_dir, on_progress=on_progress,
                                 show_progress=show_progress, batches=batches, validator=validator,
                                 run_id=run_id, reuse=reuse, prefect=prefect)
        generator_init = pretrained.path

    warm = lifecycle.champion_export(cfg, name) if cfg.train.init == "champion" else None
    if cfg.train.init == "champion" and warm is None:
        log.info("%s: no champion export for preset %s and dataset %s yet: training from scratch",
                 name, cfg.preset, cfg.data.dataset)
    if warm is not None:
        init = lifecycle.init_record("champion", warm)
    elif generator_init is not None:
        init = lifecycle.init_record(spec.requires[0] if spec.requires else "init", generator_init)
    else:
        init = None
    provenance = collect()
    if reuse:
        found = lifecycle.find_reusable(cfg, name, total, lifecycle.reuse_key(
            cfg, name, provenance, framework_versions(), init), run_id)
        if found is not None:
            result, trained_by = found
            log.info("%s: reusing the identical export %s (trained by run %s)", name, result.path, trained_by)
            return result

    batches = batches or _patch_batches(cfg, patch_dir, section.batch_size)
    validator = validator or _validator(cfg, patch_dir)
    runtime = Runtime.from_config(cfg)
    keras.utils.set_random_seed(cfg.train.seed)
    if spec.trainer == "adversarial":
        start_from = warm or generator_init
        init_weights = load_model(start_from).get_weights() if start_from is not None else None
        with runtime.strategy.scope():
            content = losses.ContentLoss(section.content_loss, vgg_weights)
        trainer = AdversarialTrainer(cfg, runtime, total, content, init_weights)
    else:
        trainer = SupervisedTrainer(cfg, name, runtime, total)
        if warm is not None:  # a resumed run's checkpoint, restored next, wins over this
            trainer.generator.set_weights(load_model(warm).get_weights())

    restored: list[int] = []  # the step this run's checkpoints resumed it at (0: a fresh start)

    # One writer per checkpoint folder: a second run on the same roots waits, then reuses.
    with training_lock(ckpt_dir):
        began = time.perf_counter()
        step, metrics, seconds = run_loop(
            trainer, name=name, total_steps=total, batches=batches, validator=validator, ckpt_dir=ckpt_dir,
            checkpoint_every=cfg.train.checkpoint_every, log_every=cfg.train.log_every,
            validate_every=cfg.train.validate_every, on_progress=on_progress, show_progress=show_progress,
            on_start=restored.append)
        resumed_from = restored[0] if restored else 0
        tonight = {"steps_trained": step, "seconds_trained": round(float(seconds), 3),
                   "resumed_from_step": resumed_from or None,
                   "init": _init_label(init)}
        existing = find_export(cfg, name, step, run_id)
        if existing is not None:
            return dataclasses.replace(existing, **tonight)
        metrics = {k: float(v) for k, v in metrics.items() if np.isfinite(v)}
        if generator_init is not None and spec.requires:
            metrics["init_from_step"] = float(_init_step(generator_init))
        result = export_model(float32_copy(cfg, name, trainer.generator), cfg, name, step=step, metrics=metrics,
                              seconds=seconds, run_id=run_id, provenance=provenance, init=init,
                              prefect=prefect)
        log.info("%s: trained %d steps (from step %d) in %.1f s", name, step - resumed_from, resumed_from,
                 time.perf_counter() - began)
        return dataclasses.replace(result, **tonight)


def _init_label(init: dict | None) -> str:
    if init is None:
        return "scratch"
    return f"{init['kind']} {init.get('run_id') or init['path']}"


def _init_step(path) -> int:
    from sr_core.export import read_sidecar
    from sr_core.runrecords import RecordError

    try:
        return read_sidecar(path).step
    except RecordError:
        return -1
