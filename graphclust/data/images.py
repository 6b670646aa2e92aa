"""Image benchmarks as graphs: pixels are the features, a kNN graph the edges.

The graph is the symmetrised exact kNN graph of the pixel vectors (an edge where
either image is among the other's ``k`` nearest), built with
:func:`graphclust.graph.knn_graph`. Euclidean distance is the default: it ranks
neighbours as the heat kernel of SDCN/PamC's graph files does. The kNN edges are
cached per (raw files, k, metric), so a second load skips the search.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from graphclust.data.finalize import finalize_graph
from graphclust.data.paths import cache_root, cached, fingerprint
from graphclust.graph.knn import knn_graph

USPS_FILE = "USPS/usps.npz"
MNIST_TEST_FILES = (
    "MNIST/raw/t10k-images-idx3-ubyte.gz",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz",
)


def _knn_edges(x: torch.Tensor, k: int, metric: str, cache_key: str | None) -> torch.Tensor:
    def build() -> torch.Tensor:
        return knn_graph(x, k, metric=metric)

    if cache_key is None:
        return build()
    return cached(cache_root() / "knn" / f"{cache_key}.pt", build)


def image_graph(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    metric: str,
    raw_paths: list[Path] | None = None,
) -> Data:
    """Turn images [N, D] and labels [N] into a kNN graph ``Data``; ``k`` and ``metric``
    are recorded as ``data.knn_k`` and ``data.knn_metric``.

    Args:
        raw_paths: the files ``x`` came from; when given, the kNN edges are cached
            under a key made of their fingerprint, ``k`` and ``metric``.
    """
    features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    key = None
    if raw_paths is not None:
        key = f"{name}-{fingerprint(raw_paths, k, metric)}"
    edges = _knn_edges(features, k, metric, key)
    return finalize_graph(
        edges, features.size(0), name=name, x=features, y=y, knn_k=k, knn_metric=metric
    )


def load_usps(root: Path, k: int = 3, metric: str = "euclidean") -> Data:
    """USPS handwritten digits: all 9,298 16x16 images (7,291 train then 2,007 test),
    pixels in [0, 1] as features [9298, 256], kNN graph with ``k`` neighbours
    (default 3, as in SDCN/PamC)."""
    path = root / USPS_FILE
    with np.load(path) as z:
        x = np.concatenate([z["train_x"], z["test_x"]]).reshape(-1, 256)
        y = np.concatenate([z["train_y"], z["test_y"]]).astype(np.int64)
    return image_graph("usps", x, y, k, metric, [path])


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Decode a gzipped IDX file (LeCun's MNIST format) of unsigned bytes."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(f"{path}: not an IDX file of the expected kind (magic {found:#x})")
    n_dims = magic & 0xFF
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def load_mnist_test(root: Path, k: int = 10, metric: str = "euclidean") -> Data:
    """MNIST test split: 10,000 28x28 digits, pixels scaled to [0, 1] as features
    [10000, 784], kNN graph with ``k`` neighbours (default 10)."""
    images_path, labels_path = (root / f for f in MNIST_TEST_FILES)
    images = _read_idx(images_path, 0x803)
    labels = _read_idx(labels_path, 0x801).astype(np.int64)
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return image_graph("mnist-test", x, labels, k, metric, [images_path, labels_path])


def load_digits(k: int = 10, metric: str = "euclidean") -> Data:
    """scikit-learn's digits (UCI optical digits): 1,797 8x8 images, pixels scaled to
    [0, 1] as features [1797, 64], kNN graph with ``k`` neighbours (default 10).
    Ships with scikit-learn, so no file is needed."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x = bunch.data.astype(np.float32) / 16.0
    return image_graph("digits", x, bunch.target.astype(np.int64), k, metric)
