"""A root the team shares: a local folder or an fsspec URL (``s3://``, ``gs://``, ``file://``).

What one worker publishes for everyone (run folders, the history dataset, the index, the model
registry and exported models) goes through a :class:`Store`; scratch work (patch shards, checkpoints,
TF caches) stays on local disk. The store offers only what is safe on an object store:

* every write of one file is atomic: temp file + rename on a local disk, one PUT on an object store
  (readers see the old object or the new one, never half of it);
* a folder is uploaded file by file with its completion marker written **last**, so a reader that
  sees the marker sees the whole folder;
* nothing is ever read-modified-written: shared data is made of immutable per-run or per-change
  files, and views (index) are rebuilt from a listing.

Cloud filesystems are optional extras: ``pip install 'srbench[s3]'`` (s3fs) or ``'srbench[gcs]'``
(gcsfs). Endpoints and credentials come from the usual places (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...), never from srbench's config.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from sr_core.atomic import atomic_path

PUBLISHED_MARKER = ".published"
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def is_url(root: str | os.PathLike[str] | None) -> bool:
    """Whether ``root`` names a store by URL (``scheme://...``) rather than a plain local path."""
    return root is not None and "://" in str(root)


class StoreError(OSError):
    """A shared root cannot be opened or written (missing extra, bad URL, no access)."""


class Store:
    """A root folder addressed by relative POSIX paths (``"runs/x/run.json"``), local or remote.

    ``Store("reports")`` and ``Store("file:///srv/srbench")`` are local folders;
    ``Store("s3://bucket/srbench")`` is an S3 prefix. ``local`` is the root as a :class:`Path` when
    the files are on this machine's disk (so callers can keep using plain file I/O there).
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = str(root)
        try:
            self.fs, path = fsspec.core.url_to_fs(self.root)
        except ImportError as exc:
            scheme = self.root.split("://", 1)[0]
            extra = _EXTRAS.get(scheme)
            hint = f"pip install 'srbench[{extra}]'" if extra else f"install the fsspec backend for '{scheme}://'"
            raise StoreError(f"cannot open {self.root}: {exc}; {hint}") from None
        except ValueError as exc:
            raise StoreError(f"cannot open {self.root}: {exc}") from None
        self.path = path.rstrip("/") or path
        self.local: Path | None = Path(self.path) if isinstance(self.fs, LocalFileSystem) else None

    def __repr__(self) -> str:
        return f"Store({self.root!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and (self.fs.protocol, self.path) == (other.fs.protocol, other.path)

    def __hash__(self) -> int:
        return hash((str(self.fs.protocol), self.path))

    # Addresses ----------------------------------------------------------------------------------

    def fs_path(self, rel: str = "") -> str:
        """``rel`` as a path of :attr:`fs` (no protocol); refuses '..' and empty parts."""
        rel = rel.strip("/")
        if rel and any(part in ("", ".", "..") for part in rel.split("/")):
            raise ValueError(f"{rel!r} is not a plain relative path inside {self.root}")
        return posixpath.join(self.path, rel) if rel else self.path

    def url(self, rel: str = "") -> str:
        """The full URL (or local path) of ``rel`` inside the root."""
        full = self.fs_path(rel)
        return full if self.local is not None and not is_url(self.root) else self.fs.unstrip_protocol(full)

    def child(self, rel: str) -> Store:
        """The store rooted at ``rel`` inside this one."""
        return Store(self.url(rel))

    # Reading ------------------------------------------------------------------------------------

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self.fs_path(rel)))

    def is_file(self, rel: str) -> bool:
        return bool(self.fs.isfile(self.fs_path(rel)))

    def read_bytes(self, rel: str) -> bytes:
        try:
            return self.fs.cat_file(self.fs_path(rel))
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.url(rel)} does not exist") from None

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8")

    def listdir(self, rel: str = "") -> list[tuple[str, bool]]:
        """``(name, is_dir)`` of each entry directly inside ``rel``, sorted; empty when it is missing."""
        try:
            entries = self.fs.ls(self.fs_path(rel), detail=True)
        except FileNotFoundError:
            return []
        out = []
        for entry in entries:
            name = posixpath.basename(str(entry["name"]).rstrip("/"))
            if name:
                out.append((name, entry.get("type") == "directory"))
        return sorted(set(out))

    def files(self, rel: str, suffix: str = "") -> list[str]:
        """Relative paths of the files directly inside ``rel`` whose name ends with ``suffix``."""
        return [posixpath.join(rel.strip("/"), name) for name, is_dir in self.listdir(rel)
                if not is_dir and name.endswith(suffix)]

    def download(self, rel: str, local: str | os.PathLike[str]) -> Path:
        """Copy one file to a local path (atomically)."""
        local = Path(local)
        with atomic_path(local) as tmp:
            self.fs.get_file(self.fs_path(rel), str(tmp))
        return local

    # Writing ------------------------------------------------------------------------------------

    def write_bytes(self, rel: str, data: bytes) -> str:
        """Write one file atomically (temp + rename here, a single PUT on an object store)."""
        if self.local is not None:
            with atomic_path(Path(self.fs_path(rel))) as tmp:
                tmp.write_bytes(data)
        else:
            self.fs.pipe_file(self.fs_path(rel), data)
        return self.url(rel)

    def write_text(self, rel: str, text: str) -> str:
        return self.write_bytes(rel, text.encode("utf-8"))

    def upload(self, local: str | os.PathLike[str], rel: str) -> str:
        """Copy one local file into the store, atomically."""
        if self.local is not None:
            dest = Path(self.fs_path(rel))
            if Path(local).resolve() != dest.resolve():
                with atomic_path(dest) as tmp:
                    tmp.write_bytes(Path(local).read_bytes())
        else:
            self.fs.put_file(str(local), self.fs_path(rel))
        return self.url(rel)

    def upload_dir(self, local_dir: str | os.PathLike[str], rel: str, marker: str = PUBLISHED_MARKER,
                   marker_text: str = "") -> str:
        """Copy a local folder (recursively) to ``rel``, then write ``rel/marker`` last.

        A reader that finds the marker finds every file; a crash mid-way leaves no marker (and the
        next upload of the same folder completes it). Files named like the marker are not copied.
        """
        local_dir = Path(local_dir)
        for path in _walk(local_dir):
            name = path.relative_to(local_dir).as_posix()
            if name != marker:
                self.upload(path, f"{rel.strip('/')}/{name}")
        self.write_text(f"{rel.strip('/')}/{marker}", marker_text)
        return self.url(rel)

    def remove(self, rel: str) -> None:
        try:
            self.fs.rm_file(self.fs_path(rel))
        except FileNotFoundError:
            pass


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not (path.name.startswith(".") and path.name.endswith(".tmp")):  # atomic temps
            yield path
