"""Fault injection: real ``srbench`` processes on the smoke preset, damaged and killed as an operator
would find them, then run again (issue 13, "Done when"). Each rerun must complete by itself, name
what it repaired, and leave nothing behind.

One first night is shared (module fixture); every test works on its own copy of its roots.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sr_core import layout
from sr_core.config import load_config
from sr_core.registry import read_records

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SRBENCH = [sys.executable, "-m", "srbench.cli"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    return env


def srbench(*args: str, roots: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [*SRBENCH, *args, "--preset", "smoke", "--data-dir", str(roots / "data"),
           "--reports-dir", str(roots / "reports")]
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _cfg(roots: Path):
    return load_config("smoke", data_dir=roots / "data", reports_dir=roots / "reports")


def _runs(roots: Path) -> list[str]:
    return sorted(p.parent.name for p in (roots / "reports").glob("*/report.html"))


@pytest.fixture(scope="module")
def first_night(tmp_path_factory) -> Path:
    roots = tmp_path_factory.mktemp("night")
    out = srbench("run", roots=roots)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return roots


@pytest.fixture
def roots(first_night, tmp_path) -> Path:
    copy = tmp_path / "roots"
    shutil.copytree(first_night, copy, symlinks=True)
    return copy


def _malicious_result(marker: Path) -> bytes:
    # Prefect's own record format with a pickle payload, as Prefect would write it for a
    # pickle-serialized task result: what an attacker with write access to the data root can plant.
    from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "pwned"))

    return ResultRecord(metadata=ResultRecordMetadata(serializer=PickleSerializer()),
                        result=Payload()).serialize()


def test_a_night_after_many_damaged_files_repairs_them_and_completes(roots, tmp_path):
    cfg = _cfg(roots)
    # 1. a truncated training shard
    patch_dir = layout.patches_dir(cfg)
    manifest = json.loads((patch_dir / "manifest.json").read_text())
    shard = patch_dir / manifest["splits"]["train"]["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:200])
    # 2. the newest SRCNN checkpoint of the first night truncated (checkpoints are run-scoped: the
    # night is rerun with its run id, which resumes from them)
    first_run = _runs(roots)[0]
    ckpt = layout.checkpoint_dir(cfg, "srcnn", first_run) / "ckpt"
    newest = max(ckpt.glob("ckpt-*.index"), key=lambda p: int(p.name.split("-")[1].split(".")[0]))
    data_file = next(ckpt.glob(newest.name.replace(".index", ".data-*")))
    data_file.write_bytes(data_file.read_bytes()[:10])
    # 3. garbage history, 4. a truncated Prefect database, 5. a planted pickle result
    history = roots / "reports" / "history" / f"{first_run}.parquet"  # the first night's history file
    assert history.is_file()
    history.write_bytes(b"PAR1 garbage")
    db = roots / "data" / "prefect" / "prefect.db"
    for journal in db.parent.glob("prefect.db-*"):
        journal.unlink()
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 3)
    from tasks.data import dataset_cache_key, results_dir

    marker = tmp_path / "pwned"
    planted = results_dir(cfg) / dataset_cache_key(None, {"cfg": cfg})  # the key this night looks up
    planted.write_bytes(_malicious_result(marker))
    before = _runs(roots)

    out = srbench("run", "--run-id", first_run, roots=roots)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    assert not marker.exists(), "a planted result file ran code"
    assert f"ignoring cached task result {planted}" in log
    assert f"rebuilding the patches: patch shard {shard} is corrupt" in log
    assert f"checkpoint {ckpt / newest.name.replace('.index', '')} is unreadable" in log
    assert f"{history} is unreadable" in log and f"history: rebuilt {history} from the run folder" in log
    assert f"the local Prefect database {db} is damaged" in log
    from sr_core.records import patches_problem
    from sr_core.results import read_history

    assert patches_problem(patch_dir) is None
    after = _runs(roots)
    assert after == before
    assert set(read_history(roots / "reports")["run_id"]) == set(after)  # the night's file rebuilt
    assert list(history.parent.glob(f"{history.name}.damaged-*"))


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_a_night_sigkilled_in_training_leaves_no_server_and_the_next_night_completes(roots):
    log_path = roots / "killed.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([*SRBENCH, "run", "--preset", "smoke", "--data-dir", str(roots / "data"),
                                 "--reports-dir", str(roots / "reports")], cwd=ROOT, env=_env(),
                                stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            while "stage train" not in log_path.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.2)
            server = [pid for pid in _children(proc.pid)
                      if "uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
            assert server, "no temporary Prefect server found"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in server), "the temporary Prefect server outlived the killed run"

    before = _runs(roots)
    out = srbench("run", roots=roots)
    assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
    assert len(_runs(roots)) == len(before) + 1
    leftovers = [p for p in (roots / "data").rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_two_runs_at_once_train_one_checkpoint_folder_in_turn(roots):
    steps_override = "srcnn.steps=40"  # a model this data root has not trained yet
    cfg = load_config("smoke", [steps_override], data_dir=roots / "data", reports_dir=roots / "reports")
    ckpt_dir = layout.checkpoint_dir(cfg, "srcnn")
    assert not ckpt_dir.exists()
    before = {r.id for r in read_records(roots / "data")}
    cmd = [*SRBENCH, "train", "--preset", "smoke", "--model", "srcnn", "--set", steps_override,
           "--data-dir", str(roots / "data"), "--reports-dir", str(roots / "reports")]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    steps = [int(line.split(",")[0]) for line in (ckpt_dir / "curves.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] == 40, "interleaved or duplicate steps in curves.csv"
    new = [r for r in read_records(roots / "data") if r.id not in before and r.kind == "export"]
    assert sorted({(e.name, e.step) for e in new}) == [("srcnn", 40)], new


# Runs `srbench` in this process after wrapping one named function so that the process SIGKILLs
# itself right before (or right after) its first call: a kill at an exact point of the night, with no
# timing guesses. Everything else (the temporary Prefect server, the watchdog, the stage record) is
# the real `srbench run`.
KILL_AT = """
import importlib.abc, importlib.util, os, signal, sys
target, when = sys.argv[1], sys.argv[2]
module_name, name = target.split(":")

