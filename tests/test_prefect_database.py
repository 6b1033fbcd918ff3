"""A damaged or half-migrated local Prefect database is moved aside with a message and a fresh one
is started, instead of a 90 s start-up timeout on every later run (issue 13, item 5)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flows.environment import database_problem

ROOT = Path(__file__).resolve().parents[1]
RECOVER = ("import sys; from flows.environment import configure_local_prefect, recover_local_database; "
           "configure_local_prefect(sys.argv[1]); print(recover_local_database(sys.argv[1]))")


def _recover(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out = subprocess.run([sys.executable, "-c", RECOVER, str(home)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def fresh_home(tmp_path_factory) -> Path:
    """A Prefect home whose database the installed Prefect created and migrated."""
    home = tmp_path_factory.mktemp("prefect-home")
    (home / "prefect.db").touch()  # an empty file is a valid, empty SQLite database: it gets migrated
    message = _recover(home)
    assert message == "None"
    assert database_problem(home) is None
    return home


def _copy(home: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "prefect"
    shutil.copytree(home, target)
    return target


def test_a_healthy_database_is_kept(fresh_home, tmp_path):
    home = _copy(fresh_home, tmp_path)
    assert _recover(home) == "None"
    assert not list(home.glob("damaged-*"))


def test_a_half_migrated_database_is_moved_aside(fresh_home, tmp_path):
    home = _copy(fresh_home, tmp_path)
    con = sqlite3.connect(home / "prefect.db")
    # What a full disk in the middle of the state_timestamp migration leaves behind: the column
    # exists, the version says it does not.
    con.execute("UPDATE alembic_version SET version_num = 'e757138e954a'")
    con.commit()
    con.close()
    assert database_problem(home) is None  # SQLite itself is fine: only the migration finds it
    message = _recover(home)
    assert "is damaged: its schema migration failed" in message
    assert "duplicate column name: state_timestamp" in message
    aside = next(home.glob("damaged-*"))
    assert f"Moved it to {aside}" in message and (aside / "prefect.db").is_file()
    assert not (home / "prefect.db").exists() and not (home / "memo_store.toml").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_database_file_is_named(fresh_home, tmp_path, damage):
    home = _copy(fresh_home, tmp_path)
    db = home / "prefect.db"
    if damage == "truncate":
        with open(db, "r+b") as f:
            f.truncate(db.stat().st_size // 3)
    else:
        db.write_bytes(b"\x00not sqlite\x00" * 1000)
    problem = database_problem(home)
    assert problem is not None and ("malformed" in problem or "not a database" in problem)
    message = _recover(home)
    assert f"the local Prefect database {db} is damaged" in message
    assert not db.exists() and next(home.glob("damaged-*/prefect.db")).is_file()
