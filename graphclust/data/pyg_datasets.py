"""Benchmarks loaded through PyG's and ogb's own dataset classes.

Those classes process raw files into ``<root>/<Name>/processed``, next to the raw
files, and the data root may be read-only. Each class is therefore wrapped in a
subclass whose ``raw_dir`` is the raw folder under the data root and whose
``processed_dir`` is in the cache, keyed by a fingerprint of the raw files, so
processing happens once and the raw folder is only ever read. PyG/ogb download into
the raw folder whenever files are missing, so the catalog checks for the files first
and runs these loaders without them only when the caller passed ``download=True``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import torch
import torch_geometric
from torch_geometric.data import Data
from torch_geometric.data import Dataset as PygDataset
from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
from torch_geometric.data.storage import GlobalStorage
from torch_geometric.datasets import Amazon, Planetoid

from graphclust.data.finalize import finalize_graph
from graphclust.data.paths import build_lock, cache_root, fingerprint

PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
#: Data-root folder names, as PyG names them.
PLANETOID_FOLDERS = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
AMAZON_FOLDERS = {"photo": "Photo", "computers": "Computers"}
#: ogb node-property datasets with one node type and one class per node.
OGB_RAW_FILES = {
    "ogbn-arxiv": (
        "edge.csv.gz",
        "node-feat.csv.gz",
        "node-label.csv.gz",
        "num-node-list.csv.gz",
        "num-edge-list.csv.gz",
        "node_year.csv.gz",
    ),
    "ogbn-products": (
        "edge.csv.gz",
        "node-feat.csv.gz",
        "node-label.csv.gz",
        "num-node-list.csv.gz",
        "num-edge-list.csv.gz",
    ),
}


def planetoid_files(name: str) -> tuple[str, ...]:
    """Raw files of a Planetoid dataset relative to the data root."""
    folder = PLANETOID_FOLDERS[name]
    return tuple(f"{folder}/raw/ind.{folder.lower()}.{s}" for s in PLANETOID_SUFFIXES)


def amazon_files(name: str) -> tuple[str, ...]:
    return (f"{AMAZON_FOLDERS[name]}/raw/amazon_electronics_{name}.npz",)


def ogb_dir(name: str) -> str:
    return name.replace("-", "_")


def ogb_files(name: str) -> tuple[str, ...]:
    folder = ogb_dir(name)
    return (f"{folder}/RELEASE_v1.txt",) + tuple(f"{folder}/raw/{f}" for f in OGB_RAW_FILES[name])


def _processed_dir(kind: str, folder: str, raw_paths: list[Path]) -> Path:
    # Missing files (download pending) are skipped: the key then changes once they
    # exist, which costs one more processing run and never serves stale data.
    key = fingerprint([p for p in raw_paths if p.exists()], torch_geometric.__version__)
    return cache_root() / kind / f"{folder}-{key}" / "processed"


def _redirected(cls: type[PygDataset], raw_dir: Path | None, processed_dir: Path) -> type:
    """A subclass of ``cls`` reading raw files from ``raw_dir`` (None: the class's own)
    and writing processed files to ``processed_dir``."""
    attrs: dict[str, Any] = {"processed_dir": property(lambda self: str(processed_dir))}
    if raw_dir is not None:
        attrs["raw_dir"] = property(lambda self: str(raw_dir))
    return type(f"Cached{cls.__name__}", (cls,), attrs)


def load_planetoid(root: Path, name: str) -> Data:
    """Cora, CiteSeer or PubMed (public split masks kept as train/val/test_mask).

    Features are PyG's raw features (binary bag of words; TF-IDF for PubMed), not
    row-normalised. CiteSeer's isolated test nodes get zero feature rows, as in PyG.
    """
    folder = PLANETOID_FOLDERS[name]
    raw_dir = root / folder / "raw"
    processed = _processed_dir("pyg", folder, [root / f for f in planetoid_files(name)])
    cls = _redirected(Planetoid, raw_dir, processed)
    with build_lock(processed):
        dataset = cls(str(processed.parent.parent), folder)
    data = dataset[0]
    return finalize_graph(
        data.edge_index,
        data.num_nodes,
        name=name,
        x=data.x,
        y=data.y,
        num_classes=dataset.num_classes,
        train_mask=data.train_mask,
        val_mask=data.val_mask,
        test_mask=data.test_mask,
    )


def load_amazon(root: Path, name: str) -> Data:
    """Amazon co-purchase graphs (Photo, Computers) of Shchur et al.: bag-of-words
    features of product reviews, product categories as classes."""
    folder = AMAZON_FOLDERS[name]
    processed = _processed_dir("pyg", folder, [root / f for f in amazon_files(name)])
    cls = _redirected(Amazon, root / folder / "raw", processed)
    with build_lock(processed):
        dataset = cls(str(processed.parent.parent), name)
    data = dataset[0]
    return finalize_graph(
        data.edge_index,
        data.num_nodes,
        name=name,
        x=data.x,
        y=data.y,
        num_classes=dataset.num_classes,
    )


def load_ogb(root: Path, name: str) -> Data:
    """An ogbn node-property dataset through ``ogb``'s ``PygNodePropPredDataset``.

    Expects ogb's own layout under the root: ``ogbn_<name>/RELEASE_v1.txt`` and
    ``ogbn_<name>/raw/*.csv.gz`` (what ogb's download unpacks). Citation/co-purchase
    edges are made undirected; labels come from ``node-label.csv.gz``.
    """
    from ogb.nodeproppred import PygNodePropPredDataset

    folder = root / ogb_dir(name)
    if folder.is_dir() and not (folder / "RELEASE_v1.txt").is_file():
        # ogb would stop and ask on stdin whether to delete the folder.
        raise FileExistsError(
            f"{folder} exists but holds no RELEASE_v1.txt (ogb's version marker): remove "
            "the partial download and pass download=True, or complete the files by hand"
        )
    processed = _processed_dir("ogb", ogb_dir(name), [root / f for f in ogb_files(name)])
    cls = _redirected(PygNodePropPredDataset, None, processed)
    # ogb 1.3.6 calls torch.load without weights_only, which torch >= 2.6 treats as
    # weights-only: allow the PyG classes of the file ogb itself just wrote.
    allowed = [DataEdgeAttr, DataTensorAttr, GlobalStorage]
    with (
        build_lock(processed),
        contextlib.redirect_stdout(io.StringIO()),
        torch.serialization.safe_globals(allowed),
    ):
        dataset = cls(name=name, root=str(root))
    data = dataset[0]
    return finalize_graph(
        data.edge_index,
        data.num_nodes,
        name=name,
        x=data.x,
        y=data.y.reshape(-1),
        num_classes=dataset.num_classes,
    )
