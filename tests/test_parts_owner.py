"""A killed evaluation's ``parts/`` are told from a live one's by the owner lock, and removed by the
next evaluation with a message naming them (issue 13, item 9: leftovers after a kill)."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sr_core.partsowner import owning_parts, remove_dead_parts
from sr_core.runrecords import RunDir
from tests.helpers_kill import sigkill_when_marked

ROOT = Path(__file__).resolve().parents[1]

# A process that owns a run's parts/, writes one chunk, says so (the marker) and keeps evaluating.
EVALUATING = """
import sys, time
from pathlib import Path
from sr_core.partsowner import owning_parts
from sr_core.runrecords import RunDir
run = RunDir(sys.argv[1], sys.argv[2])
with owning_parts(run):
    run.part(0).write_bytes(b"chunk 0")
    Path(sys.argv[3]).touch()
    time.sleep(600)
"""


def _evaluating(reports: Path, run_id: str, marker: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", EVALUATING, str(reports), run_id, str(marker)], cwd=ROOT,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the evaluating process exited early: {proc.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("the evaluating process never wrote its chunk")
        time.sleep(0.1)
    return proc


def test_a_killed_evaluations_parts_are_removed_by_the_next_and_a_live_ones_kept(tmp_path, caplog):
    reports = tmp_path / "reports"
    killed = RunDir(reports, "night-1")
    proc = _evaluating(reports, killed.run_id, tmp_path / "marker")
    try:
        owner = json.loads(killed.parts_owner.read_text())
        assert (owner["pid"], owner["host"]) == (proc.pid, os.uname().nodename)

        with caplog.at_level(logging.WARNING, logger="sr_core.partsowner"):
            with owning_parts(RunDir(reports, "night-2")):  # a second night while the first evaluates
                assert killed.part(0).read_bytes() == b"chunk 0", "a live evaluation's chunk was removed"
                assert json.loads((reports / "night-2" / "parts" / ".owner").read_text())["pid"] == os.getpid()
        assert caplog.messages == []
        assert not (reports / "night-2" / "parts").exists(), "a finished evaluation left its parts/"

        sigkill_when_marked(proc, tmp_path / "marker", timeout=30, what="evaluating process")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (killed.path / "run.json").write_text("{}")

    with caplog.at_level(logging.WARNING, logger="sr_core.partsowner"):
        with owning_parts(RunDir(reports, "night-3")):
            assert not killed.parts.exists()
    (message,) = caplog.messages
    assert message.startswith(f"removed {killed.parts} (chunk-0000.parquet), left by an evaluation of run night-1 "
                              f"that is gone (pid {proc.pid} on {os.uname().nodename}, started "), message
    assert (killed.path / "run.json").is_file(), "only parts/ goes, not the run folder"
    assert sorted(p.name for p in reports.iterdir()) == ["night-1", "night-2", "night-3"]
    assert list(reports.glob("*/parts")) == []


def test_a_second_evaluation_of_the_same_run_waits_for_the_live_one(tmp_path, caplog):
    reports = tmp_path / "reports"
    run = RunDir(reports, "night-1")
    proc = _evaluating(reports, run.run_id, tmp_path / "marker")
    entered = threading.Event()

    def second() -> None:
        with owning_parts(run):
            entered.set()
            run.part(0).write_bytes(b"rescored")

    thread = threading.Thread(target=second)
    try:
        with caplog.at_level(logging.WARNING, logger="sr_core.partsowner"):
            thread.start()
            assert not entered.wait(1.5), "entered while another process held the run's parts/"
            assert "is being written by another evaluation of run night-1 (pid" in caplog.text
            sigkill_when_marked(proc, tmp_path / "marker", timeout=30, what="evaluating process")
            assert entered.wait(30), "never took over after the holder was killed"
            thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not run.parts.exists()


def test_a_failed_evaluation_removes_its_parts(tmp_path):
    run = RunDir(tmp_path / "reports", "night-1")
    with pytest.raises(RuntimeError, match="scoring failed"):
        with owning_parts(run):
            run.part(0).write_bytes(b"chunk 0")
            (run.parts / "set-00.parquet").write_bytes(b"set")
            raise RuntimeError("scoring failed")
    assert not run.parts.exists()
    assert run.path.is_dir()


def test_parts_without_an_owner_are_left_alone(tmp_path):
    legacy = RunDir(tmp_path / "reports", "old-night")  # written before owners were recorded
    legacy.parts.mkdir(parents=True)
    legacy.part(0).write_bytes(b"chunk 0")
    assert remove_dead_parts(tmp_path / "reports") == []
    assert legacy.part(0).read_bytes() == b"chunk 0"


def test_an_owner_file_nobody_locks_is_dead_even_without_a_record(tmp_path, caplog):
    run = RunDir(tmp_path / "reports", "night-1")
    run.parts.mkdir(parents=True)
    run.parts_owner.write_text("")  # killed between creating the owner file and writing it
    with caplog.at_level(logging.WARNING, logger="sr_core.partsowner"):
        assert remove_dead_parts(tmp_path / "reports") == [run.parts]
    assert "(empty), left by an evaluation of run night-1 that is gone (owner not recorded)" in caplog.text
    assert not run.parts.exists()


def test_without_file_locks_an_evaluation_still_runs_and_nothing_is_swept(tmp_path, caplog, monkeypatch):
    other = RunDir(tmp_path / "reports", "night-1")
    other.parts.mkdir(parents=True)
    other.parts_owner.write_text("")
    run = RunDir(tmp_path / "reports", "night-2")

    def no_locks(*_args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with caplog.at_level(logging.WARNING, logger="sr_core.partsowner"):
        with owning_parts(run):
            run.part(0).write_bytes(b"chunk 0")
    assert f"cannot lock {run.parts_owner} ([Errno {errno.ENOLCK}] No locks available)" in caplog.text
    assert not run.parts.exists()
    assert other.parts.exists(), "swept without being able to tell whether its owner lives"


def test_the_evaluate_use_case_sweeps_a_killed_evaluation_and_leaves_no_parts(tmp_path, caplog):
    from sr_core.config import load_config
    from sr_core.images import write_image
    from sr_core.usecases import evaluate_and_report
    from tests.helpers_eval import textured_image

    photos = tmp_path / "photos"
    for split in ("train", "validation"):
        write_image(photos / split / f"{split}.png", textured_image(40, 48, seed=len(split)))
    cfg = load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", extra={
        "data": {"dataset": f"folder:{photos}"}, "eval": {"methods": ["bicubic"], "auto_crops": 0, "crops": []}})
    killed = RunDir(tmp_path / "reports", "night-0")
    killed.parts.mkdir(parents=True)
    killed.part(0).write_bytes(b"chunk 0")
    killed.parts_owner.write_text(json.dumps({"host": "gpu-1", "pid": 4242, "started": "2026-11-27T02:00:00+00:00"}))
    with caplog.at_level(logging.WARNING, logger="sr_core.partsowner"):
        outcome = evaluate_and_report(cfg, {}, "night-1")
    assert (f"removed {killed.parts} (chunk-0000.parquet), left by an evaluation of run night-0 that is gone "
            "(pid 4242 on gpu-1, started 2026-11-27T02:00:00+00:00)") in caplog.messages
    assert outcome.metrics.is_file() and list((tmp_path / "reports").glob("*/parts")) == []
