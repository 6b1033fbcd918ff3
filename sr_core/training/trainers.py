"""The two training procedures: supervised MSE (SRCNN, SRResNet) and adversarial (SRGAN).

A trainer owns its models and optimizers (built under the distribution strategy, with the mixed
precision policy), and one compiled step function. The loop in :mod:`sr_core.training.loop` drives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from sr_core import losses
from sr_core.config import PipelineConfig, ScheduleConfig
from sr_core.models import build_discriminator, build_generator
from sr_core.training.schedules import ConfiguredSchedule, lr_at


@dataclass(frozen=True)
class Runtime:
    """GPU-readiness settings resolved once per run."""

    strategy: tf.distribute.Strategy
    dtype_policy: str | None
    jit_compile: bool

    @classmethod
    def from_config(cls, cfg: PipelineConfig) -> Runtime:
        strategy = tf.distribute.MirroredStrategy() if cfg.train.distribute else tf.distribute.get_strategy()
        return cls(strategy, "mixed_float16" if cfg.train.mixed_precision else None, cfg.train.jit_compile)

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync


def make_optimizer(schedule: ScheduleConfig, total_steps: int, runtime: Runtime):
    opt = keras.optimizers.Adam(learning_rate=ConfiguredSchedule.from_section(schedule, total_steps))
    if runtime.dtype_policy == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _scaled(loss, optimizer, runtime: Runtime):
    """The loss to differentiate (inside the tape): divided by the replica count, since the optimizer
    sums gradients over replicas, and multiplied by the loss scale under mixed precision."""
    scaled = loss / runtime.replicas
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        scaled = optimizer.scale_loss(scaled)
    return scaled


def _apply(tape, scaled_loss, variables, optimizer) -> None:
    grads = tape.gradient(scaled_loss, variables)
    optimizer.apply_gradients(zip(grads, variables))


class Trainer:
    """Common parts: a distributed, optionally XLA-compiled step returning scalar losses."""

    columns: list[str]
    generator: keras.Model

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        replica_step = (tf.function(self._replica_step, jit_compile=True) if runtime.jit_compile
                        else self._replica_step)

        def distributed(lr, hr):
            per_replica = runtime.strategy.run(replica_step, args=(lr, hr))
            return {k: runtime.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                    for k, v in per_replica.items()}

        self._step = tf.function(distributed)

    def train_step(self, lr, hr) -> dict[str, float]:
        return {k: float(v) for k, v in self._step(lr, hr).items()}

    def _replica_step(self, lr, hr):  # pragma: no cover - abstract
        raise NotImplementedError

    def trackables(self) -> dict:
        raise NotImplementedError

    def learning_rates(self, step: int) -> dict[str, float]:
        raise NotImplementedError


class SupervisedTrainer(Trainer):
    """Adam on the pixel MSE (measured on the 0..1 scale): SRCNN, and SRResNet pretraining."""

    columns = ["loss", "lr"]

    def __init__(self, cfg: PipelineConfig, name: str, runtime: Runtime, total_steps: int):
        section = getattr(cfg, name)
        self.schedule, self.total = section.lr, total_steps
        with runtime.strategy.scope():
            self.generator = build_generator(cfg, name, dtype_policy=runtime.dtype_policy)
            self.optimizer = make_optimizer(section.lr, total_steps, runtime)
            self.optimizer.build(self.generator.trainable_variables)
        super().__init__(runtime)

    def _replica_step(self, lr, hr):
        with tf.GradientTape() as tape:
            sr = self.generator(lr, training=True)
            loss = losses.pixel_mse(hr, sr)
            scaled = _scaled(loss, self.optimizer, self.runtime)
        _apply(tape, scaled, self.generator.trainable_variables, self.optimizer)
        return {"loss": loss}

    def trackables(self) -> dict:
        return {"generator": self.generator, "optimizer": self.optimizer}

    def learning_rates(self, step: int) -> dict[str, float]:
        return {"lr": lr_at(self.schedule, step, self.total)}


class AdversarialTrainer(Trainer):
    """SRGAN: generator loss = content + w * BCE(1, D(G(lr))), discriminator loss = BCE real/fake."""

    columns = ["g_loss", "content_loss", "adversarial_loss", "d_loss", "g_lr", "d_lr"]

    def __init__(self, cfg: PipelineConfig, runtime: Runtime, total_steps: int,
                 content: losses.ContentLoss, generator_weights: list | None):
        g_cfg = cfg.srgan
        self.g_schedule, self.d_schedule, self.total = g_cfg.generator_lr, g_cfg.discriminator_lr, total_steps
        self.content, self.weight = content, g_cfg.adversarial_weight
        with runtime.strategy.scope():
            self.generator = build_generator(cfg, "srgan", dtype_policy=runtime.dtype_policy)
            if generator_weights is not None:
                self.generator.set_weights(generator_weights)
            self.discriminator = build_discriminator(g_cfg, dtype_policy=runtime.dtype_policy)
            self.g_optimizer = make_optimizer(g_cfg.generator_lr, total_steps, runtime)
            self.d_optimizer = make_optimizer(g_cfg.discriminator_lr, total_steps, runtime)
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
        super().__init__(runtime)

    def _replica_step(self, lr, hr):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            sr = self.generator(lr, training=True)
            real_logits = self.discriminator(hr, training=True)
            fake_logits = self.discriminator(sr, training=True)
            content = tf.cast(self.content(hr, sr), tf.float32)
            adversarial = losses.generator_adversarial_loss(fake_logits)
            g_loss = content + self.weight * adversarial
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            g_scaled = _scaled(g_loss, self.g_optimizer, self.runtime)
            d_scaled = _scaled(d_loss, self.d_optimizer, self.runtime)
        _apply(g_tape, g_scaled, self.generator.trainable_variables, self.g_optimizer)
        _apply(d_tape, d_scaled, self.discriminator.trainable_variables, self.d_optimizer)
        return {"g_loss": g_loss, "content_loss": content, "adversarial_loss": adversarial, "d_loss": d_loss}

    def trackables(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator,
                "g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer}

    def learning_rates(self, step: int) -> dict[str, float]:
        return {"g_lr": lr_at(self.g_schedule, step, self.total), "d_lr": lr_at(self.d_schedule, step, self.total)}
