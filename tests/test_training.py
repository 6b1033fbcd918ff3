"""Training: loss goes down, resume after a kill is exact, NaN guard, schedules, curves, GPU code paths."""

from __future__ import annotations

import numpy as np
import pytest

from sr_core import layout, resize
from sr_core.config import ScheduleConfig

tf = pytest.importorskip("tensorflow")

from helpers_training import photo_patches, step_indexed_batches  # noqa: E402
from tests.helpers_models import assert_not_bicubic, model_pixels, probe_image  # noqa: E402
from sr_core.export import load_model, read_sidecar  # noqa: E402
from sr_core.training import NonFiniteLossError, train_model  # noqa: E402
from sr_core.training.curves import read_curves  # noqa: E402
from sr_core.training.loop import Validator  # noqa: E402
from sr_core.training.schedules import ConfiguredSchedule, lr_at  # noqa: E402
from sr_core.training.trainers import Runtime, SupervisedTrainer  # noqa: E402


@pytest.fixture(scope="module")
def patches():
    return photo_patches(16, seed=0)


@pytest.fixture(scope="module")
def validator():
    lr, hr = photo_patches(2, seed=1)
    return Validator(lr, hr, scale=4)


def _with(cfg, **sections):
    update = {}
    for section, values in sections.items():
        update[section] = getattr(cfg, section).model_copy(update=values)
    return cfg.model_copy(update=update)


class _Kill(Exception):
    pass


# A few Adam steps at these rates move the zero-initialised tails far from bicubic, so a test that
# compares trained models can tell trained weights from zeros or from an untrained copy.
LARGE_LR = {"srcnn": {"lr": ScheduleConfig(initial=1e-2)}, "srresnet": {"lr": ScheduleConfig(initial=3e-2)},
            "srgan": {"generator_lr": ScheduleConfig(initial=1e-2)}}


@pytest.mark.parametrize("name,lr", [("srcnn", 1e-3), ("srresnet", 3e-4)])
def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(smoke_config, patches, name, lr):
    # Both models start exactly at bicubic (zero-initialised last conv), so any drop is learned detail.
    cfg = _with(smoke_config, **{name: {"lr": ScheduleConfig(initial=lr)}})
    tf.keras.utils.set_random_seed(0)
    trainer = SupervisedTrainer(cfg, name, Runtime.from_config(cfg), total_steps=30)
    lr_batch, hr_batch = patches[0][:4].astype(np.float32), patches[1][:4].astype(np.float32)
    losses = [trainer.train_step(lr_batch, hr_batch)["loss"] for _ in range(30)]
    assert np.mean(losses[-3:]) < 0.96 * losses[0], losses


