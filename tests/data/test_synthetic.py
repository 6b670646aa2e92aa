"""Synthetic SBM and LFR graphs: seeded, with the requested densities, and fast."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from graphclust.data import load_dataset
from graphclust.data.synthetic import _bernoulli_positions, _triangle_pairs
from tests.data.invariants import assert_graph_invariants


def test_triangle_index_mapping_matches_numpy() -> None:
    for n in (2, 3, 7, 50):
        rows, cols = np.triu_indices(n, k=1)
        i, j = _triangle_pairs(np.arange(n * (n - 1) // 2), n)
        assert np.array_equal(i, rows) and np.array_equal(j, cols)


def test_bernoulli_positions_are_unique_in_range_and_at_rate() -> None:
    rng = np.random.default_rng(0)
    kept = _bernoulli_positions(1_000_000, 0.01, rng)
    assert np.all(np.diff(kept) > 0) and kept[0] >= 0 and kept[-1] < 1_000_000
    assert abs(kept.size - 10_000) < 5 * 100  # 5 standard deviations
    assert _bernoulli_positions(10, 0.0, rng).size == 0
    assert np.array_equal(_bernoulli_positions(10, 1.0, rng), np.arange(10))


def test_sbm_is_deterministic_by_seed() -> None:
    a = load_dataset("sbm", n_nodes=500, seed=3)
    b = load_dataset("sbm", n_nodes=500, seed=3)
    c = load_dataset("sbm", n_nodes=500, seed=4)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)
    assert torch.equal(a.y, b.y)
    assert not torch.equal(a.edge_index, c.edge_index)


def test_sbm_edge_densities_match_p_in_and_p_out() -> None:
    n, k, p_in, p_out = 2000, 4, 0.04, 0.004
    data = load_dataset("sbm", n_nodes=n, n_clusters=k, p_in=p_in, p_out=p_out, seed=0)
    assert_graph_invariants(data, n, 32, k)
    sizes = torch.bincount(data.y).numpy()
    assert sizes.tolist() == [n // k] * k
    src, dst = data.edge_index
    upper = src < dst
    same = data.y[src[upper]] == data.y[dst[upper]]
    intra_pairs = (sizes * (sizes - 1) // 2).sum()
    inter_pairs = n * (n - 1) // 2 - intra_pairs
    # ~20k intra and ~6k inter edges: 5% is many standard deviations
    assert int(same.sum()) / intra_pairs == pytest.approx(p_in, rel=0.05)
    assert int((~same).sum()) / inter_pairs == pytest.approx(p_out, rel=0.05)


def test_sbm_features_carry_the_signal() -> None:
    strong = load_dataset("sbm", n_nodes=600, n_clusters=3, feature_signal=3.0, seed=1)
    none = load_dataset("sbm", n_nodes=600, n_clusters=3, feature_signal=0.0, seed=1)

    def between_over_within(data) -> float:
        means = torch.stack([data.x[data.y == c].mean(0) for c in range(3)])
        within = (data.x - means[data.y]).pow(2).sum(1).mean()
        return float((means - data.x.mean(0)).pow(2).sum(1).mean() / within)

    assert between_over_within(strong) > 5 * between_over_within(none)


def test_sbm_scales_without_dense_matrices() -> None:
    start = time.perf_counter()
    data = load_dataset(
        "sbm", n_nodes=200_000, n_clusters=10, p_in=4e-4, p_out=1e-5, feature_dim=16
    )
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0, f"200k-node SBM took {elapsed:.1f} s"
    mean_degree = data.edge_index.size(1) / data.num_nodes
    assert 8 < mean_degree < 12  # expected 20000 * 4e-4 + 180000 * 1e-5 = 9.8


def test_sbm_parameter_errors() -> None:
    with pytest.raises(ValueError, match="p_in must be a probability"):
        load_dataset("sbm", p_in=1.5)
    with pytest.raises(ValueError, match="n_clusters"):
        load_dataset("sbm", n_nodes=3, n_clusters=5)
    with pytest.raises(ValueError, match="lower p_in/p_out"):
        load_dataset("sbm", n_nodes=100_000, p_in=0.5, p_out=0.5)


def test_lfr_is_seeded_and_labelled_by_community() -> None:
    import networkx as nx

    a = load_dataset("lfr", n_nodes=300, seed=2)
    b = load_dataset("lfr", n_nodes=300, seed=2)
    assert_graph_invariants(a, 300, 32)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)
    graph = nx.LFR_benchmark_graph(
        300, 2.5, 1.5, 0.2, min_degree=5, max_degree=50, min_community=30, max_community=150, seed=2
    )
    for v in graph:  # same community <=> same label
        members = torch.tensor(sorted(graph.nodes[v]["community"]))
        assert bool((a.y[members] == a.y[v]).all())
        assert int((a.y == a.y[v]).sum()) == len(members)
    # networkx's LFR generator can emit self-loops; the loader drops them
    loops = nx.number_of_selfloops(graph)
    assert a.edge_index.size(1) == 2 * (graph.number_of_edges() - loops)
