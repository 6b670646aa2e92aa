"""Seeded synthetic attributed graphs: stochastic block models and LFR benchmarks.

Both attach features that carry the community signal: each community ``c`` gets a
random mean vector ``mu_c ~ N(0, I_D)`` and node ``i`` gets
``x_i = feature_signal * mu_{y_i} + N(0, I_D)`` noise, so ``feature_signal`` sets how
much the features alone reveal (0: none).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from torch_geometric.data import Data

from graphclust.data.finalize import finalize_graph

#: Refuse SBMs expected to hold more undirected edges than this (memory guard).
MAX_EXPECTED_EDGES = 500_000_000


def community_features(
    labels: np.ndarray, feature_dim: int, feature_signal: float, rng: np.random.Generator
) -> np.ndarray:
    """float32 [N, feature_dim]: ``signal * mu_{label} + standard normal noise``."""
    if feature_dim < 1:
        raise ValueError(f"feature_dim must be >= 1, got {feature_dim}")
    n_classes = int(labels.max()) + 1
    means = rng.standard_normal((n_classes, feature_dim), dtype=np.float32)
    x = rng.standard_normal((labels.size, feature_dim), dtype=np.float32)
    x += np.float32(feature_signal) * means[labels]
    return x


def _bernoulli_positions(size: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """The indices in ``range(size)`` kept by independent coin flips of probability p.

    Geometric skipping: the gaps between kept indices are Geometric(p), so the cost is
    proportional to the number kept, not to ``size``.
    """
    if size <= 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(size, dtype=np.int64)
    mean = size * p
    chunks, last = [], -1
    while True:
        batch = int(mean + 6.0 * np.sqrt(mean) + 16)
        positions = last + np.cumsum(rng.geometric(p, size=batch))
        chunks.append(positions)
        last = int(positions[-1])
        if last >= size:
            break
    out = np.concatenate(chunks)
    return out[out < size]


def _triangle_pairs(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Map linear indices of the strict upper triangle of an n x n matrix to (i, j).

    Row i holds ``n - 1 - i`` entries starting at ``S(i) = i * (2n - i - 1) / 2``.
    """
    b = 2.0 * n - 1.0
    i = np.floor((b - np.sqrt(np.maximum(b * b - 8.0 * k, 0.0))) / 2.0).astype(np.int64)

    def start(row: np.ndarray) -> np.ndarray:
        return row * (2 * n - row - 1) // 2

    # The float estimate can be off by one either way near row boundaries.
    i = np.where(start(i) > k, i - 1, i)
    i = np.where(start(i + 1) <= k, i + 1, i)
    j = k - start(i) + i + 1
    return i, j


