"""A night SIGKILLed during training: rerunning *that* run id resumes from its own checkpoint; a new
night starts from step 0.

The killed night is a real ``srbench run`` in a subprocess (its own temporary Prefect server), held
at SRCNN's step 6 (after the step-4 checkpoint) and killed with SIGKILL there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers_kill import sigkill_when_marked
from helpers_prefect import ensure_prefect_harness
from sr_core import layout
from sr_core.config import load_config
from sr_core.runrecords import RunDir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KILL_AT = 6
RUN_ID = "smoke-killed-night"
OVERRIDES = ["srcnn.steps=8", "train.checkpoint_every=2"]

CHILD = """
import sys, time
from pathlib import Path
import sr_core.training.api as api

marker = Path(sys.argv[1])
real_run_loop = api.run_loop

def held_run_loop(trainer, *, name, on_progress=None, **kwargs):
    def progress(step, total, logs):
        if name == "srcnn" and step == {kill_at}:
            marker.write_text(str(step))
            time.sleep(600)  # the parent kills us here
        if on_progress is not None:
            on_progress(step, total, logs)
    return real_run_loop(trainer, name=name, on_progress=progress, **kwargs)

api.run_loop = held_run_loop
from srbench.cli import app
app(sys.argv[2:])
"""


def _night_until_killed(data_dir: Path, reports_dir: Path) -> None:
    marker = data_dir.parent / "reached"
    args = ["run", "--preset", "smoke", "--data-dir", str(data_dir), "--reports-dir", str(reports_dir),
            "--run-id", RUN_ID]
    for item in OVERRIDES:
        args += ["--set", item]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(kill_at=KILL_AT), str(marker), *args],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sigkill_when_marked(proc, marker, timeout=240, what="night")


def test_a_killed_night_resumes_under_its_run_id_and_a_new_night_starts_fresh(tmp_path, request):
    import tensorflow as tf

    data_dir, reports_dir = tmp_path / "data", tmp_path / "reports"
    _night_until_killed(data_dir, reports_dir)
    cfg = load_config("smoke", OVERRIDES, data_dir=data_dir, reports_dir=reports_dir)
    ckpt = layout.checkpoint_dir(cfg, "srcnn", RUN_ID) / "ckpt"
    assert tf.train.latest_checkpoint(ckpt).endswith("ckpt-4")  # the killed night's own checkpoint
    assert not (layout.models_dir(cfg) / "srcnn").exists()

    ensure_prefect_harness(request)
    from flows.nightly import nightly
    from flows.stages import train

    state = nightly(config=cfg, run_id=RUN_ID, return_state=True)
    assert state.is_completed(), state.message
    record = RunDir(reports_dir, RUN_ID).read_run()
    srcnn = record.trained["srcnn"]
    assert (srcnn.origin, srcnn.step, srcnn.steps_trained, srcnn.resumed_from_step) == ("trained", 8, 8, 4)
    assert record.trained["srresnet"].resumed_from_step is None  # never started before the kill
    assert tf.train.latest_checkpoint(ckpt).endswith("ckpt-8")
    assert "trained tonight: 8 steps in" in RunDir(reports_dir, RUN_ID).report.read_text()
    assert "(resumed at step 4)" in RunDir(reports_dir, RUN_ID).report.read_text()

    fresh = train(config=cfg, models=["srcnn"])["srcnn"]  # a new night: its own run id
    assert fresh["resumed_from_step"] is None and fresh["steps_trained"] == 8
    assert fresh["run_id"] != RUN_ID and fresh["path"] != srcnn.path
    new_ckpt = layout.checkpoint_dir(cfg, "srcnn", fresh["run_id"]) / "ckpt"
    assert tf.train.latest_checkpoint(new_ckpt).endswith("ckpt-8")
