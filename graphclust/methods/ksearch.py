"""Label-free search for the number of clusters: k-means on an embedding, one run per
candidate K, the K whose partition scores best by modularity x Calinski-Harabasz.

For every K in ``k_range`` the rows of the embedding H are clustered by k-means
(k-means++ starts, ``n_init`` restarts, seeded; scikit-learn on a CPU, the toolkit's
torch k-means on a GPU), and the partition is scored by

    score(K) = Q(A, labels_K) x CH(H, labels_K),

Newman modularity on the graph times the Calinski-Harabasz variance ratio in the space
k-means clustered. Neither factor alone finds K: modularity keeps rising with K on
sparse citation graphs (K = 11-12 of 12 candidates on CiteSeer, in a probe), and CH in a
fixed space favours few clusters; their product is DAG's own checkpoint criterion,
here applied across K in one space instead of across checkpoints. Labels are never
read.

A use in this toolkit: ``DAG(k_readout="kmeans")`` reads its partition this way from
the embeddings of its selected checkpoint (experiments/dag/README.md, "Reading K from
the embeddings").

Cost: ``len(k_range) x n_init`` k-means runs on [N, d], plus one O(E) modularity and
one O(N d) CH per K.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from graphclust.assign import fit_kmeans
from graphclust.assign.kmeans import BACKENDS
from graphclust.metrics import calinski_harabasz
from graphclust.metrics.graph import modularity_scorer


def selection_score(modularity_value: float, ch_value: float, n_clusters: int) -> float:
    """The label-free score of a partition: modularity x Calinski-Harabasz (DAG ranks
    checkpoints by it, :func:`kmeans_k_search` numbers of clusters).

    A partition with fewer than 2 non-empty communities scores -inf: both factors are
    degenerate there (modularity 0, CH undefined), and the product must never prefer it.
    """
    if n_clusters < 2 or not math.isfinite(modularity_value) or not math.isfinite(ch_value):
        return -math.inf
    return modularity_value * ch_value


@dataclass
class KSearchResult:
    """The chosen partition and the whole search.

    Attributes:
        labels: LongTensor [N] in 0..K-1, the k-means partition of the chosen K.
        centroids: FloatTensor [K, d], its k-means centres.
        n_clusters: the chosen K.
        scores: {K: modularity x CH} for every candidate (-inf where degenerate).
        modularity: {K: Q} for every candidate.
    """

    labels: torch.Tensor
    centroids: torch.Tensor
    n_clusters: int
    scores: dict[int, float] = field(default_factory=dict)
    modularity: dict[int, float] = field(default_factory=dict)


def kmeans_k_search(
    embeddings: torch.Tensor,
    edge_index: torch.Tensor,
    k_range: Sequence[int],
    n_init: int = 5,
    seed: int = 0,
    backend: str = "auto",
) -> KSearchResult:
    """Cluster ``embeddings`` by k-means for each K in ``k_range``; keep the best K.

    Args:
        embeddings: [N, d] floating point, one row per node of the graph.
        edge_index: [2, E] long, both directions of every undirected edge.
        k_range: candidate numbers of clusters, each in [2, N - 1] (a range or a list).
        n_init: k-means++ restarts per K (the lowest inertia wins).
        seed: k-means seed (the same for every K).
        backend: "sklearn" (scikit-learn's KMeans on the host), "torch"
            (:func:`graphclust.assign.kmeans` on the embeddings' device) or "auto"
            (default: "torch" when the embeddings are on a GPU, else "sklearn", so CPU
            results are scikit-learn's).

    Returns:
        :class:`KSearchResult`; ties go to the smaller K.

    Raises:
        ValueError: an empty ``k_range``, a candidate outside [2, N - 1], embeddings
            that are not [N, d] or not finite, a malformed graph, or an unknown
            ``backend``.
    """
    if embeddings.dim() != 2 or embeddings.size(0) < 3:
        raise ValueError(f"embeddings must be [N, d] with N >= 3, got {list(embeddings.shape)}")
    n = embeddings.size(0)
    candidates = list(k_range)
    if not candidates or min(candidates) < 2 or max(candidates) > n - 1:
        raise ValueError(
            f"k_range must hold numbers of clusters in [2, {n - 1}] (N - 1), got {k_range!r}"
        )
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "torch" if embeddings.is_cuda else "sklearn"
    h = embeddings.detach().cpu().float()
    if not bool(torch.isfinite(h).all()):
        raise ValueError("embeddings contain NaN or inf; k-means cannot cluster them")
    # scikit-learn in double precision on the host; torch on the embeddings' device
    points = h.double() if backend == "sklearn" else embeddings.detach()
    best: tuple[float, torch.Tensor, torch.Tensor] | None = None
    scores: dict[int, float] = {}
    q_values: dict[int, float] = {}
    graph_modularity = modularity_scorer(edge_index, n)  # the graph is checked once
    for k in candidates:
        found = fit_kmeans(points, k, n_init=n_init, seed=seed, backend=backend)
        labels, centres = found.labels.cpu(), found.centroids.cpu()
        q = graph_modularity(labels)
        ch = calinski_harabasz(h, labels)
        scores[k] = selection_score(q, ch, int(labels.unique().numel()))
        q_values[k] = q
        if best is None or scores[k] > best[0]:
            best = (scores[k], labels, centres)
    assert best is not None  # candidates is non-empty
    _, labels, centroids = best
    # k-means can leave a cluster empty on duplicated points: number the used ones
    used, labels = torch.unique(labels, return_inverse=True)
    return KSearchResult(labels, centroids[used], int(used.numel()), scores, q_values)


# every K up to this is a candidate; above it the grid grows geometrically
DENSE_UP_TO = 10
GRID_GROWTH = 1.15


def default_k_max(num_nodes: int) -> int:
    """The largest number of communities a K-free search considers, from N alone.

    ``max(16, ceil(2 sqrt(N)))``, capped at ``N - 1``: 16 up to 64 nodes, 64 for 1,005
    nodes (email-Eu-core has 42 departments), 105 for Cora's 2,708. Twice the square
    root leaves room above the ``sqrt(N / 2)`` rule of thumb for K; no label is read.
    """
    if num_nodes < 3:
        raise ValueError(f"a K search needs at least 3 nodes, got {num_nodes}")
    return min(num_nodes - 1, max(16, math.ceil(2.0 * math.sqrt(num_nodes))))


def k_grid(k_max: int) -> list[int]:
    """Coarse candidates in [2, k_max]: every K up to ``DENSE_UP_TO``, then a geometric
    grid (ratio ``GRID_GROWTH``), always ending at ``k_max``."""
    if k_max < 2:
        raise ValueError(f"k_max must be at least 2, got {k_max}")
    grid = list(range(2, min(k_max, DENSE_UP_TO) + 1))
    k = float(grid[-1])
    while grid[-1] < k_max:
        k *= GRID_GROWTH
        grid.append(min(k_max, max(grid[-1] + 1, math.ceil(k))))
    return grid


def coarse_to_fine_k_search(
    embeddings: torch.Tensor,
    edge_index: torch.Tensor,
    k_max: int,
    n_init: int = 5,
    seed: int = 0,
    backend: str = "auto",
) -> KSearchResult:
    """:func:`kmeans_k_search` over [2, k_max] at a fraction of the cost for large k_max.

    First the coarse grid :func:`k_grid`, then every K strictly between the grid
    neighbours of the best coarse K. Returns what a full search over the union of the
    candidates returns (``scores`` holds every K tried). With ``k_max <= DENSE_UP_TO``
    this is the full search.
    """
    coarse = kmeans_k_search(embeddings, edge_index, k_grid(k_max), n_init, seed, backend)
    grid = sorted(coarse.scores)
    at = grid.index(coarse.n_clusters) if coarse.n_clusters in grid else None
    if at is None:  # k-means left a cluster empty: the kept K is not a grid point
        return coarse
    low = grid[at - 1] if at > 0 else coarse.n_clusters
    high = grid[at + 1] if at + 1 < len(grid) else coarse.n_clusters
    fine = [k for k in range(low + 1, high) if k not in coarse.scores]
    if not fine:
        return coarse
    refined = kmeans_k_search(embeddings, edge_index, fine, n_init, seed, backend)
    improved = refined.scores[refined.n_clusters] > coarse.scores[coarse.n_clusters]
    best = refined if improved else coarse
    return KSearchResult(
        best.labels,
        best.centroids,
        best.n_clusters,
        dict(sorted({**coarse.scores, **refined.scores}.items())),
        dict(sorted({**coarse.modularity, **refined.modularity}.items())),
    )


__all__ = [
    "KSearchResult",
    "coarse_to_fine_k_search",
    "default_k_max",
    "k_grid",
    "kmeans_k_search",
    "selection_score",
]