def test_resume_after_kill_continues_at_the_saved_step_with_the_same_state(smoke_config, patches, validator, tmp_path):
    cfg = _with(smoke_config, srcnn={"steps": 5, **LARGE_LR["srcnn"]},
                train={"checkpoint_every": 2, "log_every": 1, "validate_every": 100})
    batches = step_indexed_batches(*patches, batch_size=4)

    def kill_at_3(step, total, logs):
        if step == 3:
            raise _Kill()

    with pytest.raises(_Kill):
        train_model(cfg, "srcnn", tmp_path, batches=batches, validator=validator, on_progress=kill_at_3,
                    show_progress=False)
    ckpt_dir = layout.checkpoint_dir(cfg, "srcnn")
    assert tf.train.latest_checkpoint(ckpt_dir / "ckpt").endswith("ckpt-2")
    reader = tf.train.load_checkpoint(str(ckpt_dir / "ckpt"))
    saved_iterations = reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
    assert saved_iterations == 2

    seen = []
    resumed = train_model(cfg, "srcnn", tmp_path, batches=batches, validator=validator,
                          on_progress=lambda s, t, logs: seen.append(s), show_progress=False)
    assert seen[0] == 3 and resumed.step == 5
    assert [int(r["step"]) for r in read_curves(ckpt_dir)] == [1, 2, 3, 4, 5]  # stale step-3 row replaced

    # The same run without the kill, in another data dir, ends with the same weights.
    straight_cfg = cfg.model_copy(update={"data_dir": tmp_path / "straight"})
    straight = train_model(straight_cfg, "srcnn", tmp_path, batches=batches, validator=validator, show_progress=False)
    resumed_model, straight_model = load_model(resumed.path), load_model(straight.path)
    assert_not_bicubic(resumed_model)  # trained weights, not zeros: the comparison below has teeth
    for a, b in zip(resumed_model.get_weights(), straight_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The export holds the trained weights: its validation score is the one measured in training.
    assert validator(resumed_model) == pytest.approx(resumed.metrics["val_psnr_y"], abs=1e-6)

    # Rerunning a finished run trains nothing and reuses the export.
    again = train_model(cfg, "srcnn", tmp_path, batches=batches, validator=validator, show_progress=False)
    assert again.path == resumed.path


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(smoke_config, patches, validator, tmp_path):
    cfg = _with(smoke_config, srcnn={"steps": 6}, train={"checkpoint_every": 2})
    batches = step_indexed_batches(*patches, batch_size=4, poison_step=4)
    with pytest.raises(NonFiniteLossError, match=r"step 4: non-finite loss \(loss=nan\).*step 2"):
        train_model(cfg, "srcnn", tmp_path, batches=batches, validator=validator, show_progress=False)
    ckpt_dir = layout.checkpoint_dir(cfg, "srcnn")
    assert tf.train.latest_checkpoint(ckpt_dir / "ckpt").endswith("ckpt-2")
    reader = tf.train.load_checkpoint(str(ckpt_dir / "ckpt"))
    saved = [reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if "_variables/" in k]
    assert len(saved) > 6 and all(np.isfinite(t).all() for t in saved)
    assert not (layout.models_dir(cfg) / "srcnn").exists()


@pytest.mark.parametrize("schedule", [
    ScheduleConfig(kind="constant", initial=1e-3, warmup_steps=3),
    ScheduleConfig(kind="cosine", initial=1e-3, final_fraction=0.1, warmup_steps=2),
    ScheduleConfig(kind="step", initial=1e-3, boundaries=[4, 7], factor=0.5),
])
def test_tf_schedule_matches_the_reference(schedule):
    tf_schedule = ConfiguredSchedule.from_section(schedule, total_steps=10)
    for step in range(12):
        assert float(tf_schedule(step)) == pytest.approx(lr_at(schedule, step, 10), rel=1e-5)
    assert lr_at(schedule, 0, 10) <= schedule.initial


def test_srgan_trains_from_a_pretrained_generator_and_writes_curves(smoke_config, patches, validator, tmp_path):
    batches = step_indexed_batches(*patches, batch_size=4)
    pre = train_model(_with(smoke_config, **{"srresnet": LARGE_LR["srresnet"]}), "srresnet", tmp_path,
                      batches=batches, validator=validator, show_progress=False)
    pre_model = load_model(pre.path)
    assert_not_bicubic(pre_model)
    progress = []
    gan = train_model(smoke_config, "srgan", tmp_path, generator_init=pre.path, batches=batches,
                      validator=validator, on_progress=lambda s, t, logs: progress.append((s, t)), show_progress=False)
    assert gan.label == "SRGAN-MSE (1x8, skip)" and gan.step == smoke_config.srgan.steps
    assert progress[-1] == (3, 3)
    rows = read_curves(layout.checkpoint_dir(smoke_config, "srgan"))
    assert {"g_loss", "d_loss", "content_loss", "adversarial_loss", "g_lr", "d_lr", "val_psnr_y"} <= set(rows[0])
    assert all(np.isfinite(r["d_loss"]) for r in rows)
    meta = read_sidecar(gan.path)
    assert meta["label"] == "SRGAN-MSE (1x8, skip)" and meta["metrics"]["init_from_step"] == pre.step
    assert (layout.checkpoint_dir(smoke_config, "srgan") / "tensorboard").is_dir()
    # Three generator steps at lr 1e-4 move no kernel by more than ~3e-4 (Adam's step is about lr),
    # while the pretrained tail is far from the zero a generator ignoring the init would start at.
    gan_model = load_model(gan.path)
    tail_pre = pre_model.get_layer("tail_conv").kernel.numpy()
    assert np.abs(tail_pre).max() > 0.02
    for layer in pre_model.layers:
        if type(layer).__name__ == "Conv2D":
            moved = np.abs(gan_model.get_layer(layer.name).kernel.numpy() - layer.kernel.numpy()).max()
            assert moved < 1e-3, (layer.name, moved)
    # Outputs stay much closer to the pretrained SRResNet than to bicubic (BatchNorm's moving
    # statistics keep updating in the GAN steps, so not bit for bit).
    lr = probe_image()
    pre_pixels = model_pixels(pre_model, lr)
    gap = np.abs(model_pixels(gan_model, lr) - pre_pixels).mean()
    from_bicubic = np.abs(pre_pixels - resize.upscale(lr, 4)).mean()
    assert gap < 0.5 * from_bicubic, (gap, from_bicubic)


@pytest.mark.parametrize("setting,name", [("mixed_precision", "srresnet"), ("jit_compile", "srcnn"),
                                          ("distribute", "srresnet")])
def test_gpu_settings_code_paths_run_on_cpu(smoke_config, patches, validator, tmp_path, setting, name):
    cfg = _with(smoke_config, train={setting: True}, srresnet={"steps": 2, **LARGE_LR["srresnet"]},
                srcnn={"steps": 2, **LARGE_LR["srcnn"]}, srgan={"steps": 2})
    batches = step_indexed_batches(*patches, batch_size=4)
    result = train_model(cfg, name, tmp_path, batches=batches, validator=validator, show_progress=False)
    assert result.step == 2 and np.isfinite(result.metrics["val_psnr_y"])
    model = load_model(result.path)
    assert all(layer.dtype_policy.name == "float32" for layer in model.layers)
    # The float32 export carries the trained weights: not bicubic, and it scores what the trained
    # (mixed-precision / compiled / distributed) generator scored at the last step.
    assert_not_bicubic(model)
    tol = 0.05 if setting == "mixed_precision" else 1e-6
    assert validator(model) == pytest.approx(result.metrics["val_psnr_y"], abs=tol)


def test_a_fresh_run_that_logs_every_few_steps_is_not_called_resumed(smoke_config, patches, validator, tmp_path):
    # Progress is reported on log steps only (here 3, 6): the first report is no resumption point.
    cfg = _with(smoke_config, srcnn={"steps": 6}, train={"checkpoint_every": 3, "log_every": 3,
                                                        "validate_every": 100})
    batches = step_indexed_batches(*patches, batch_size=4)
    fresh = train_model(cfg, "srcnn", tmp_path, batches=batches, validator=validator, show_progress=False)
    assert (fresh.step, fresh.steps_trained, fresh.resumed_from_step) == (6, 6, None)
