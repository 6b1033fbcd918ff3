"""Checkpoints (``tf.train.CheckpointManager``) and the guard against non-finite losses."""

from __future__ import annotations

import math
from pathlib import Path


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite; the last good checkpoint is kept."""


def check_finite(losses: dict[str, float], step: int, ckpt_dir: Path, last_saved: int | None) -> None:
    bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
    if not bad:
        return
    where = (f"the last good checkpoint (step {last_saved}) is kept in {ckpt_dir}; rerunning resumes from it"
             if last_saved is not None else f"no checkpoint was written yet in {ckpt_dir}")
    values = ", ".join(f"{k}={v}" for k, v in bad.items())
    raise NonFiniteLossError(
        f"training stopped at step {step}: non-finite loss ({values}); {where}. "
        "Lower the learning rate (e.g. --set srcnn.lr.initial=...), add warmup "
        "(lr.warmup_steps), or check the training patches for corrupt values.")


class Checkpoints:
    """Saves and restores every trackable of a run (models, optimizers, step, elapsed seconds)."""

    def __init__(self, directory: Path, keep: int = 3, **trackables):
        import tensorflow as tf

        self.directory = Path(directory)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_seconds")
        self.checkpoint = tf.train.Checkpoint(step=self.step, elapsed=self.elapsed, **trackables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory / "ckpt"), max_to_keep=keep)
        self.last_saved: int | None = None

    def restore(self) -> int:
        """Restore the latest checkpoint if there is one; returns its step (0 for a fresh run)."""
        latest = self.manager.latest_checkpoint
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        self.last_saved = int(self.step.numpy())
        return self.last_saved

    def save(self, step: int, elapsed: float) -> None:
        self.step.assign(step)
        self.elapsed.assign(elapsed)
        self.manager.save(checkpoint_number=step)
        self.last_saved = step