class WrapOnImport(importlib.abc.MetaPathFinder):
    # Wrap at import time: importing the module here could import Prefect before srbench has
    # configured it (the CLI then keeps the caller's Prefect settings and starts no watchdog).
    def find_spec(self, fullname, path, target=None):
        if fullname != module_name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        exec_module = spec.loader.exec_module

        def exec_and_wrap(module):
            exec_module(module)
            original = getattr(module, name)

            def kill(*args, **kwargs):
                if when == "after":
                    original(*args, **kwargs)
                os.kill(os.getpid(), signal.SIGKILL)

            setattr(module, name, kill)

        spec.loader.exec_module = exec_and_wrap
        return spec

sys.meta_path.insert(0, WrapOnImport())
sys.argv = ["srbench", *sys.argv[3:]]
from srbench.cli import main
main()
"""


def _servers_of(pid: int) -> set[int]:
    return {kid for kid in _children(pid)
            if b"uvicorn" in Path(f"/proc/{kid}/cmdline").read_bytes()} if _alive(pid) else set()


def _killed_run(roots: Path, target: str, when: str, *args: str) -> str:
    """A `srbench run` SIGKILLed at ``target`` (module:function); asserts it died that way and left
    no server behind. Returns its log."""
    log_path = roots / f"killed-{target.rsplit(':', 1)[1]}.log"
    cmd = [sys.executable, "-c", KILL_AT, target, when, "run", "--preset", "smoke", *args,
           "--data-dir", str(roots / "data"), "--reports-dir", str(roots / "reports")]
    servers: set[int] = set()
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 280
            while proc.poll() is None and time.monotonic() < deadline:
                servers |= _servers_of(proc.pid)
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    log = log_path.read_text()
    assert proc.returncode == -signal.SIGKILL, f"not killed at {target}: rc {proc.returncode}\n{log[-4000:]}"
    assert servers, "no temporary Prefect server seen"
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in servers), f"the Prefect server outlived a kill at {target}"
    return log


def _stage(run: Path) -> str:
    return json.loads((run / "stages.json").read_text())["stage"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_nights_killed_in_prepare_evaluation_and_before_history_heal_on_the_next_runs(roots):
    """One night, rerun with its run id after each kill (how an operator resumes it): SIGKILL in
    prepare, then in evaluation, then between the report and history stages; the next night (a new
    run id, as the nightly does) completes and adds the killed night to the history."""
    cfg = _cfg(roots)
    patch_dir = layout.patches_dir(cfg)
    shutil.rmtree(patch_dir)  # make prepare run again
    killed = "smoke-killed"
    run = roots / "reports" / killed
    staging = f".{patch_dir.name}.tmp-"

    _killed_run(roots, "sr_core.records:_write_split", "after", "--run-id", killed)  # one split written
    assert _stage(run) == "prepare"
    assert [p.name for p in patch_dir.parent.iterdir() if p.name.startswith(staging)], "no staging folder"

    log = _killed_run(roots, "sr_core.usecases:score_chunk", "after", "--run-id", killed)  # one chunk scored
    assert "left by an interrupted prepare" in log, log[-4000:]
    assert not [p for p in patch_dir.parent.iterdir() if p.name.startswith(staging)]
    assert _stage(run) == "evaluate" and list((run / "parts").glob("*.parquet"))

    log = _killed_run(roots, "flows.pipeline:record_history", "before", "--run-id", killed)
    assert f"left by an evaluation of run {killed} that is gone" in log, log[-4000:]  # the killed try's parts/
    assert _stage(run) == "history" and (run / "report.html").is_file() and not (run / "parts").exists()
    assert not (roots / "reports" / "history" / f"{killed}.parquet").exists()
    from sr_core.report import render_index

    assert "incomplete (not in history)" in render_index(roots / "reports").read_text()  # the index only
    # changes in the history stage; rendered here to see what an operator would see

    before = _runs(roots)
    out = srbench("run", "--reuse-models", roots=roots)  # the next night
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    assert f"history: added {killed}, which has a report but no history file" in log
    after = _runs(roots)
    assert len(after) == len(before) + 1
    from sr_core.results import read_history

    assert set(read_history(roots / "reports")["run_id"]) == set(after)
    index = (roots / "reports" / "index.html").read_text()
    assert "incomplete" not in index and index.count('<span class="status-complete">') == len(after)
    assert [p for p in (roots / "data").rglob("*") if ".tmp-" in p.name] == []
    assert list((roots / "reports").glob("*/parts")) == []


def _can_mount_tmpfs(where: Path) -> bool:
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                                           capture_output=True).returncode != 0:
        return False
    subprocess.run(["umount", str(where)], check=True)
    return True


@contextlib.contextmanager
def _small_disk(folder: Path, spare_mb: int):
    """Put ``folder`` (its contents kept) on a tmpfs of its size plus ``spare_mb``; yields a filler
    file's path for the test to fill the disk with."""
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) // 2**20 + spare_mb
    saved = folder.with_name(folder.name + ".saved")
    folder.rename(saved)
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)], check=True)
    try:
        shutil.copytree(saved, folder, symlinks=True, dirs_exist_ok=True)
        yield folder / "filler"
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(filler: Path) -> None:
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_under_prefect_and_under_reports_fails_by_name_and_the_next_night_completes(roots, tmp_path):
    """A real ENOSPC (a small tmpfs, filled): needs root and `mount`, else skipped; the message and
    the atomic writes are also checked in-process by test_disk_full.py."""
    if not _can_mount_tmpfs(tmp_path / "probe"):
        pytest.skip("needs root and a working `mount -t tmpfs` to make a small full disk")
    prefect_home, reports = roots / "data" / "prefect", roots / "reports"
    before = _runs(roots)
    with _small_disk(prefect_home, 8) as prefect_filler, _small_disk(reports, 8) as reports_filler:
        _fill(prefect_filler)
        out = srbench("run", "--reuse-models", roots=roots)
        assert out.returncode == 1, (out.stdout + out.stderr)[-6000:]
        assert f"no space left on the disk of {prefect_home}" in out.stderr, out.stderr[-6000:]
        prefect_filler.unlink()

        _fill(reports_filler)
        out = srbench("run", "--reuse-models", roots=roots)
        assert out.returncode == 1, (out.stdout + out.stderr)[-6000:]
        assert f"no space left on the disk of {reports}" in out.stderr, out.stderr[-6000:]
        assert f"[Errno 28] No space left on device: '{reports}/" in out.stderr  # the file that did not fit
        reports_filler.unlink()

        out = srbench("run", "--reuse-models", roots=roots)  # space back
        assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
        assert len(_runs(roots)) == len(before) + 1
        assert [p for p in roots.rglob("*") if ".tmp" in p.name] == []
