"""Point Prefect at a project-local home before it is imported (``srbench run``'s ephemeral mode).

Prefect reads its settings when it is first imported, so :func:`configure_local_prefect` must run
before any ``import prefect``. This module therefore imports neither Prefect nor TensorFlow.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

# Settings that would send this run somewhere other than the local, temporary API server.
_LEAKY_SETTINGS = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH")


def local_prefect_env(prefect_home: str | Path) -> dict[str, str]:
    """The environment variables for an offline, server-less Prefect run under ``prefect_home``."""
    home = Path(prefect_home).resolve()
    return {
        "PREFECT_HOME": str(home),
        # Our own profiles file, so a user's ~/.prefect profile (e.g. a Cloud or server
        # PREFECT_API_URL) cannot leak into the local run.
        "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(home / "storage"),
    }


def prefect_already_imported() -> bool:
    return "prefect" in _imported_modules()


def configure_local_prefect(prefect_home: str | Path, *, use_server: bool = False) -> Path:
    """Set the environment for a local Prefect run; returns the resolved ``PREFECT_HOME``.

    With ``use_server`` the caller's ``PREFECT_API_URL`` (a running ``prefect server`` or Cloud) is
    kept and only the offline switches are applied; otherwise every setting that points elsewhere
    is removed and Prefect starts its temporary ("ephemeral") server on loopback.
    """
    if prefect_already_imported():
        raise RuntimeError("configure_local_prefect() must run before Prefect is imported")
    env = local_prefect_env(prefect_home)
    if use_server:
        for key in ("PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_RESULTS_LOCAL_STORAGE_PATH"):
            env.pop(key)
    else:
        for key in _LEAKY_SETTINGS:
            os.environ.pop(key, None)
        Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    return Path(env.get("PREFECT_HOME") or os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()


def _imported_modules() -> set[str]:
    return {name.split(".")[0] for name in sys.modules}


DATABASE = "prefect.db"
# Files that belong to the local database: SQLite's journal files, and Prefect's memo of block
# registration (it would skip registering block types in a fresh database).
_DATABASE_FILES = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal", "memo_store.toml")


def database_problem(prefect_home: str | Path) -> str | None:
    """Why the local Prefect database under ``prefect_home`` cannot be used, or None (also when
    there is none yet). Checks SQLite's own integrity and that a migration version is recorded;
    imports nothing of Prefect."""
    path = Path(prefect_home) / DATABASE
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(str(path), timeout=30)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
            if [r[0] for r in rows] != ["ok"]:
                return f"SQLite's integrity check failed: {'; '.join(str(r[0]) for r in rows[:3])}"
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alembic_version" not in tables:  # never migrated (a start killed early): Prefect migrates it
                return None
            versions = con.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"it is not a readable SQLite database ({exc})"
    if len(versions) != 1:
        return f"it records {len(versions)} migration versions instead of one"
    return None


def database_is_current(prefect_home: str | Path) -> bool:
    """Whether the database's migration version is the installed Prefect's newest (then nothing
    needs migrating and the check costs no Prefect import)."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return False
    versions = Path(next(iter(spec.submodule_search_locations))) / "server/database/_migrations/versions/sqlite"
    names = sorted(p.name for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    match = re.match(r"\d{4}_\d{2}_\d{2}_\d{6}_([0-9a-f]+)_", names[-1]) if names else None
    if match is None:
        return False
    con = sqlite3.connect(str(Path(prefect_home) / DATABASE), timeout=30)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchall() == [(match.group(1),)]
    except sqlite3.DatabaseError:
        return False
    finally:
        con.close()


def migrate_local_database() -> str | None:
    """Bring the local database up to the installed Prefect's schema in this process (what the
    temporary server would do at start, where a failure only shows as a 90 s start-up timeout);
    returns why it failed, or None. Needs :func:`configure_local_prefect` first."""
    from prefect.server.database import provide_database_interface

    try:
        asyncio.run(provide_database_interface().create_db())
    except Exception as exc:  # noqa: BLE001 - any failure means the database is not usable
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return f"its schema migration failed ({type(exc).__name__}: {lines[0][:200] if lines else ''})"
    return None


def set_database_aside(prefect_home: str | Path) -> Path:
    """Move the local database (and its journal and memo files) into ``damaged-<UTC time>/``."""
    home = Path(prefect_home)
    aside = home / f"damaged-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    aside.mkdir(parents=True, exist_ok=True)
    for name in _DATABASE_FILES:
        if (home / name).exists():
            os.replace(home / name, aside / name)
    return aside


def recover_local_database(prefect_home: str | Path) -> str | None:
    """Check the ephemeral run's database and, when it is damaged or half migrated, move it aside
    so Prefect starts with a fresh one; returns the message to show (None when all is well).

    The database holds Prefect's run history, not srbench's results: the artifacts on disk are
    the truth, and the data tasks' cache lives in files beside them, so nothing is lost to the
    pipeline by starting clean.
    """
    problem = database_problem(prefect_home)
    if problem is None and (Path(prefect_home) / DATABASE).exists() and not database_is_current(prefect_home):
        problem = migrate_local_database()
    if problem is None:
        return None
    aside = set_database_aside(prefect_home)
    return (f"the local Prefect database {Path(prefect_home) / DATABASE} is damaged: {problem}. "
            f"Moved it to {aside} and starting with a fresh one (earlier nights' Prefect history is "
            "in the moved file; srbench's artifacts and reports are untouched).")
