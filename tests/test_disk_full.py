"""A full disk (ENOSPC) is named: the atomic writes say which file did not fit, and a failed run says
which root is full (issue 13, item 5). The real full disk (a small tmpfs) is in
test_fault_injection.py, which needs root and `mount`; these inject the error in-process."""

from __future__ import annotations

import errno
from collections import namedtuple
from pathlib import Path

import pytest

from sr_core import atomic
from srbench import options

Usage = namedtuple("Usage", "total used free")


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")],
                         ids=["errno", "pyarrow-style"])
def test_a_write_that_does_not_fit_names_its_file_and_leaves_the_old_one(tmp_path, monkeypatch, error):
    target = tmp_path / "run" / "metrics.parquet"
    atomic.write_bytes(target, b"old")

    def full(self, data):
        Path.write_text(self, "half")  # what a write cut short leaves in the temp file
        raise error

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError) as caught:
        atomic.write_bytes(target, b"new")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert str(caught.value) == f"[Errno 28] No space left on device: '{target}'"
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and sorted(p.name for p in target.parent.iterdir()) == ["metrics.parquet"]


def test_other_write_errors_pass_through_unchanged(tmp_path, monkeypatch):
    error = PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: (_ for _ in ()).throw(error))
    with pytest.raises(PermissionError) as caught:
        atomic.write_bytes(tmp_path / "x", b"1")
    assert caught.value is error


@pytest.mark.parametrize("free, error, full", [
    (0, "PrefectHTTPStatusError: Server error '500 Internal Server Error'", True),  # the error hides it
    (2**20 - 1, "", True),
    (2**20, "ValueError: bad config", False),
    (50 * 2**20, "OSError: [Errno 28] No space left on device: '/r/x'", True),
    (50 * 2**20, "sqlite3.OperationalError: database or disk is full", True),
    (50 * 2**20, "ValueError: bad config", False),
    (options.LOW_SPACE_BYTES, "OSError: [Errno 28] No space left on device", False),  # plenty: not the cause
])
def test_a_failed_run_names_the_full_root(monkeypatch, tmp_path, free, error, full):
    roots = [tmp_path / "prefect", tmp_path / "reports"]
    monkeypatch.setattr(options.shutil, "disk_usage",
                        lambda p: Usage(10**9, 0, free if Path(p) == roots[1] else 10**9))
    message = options.full_disk(error, roots)
    if full:
        assert message.startswith(f"no space left on the disk of {roots[1]} ({free / 2**20:.1f} MB free)")
    else:
        assert message is None


def test_the_root_of_the_file_that_did_not_fit_is_named_first(monkeypatch, tmp_path):
    prefect, reports = tmp_path / "data" / "prefect", tmp_path / "reports"
    monkeypatch.setattr(options.shutil, "disk_usage",
                        lambda p: Usage(10**9, 0, 5 * 2**20 if Path(p) == prefect else 3 * 2**20))
    error = f"OSError: [Errno 28] No space left on device: '{reports}/run/stages.json'"
    assert options.full_disk(error, [prefect, reports]).startswith(f"no space left on the disk of {reports} (3.0 MB")
    assert options.full_disk("OSError: [Errno 28] No space left on device", [prefect, reports]).startswith(
        f"no space left on the disk of {prefect} (5.0 MB")
