"""Resume after a real SIGKILL: a training subprocess is killed mid-run, leaving a half-written checkpoint.

The subprocess trains SRCNN (large learning rate, so the weights are far from bicubic) and is killed
with SIGKILL at step 6, after the step-4 checkpoint and before the step-6 one. What a kill inside
``CheckpointManager.save`` leaves (a ``ckpt-6_temp`` folder and a truncated data file, not yet named
in the ``checkpoint`` state file) is added next to it. Resuming must continue at step 5 from the
step-4 checkpoint and end with the weights of an uninterrupted run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers_kill import sigkill_when_marked

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KILL_AT = 6

CHILD = """
import sys, time
from pathlib import Path
sys.path[:0] = [{root!r}, {tests!r}]
from test_kill_resume import config, inputs
from sr_core.training import train_model

marker = Path(sys.argv[1])

def progress(step, total, logs):
    if step == {kill_at}:
        marker.write_text(str(step))
        time.sleep(600)  # the parent kills us here

batches, validator = inputs()
train_model(config(Path(sys.argv[2])), "srcnn", sys.argv[2], batches=batches, validator=validator,
            on_progress=progress, show_progress=False)
"""


def config(data_dir: Path):
    from sr_core.config import load_config

    return load_config("smoke", data_dir=data_dir, reports_dir=data_dir / "reports", extra={
        "srcnn": {"steps": 8, "lr": {"initial": 1e-2}},
        "train": {"checkpoint_every": 2, "log_every": 1, "validate_every": 100}})


def inputs():
    from helpers_training import photo_patches, step_indexed_batches
    from sr_core.training.loop import Validator

    lr, hr = photo_patches(16, seed=0)
    return step_indexed_batches(lr, hr, batch_size=4), Validator(*photo_patches(2, seed=1), scale=4)


def _train_until_killed(data_dir: Path) -> None:
    marker = data_dir / "reached"
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), kill_at=KILL_AT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen([sys.executable, "-c", code, str(marker), str(data_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sigkill_when_marked(proc, marker, timeout=90, what="training subprocess")


def test_resume_after_sigkill_with_a_half_written_checkpoint(tmp_path):
    import tensorflow as tf

    from helpers_models import assert_not_bicubic
    from sr_core import layout
    from sr_core.export import load_model
    from sr_core.training import train_model
    from sr_core.training.curves import read_curves

    killed_dir = tmp_path / "killed"
    _train_until_killed(killed_dir)
    cfg = config(killed_dir)
    ckpt = layout.checkpoint_dir(cfg, "srcnn") / "ckpt"
    assert tf.train.latest_checkpoint(ckpt).endswith("ckpt-4")
    assert not (layout.models_dir(cfg) / "srcnn").exists()  # nothing exported by the killed run

    # What a kill inside the step-6 save leaves behind: a temp folder and a truncated data file.
    data = (ckpt / "ckpt-4.data-00000-of-00001").read_bytes()
    (ckpt / "ckpt-6_temp").mkdir()
    (ckpt / "ckpt-6_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(data[: len(data) // 3])
    (ckpt / "ckpt-6.data-00000-of-00001").write_bytes(data[: len(data) // 2])

    batches, validator = inputs()
    seen = []
    resumed = train_model(cfg, "srcnn", killed_dir, batches=batches, validator=validator,
                          on_progress=lambda s, t, logs: seen.append(s), show_progress=False)
    assert seen[0] == 5 and resumed.step == 8
    assert [int(r["step"]) for r in read_curves(ckpt.parent)] == list(range(1, 9))  # rows 5, 6 replaced
    assert tf.train.latest_checkpoint(ckpt).endswith("ckpt-8")

    straight_cfg = config(tmp_path / "straight")
    straight = train_model(straight_cfg, "srcnn", tmp_path, batches=batches, validator=validator,
                           show_progress=False)
    resumed_model, straight_model = load_model(resumed.path), load_model(straight.path)
    assert_not_bicubic(resumed_model)
    for a, b in zip(resumed_model.get_weights(), straight_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
