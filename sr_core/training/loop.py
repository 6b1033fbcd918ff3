"""The training loop shared by every model: resume, step, guard, log, validate, checkpoint."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from sr_core.metrics import psnr_y
from sr_core.resize import upscale
from sr_core.training.checkpoints import Checkpoints, check_finite
from sr_core.training.curves import CurveLog
from sr_core.training.trainers import Trainer

ProgressFn = Callable[[int, int, dict], None]


def predict_pixels(model, lr: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Model output as uint8 (rounded, clipped) for a uint8 or float LR batch."""
    outs = []
    for start in range(0, len(lr), batch_size):
        out = model(np.asarray(lr[start:start + batch_size], np.float32), training=False)
        outs.append(np.clip(np.floor(np.asarray(out) + 0.5), 0, 255).astype(np.uint8))
    return np.concatenate(outs) if outs else np.zeros((0,), np.uint8)


def mean_psnr_y(hr: np.ndarray, sr: np.ndarray, scale: int) -> float:
    """Mean Y-channel PSNR (BT.601) over image pairs, ``scale`` pixels cropped from every border."""
    values = [psnr_y(h, s, crop_border=scale) for h, s in zip(hr, sr)]
    return float(np.mean([min(v, 100.0) for v in values])) if values else math.nan


class Validator:
    """Y-PSNR of a model on fixed held-out patches, next to bicubic's on the same patches."""

    def __init__(self, lr: np.ndarray, hr: np.ndarray, scale: int):
        self.lr, self.hr, self.scale = lr, hr, scale
        self.bicubic = mean_psnr_y(hr, np.stack([upscale(x, scale) for x in lr]), scale) if len(lr) else math.nan

    def __call__(self, model) -> float:
        if not len(self.lr):
            return math.nan
        return mean_psnr_y(self.hr, predict_pixels(model, self.lr), self.scale)


def run_loop(
    trainer: Trainer,
    *,
    name: str,
    total_steps: int,
    batches: Callable[[int], Iterator],
    validator: Validator,
    ckpt_dir: Path,
    checkpoint_every: int,
    log_every: int,
    validate_every: int,
    on_progress: ProgressFn | None = None,
    show_progress: bool = True,
    on_start: Callable[[int], None] | None = None,
) -> tuple[int, dict[str, float], float]:
    """Train until ``total_steps``; returns (step, final metrics, total training seconds).

    ``batches(start_step)`` yields (lr, hr) batches for a run starting (or resuming) at that step;
    ``on_start(step)`` is told the step restored from the checkpoints (0 for a fresh start).
    """
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = Checkpoints(ckpt_dir, **trainer.trackables())
    start = checkpoints.restore()
    if on_start is not None:
        on_start(start)
    elapsed_before = float(checkpoints.elapsed.numpy())
    curves = CurveLog(ckpt_dir, trainer.columns, resume_step=start)
    metrics: dict[str, float] = {}
    val_psnr = math.nan
    step = start
    bar = _progress_bar(name, start, total_steps, show_progress)
    began = time.perf_counter()
    timed_steps, timed_since = 0, began
    try:
        iterator = iter(batches(start)) if start < total_steps else iter(())
        for lr, hr in iterator:
            logs = trainer.train_step(lr, hr)
            check_finite(logs, step + 1, ckpt_dir, checkpoints.last_saved)
            step += 1
            if step == start + 1:  # the first step traces and compiles: leave it out of steps/s
                timed_since = time.perf_counter()
            else:
                timed_steps += 1
            bar.update(1)
            last = step >= total_steps
            val_psnr = validator(trainer.generator) if (step % validate_every == 0 or last) else math.nan
            if step % log_every == 0 or last or not math.isnan(val_psnr):
                seconds = elapsed_before + time.perf_counter() - began
                row = {**logs, **trainer.learning_rates(step - 1), "val_psnr_y": val_psnr, "seconds": seconds}
                curves.write(step, row)
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
                if show_progress and not sys.stderr.isatty():
                    print(f"[{name}] step {step}/{total_steps} " + " ".join(
                        f"{k}={v:.4g}" for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))),
                        file=sys.stderr, flush=True)
                if on_progress is not None:
                    on_progress(step, total_steps, dict(row))
                metrics.update(logs)
            if step % checkpoint_every == 0 or last:
                checkpoints.save(step, elapsed_before + time.perf_counter() - began)
            if last:
                break
    finally:
        bar.close()
    seconds = elapsed_before + time.perf_counter() - began
    if start >= total_steps:
        seconds = elapsed_before
    if math.isnan(val_psnr):
        val_psnr = validator(trainer.generator)
    metrics.update({"val_psnr_y": val_psnr, "val_psnr_y_bicubic": validator.bicubic,
                    "steps_per_second": timed_steps / max(time.perf_counter() - timed_since, 1e-9)
                    if timed_steps else math.nan})
    return step, metrics, seconds


def _progress_bar(name: str, start: int, total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc=f"train {name}", unit="step", file=sys.stderr,
                disable=not (enabled and sys.stderr.isatty()), dynamic_ncols=True)
