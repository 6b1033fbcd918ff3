"""What produced a result: code, packages, machine, and what changed between two nights.

A night's numbers are only comparable with another night's when one knows what differs between them.
:func:`collect` records the code (git commit and dirty flag when run from a clone, and a fingerprint
of the library's own source, which also works from an installed wheel), the package versions, the
host and its devices; :func:`changes_between` lists what differs between two such records and two
configs, for the report's "what changed" section.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import platform
import socket
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# The packages whose source decides what a run computes. Their .py files are hashed in path order.
CODE_PACKAGES = ("sr_core",)
PACKAGES = ("tensorflow", "keras", "prefect", "numpy", "scikit-image", "opencv-python-headless",
            "tensorflow-datasets", "pandas", "pyarrow", "srbench")


class Provenance(BaseModel):
    """Where and with what a run (or an exported model) was made."""

    model_config = ConfigDict(extra="forbid")

    git_commit: str | None = None
    git_dirty: bool | None = None
    code_fingerprint: str
    packages: dict[str, str] = Field(default_factory=dict)
    cuda: str | None = None
    cudnn: str | None = None
    host: str
    platform: str
    cpu: str | None = None
    gpus: list[str] = Field(default_factory=list)


def code_fingerprint(packages: Iterable[str] = CODE_PACKAGES) -> str:
    """16-hex-digit sha256 over the relative paths and bytes of every ``.py`` file of ``packages``.

    Read from the imported packages themselves, so a clone and an installed wheel of the same source
    give the same fingerprint, and any edit to a source file changes it.
    """
    digest = hashlib.sha256()
    for name in packages:
        root = Path(importlib.import_module(name).__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def git_state(path: str | Path | None = None, *, ignore: Iterable[str] = ()) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git clone holding ``path`` (this package by default), or
    ``(None, None)`` when it is not in a clone or git is missing. Changes to the files ``ignore``
    names (paths from the clone's top) do not count as dirty."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    excluded = [f":(top,exclude){name}" for name in ignore]
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no",
                                 "--", ":(top)", *excluded],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (distribution names), without importing them."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return platform.processor() or None


def tensorflow_devices() -> tuple[list[str], str | None, str | None]:
    """GPU names visible to TensorFlow and the CUDA/cuDNN versions it was built with (imports TF)."""
    import tensorflow as tf

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(str(details.get("device_name") or device.name))
    build = tf.sysconfig.get_build_info()
    return gpus, build.get("cuda_version"), build.get("cudnn_version")


def collect(*, devices: bool = True) -> Provenance:
    """The provenance of this process. ``devices=False`` skips the TensorFlow import (no GPU info)."""
    commit, dirty = git_state()
    gpus, cuda, cudnn = tensorflow_devices() if devices else ([], None, None)
    return Provenance(git_commit=commit, git_dirty=dirty, code_fingerprint=code_fingerprint(),
                      packages=package_versions(), cuda=cuda, cudnn=cudnn, host=socket.gethostname(),
                      platform=platform.platform(), cpu=cpu_model(), gpus=gpus)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def changes_between(old: Provenance, new: Provenance, old_config: Mapping[str, Any] | None = None,
                    new_config: Mapping[str, Any] | None = None, old_data_fingerprint: str | None = None,
                    new_data_fingerprint: str | None = None) -> dict[str, Any]:
    """What differs between two nights: code, config keys, packages, data and hardware.

    Returns a dict with ``code`` (commits, dirty flags, code fingerprints, or None when equal),
    ``config`` (``{key: [old, new]}``), ``packages`` (``{name: [old, new]}``), ``data``
    (``[old, new]`` or None) and ``hardware`` (``{field: [old, new]}``).
    """
    code = None
    if (old.git_commit, old.git_dirty, old.code_fingerprint) != (new.git_commit, new.git_dirty,
                                                                   new.code_fingerprint):
        code = {"commits": [old.git_commit, new.git_commit], "dirty": [old.git_dirty, new.git_dirty],
                "code_fingerprint": [old.code_fingerprint, new.code_fingerprint]}
    config: dict[str, list[Any]] = {}
    if old_config is not None and new_config is not None:
        before, after = flatten(old_config), flatten(new_config)
        config = {key: [before.get(key), after.get(key)] for key in sorted(before.keys() | after.keys())
                  if before.get(key) != after.get(key)}
    packages = {name: [old.packages.get(name), new.packages.get(name)]
                for name in sorted(old.packages.keys() | new.packages.keys())
                if old.packages.get(name) != new.packages.get(name)}
    for field in ("cuda", "cudnn"):
        if getattr(old, field) != getattr(new, field):
            packages[field] = [getattr(old, field), getattr(new, field)]
    hardware = {field: [getattr(old, field), getattr(new, field)] for field in ("host", "cpu", "gpus")
                if getattr(old, field) != getattr(new, field)}
    data = None if old_data_fingerprint == new_data_fingerprint else [old_data_fingerprint,
                                                                       new_data_fingerprint]
    return {"code": code, "config": config, "packages": packages, "data": data, "hardware": hardware}
