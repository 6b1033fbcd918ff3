"""A damaged checkpoint is named and moved aside; training resumes from the newest readable one
(issue 13, item 7)."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from sr_core.training.checkpoints import Checkpoints, checkpoint_problem  # noqa: E402


def _saved(ckpt_dir, steps=(10, 20, 30)):
    weights = tf.Variable(np.zeros(4, np.float32))
    ckpts = Checkpoints(ckpt_dir, keep=3, weights=weights)
    for step in steps:
        weights.assign(np.full(4, step, np.float32))
        ckpts.save(step, elapsed=float(step))
    return ckpts


def _fresh(ckpt_dir):
    weights = tf.Variable(np.full(4, -1.0, np.float32))
    return Checkpoints(ckpt_dir, keep=3, weights=weights), weights


def _data_file(ckpt_dir, step):
    return next((ckpt_dir / "ckpt").glob(f"ckpt-{step}.data-*"))


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    _saved(tmp_path)
    data = _data_file(tmp_path, 30)
    data.write_bytes(data.read_bytes()[:20])
    ckpts, weights = _fresh(tmp_path)
    with caplog.at_level("WARNING", logger="sr_core.training.checkpoints"):
        assert ckpts.restore() == 20
    assert weights.numpy().tolist() == [20.0] * 4 and float(ckpts.elapsed.numpy()) == 20.0
    assert f"checkpoint {tmp_path / 'ckpt' / 'ckpt-30'} is unreadable" in caplog.text
    assert "resuming from" in caplog.text and "(step 20) instead" in caplog.text
    assert not list((tmp_path / "ckpt").glob("ckpt-30.*"))
    assert sorted(p.name.split(".")[0] for p in (tmp_path / "corrupt").iterdir()) == ["ckpt-30", "ckpt-30"]
    # The manager forgot it: the next save and the next restore see a clean list.
    weights.assign(np.full(4, 25.0, np.float32))
    ckpts.save(25, elapsed=25.0)
    again, weights2 = _fresh(tmp_path)
    assert again.restore() == 25 and weights2.numpy().tolist() == [25.0] * 4


def test_garbage_index_files_fall_back_further(tmp_path, caplog):
    _saved(tmp_path)
    for step in (30, 20):
        (tmp_path / "ckpt" / f"ckpt-{step}.index").write_bytes(b"garbage" * 10)
    assert checkpoint_problem(str(tmp_path / "ckpt" / "ckpt-30")) is not None
    assert checkpoint_problem(str(tmp_path / "ckpt" / "ckpt-10")) is None
    ckpts, weights = _fresh(tmp_path)
    with caplog.at_level("WARNING", logger="sr_core.training.checkpoints"):
        assert ckpts.restore() == 10
    assert weights.numpy().tolist() == [10.0] * 4
    assert "ckpt-30 is unreadable" in caplog.text and "ckpt-20 is unreadable" in caplog.text


def test_same_size_corruption_is_caught_by_the_checksum_before_anything_is_assigned(tmp_path):
    _saved(tmp_path, steps=(10,))
    data = _data_file(tmp_path, 10)
    raw = bytearray(data.read_bytes())
    raw[-4:] = bytes(b ^ 0xFF for b in raw[-4:])
    data.write_bytes(bytes(raw))
    ckpts, weights = _fresh(tmp_path)
    assert ckpts.restore() == 0  # nothing readable: a fresh start, weights untouched
    assert weights.numpy().tolist() == [-1.0] * 4
    assert not (tmp_path / "ckpt" / "checkpoint").exists() and (tmp_path / "corrupt").is_dir()


def test_a_second_writer_waits_for_the_checkpoint_folder_and_says_for_whom(tmp_path, caplog):
    import subprocess
    import sys
    from pathlib import Path

    from sr_core.training.checkpoints import training_lock

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from sr_core.training.checkpoints import training_lock\n"
         "with training_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(2)\n"
         "    open(sys.argv[2], 'w').close()", str(tmp_path), str(tmp_path / "released")],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with caplog.at_level("WARNING", logger="sr_core.training.checkpoints"):
            with training_lock(tmp_path):
                assert (tmp_path / "released").exists(), "the lock was taken while the other writer held it"
        assert f"{tmp_path} is being trained by another run (pid {holder.pid} on" in caplog.text
    finally:
        holder.kill()
        holder.wait()
