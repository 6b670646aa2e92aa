"""The benchmark datasets of the shared data root load with their published sizes, go
through the cache, and never write next to the raw files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from graphclust.data import load_dataset
from graphclust.data.paths import cache_root
from tests.data.invariants import assert_graph_invariants

# name -> (nodes, features, classes, directed edge count or None); sizes from
# ../shared/data/README.md, edge counts from the README (Planetoid, Photo) or from the
# line counts of the SDCN graph files (each edge listed in both directions).
EXPECTED = {
    "cora": (2708, 1433, 7, 10556),
    "citeseer": (3327, 3703, 6, 9104),
    "pubmed": (19717, 500, 3, 88648),
    "photo": (7650, 745, 8, 238162),
    "acm": (3025, 1870, 3, 26256),
    "dblp": (4057, 334, 4, 7056),
    "cite": (3327, 3703, 6, 9104),
    "polblogs": (1490, 1490, 2, None),
    "usps": (9298, 256, 10, None),
    "mnist-test": (10000, 784, 10, None),
}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and mtime (folders included)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.stat()
            out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def loaded(data_root: Path) -> tuple[dict[str, Data], dict, dict]:
    """All shared datasets loaded once, with the data root's listing before and after."""
    before = _snapshot(data_root)
    graphs = {name: load_dataset(name, root=data_root) for name in EXPECTED}
    return graphs, before, _snapshot(data_root)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loads_with_published_sizes(loaded, name: str) -> None:
    graphs, _, _ = loaded
    nodes, features, classes, edges = EXPECTED[name]
    data = graphs[name]
    assert_graph_invariants(data, nodes, features, classes)
    assert data.name == name
    if edges is not None:
        assert data.edge_index.size(1) == edges


def test_raw_folders_are_never_written(loaded) -> None:
    _, before, after = loaded
    assert after == before


def test_image_sets_hold_scaled_pixels_and_all_images(loaded) -> None:
    graphs, _, _ = loaded
    mnist, usps = graphs["mnist-test"], graphs["usps"]
    for data in (mnist, usps):
        assert float(data.x.min()) >= 0.0 and float(data.x.max()) <= 1.0
        # symmetrised kNN: every image keeps at least its own k neighbours
        deg = torch.bincount(data.edge_index[0], minlength=data.num_nodes)
        assert int(deg.min()) >= data.knn_k
    # label counts published with the raw files (PROVENANCE.txt)
    assert torch.bincount(mnist.y).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert torch.bincount(usps.y).tolist() == [1553, 1269, 929, 824, 852, 716, 834, 792, 708, 821]
    assert usps.knn_k == 3 and mnist.knn_k == 10


def test_sdcn_citeseer_labels_are_shifted_to_zero(loaded, data_root: Path) -> None:
    graphs, _, _ = loaded
    raw = np.loadtxt(data_root / "SDCN/Citeseer/cite_label.txt", dtype=np.int64)
    assert raw.min() == 1
    assert torch.equal(graphs["cite"].y, torch.from_numpy(raw - 1))
    # SDCN's Citeseer is PyG's CiteSeer graph (same citation edges, 3,327 nodes)
    assert graphs["cite"].edge_index.size(1) == graphs["citeseer"].edge_index.size(1)


def test_polblogs_has_identity_features(loaded) -> None:
    graphs, _, _ = loaded
    assert torch.equal(graphs["polblogs"].x, torch.eye(1490))


def test_second_load_comes_from_the_cache(loaded, data_root: Path) -> None:
    graphs, _, _ = loaded
    cache = cache_root()
    assert list(cache.glob("pyg/Cora-*/processed/data.pt"))
    assert list(cache.glob("knn/usps-*.pt")) and list(cache.glob("sdcn/acm-*.pt"))
    for name in ("cora", "usps", "acm"):
        again = load_dataset(name, root=data_root)
        assert torch.equal(again.edge_index, graphs[name].edge_index)
        assert torch.equal(again.x, graphs[name].x) and torch.equal(again.y, graphs[name].y)


def test_image_knn_graph_parameters(data_root: Path) -> None:
    data = load_dataset("usps", root=data_root, k=5, metric="cosine")
    assert data.knn_k == 5 and data.knn_metric == "cosine"
    deg = torch.bincount(data.edge_index[0], minlength=data.num_nodes)
    assert int(deg.min()) >= 5


def test_checksums_match_the_manifest(data_root: Path) -> None:
    from graphclust.data import dataset_spec, verify_checksums

    for name in EXPECTED:
        digests = verify_checksums(name, data_root)
        assert digests == dataset_spec(name).checksums and len(digests) >= 1
    assert len(dataset_spec("cora").checksums) == 8
    assert load_dataset("dblp", root=data_root, verify=True).num_nodes == 4057
