"""The TensorFlow-free half of :mod:`sr_core.training.checkpoints`: the non-finite loss guard and its
message, and the training lock (who holds it, waiting for it, releasing it). Reading and restoring
checkpoints needs TensorFlow and is tested in tests/test_checkpoint_fallback.py and
tests/test_kill_resume.py; this file runs in mutmut's forked, TensorFlow-free runs.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import threading
import time

import pytest

from sr_core.training.checkpoints import NonFiniteLossError, check_finite, training_lock


def test_finite_losses_pass(tmp_path):
    for losses in ({}, {"loss": 0.0}, {"g": -3.5, "d": 1e300, "mse": 5e-324}):
        assert check_finite(losses, 10, tmp_path, None) is None
        assert check_finite(losses, 10, tmp_path, 5) is None


def test_a_non_finite_loss_stops_training_naming_the_values_and_the_checkpoint_kept(tmp_path):
    losses = {"g": math.nan, "content": 0.25, "d": math.inf, "adv": -math.inf}
    with pytest.raises(NonFiniteLossError) as caught:
        check_finite(losses, 120, tmp_path, 100)
    assert str(caught.value) == (
        f"training stopped at step 120: non-finite loss (g=nan, d=inf, adv=-inf); the last good checkpoint "
        f"(step 100) is kept in {tmp_path}; rerunning resumes from it. Lower the learning rate (e.g. "
        "--set srcnn.lr.initial=...), add warmup (lr.warmup_steps), or check the training patches for corrupt values.")
    with pytest.raises(NonFiniteLossError) as caught:
        check_finite({"loss": math.nan}, 3, tmp_path, 0)
    assert f"the last good checkpoint (step 0) is kept in {tmp_path}; rerunning resumes from it." in str(caught.value)
    with pytest.raises(NonFiniteLossError) as caught:
        check_finite({"loss": math.inf}, 3, tmp_path, None)
    assert str(caught.value).startswith(
        f"training stopped at step 3: non-finite loss (loss=inf); no checkpoint was written yet in {tmp_path}. "
        "Lower the learning rate")
    assert isinstance(caught.value, FloatingPointError)


def test_the_lock_says_who_holds_it_and_is_released_on_exit_and_on_error(tmp_path):
    ckpt_dir = tmp_path / "checkpoints" / "srcnn" / "abc"
    lock = ckpt_dir / ".lock"
    with training_lock(str(ckpt_dir)):
        assert lock.read_text() == f"pid {os.getpid()} on {os.uname().nodename}\n"
        with open(lock) as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock) as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        fcntl.flock(other, fcntl.LOCK_UN)
    lock.write_text("a much longer line left by an earlier holder than the one written now\n")
    with pytest.raises(RuntimeError, match="boom"), training_lock(ckpt_dir):
        assert lock.read_text() == f"pid {os.getpid()} on {os.uname().nodename}\n"
        raise RuntimeError("boom")
    with open(lock) as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.parametrize(("written", "named"), [("pid 41 on other-host\n", "pid 41 on other-host"), ("", "unknown")])
def test_a_second_trainer_waits_for_the_holder_and_says_for_whom(tmp_path, caplog, written, named):
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()
    holder = open(ckpt_dir / ".lock", "a+")  # another run's open lock file (flock is per open file)
    fcntl.flock(holder, fcntl.LOCK_EX)
    holder.write(written)
    holder.flush()
    entered = threading.Event()

    def second_run():
        with training_lock(ckpt_dir):
            entered.set()

    caplog.set_level(logging.WARNING, logger="sr_core.training.checkpoints")
    waiting = f"{ckpt_dir} is being trained by another run ({named}); waiting for it to finish"
    thread = threading.Thread(target=second_run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while waiting not in caplog.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        assert caplog.messages == [waiting]
        assert not entered.is_set()
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        holder.close()
        thread.join(30)
    assert entered.is_set()
    assert caplog.messages == [waiting, f"{ckpt_dir} is free again; resuming from its checkpoints"]
    assert (ckpt_dir / ".lock").read_text() == f"pid {os.getpid()} on {os.uname().nodename}\n"
