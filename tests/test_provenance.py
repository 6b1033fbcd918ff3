"""Provenance: the code fingerprint follows the source, git state is read, changes are listed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sr_core import provenance
from sr_core.provenance import Provenance, changes_between, code_fingerprint, git_state

ROOT = Path(__file__).resolve().parents[1]


def _fingerprint_of(tree: Path) -> str:
    out = subprocess.run([sys.executable, "-c", "from sr_core.provenance import code_fingerprint; "
                          "print(code_fingerprint())"], cwd=tree, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    return out.stdout.strip()


def test_code_fingerprint_changes_with_any_library_source_file(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "sr_core", copy / "sr_core", ignore=shutil.ignore_patterns("__pycache__"))
    same = _fingerprint_of(copy)
    assert same == code_fingerprint()  # a copy of the same source (e.g. an installed wheel) agrees
    (copy / "sr_core" / "metrics.py").write_text((ROOT / "sr_core" / "metrics.py").read_text() + "\n# edit\n")
    assert _fingerprint_of(copy) != same
    (copy / "sr_core" / "metrics.py").write_text((ROOT / "sr_core" / "metrics.py").read_text())
    (copy / "sr_core" / "extra.py").write_text("")
    assert _fingerprint_of(copy) != same  # an added module counts too


def test_git_state_of_a_clone_and_outside_one(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "a.txt").write_text("1")
    (repo / "sub").mkdir()
    (repo / "sub" / "b.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt", "sub/b.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert git_state(repo) == git_state(repo / "sub") == (head, False)
    (repo / "a.txt").write_text("2")
    assert git_state(repo) == git_state(repo / "sub") == (head, True)
    # ignored paths are named from the clone's top, wherever the clone is asked from
    assert git_state(repo, ignore=["a.txt"]) == git_state(repo / "sub", ignore=["a.txt"]) == (head, False)
    (repo / "sub" / "b.txt").write_text("2")
    assert git_state(repo / "sub", ignore=["a.txt"]) == (head, True)
    assert git_state(repo, ignore=["a.txt", "sub/b.txt"]) == (head, False)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git_state(outside) == (None, None)


def test_collect_without_devices_describes_this_process():
    record = provenance.collect(devices=False)
    assert record.code_fingerprint == code_fingerprint()
    assert record.packages["numpy"] == __import__("numpy").__version__
    assert record.gpus == [] and record.host


def _record(**changes) -> Provenance:
    base = dict(git_commit="a" * 40, git_dirty=False, code_fingerprint="f" * 16,
                packages={"tensorflow": "2.20.0", "numpy": "2.1.0"}, cuda=None, cudnn=None, host="gpu-1",
                platform="Linux", cpu="Xeon x2", gpus=["H100"])
    return Provenance(**{**base, **changes})


def test_changes_between_two_identical_nights_is_empty():
    assert changes_between(_record(), _record(), {"a": 1}, {"a": 1}, "d1", "d1") == {
        "code": None, "config": {}, "packages": {}, "data": None, "hardware": {}}


def test_changes_between_lists_each_kind_of_change():
    old = _record()
    new = _record(git_commit="b" * 40, packages={"tensorflow": "2.21.0", "numpy": "2.1.0", "keras": "3.9"},
                  cuda="12.5", host="gpu-2", gpus=["H100", "H100"])
    changes = changes_between(old, new, {"srcnn": {"steps": 800, "residual": True}},
                              {"srcnn": {"steps": 1000, "residual": True}}, "d1", "d2")
    assert changes["code"]["commits"] == ["a" * 40, "b" * 40]
    assert changes["config"] == {"srcnn.steps": [800, 1000]}
    assert changes["packages"] == {"keras": [None, "3.9"], "tensorflow": ["2.20.0", "2.21.0"],
                                   "cuda": [None, "12.5"]}
    assert changes["data"] == ["d1", "d2"]
    assert changes["hardware"] == {"host": ["gpu-1", "gpu-2"], "gpus": [["H100"], ["H100", "H100"]]}


def test_a_dirty_tree_alone_is_a_code_change():
    assert changes_between(_record(), _record(git_dirty=True))["code"]["dirty"] == [False, True]