def _check_probability(name: str, p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


def load_sbm(
    n_nodes: int = 1000,
    n_clusters: int = 5,
    p_in: float = 0.05,
    p_out: float = 0.005,
    feature_dim: int = 32,
    feature_signal: float = 1.0,
    seed: int = 0,
) -> Data:
    """Attributed stochastic block model with balanced blocks, without any N x N matrix.

    Every pair inside a block is an edge with probability ``p_in``, every pair across
    blocks with probability ``p_out``; node ids are shuffled so blocks are not
    contiguous. Expected degree is about ``(N/K) p_in + N (K-1)/K p_out``; a
    1,000,000-node graph with degree ~15 takes seconds.

    Args:
        n_nodes: N. n_clusters: K (block sizes differ by at most one).
        p_in, p_out: intra- and inter-block edge probabilities.
        feature_dim, feature_signal: see the module docstring.
        seed: seeds everything; equal arguments give equal graphs.

    Returns:
        ``Data`` with x [N, feature_dim], y [N] (block), num_classes = K, name "sbm".
    """
    if n_nodes < 1 or n_clusters < 1 or n_clusters > n_nodes:
        raise ValueError(f"need 1 <= n_clusters <= n_nodes, got {n_clusters=} and {n_nodes=}")
    p_in, p_out = _check_probability("p_in", p_in), _check_probability("p_out", p_out)
    rng = np.random.default_rng(seed)
    sizes = np.full(n_clusters, n_nodes // n_clusters, dtype=np.int64)
    sizes[: n_nodes % n_clusters] += 1
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    total_pairs = n_nodes * (n_nodes - 1) // 2
    intra_pairs = int((sizes * (sizes - 1) // 2).sum())
    expected = intra_pairs * p_in + (total_pairs - intra_pairs) * p_out
    if expected > MAX_EXPECTED_EDGES:
        raise ValueError(
            f"this SBM would have about {expected:.3g} edges (limit {MAX_EXPECTED_EDGES:.0e}); "
            "lower p_in/p_out"
        )

    # Sample in "sorted" ids (block b owns offsets[b]..offsets[b+1]-1), then shuffle.
    block_of = np.repeat(np.arange(n_clusters), sizes)
    src, dst = _triangle_pairs(_bernoulli_positions(total_pairs, p_out, rng), n_nodes)
    across = block_of[src] != block_of[dst]  # intra pairs are sampled below at p_in
    parts_src, parts_dst = [src[across]], [dst[across]]
    for b in range(n_clusters):
        n_b = int(sizes[b])
        i, j = _triangle_pairs(_bernoulli_positions(n_b * (n_b - 1) // 2, p_in, rng), n_b)
        parts_src.append(i + offsets[b])
        parts_dst.append(j + offsets[b])
    perm = rng.permutation(n_nodes)  # sorted id s becomes node perm[s]
    edge_index = np.stack([perm[np.concatenate(parts_src)], perm[np.concatenate(parts_dst)]])
    y = np.empty(n_nodes, dtype=np.int64)
    y[perm] = block_of
    x = community_features(y, feature_dim, feature_signal, rng)
    return finalize_graph(edge_index, n_nodes, name="sbm", x=x, y=y, num_classes=n_clusters)


def load_lfr(
    n_nodes: int = 1000,
    tau1: float = 2.5,
    tau2: float = 1.5,
    mu: float = 0.2,
    min_degree: int | None = 5,
    max_degree: int | None = 50,
    average_degree: float | None = None,
    min_community: int | None = 30,
    max_community: int | None = 150,
    feature_dim: int = 32,
    feature_signal: float = 1.0,
    seed: int = 0,
) -> Data:
    """LFR benchmark graph (networkx) with community-derived features.

    Power-law degrees (exponent ``tau1``) and community sizes (``tau2``); each node
    keeps a fraction ``mu`` of its edges outside its community. The defaults generate
    reliably (checked for seeds 0..99); networkx's generator can fail or loop for long
    on hard parameter sets, so change them with care. Give either ``min_degree`` or
    ``average_degree`` (then pass ``min_degree=None``). A node in several communities
    is labelled by the first (communities ordered by their smallest node).

    Returns:
        ``Data`` with x [N, feature_dim], y [N], num_classes, name "lfr".
    """
    if average_degree is not None:
        min_degree = None
    try:
        graph = nx.LFR_benchmark_graph(
            n_nodes,
            tau1,
            tau2,
            mu,
            average_degree=average_degree,
            min_degree=min_degree,
            max_degree=max_degree,
            min_community=min_community,
            max_community=max_community,
            seed=seed,
        )
    except nx.ExceededMaxIterations as err:
        raise ValueError(
            f"networkx could not generate an LFR graph with these parameters ({err}); try "
            "another seed, a larger min_community/max_community or smaller max_degree"
        ) from err
    communities = {frozenset(graph.nodes[v]["community"]) for v in graph}
    ordered = sorted(communities, key=min)
    y = np.full(n_nodes, -1, dtype=np.int64)
    for label, members in reversed(list(enumerate(ordered))):
        y[list(members)] = label  # reversed: the first community wins on overlap
    edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2).T
    rng = np.random.default_rng(seed)
    x = community_features(y, feature_dim, feature_signal, rng)
    return finalize_graph(edges, n_nodes, name="lfr", x=x, y=y, num_classes=len(ordered))
