"""Damaged patch directories are found cheaply and rebuilt by the next run, which says so; a killed
prepare's staging folder does not pile up (issue 13, items 6 and 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sr_core import layout, records
from sr_core.records import MANIFEST, patches_problem, prepare_patches, remove_stale_staging


@pytest.fixture
def patches(smoke_config):
    patch_dir = prepare_patches(smoke_config)
    return smoke_config, patch_dir, json.loads((patch_dir / MANIFEST).read_text())


def _shard(manifest, split):
    return manifest["splits"][split]["shards"][0]["file"]


def _rebuilt(cfg, patch_dir, caplog, expect: str):
    before = (patch_dir / MANIFEST).read_bytes()
    with caplog.at_level("WARNING", logger="sr_core.records"):
        assert prepare_patches(cfg) == patch_dir
    assert f"rebuilding {patch_dir}: " in caplog.text and expect in caplog.text
    assert patches_problem(patch_dir) is None
    return before


def test_a_truncated_shard_is_named_and_rebuilt(patches, caplog):
    cfg, patch_dir, manifest = patches
    shard = patch_dir / _shard(manifest, "train")
    good = shard.read_bytes()
    shard.write_bytes(good[: len(good) // 2])
    assert f"{shard} is corrupt" in patches_problem(patch_dir)
    _rebuilt(cfg, patch_dir, caplog, f"{shard} is corrupt ({len(good) // 2} bytes, manifest says {len(good)})")
    assert shard.read_bytes() == good  # same config, byte-identical shards


def test_a_same_size_garbage_validation_shard_is_caught_by_its_checksum(patches, caplog):
    cfg, patch_dir, manifest = patches
    shard = patch_dir / _shard(manifest, "validation")
    good = shard.read_bytes()
    assert patches_problem(patch_dir) is None  # verified once: the stamp now remembers the shard
    shard.write_bytes(bytes(len(good)))
    assert "sha256 differs from the manifest" in patches_problem(patch_dir)
    _rebuilt(cfg, patch_dir, caplog, "sha256 differs")
    assert shard.read_bytes() == good


@pytest.mark.parametrize("garbage", [b"\x00garbage", b'{"format": "srbench-patches/1", "splits": 5}',
                                     b'{"format": "srbench-patches/1", "splits": {"train": {"count": 1, '
                                     b'"shards": [{"file": "../../x", "bytes": 1, "sha256": "", "records": 1}]}}}'])
def test_a_garbage_manifest_is_named_and_rebuilt(patches, caplog, garbage):
    cfg, patch_dir, manifest = patches
    (patch_dir / MANIFEST).write_bytes(garbage)
    assert str(patch_dir / MANIFEST) in patches_problem(patch_dir)
    _rebuilt(cfg, patch_dir, caplog, str(patch_dir / MANIFEST))
    assert json.loads((patch_dir / MANIFEST).read_text())["splits"].keys() == manifest["splits"].keys()


def test_an_untouched_directory_is_not_hashed_again(patches, monkeypatch):
    _, patch_dir, _ = patches
    assert patches_problem(patch_dir) is None

    def no_hashing(path):
        raise AssertionError(f"{path} was hashed again although it did not change")

    monkeypatch.setattr(records, "_sha256", no_hashing)
    assert patches_problem(patch_dir) is None


def test_a_killed_prepares_staging_folder_is_removed_and_a_live_ones_kept(smoke_config, caplog):
    target = layout.patches_dir(smoke_config)
    target.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    leftover = target.parent / f".{target.name}.tmp-{dead.stdout.strip()}-123"
    live = target.parent / f".{target.name}.tmp-{os.getppid()}-456"  # our parent: alive
    for folder in (leftover, live):
        folder.mkdir()
        (folder / "train-00000-of-00001.tfrecord").write_bytes(b"x" * 1000)
    with caplog.at_level("WARNING", logger="sr_core.records"):
        prepare_patches(smoke_config)
    assert not leftover.exists() and live.exists()
    assert f"removed {leftover}, left by an interrupted prepare" in caplog.text
    assert remove_stale_staging(target) == []
    assert patches_problem(target) is None


def _flow_run_log(flow_run_id, expect: str, timeout: float = 30.0) -> str:
    """The flow run's log as the API has it; Prefect ships logs in batches, so poll for ``expect``."""
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        text = "\n".join(entry.message for entry in logs)
        if expect in text or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


@pytest.mark.slow
def test_the_nightly_data_stage_rebuilds_a_damaged_cached_directory(request, smoke_config):
    """Through Prefect: the cache said 'done', a shard was truncated since; the task reruns."""
    from flows.stages import prepare
    from helpers_prefect import ensure_prefect_harness, task_run_states

    ensure_prefect_harness(request)
    first = prepare(config=smoke_config, return_state=True)
    assert first.is_completed(), first.message
    patch_dir = layout.patches_dir(smoke_config)
    shard = patch_dir / _shard(json.loads((patch_dir / MANIFEST).read_text()), "train")
    shard.write_bytes(shard.read_bytes()[:100])
    second = prepare(config=smoke_config, return_state=True)
    expected = f"rebuilding the patches: patch shard {shard} is corrupt (100 bytes"
    log = _flow_run_log(second.state_details.flow_run_id, expected)
    assert second.is_completed(), second.message
    states = task_run_states(second.state_details.flow_run_id, wait_for=("prepare_patches",))
    assert states["prepare_patches"] == ["Completed"]
    assert expected in log
    assert patches_problem(patch_dir) is None
    third = prepare(config=smoke_config, return_state=True)
    states = task_run_states(third.state_details.flow_run_id, wait_for=("prepare_patches",))
    assert states["prepare_patches"] == ["Cached"]
