"""Benchmark graphs stored as plain files: the SDCN text format and polblogs (npz).

SDCN format (bdy9527/SDCN, also used by DFCN, DCRN, PamC): ``<name>.txt`` a dense
feature matrix, one node per line, blank-separated; ``<name>_label.txt`` one class per
line; ``<name>_graph.txt`` one undirected edge ``i j`` per line (0-based). Line ends
may be CRLF and the feature file may be gzipped (``.txt.gz``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from graphclust.data.finalize import encode_labels, finalize_graph
from graphclust.data.paths import cache_root, cached, fingerprint
from graphclust.data.readers import read_npz_arrays

#: name -> (folder under the data root, file prefix, feature file suffix)
SDCN_LAYOUT = {
    "acm": ("SDCN/ACM", "acm", ".txt"),
    "dblp": ("SDCN/DBLP", "dblp", ".txt"),
    "cite": ("SDCN/Citeseer", "cite", ".txt.gz"),
}
POLBLOGS_FILE = "polblogs/polblogs.npz"


def sdcn_files(name: str) -> tuple[str, ...]:
    """Raw files of an SDCN dataset relative to the data root."""
    folder, prefix, suffix = SDCN_LAYOUT[name]
    return (
        f"{folder}/{prefix}{suffix}",
        f"{folder}/{prefix}_label.txt",
        f"{folder}/{prefix}_graph.txt",
    )


def _read_table(path: Path, dtype: type) -> np.ndarray:
    # pandas' C parser is ~20x faster than np.loadtxt here, handles CRLF and .gz.
    return pd.read_csv(path, sep=r"\s+", header=None, dtype=dtype).to_numpy(copy=True)


def _parse_sdcn(paths: list[Path]) -> dict[str, torch.Tensor]:
    features, labels, graph = paths
    y, _ = encode_labels(_read_table(labels, np.int64).reshape(-1))
    return {
        "x": torch.from_numpy(_read_table(features, np.float32)),
        "y": torch.from_numpy(y),
        "edge_index": torch.from_numpy(_read_table(graph, np.int64).T.copy()),
    }


def load_sdcn(root: Path, name: str) -> Data:
    """ACM, DBLP or Citeseer in the SDCN text format.

    Labels are mapped to 0..C-1 (the SDCN Citeseer file uses 1..6). The parsed arrays
    are cached, so later loads skip the text parsing.
    """
    paths = [root / f for f in sdcn_files(name)]
    target = cache_root() / "sdcn" / f"{name}-{fingerprint(paths)}.pt"
    arrays = cached(target, lambda: _parse_sdcn(paths))
    n = arrays["x"].size(0)
    return finalize_graph(arrays["edge_index"], n, name=name, x=arrays["x"], y=arrays["y"])


def load_polblogs(root: Path) -> Data:
    """Political blogs (Adamic and Glance 2005): hyperlinks between 1,490 US political
    blogs, labelled liberal (0) or conservative (1).

    The graph has no node features, so ``x`` is the identity matrix [1490, 1490]; links
    are made undirected and isolated blogs are kept (methods that need a connected
    graph should take the largest component themselves).
    """
    adj, _, labels = read_npz_arrays(root / POLBLOGS_FILE)
    coo = adj.tocoo()
    edges = np.stack([coo.row, coo.col]).astype(np.int64)
    n = adj.shape[0]
    y, _ = encode_labels(labels)
    return finalize_graph(edges, n, name="polblogs", x=torch.eye(n), y=y, feature_kind="identity")
