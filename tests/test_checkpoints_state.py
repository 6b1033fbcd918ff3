"""What ``Checkpoints`` saves, keeps and restores, and what it says when it falls back, value by value:
the step, the float64 elapsed seconds and every trackable come back exactly; only the newest ``keep``
checkpoints stay (also after a fallback); a checkpoint that reads whole but does not fit the models
is set aside like a damaged one; the state file lists exactly what is left; the warnings name the
checkpoint, the error type and its first line. Complements tests/test_checkpoint_fallback.py (damaged
files); run by ``make mutation-tf`` (docs/testing.md).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from sr_core.training.checkpoints import Checkpoints, checkpoint_problem  # noqa: E402

LOGGER = "sr_core.training.checkpoints"


def _ckpts(directory, keep=None, size=4, fill=-1.0):
    weights = tf.Variable(np.full(size, fill, np.float32))
    kw = {} if keep is None else {"keep": keep}
    return Checkpoints(directory, **kw, weights=weights), weights


def _save(ckpts, weights, steps):
    for step in steps:
        weights.assign(np.full(weights.shape, step, np.float32))
        ckpts.save(step, elapsed=step * 1.000000123)


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]  # not TensorFlow's deprecation notes


def _on_disk(directory):
    return sorted(p.name for p in (directory / "ckpt").glob("ckpt-*.index"))


def test_save_and_restore_bring_back_step_elapsed_and_weights_keeping_the_newest(tmp_path):
    ckpts, weights = _ckpts(tmp_path, keep=2)
    assert ckpts.last_saved is None
    assert ckpts.restore() == 0 and ckpts.last_saved is None
    assert float(ckpts.elapsed.numpy()) == 0.0  # a fresh run starts its clock at zero
    _save(ckpts, weights, (10, 20, 30))
    assert ckpts.last_saved == 30
    assert _on_disk(tmp_path) == ["ckpt-20.index", "ckpt-30.index"]
    fresh, restored = _ckpts(tmp_path, keep=2)
    assert fresh.restore() == 30 and fresh.last_saved == 30
    assert restored.numpy().tolist() == [30.0] * 4
    assert float(fresh.elapsed.numpy()) == 30 * 1.000000123  # float64, not rounded to float32
    default, w = _ckpts(tmp_path / "default")
    _save(default, w, (1, 2, 3, 4, 5))
    assert _on_disk(tmp_path / "default") == ["ckpt-3.index", "ckpt-4.index", "ckpt-5.index"]  # keep=3


def test_a_fallback_names_the_checkpoint_forgets_it_and_keeps_keep_afterwards(tmp_path, caplog):
    ckpts, weights = _ckpts(tmp_path, keep=2)
    _save(ckpts, weights, (10, 20))
    data = next((tmp_path / "ckpt").glob("ckpt-20.data-*"))
    data.write_bytes(data.read_bytes()[:10])
    prefix = tmp_path / "ckpt" / "ckpt-20"
    problem = checkpoint_problem(str(prefix))
    assert re.fullmatch(r"\w+Error: [^\n]+", problem)
    fresh, restored = _ckpts(tmp_path, keep=2)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert fresh.restore() == 10
    first, second = _messages(caplog)
    assert first == f"checkpoint {prefix} is unreadable ({problem}); moving it aside and trying the previous one"
    assert second == f"resuming from {tmp_path / 'ckpt' / 'ckpt-10'} (step 10) instead"
    aside = sorted(p.name for p in (tmp_path / "corrupt").iterdir())
    assert len(aside) == 2 and all(re.fullmatch(r"ckpt-20\.(index|data-\d+-of-\d+)\.\d{8}T\d{6}", n) for n in aside)
    state = tf.train.get_checkpoint_state(str(tmp_path / "ckpt"))
    assert state.model_checkpoint_path.endswith("ckpt-10")
    assert [p.rsplit("/", 1)[-1] for p in state.all_model_checkpoint_paths] == ["ckpt-10"]
    # Saving on: still only the newest two.
    _save(fresh, restored, (30, 40, 50))
    assert _on_disk(tmp_path) == ["ckpt-40.index", "ckpt-50.index"]
    state = tf.train.get_checkpoint_state(str(tmp_path / "ckpt"))
    assert [p.rsplit("/", 1)[-1] for p in state.all_model_checkpoint_paths] == ["ckpt-40", "ckpt-50"]
    # A second damaged checkpoint later on is set aside into the same corrupt/ folder.
    data = next((tmp_path / "ckpt").glob("ckpt-50.data-*"))
    data.write_bytes(data.read_bytes()[:10])
    again, _ = _ckpts(tmp_path, keep=2)
    assert again.restore() == 40
    assert len(list((tmp_path / "corrupt").iterdir())) == 4


def test_a_checkpoint_that_does_not_fit_the_models_is_set_aside_and_training_starts_afresh(tmp_path, caplog):
    ckpts, weights = _ckpts(tmp_path, keep=3, size=4)
    _save(ckpts, weights, (10, 20))
    other, other_weights = _ckpts(tmp_path, keep=3, size=5, fill=7.0)  # the model's shape changed
    assert checkpoint_problem(str(tmp_path / "ckpt" / "ckpt-20")) is None  # the files themselves read whole
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert other.restore() == 0
    assert other.last_saved is None and other_weights.numpy().tolist() == [7.0] * 5
    messages = _messages(caplog)
    assert len(messages) == 3
    for message, step in zip(messages, (20, 10)):
        match = re.fullmatch(rf"checkpoint {re.escape(str(tmp_path / 'ckpt' / f'ckpt-{step}'))} is unreadable "
                             r"\((\w+): ([^\n]{1,300})\); moving it aside and trying the previous one", message)
        assert match, message
    assert messages[2] == f"no readable checkpoint left in {tmp_path}: training starts from step 0"
    assert not (tmp_path / "ckpt" / "checkpoint").exists() and _on_disk(tmp_path) == []


def test_the_problem_is_the_error_type_and_its_first_line_cut_at_300_characters(tmp_path, monkeypatch):
    class Reader:
        def get_variable_to_shape_map(self):
            return {"w": [1]}

        def get_tensor(self, name):
            raise ValueError("x" * 400 + "\nsecond line")

    monkeypatch.setattr(tf.train, "load_checkpoint", lambda prefix: Reader())
    assert checkpoint_problem("anything") == "ValueError: " + "x" * 300

    def empty(prefix):
        raise OSError("")

    monkeypatch.setattr(tf.train, "load_checkpoint", empty)
    assert checkpoint_problem("anything") == "OSError: "


@pytest.mark.parametrize(("error", "shown"), [("y" * 400 + "\nmore", "y" * 300), ("", "")])
def test_a_restore_error_is_reported_by_type_and_first_line_cut_at_300(tmp_path, caplog, monkeypatch, error, shown):
    ckpts, weights = _ckpts(tmp_path, keep=3)
    _save(ckpts, weights, (10,))
    fresh, _ = _ckpts(tmp_path, keep=3)

    class Status:
        def assert_existing_objects_matched(self):
            raise AssertionError(error)

    monkeypatch.setattr(fresh.checkpoint, "restore", lambda prefix: Status())
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert fresh.restore() == 0
    assert _messages(caplog)[0] == (f"checkpoint {tmp_path / 'ckpt' / 'ckpt-10'} is unreadable (AssertionError: "
                                  f"{shown}); moving it aside and trying the previous one")


def test_a_checkpoint_damaged_in_its_second_variable_restores_nothing(tmp_path):
    first, second = tf.Variable(np.full(64, 10.0, np.float32)), tf.Variable(np.full(64, 10.5, np.float32))
    Checkpoints(tmp_path, first=first, second=second).save(10, 1.0)
    data = next((tmp_path / "ckpt").glob("ckpt-10.data-*"))
    raw = bytearray(data.read_bytes())
    at = raw.find(np.full(64, 10.5, np.float32).tobytes())
    assert at >= 0
    raw[at + 8] ^= 0xFF  # same size, one byte of the second variable
    data.write_bytes(bytes(raw))
    first2, second2 = tf.Variable(np.full(64, -1.0, np.float32)), tf.Variable(np.full(64, -1.0, np.float32))
    assert Checkpoints(tmp_path, first=first2, second=second2).restore() == 0
    assert first2.numpy().tolist() == [-1.0] * 64 and second2.numpy().tolist() == [-1.0] * 64  # not half restored
