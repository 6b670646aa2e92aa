"""Where raw data lives, where processed files go, and the error for missing files.

The data root holds raw files only and may be read-only (CI mounts a shared copy), so
everything a loader derives from them (PyG's processed tensors, parsed text tables,
kNN graphs) goes to a separate writable cache, keyed by a fingerprint of the raw files
so that a changed file is never served from a stale cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

DATA_ENV = "GRAPHCLUST_DATA"
CACHE_ENV = "GRAPHCLUST_CACHE"


class DatasetNotFoundError(FileNotFoundError):
    """The raw files of a dataset are not under the data root.

    Attributes:
        dataset: the dataset name.
        root: the data root that was searched.
        missing: the missing files, relative to ``root``.
    """

    def __init__(self, dataset: str, root: Path, missing: Sequence[str], hint: str = "") -> None:
        self.dataset = dataset
        self.root = Path(root)
        self.missing = list(missing)
        folders = sorted({str((self.root / f).parent) for f in self.missing})
        shown = ", ".join(self.missing[:8]) + (" ..." if len(self.missing) > 8 else "")
        message = (
            f"dataset {dataset!r}: {len(self.missing)} raw file(s) missing under {self.root}: "
            f"{shown}. Put them in {' and '.join(folders)} (sources in datasets/README.md), "
            f"or point root= / ${DATA_ENV} at a folder that has them."
        )
        super().__init__(message + (f" {hint}" if hint else ""))


class ChecksumMismatchError(ValueError):
    """A raw file's sha256 differs from the one recorded in the dataset manifest."""


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root`` if given, else ``$GRAPHCLUST_DATA``, else ``./datasets``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path("datasets")


def cache_root() -> Path:
    """The writable cache: ``$GRAPHCLUST_CACHE``, else ``~/.cache/graphclust`` (created)."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "graphclust"
    path.mkdir(parents=True, exist_ok=True)
    return path


def missing_files(root: Path, files: Iterable[str]) -> list[str]:
    """The entries of ``files`` (relative to ``root``) that are not regular files there."""
    return [f for f in files if not (root / f).is_file()]


def require_files(dataset: str, root: Path, files: Sequence[str], hint: str = "") -> None:
    """Raise :class:`DatasetNotFoundError` unless every file exists under ``root``."""
    missing = missing_files(root, files)
    if missing:
        raise DatasetNotFoundError(dataset, root, missing, hint)


def fingerprint(paths: Iterable[Path], *extra: object) -> str:
    """A short key for "these files, as they are now": resolved path, size and mtime.

    Cheap (no file reads), yet it changes whenever a file is replaced or edited, which
    is what invalidating a cache needs; ``extra`` folds in parameters (k, metric, ...).
    """
    h = hashlib.sha1()
    for path in paths:
        stat = path.stat()
        h.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns};".encode())
    for item in extra:
        h.update(f"{item!r};".encode())
    return h.hexdigest()[:16]


def sha256(path: Path, block: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def cached(path: Path, build: Callable[[], Any]) -> Any:
    """Load ``path`` (a ``torch.save`` file) if it exists, else ``build()`` and save it.

    ``build`` must return tensors or plain containers of them (loaded weights-only).

    The file is written to a temporary name and renamed, so concurrent processes never
    read a half-written cache entry.
    """
    if path.is_file():
        return torch.load(path, weights_only=True)
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(value, tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; cache entries are plain readable files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return value


@contextlib.contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<directory>.lock`` while a cache directory is built.

    Loaders whose library writes several files in place (PyG's and ogb's ``processed``
    folders) build inside this lock: a second process that loads the same dataset at the
    same time waits, then finds the finished files instead of reading half-written ones.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{directory}.lock"):
        yield
