"""Checkpoints (``tf.train.CheckpointManager``) and the guard against non-finite losses.

A checkpoint that cannot be read (a truncated ``ckpt-N.data-*``, a garbage ``.index``, a missing
shard) is named in a warning and moved aside into ``<ckpt_dir>/corrupt/``; training resumes from the
newest checkpoint that reads whole, or starts afresh when none does. Every candidate is read in full
(TensorFlow checks each tensor's CRC32C) before anything is assigned, so a damaged file never
leaves the models half restored.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


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


@contextlib.contextmanager
def training_lock(ckpt_dir: str | Path) -> Iterator[None]:
    """Hold ``<ckpt_dir>/.lock`` while a model trains and exports, so two runs on the same data
    root never write one checkpoint folder at once (interleaved ``curves.csv``, two exports of one
    step). A second run waits, says for whom, then resumes from the first one's checkpoints (and
    finds its export). The lock is released when the holder exits or is killed."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    with open(ckpt_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            log.warning("%s is being trained by another run (%s); waiting for it to finish", ckpt_dir, holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
            log.warning("%s is free again; resuming from its checkpoints", ckpt_dir)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def checkpoint_problem(prefix: str) -> str | None:
    """Why the checkpoint at ``prefix`` cannot be read whole, or None: every tensor is read back
    (TensorFlow verifies each one's CRC32C), nothing is assigned."""
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as exc:  # noqa: BLE001 - TF raises OpError, IndexError, ValueError... for bad files
        return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
    return None


class Checkpoints:
    """Saves and restores every trackable of a run (models, optimizers, step, elapsed seconds)."""

    def __init__(self, directory: Path, keep: int = 3, **trackables):
        import tensorflow as tf

        self.directory = Path(directory)
        self.keep = keep
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="elapsed_seconds")
        self.checkpoint = tf.train.Checkpoint(step=self.step, elapsed=self.elapsed, **trackables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory / "ckpt"), max_to_keep=keep)
        self.last_saved: int | None = None

    def restore(self) -> int:
        """Restore the newest readable checkpoint; returns its step (0 for a fresh run).

        Unreadable checkpoints are named, moved aside and skipped (see the module docstring).
        """
        import tensorflow as tf

        candidates = list(reversed(self.manager.checkpoints))
        bad: list[str] = []
        for prefix in candidates:
            problem = checkpoint_problem(prefix)
            if problem is None:
                try:
                    self.checkpoint.restore(prefix).assert_existing_objects_matched()
                except (tf.errors.OpError, ValueError, AssertionError, IndexError) as exc:
                    problem = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
            if problem is None:
                break
            log.warning("checkpoint %s is unreadable (%s); moving it aside and trying the previous one",
                        prefix, problem)
            bad.append(prefix)
        else:
            prefix = None
        if bad:
            self._set_aside(bad, keep=[p for p in candidates if p not in bad])
        if prefix is None:
            if bad:
                log.warning("no readable checkpoint left in %s: training starts from step 0", self.directory)
            return 0
        self.last_saved = int(self.step.numpy())
        if bad:
            log.warning("resuming from %s (step %d) instead", prefix, self.last_saved)
        return self.last_saved

    def _set_aside(self, bad: list[str], keep: list[str]) -> None:
        """Move the files of unreadable checkpoints into ``corrupt/`` and forget them in the state file."""
        import tensorflow as tf

        aside = self.directory / "corrupt"
        aside.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for prefix in bad:
            for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
                os.replace(path, aside / f"{path.name}.{stamp}")
        remaining = list(reversed(keep))  # oldest first, as the manager keeps them
        if remaining:
            # Save times above the preserved mark make the new manager list the kept checkpoints again
            # (restore candidates, deleted in turn); without them it treats them as preserved forever.
            now = time.time()
            tf.compat.v1.train.update_checkpoint_state(
                str(self.directory / "ckpt"), remaining[-1], all_model_checkpoint_paths=remaining,
                all_model_checkpoint_timestamps=[now] * len(remaining), last_preserved_timestamp=now - 1)
        else:
            (self.directory / "ckpt" / "checkpoint").unlink(missing_ok=True)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory / "ckpt"),
                                                  max_to_keep=self.keep)

    def save(self, step: int, elapsed: float) -> None:
        self.step.assign(step)
        self.elapsed.assign(elapsed)
        self.manager.save(checkpoint_number=step)
        self.last_saved = step
