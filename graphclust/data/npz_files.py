"""npz graph files (gnn-benchmark / nettack and NOCD "dotted" layouts), read safely.

Only numeric arrays are loaded (``allow_pickle=False``; pickled entries such as
NOCD's ``node_names`` are skipped, never unpickled). Every sparse matrix is checked
before scipy sees it -- ``indptr`` of N+1 non-decreasing offsets from 0 to
``len(indices) == len(data)``, ``indices`` inside the column range, a 2-entry
non-negative integer ``shape`` -- so a corrupt file is refused, naming the file and the
entry, instead of becoming a wrong graph. An empty file, a file that is not a zip
archive (a plain ``.npy``, text, a pickle) and an unreadable entry are refused the same
way.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

PathLike = str | os.PathLike


def _entry_reader(path: PathLike, z: Any) -> Callable[[str], np.ndarray]:
    def entry(key: str) -> np.ndarray:
        try:
            return np.asarray(z[key])
        except ValueError as err:
            if "pickle" in str(err):  # a pickled object array: never unpickled
                raise ValueError(f"{path}: {key!r} is stored as pickled objects; not read") from err
            raise ValueError(f"{path}: entry {key!r} is not a readable array ({err})") from err
        except (OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: entry {key!r} is damaged ({err})") from err

    return entry


def _is_int(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.integer)


def checked_csr(
    path: PathLike, name: str, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: Any
) -> sp.csr_matrix:
    """A CSR matrix from its parts once they are consistent; else a ValueError naming
    ``path`` and the matrix ``name``."""

    def bad(why: str) -> ValueError:
        return ValueError(f"{path}: {name} is not a valid CSR matrix: {why}")

    shape = np.asarray(shape)
    if shape.shape != (2,) or not _is_int(shape) or (shape < 0).any():
        raise bad(f"shape must be two non-negative integers, got {shape.tolist()!r}")
    rows, cols = (int(v) for v in shape)
    for key, a in (("data", data), ("indices", indices), ("indptr", indptr)):
        if a.ndim != 1:
            raise bad(f"{key} must be one-dimensional, got shape {list(a.shape)}")
    if not (_is_int(indices) and _is_int(indptr)):
        raise bad(f"indices/indptr must be integers, got {indices.dtype}/{indptr.dtype}")
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
        raise bad(f"data must be numeric, got dtype {data.dtype}")
    if indptr.size != rows + 1:
        raise bad(f"indptr has {indptr.size} entries for {rows} rows (needs rows + 1)")
    if indptr[0] != 0 or (np.diff(indptr) < 0).any():
        raise bad("indptr must start at 0 and never decrease")
    if not int(indptr[-1]) == indices.size == data.size:
        raise bad(
            f"indptr ends at {int(indptr[-1])} but there are {indices.size} indices and "
            f"{data.size} values (all three must agree)"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= cols):
        raise bad(f"a column index lies outside 0..{cols - 1}")
    return sp.csr_matrix((data, indices, indptr), shape=(rows, cols))


def _matrix(path: PathLike, entry: Callable, keys: set[str], stem: str, sep: str) -> Any:
    """``<stem><sep>data/indices/indptr/shape`` as CSR, a dense ``<stem>`` array, or None."""
    parts = [f"{stem}{sep}{k}" for k in ("data", "indices", "indptr", "shape")]
    if any(p in keys for p in parts):
        absent = [p for p in parts if p not in keys]
        if absent:
            raise ValueError(f"{path}: sparse {stem!r} lacks {absent}")
        return checked_csr(path, stem, *(entry(p) for p in parts))
    if stem in keys:
        return entry(stem)
    return None


def read_npz_arrays(path: PathLike) -> tuple[sp.csr_matrix, Any, Any]:
    """Adjacency (CSR), features (CSR, dense or None) and labels of an npz graph file.

    Two layouts are read:

    * gnn-benchmark / nettack: ``adj_data, adj_indices, adj_indptr, adj_shape``;
      features ``attr_data/...`` or a dense ``attr_matrix``; ``labels`` [N].
    * "dotted" (NOCD, newer gnn-benchmark): ``adj_matrix.data/.indices/.indptr/.shape``;
      features ``attr_matrix.*`` (sparse) or dense ``attr_matrix``; labels ``labels.*``,
      a sparse [N, C] (possibly overlapping) membership, or dense ``labels``.

    Returns:
        (adjacency CSR [N, N], features or None, labels [N] / membership [N, C] or None).

    Raises:
        ValueError: naming the file, when it is empty, not an npz archive, in neither
            layout, or inconsistent (see the module docstring).
    """
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes), not an npz archive")
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path}: not an npz archive (numpy.savez writes a zip file; this one is "
            "not: a plain .npy, text or pickle file is not read)"
        )
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable npz archive ({err})") from err
    with z:
        keys, entry = set(z.files), _entry_reader(path, z)
        if {"adj_data", "adj_indices", "adj_indptr", "adj_shape"} <= keys:
            sep, names = "_", ("attr", "labels")
            adj = _matrix(path, entry, keys, "adj", sep)
        elif {"adj_matrix.data", "adj_matrix.indices", "adj_matrix.indptr"} <= keys:
            sep, names = ".", ("attr_matrix", "labels")
            adj = _matrix(path, entry, keys, "adj_matrix", sep)
        else:
            raise ValueError(
                f"{path}: not in the gnn-benchmark layout (expected adj_data, adj_indices, "
                f"adj_indptr, adj_shape, or the dotted adj_matrix.data/.indices/.indptr/"
                f".shape; found {sorted(keys)})"
            )
        x = _matrix(path, entry, keys, names[0], sep)
        if x is None and sep == "_":
            x = _matrix(path, entry, keys, "attr_matrix", sep)
        labels = _matrix(path, entry, keys, names[1], sep)
    n = adj.shape[0]
    if adj.shape[1] != n or n == 0:
        raise ValueError(f"{path}: the adjacency must be square with N >= 1, got {adj.shape}")
    if x is not None:
        if x.ndim != 2 or x.shape[0] != n:
            raise ValueError(f"{path}: features of shape {list(x.shape)} for {n} nodes")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise ValueError(f"{path}: features must be numeric, got dtype {x.dtype}")
    if labels is not None and (labels.ndim not in (1, 2) or labels.shape[0] != n):
        raise ValueError(f"{path}: labels of shape {list(labels.shape)} for {n} nodes")
    return adj, x, labels
