"""Cached task results that are data, never code.

Prefect persists a cached task's result as a record file and reads it back on the next cache hit.
The record names its own serializer, so a file written by someone else can say ``pickle`` (or
``json`` with an ``object_decoder`` of their choosing) and Prefect would run whatever the payload
asks for when it merely checks whether the cache entry exists. The data root may be shared between
GPU workers, so anyone who can write there could run code as the worker.

:class:`JsonResultStorage` is the local result storage of srbench's cached tasks. Every record it
reads must be plain JSON, written by Prefect's JSON serializer with its default hooks, holding a
value without Prefect's ``__class__`` / ``__exc_type__`` markers (those import a type by name).
Anything else is refused with :class:`UnsafeResultError` before Prefect sees it; Prefect treats the
refusal as a cache miss, recomputes the task and overwrites the file with a clean record. The tasks
return paths and small dicts, so nothing of value is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect.filesystems import LocalFileSystem
from prefect.logging import get_logger
from prefect.serializers import JSONSerializer

log = get_logger("srbench.results")  # under 'prefect.', so Prefect's console handler shows it

# The one serializer a record may name: Prefect's JSON serializer exactly as srbench's tasks write it.
SAFE_SERIALIZER: dict[str, Any] = JSONSerializer().model_dump(mode="json")
_RECORD_KEYS = {"metadata", "result"}
_MARKERS = ("__class__", "__exc_type__")


class UnsafeResultError(ValueError):
    """A persisted result record is not plain JSON data; it is ignored (and recomputed)."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        super().__init__(f"ignoring cached task result {self.path}: {reason}; the task runs again and "
                         "rewrites it")


def _has_marker(value: Any) -> bool:
    if isinstance(value, dict):
        return any(m in value for m in _MARKERS) or any(_has_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_marker(v) for v in value)
    return False


def check_record(path: str | Path, content: bytes) -> bytes:
    """Return ``content`` if it is a plain-JSON result record, else raise :class:`UnsafeResultError`."""
    try:
        record = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise UnsafeResultError(path, "it is not JSON (Prefect's pickle results are refused)") from None
    if not isinstance(record, dict) or set(record) != _RECORD_KEYS or not isinstance(record["metadata"], dict):
        raise UnsafeResultError(path, "it is not a Prefect result record")
    serializer = record["metadata"].get("serializer")
    if serializer != SAFE_SERIALIZER:
        kind = serializer.get("type") if isinstance(serializer, dict) else serializer
        raise UnsafeResultError(path, f"it names serializer {kind!r} with settings other than plain JSON")
    if not isinstance(record["result"], str):
        raise UnsafeResultError(path, "its result is not a JSON string")
    try:
        value = json.loads(record["result"])
    except ValueError:
        raise UnsafeResultError(path, "its result is not valid JSON") from None
    if _has_marker(value):
        raise UnsafeResultError(path, "its result asks to build Python objects by name")
    return content


class JsonResultStorage(LocalFileSystem):
    """A local folder of result records that only hands plain-JSON records to Prefect."""

    _block_type_name = "srbench JSON result storage"

    def _checked(self, path: str, content: bytes) -> bytes:
        try:
            return check_record(self._resolve_path(path), content)
        except UnsafeResultError as exc:
            log.warning("%s", exc)
            raise

    async def aread_path(self, path: str) -> bytes:
        return self._checked(path, await super().aread_path(path))

    def read_path(self, path: str, **kwargs: Any) -> bytes:  # kwargs: Prefect passes _sync=True
        return self._checked(path, LocalFileSystem.read_path(self, path, _sync=True))
