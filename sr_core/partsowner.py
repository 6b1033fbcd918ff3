"""Who is writing a run's ``parts/`` (the chunks' partial metrics tables while scoring), so a later
evaluation can tell a killed one's leftovers from a live one's and remove them.

The evaluating process holds ``flock`` on ``parts/.owner`` (a one-line JSON naming it: host, pid,
start time) from before the first chunk is written until the merge. The kernel releases the lock
however the process ends (SIGKILL, the OOM killer), so "the lock is free" means "nobody is writing
here": :func:`remove_dead_parts` removes such folders, naming them. Partial tables are never read
after their process ends (a rerun scores every chunk again), so nothing is lost. On NFS this needs
working ``flock`` (as the training lock does); a ``parts/`` without an owner file (written before
owners were recorded) is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from sr_core.runrecords import RunDir

log = logging.getLogger(__name__)


def _same_file(handle: IO[str], path: Path) -> bool:
    """Whether ``handle`` is still the file at ``path`` (a sweep may have removed it meanwhile)."""
    try:
        return os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _owner_text(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        owner = json.loads(handle.read())
        return f"pid {owner['pid']} on {owner['host']}, started {owner['started']}"
    except (ValueError, KeyError, TypeError):
        return "owner not recorded"


def _lock_parts(run: RunDir) -> IO[str]:
    """Create ``parts/``, lock its owner file (waiting for another live evaluation of the same run)
    and write this process into it."""
    while True:
        run.parts.mkdir(parents=True, exist_ok=True)
        handle = open(run.parts_owner, "a+")  # noqa: SIM115 - held open (locked) until release
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("%s is being written by another evaluation of run %s (%s); waiting for it to finish",
                        run.parts, run.run_id, _owner_text(handle))
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without locks: evaluate anyway, just unguarded
            log.warning("cannot lock %s (%s); if this evaluation is killed, its parts/ stay", run.parts_owner, exc)
            break
        if _same_file(handle, run.parts_owner):
            break
        handle.close()  # its folder was removed while we waited (a dead owner's, swept): start again
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"host": os.uname().nodename, "pid": os.getpid(),
                             "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n")
    handle.flush()
    return handle


@contextlib.contextmanager
def owning_parts(run: RunDir) -> Iterator[None]:
    """Hold ``run``'s ``parts/`` while its chunks are scored and merged.

    First removes every dead evaluation's ``parts/`` in the reports dir (this run's own, if an
    earlier try of it was killed). On leaving, whatever is still in ``parts/`` (the chunks of a
    failed evaluation) is removed with the folder.
    """
    remove_dead_parts(run.reports_dir)
    handle = _lock_parts(run)
    try:
        yield
    finally:
        try:
            leftovers = [p for p in run.parts.iterdir() if p.name != run.parts_owner.name]
            for path in leftovers:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            run.parts_owner.unlink(missing_ok=True)
            run.parts.rmdir()
        except OSError as exc:
            log.warning("could not remove %s after the evaluation: %s", run.parts, exc)
        finally:
            handle.close()  # releases the lock, after the folder is gone


def remove_dead_parts(reports_dir: str | Path) -> list[Path]:
    """Remove the ``parts/`` folders under ``reports_dir`` whose owner's lock is free (their
    evaluation was killed), each named in the log. Returns the removed folders."""
    removed = []
    for parts in sorted(Path(reports_dir).glob(f"*/{RunDir.PARTS}")):
        owner = parts / RunDir.PARTS_OWNER
        try:
            handle = open(owner, "r")  # noqa: SIM115 - closed below, after the folder is gone
        except (FileNotFoundError, NotADirectoryError):
            continue  # no owner recorded: cannot tell, leave it
        except OSError as exc:
            log.warning("cannot check %s: %s", owner, exc)
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # BlockingIOError: a live evaluation; others: no locks here, cannot tell
                continue
            if not _same_file(handle, owner):
                continue  # its owner finished and removed it meanwhile
            who = _owner_text(handle)
            files = sorted(p.name for p in parts.iterdir() if p.name != owner.name)
            owner.unlink()  # first, so an owner waiting on this file starts again on a new one
            shutil.rmtree(parts, ignore_errors=True)
            log.warning("removed %s (%s), left by an evaluation of run %s that is gone (%s)", parts,
                        ", ".join(files) or "empty", parts.parent.name, who)
            removed.append(parts)
    return removed
