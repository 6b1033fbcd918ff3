"""Point Prefect at a project-local home before it is imported (``srbench run``'s ephemeral mode).

Prefect reads its settings when it is first imported, so :func:`configure_local_prefect` must run
before any ``import prefect``. This module therefore imports neither Prefect nor TensorFlow.
"""

from __future__ import annotations

import os
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
    import sys

    return {name.split(".")[0] for name in sys.modules}
