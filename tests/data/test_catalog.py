"""The catalog: names, specs, clear errors for missing files, checksums, ogb offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graphclust.data import (
    ChecksumMismatchError,
    DatasetNotFoundError,
    data_root,
    dataset_spec,
    is_available,
    list_datasets,
    load_dataset,
    verify_checksums,
)
from tests.data.invariants import assert_graph_invariants

FILE_DATASETS = [
    "cora",
    "citeseer",
    "pubmed",
    "photo",
    "computers",
    "acm",
    "dblp",
    "cite",
    "polblogs",
    "usps",
    "mnist-test",
    "ogbn-arxiv",
    "ogbn-products",
]


def test_every_name_has_a_spec() -> None:
    names = list_datasets()
    assert set(FILE_DATASETS) | {"karate", "digits", "sbm", "lfr"} <= set(names)
    for name in names:
        spec = dataset_spec(name)
        assert spec.name == name and spec.description and spec.source and spec.licence
        assert set(spec.checksums) <= set(spec.files)
    assert dataset_spec("MNIST_test").name == "mnist-test"  # case and _/- insensitive


@pytest.mark.parametrize(
    ("name", "params", "nodes", "features", "classes"),
    [
        ("karate", {}, 34, 34, 2),
        ("digits", {}, 1797, 64, 10),
        ("digits", {"k": 4, "metric": "cosine"}, 1797, 64, 10),
        ("sbm", {"n_nodes": 300, "n_clusters": 3, "feature_dim": 8}, 300, 8, 3),
        ("lfr", {"n_nodes": 300}, 300, 32, None),
    ],
)
def test_embedded_datasets_meet_the_contract(name, params, nodes, features, classes) -> None:
    data = load_dataset(name, **params)
    assert_graph_invariants(data, nodes, features, classes)
    assert is_available(name, root="/nonexistent")


def test_karate_matches_networkx() -> None:
    import networkx as nx

    graph = nx.karate_club_graph()
    data = load_dataset("karate")
    assert data.edge_index.size(1) == 2 * graph.number_of_edges() == 156
    hi = [v for v in graph if graph.nodes[v]["club"] == "Mr. Hi"]
    assert sorted(torch.nonzero(data.y == 0).flatten().tolist()) == hi
    assert torch.equal(data.x, torch.eye(34))


def test_digits_graph_is_the_knn_graph_of_the_pixels() -> None:
    from sklearn.datasets import load_digits
    from sklearn.neighbors import NearestNeighbors

    k = 3
    data = load_dataset("digits", k=k)
    pixels = load_digits().data / 16.0
    assert np.allclose(data.x.numpy(), pixels)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(pixels).kneighbors(pixels)
    kth = torch.from_numpy(dist[:, k])  # pixel data has ties: compare distances, not ids
    src, dst = data.edge_index
    x = torch.from_numpy(pixels)
    edge_dist = (x[src] - x[dst]).norm(dim=1)
    # every edge is among the k nearest of one of its ends ...
    assert bool((edge_dist <= torch.maximum(kth[src], kth[dst]) + 1e-5).all())
    # ... and every point keeps k neighbours within its k-th distance
    close = (edge_dist <= kth[src] + 1e-5).long()
    assert int(torch.zeros(len(x), dtype=torch.long).index_add_(0, src, close).min()) >= k


@pytest.mark.parametrize("name", FILE_DATASETS)
def test_missing_files_give_a_clear_error(tmp_path: Path, name: str) -> None:
    spec = dataset_spec(name)
    assert not is_available(name, root=tmp_path)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, root=tmp_path, download=False)
    err = info.value
    message = str(err)
    assert isinstance(err, FileNotFoundError) and err.dataset == name
    assert repr(name) in message and str(tmp_path) in message
    assert spec.files[0] in message  # names the files ...
    assert str((tmp_path / spec.files[0]).parent) in message  # ... and the folder
    assert err.missing == list(spec.files)
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing downloaded


def test_failed_download_gives_the_same_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error

    from torch_geometric.datasets import Planetoid

    def offline(self) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(Planetoid, "download", offline)  # as on a machine without internet
    with pytest.raises(DatasetNotFoundError, match="Downloading them failed.*URLError") as info:
        load_dataset("cora", root=tmp_path)  # download=True is the default
    assert "ind.cora.x" in str(info.value) and str(tmp_path / "Cora" / "raw") in str(info.value)


def test_unknown_name_and_parameter() -> None:
    with pytest.raises(KeyError, match="known datasets: .*cora"):
        load_dataset("corra")
    with pytest.raises(TypeError, match=r"takes no parameter\(s\) \['kk'\].*'k'"):
        load_dataset("digits", kk=3)
    with pytest.raises(TypeError, match="no parameter"):
        load_dataset("cora", k=3)


def test_data_root_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRAPHCLUST_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("elsewhere") == Path("elsewhere")
    monkeypatch.delenv("GRAPHCLUST_DATA")
    assert data_root() == Path("datasets")


def _copy_files(data_root: Path, files: tuple[str, ...], dest: Path) -> None:
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_root / rel, dest / rel)


def test_checksum_mismatch_is_detected(data_root: Path, tmp_path: Path) -> None:
    files = dataset_spec("dblp").files
    _copy_files(data_root, files, tmp_path)
    assert verify_checksums("dblp", tmp_path) == dataset_spec("dblp").checksums
    with open(tmp_path / files[1], "a") as fh:
        fh.write("0\r\n")
    with pytest.raises(ChecksumMismatchError, match="dblp_label.txt"):
        load_dataset("dblp", root=tmp_path, verify=True)


def test_planetoid_processes_into_the_cache_only(data_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _copy_files(data_root, dataset_spec("cora").files, root)
    data = load_dataset("cora", root=root)
    assert_graph_invariants(data, 2708, 1433, 7)
    assert int(data.train_mask.sum()) == 140  # public Planetoid split kept
    assert sorted(p.name for p in (root / "Cora").iterdir()) == ["raw"]


def _write_fake_ogbn_arxiv(root: Path, n: int = 60) -> np.ndarray:
    """A tiny graph in ogb's raw layout for ogbn-arxiv (CSV.gz files)."""
    raw = root / "ogbn_arxiv" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    edges = rng.integers(0, n, (150, 2))
    tables = {
        "edge": edges,
        "node-feat": rng.standard_normal((n, 5)).astype(np.float32),
        "node-label": rng.integers(0, 40, (n, 1)),
        "num-node-list": np.array([[n]]),
        "num-edge-list": np.array([[len(edges)]]),
        "node_year": rng.integers(2000, 2020, (n, 1)),
    }
    for name, table in tables.items():
        pd.DataFrame(table).to_csv(raw / f"{name}.csv.gz", header=False, index=False)
    (root / "ogbn_arxiv" / "RELEASE_v1.txt").write_text("v1\n")
    return edges


def test_ogb_loads_offline_from_a_read_only_root(tmp_path: Path) -> None:
    pytest.importorskip("ogb", reason="ogb (a dependency of graphclust) is not installed")
    edges = _write_fake_ogbn_arxiv(tmp_path)
    folders = [tmp_path / "ogbn_arxiv", tmp_path / "ogbn_arxiv" / "raw"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        data = load_dataset("ogbn-arxiv", root=tmp_path)
        again = load_dataset("ogbn-arxiv", root=tmp_path)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert_graph_invariants(data, 60, 5, 40, labelled=False)
    pairs = {(int(a), int(b)) for a, b in edges if a != b}
    pairs |= {(b, a) for a, b in pairs}
    assert set(map(tuple, data.edge_index.t().tolist())) == pairs
    assert torch.equal(again.x, data.x)
    assert sorted(p.name for p in (tmp_path / "ogbn_arxiv").iterdir()) == ["RELEASE_v1.txt", "raw"]
