"""Learning-rate schedules built from a :class:`ScheduleConfig`: constant, cosine or step, + warmup."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from sr_core.config import ScheduleConfig


def lr_at(cfg: ScheduleConfig, step: int, total_steps: int) -> float:
    """The learning rate at ``step`` (0-based) in plain Python: the reference for the TF schedule."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.initial * (step + 1) / cfg.warmup_steps
    if cfg.kind == "constant":
        return cfg.initial
    if cfg.kind == "step":
        drops = sum(step >= b for b in cfg.boundaries)
        return cfg.initial * cfg.factor**drops
    span = max(total_steps - cfg.warmup_steps, 1)
    progress = min(max(step - cfg.warmup_steps, 0) / span, 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.initial * (cfg.final_fraction + (1.0 - cfg.final_fraction) * cosine)


@keras.saving.register_keras_serializable(package="srbench")
class ConfiguredSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``lr_at`` as a Keras schedule, evaluated on the optimizer's iteration counter."""

    def __init__(self, kind: str, initial: float, warmup_steps: int, final_fraction: float,
                 boundaries: list[int], factor: float, total_steps: int):
        self.kind, self.initial, self.warmup_steps = kind, float(initial), int(warmup_steps)
        self.final_fraction, self.boundaries = float(final_fraction), [int(b) for b in boundaries]
        self.factor, self.total_steps = float(factor), int(total_steps)

    @classmethod
    def from_section(cls, cfg: ScheduleConfig, total_steps: int) -> ConfiguredSchedule:
        return cls(cfg.kind, cfg.initial, cfg.warmup_steps, cfg.final_fraction, list(cfg.boundaries),
                   cfg.factor, total_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        initial = tf.constant(self.initial, tf.float32)
        if self.kind == "constant":
            lr = initial
        elif self.kind == "step":
            drops = tf.add_n([tf.cast(step >= b, tf.float32) for b in self.boundaries] or [tf.constant(0.0)])
            lr = initial * tf.pow(self.factor, drops)
        else:
            span = float(max(self.total_steps - self.warmup_steps, 1))
            progress = tf.clip_by_value((step - self.warmup_steps) / span, 0.0, 1.0)
            cosine = 0.5 * (1.0 + tf.cos(math.pi * progress))
            lr = initial * (self.final_fraction + (1.0 - self.final_fraction) * cosine)
        if self.warmup_steps:
            warm = initial * (step + 1.0) / self.warmup_steps
            lr = tf.where(step < self.warmup_steps, warm, lr)
        return lr

    def get_config(self):
        return {"kind": self.kind, "initial": self.initial, "warmup_steps": self.warmup_steps,
                "final_fraction": self.final_fraction, "boundaries": self.boundaries,
                "factor": self.factor, "total_steps": self.total_steps}
