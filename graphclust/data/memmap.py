"""Graphs on disk as memory-mapped arrays: one copy per machine, not one per process.

:func:`save_memmap` writes a validated graph to a folder of ``.npy`` files and a small
JSON description; :func:`load_memmap` maps them back as a ``Data`` whose large tensors
are views of read-only memory maps (``np.load(mmap_mode="r")`` wrapped by
``torch.from_numpy``). Pages are read from the file when first touched and live in the
operating system's page cache, which every process mapping the same files shares: the
processes of a data-parallel run (``torchrun``, ``graphclust fit --nproc-per-node``)
then hold the graph once per machine, and a graph larger than the memory left to one
process can be trained on as long as its batches fit.

Folder layout (``FORMAT``, version ``VERSION``):

- ``x.npy``: float32 ``[N, D]`` node features;
- ``edge_index.npy``: int64 ``[2, E]``, both directions of every undirected edge,
  sorted by (row, column) without duplicates or self-loops: row 1 is the column-index
  array of the adjacency in CSR form and row 0 the row of each entry, stored expanded so
  that code reading ``data.edge_index`` maps it instead of rebuilding it (a CSR row
  pointer is recovered in ``O(N)`` memory by a binary search on row 0);
- ``y.npy``: int64 ``[N]`` labels, when the graph has them;
- ``meta.json``: format, version, ``num_nodes``, ``num_edges`` (``E``),
  ``num_features``, ``has_y`` and the scalar attributes ``num_classes``, ``name``,
  ``feature_kind`` when set.

The saved graph is :func:`~graphclust.data.check_graph`'s clean copy, so validating the
loaded graph at fit time is a read-only pass (no copy of ``x`` or of the edges).

The mapped tensors must never be written to: they are views of read-only pages, and a
write (``data.x[0] = 0``, ``data.x.mul_(2)``) kills the process with a segmentation
fault instead of raising. Anything that changes them must copy first (``data.x.clone()``).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from graphclust.data.validation import check_graph

FORMAT = "graphclust-memmap"
VERSION = 1
META_FILE = "meta.json"
#: Scalar attributes carried through meta.json when the graph has them.
SCALAR_ATTRS = ("num_classes", "name", "feature_kind")

PathLike = str | os.PathLike


def save_memmap(data: Data, folder: PathLike, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``folder`` in the memory-mapped layout (module docstring).

    ``data`` is validated with :func:`~graphclust.data.check_graph` first (features
    required; its repairs and warnings apply), so the files hold a clean graph.

    Args:
        data: a ``Data`` with ``x`` ``[N, D]``, ``edge_index`` and optionally ``y`` ``[N]``.
        folder: the folder to write; created when missing.
        overwrite: replace the files of an existing graph in ``folder``.

    Returns:
        ``folder`` as a ``Path``.

    Raises:
        FileExistsError: ``folder`` already holds a graph and ``overwrite`` is False.
    """
    folder = Path(folder)
    if (folder / META_FILE).exists() and not overwrite:
        raise FileExistsError(
            f"{folder} already holds a memory-mapped graph ({META_FILE}); pass "
            "overwrite=True or another folder"
        )
    clean = check_graph(data, keep=("y",))
    y = getattr(clean, "y", None)
    if y is not None and (not isinstance(y, torch.Tensor) or y.shape != (clean.num_nodes,)):
        shape = list(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"data.y must be a tensor [N] = [{clean.num_nodes}] to save, got {shape}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_FILE).unlink(missing_ok=True)  # a half-written folder is never valid
    np.save(folder / "x.npy", clean.x.detach().cpu().numpy().astype(np.float32, copy=False))
    np.save(folder / "edge_index.npy", clean.edge_index.cpu().numpy().astype(np.int64, copy=False))
    if y is not None:
        np.save(folder / "y.npy", y.detach().cpu().long().numpy())
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "num_nodes": int(clean.num_nodes),
        "num_edges": int(clean.edge_index.size(1)),
        "num_features": int(clean.x.size(1)),
        "has_y": y is not None,
    }
    for name in SCALAR_ATTRS:
        value = getattr(data, name, None)
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            meta[name] = value
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def is_memmap_folder(path: PathLike) -> bool:
    """Whether ``path`` is a folder holding a memory-mapped graph's ``meta.json``."""
    return (Path(path) / META_FILE).is_file()


def load_memmap(folder: PathLike, *, mmap: bool = True) -> Data:
    """Map the graph saved in ``folder`` by :func:`save_memmap`; nothing large is read.

    Args:
        folder: a folder written by :func:`save_memmap`.
        mmap: ``False`` reads the arrays into this process's own (writable) memory
            instead, with the same checks: one private copy per process, as for a graph
            loaded any other way.

    Returns:
        ``Data`` with ``x`` float32 ``[N, D]``, ``edge_index`` int64 ``[2, E]`` and
        ``y`` int64 ``[N]`` (when saved) as CPU tensors backed by read-only memory maps
        of the files (never write to them: module docstring), ``num_nodes`` and the
        saved scalar attributes.

    Raises:
        FileNotFoundError: ``folder``, ``meta.json`` or an array file is missing.
        ValueError: ``meta.json`` is not this format or version, or an array file is
            damaged or disagrees with it (dtype, shape); the message names the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected a memory-mapped graph)")
    meta = _read_meta(folder)
    n, e, d = meta["num_nodes"], meta["num_edges"], meta["num_features"]
    x = _map(folder / "x.npy", np.float32, (n, d), mmap)
    edge_index = _map(folder / "edge_index.npy", np.int64, (2, e), mmap)
    data = Data(x=x, edge_index=edge_index, num_nodes=n)
    if meta["has_y"]:
        data.y = _map(folder / "y.npy", np.int64, (n,), mmap)
    for name in SCALAR_ATTRS:
        if name in meta:
            data[name] = meta[name]
    return data


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / META_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; {folder} is not a memory-mapped graph (write one with "
            "graphclust.data.memmap.save_memmap)"
        )
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} description (format {meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path}: format version {meta.get('version')!r}, but this graphclust reads "
            f"version {VERSION}; write the folder again with save_memmap"
        )
    for key in ("num_nodes", "num_edges", "num_features"):
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{path}: {key} must be a non-negative integer, got {value!r}")
    if not isinstance(meta.get("has_y"), bool):
        raise ValueError(f"{path}: has_y must be true or false, got {meta.get('has_y')!r}")
    return meta


def _map(path: Path, dtype: type, shape: tuple[int, ...], mmap: bool = True) -> torch.Tensor:
    """A read-only memory map of ``path`` (``mmap``; else a copy in memory) as a tensor,
    checked against ``dtype`` and ``shape``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the memory-mapped graph")
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: damaged, not a readable .npy array ({err})") from err
    if array.dtype != dtype or array.shape != shape:
        raise ValueError(
            f"{path}: holds {array.dtype} {list(array.shape)}, but {META_FILE} describes "
            f"{np.dtype(dtype)} {list(shape)}; the folder is damaged, write it again"
        )
    if not array.flags.c_contiguous:
        raise ValueError(f"{path}: stored in Fortran order; write it again with save_memmap")
    with warnings.catch_warnings():
        # torch warns that it cannot mark a tensor read-only; the module contract (never
        # write to the mapped tensors) is what protects these pages.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


__all__ = ["FORMAT", "VERSION", "is_memmap_folder", "load_memmap", "save_memmap"]
