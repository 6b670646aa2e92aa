"""kmeans_k_search: the chosen K maximises modularity x CH, checked against scikit-learn
and the metrics computed directly; the planted K of a clear SBM is found."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score
from torch_geometric.utils import stochastic_blockmodel_graph

from graphclust.methods.ksearch import kmeans_k_search
from graphclust.metrics import modularity, nmi
from tests.markers import requires_cuda


def _planted(k: int = 4, n: int = 40, seed: int = 0):
    """k blocks of n nodes: dense inside (0.3), sparse across (0.01); embeddings are the
    block means plus noise, so both the graph and the embedding say K = k."""
    torch.manual_seed(seed)
    probs = torch.full((k, k), 0.01)
    probs.fill_diagonal_(0.3)
    edge_index = stochastic_blockmodel_graph([n] * k, probs)
    y = torch.arange(k).repeat_interleave(n)
    g = torch.Generator().manual_seed(seed)
    h = 3.0 * torch.randn(k, 6, generator=g)[y] + torch.randn(n * k, 6, generator=g)
    return h, edge_index, y


def test_finds_the_planted_k() -> None:
    h, edge_index, y = _planted()
    found = kmeans_k_search(h, edge_index, range(2, 9))
    assert found.n_clusters == 4
    assert nmi(y, found.labels) > 0.95
    assert found.centroids.shape == (4, 6)
    assert sorted(found.scores) == list(range(2, 9))


def test_scores_are_modularity_times_ch_of_sklearn_kmeans() -> None:
    h, edge_index, _ = _planted(k=3, seed=1)
    found = kmeans_k_search(h, edge_index, range(2, 6), n_init=3, seed=7)
    for k, score in found.scores.items():
        labels = KMeans(n_clusters=k, n_init=3, random_state=7).fit_predict(h.double().numpy())
        q = modularity(edge_index, torch.from_numpy(labels))
        assert found.modularity[k] == pytest.approx(q, abs=1e-9)
        ch = calinski_harabasz_score(h.numpy(), labels)
        assert score == pytest.approx(q * ch, rel=1e-5)
    best = max(found.scores, key=lambda k: (found.scores[k], -k))
    assert found.n_clusters == best
    # the returned labels are the k-means partition of the chosen K
    reference = KMeans(n_clusters=best, n_init=3, random_state=7).fit_predict(h.double().numpy())
    assert nmi(reference, found.labels) == pytest.approx(1.0)
    assert found.labels.unique().tolist() == list(range(best))


def test_seeded_and_label_free() -> None:
    h, edge_index, _ = _planted(seed=2)
    first = kmeans_k_search(h, edge_index, range(2, 7), seed=3)
    second = kmeans_k_search(h, edge_index, range(2, 7), seed=3)
    assert torch.equal(first.labels, second.labels)
    assert first.scores == second.scores


def test_duplicated_points_leave_no_empty_cluster() -> None:
    # 3 distinct points repeated: k-means with K = 4 cannot fill 4 clusters
    h = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]).repeat_interleave(10, dim=0)
    edge_index = torch.tensor([[i, i + 1] for i in range(29)]).T
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    with pytest.warns(Warning):  # scikit-learn: fewer distinct points than clusters
        found = kmeans_k_search(h, edge_index, range(4, 5))
    assert found.labels.unique().tolist() == list(range(found.n_clusters))
    assert found.centroids.shape[0] == found.n_clusters
    assert math.isfinite(found.scores[4])


@pytest.mark.parametrize(
    ("k_range", "message"),
    [(range(2, 2), "k_range"), (range(1, 4), "k_range"), (range(2, 200), "k_range")],
)
def test_bad_k_range_is_refused(k_range: range, message: str) -> None:
    h, edge_index, _ = _planted()
    with pytest.raises(ValueError, match=message):
        kmeans_k_search(h, edge_index, k_range)


def test_non_finite_embeddings_are_refused() -> None:
    h, edge_index, _ = _planted()
    h[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        kmeans_k_search(h, edge_index, range(2, 4))


def test_half_precision_embeddings_are_clustered_in_float64() -> None:
    # half-precision embeddings are clustered in float64 (no overflow in the distances)
    h, edge_index, _ = _planted()
    found = kmeans_k_search(h.half(), edge_index, range(2, 7))
    assert found.n_clusters == 4
    assert np.isfinite(list(found.scores.values())).all()


def test_torch_backend_finds_the_same_k_and_partition() -> None:
    h, edge_index, y = _planted()
    ref = kmeans_k_search(h, edge_index, range(2, 9), backend="sklearn")
    ours = kmeans_k_search(h, edge_index, range(2, 9), backend="torch")
    assert ours.n_clusters == ref.n_clusters == 4
    assert nmi(ref.labels, ours.labels) == pytest.approx(1.0)
    # the planted partition is the same, so is its score; above the planted K the two
    # k-means reach different local optima (scores within ~15% here), not compared
    assert ours.scores[4] == pytest.approx(ref.scores[4], rel=1e-6)
    assert max(ours.scores, key=ours.scores.get) == 4
    assert ours.centroids.shape == (4, 6)


def test_auto_backend_is_sklearn_on_the_cpu() -> None:
    h, edge_index, _ = _planted()
    auto = kmeans_k_search(h, edge_index, range(2, 6))
    ref = kmeans_k_search(h, edge_index, range(2, 6), backend="sklearn")
    assert torch.equal(auto.labels, ref.labels)
    assert auto.scores == ref.scores


def test_unknown_backend_is_refused() -> None:
    h, edge_index, _ = _planted()
    with pytest.raises(ValueError, match="backend must be"):
        kmeans_k_search(h, edge_index, range(2, 4), backend="faiss")


@requires_cuda
def test_auto_backend_clusters_gpu_embeddings_on_the_gpu() -> None:
    h, edge_index, y = _planted()
    found = kmeans_k_search(h.cuda(), edge_index, range(2, 9))
    assert found.n_clusters == 4
    assert nmi(y, found.labels) > 0.95


def test_default_k_max_grows_with_n_and_never_reads_labels():
    from graphclust.methods.ksearch import default_k_max

    assert default_k_max(34) == 16  # floor of 16
    assert default_k_max(1005) == 64  # email-Eu-core: 42 departments fit
    assert default_k_max(2708) == 105
    assert default_k_max(10) == 9  # capped at N - 1
    with pytest.raises(ValueError, match="at least 3 nodes"):
        default_k_max(2)


def test_k_grid_is_dense_then_geometric_and_ends_at_k_max():
    from graphclust.methods.ksearch import k_grid

    assert k_grid(8) == list(range(2, 9))
    grid = k_grid(105)
    assert grid[:9] == list(range(2, 11)) and grid[-1] == 105
    assert all(b > a for a, b in zip(grid, grid[1:], strict=False))
    ratios = [b / a for a, b in zip(grid[9:], grid[10:-1], strict=False)]
    assert all(r <= 1.15 + 1.0 / a for r, a in zip(ratios, grid[9:], strict=False))


def test_coarse_to_fine_search_finds_what_the_full_search_finds():
    from graphclust.methods.ksearch import coarse_to_fine_k_search, kmeans_k_search

    # 13 well-separated blobs joined by dense intra-blob edges: K = 13 is off the coarse
    # grid (12, 14), so only the refinement can find it
    gen = torch.Generator().manual_seed(0)
    k, size = 13, 12
    centres = torch.randn(k, 6, generator=gen) * 20
    h = centres.repeat_interleave(size, 0) + torch.randn(k * size, 6, generator=gen) * 0.1
    blocks = torch.arange(k * size) // size
    pairs = [(i, j) for i in range(k * size) for j in range(k * size) if i != j]
    edges = torch.tensor([p for p in pairs if blocks[p[0]] == blocks[p[1]]]).t()
    full = kmeans_k_search(h, edges, range(2, 21))
    fast = coarse_to_fine_k_search(h, edges, 20)
    assert full.n_clusters == fast.n_clusters == 13
    assert 13 in fast.scores and len(fast.scores) < len(full.scores)
    assert fast.scores[13] == pytest.approx(full.scores[13])
