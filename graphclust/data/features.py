"""Node features for graphs that have none: placeholders and structural embeddings.

A graph without attributes still needs an ``x`` for feature-based methods. The kinds:

* ``"identity"``: the identity [N, N]; every node is its own feature. A *placeholder*:
  it says nothing about the graph, so k-means on it is meaningless and GNN encoders
  learn from the edges alone.
* ``"degree"``: one-hot of ``min(degree, MAX_DEGREE_FEATURE)`` [N, 64]; also a
  placeholder (nodes of equal degree are indistinguishable).
* ``"laplacian"``: the ``dim`` leading eigenvectors of the normalised Laplacian
  ``L = I - D^-1/2 A D^-1/2`` (smallest eigenvalues), computed sparsely with ARPACK
  (``scipy.sparse.linalg.eigsh``): the spectral embedding, which k-means can cluster.
* ``"randomwalk"``: a cheap random-projection embedding of 1..3-step random-walk
  neighbourhoods (FastRP-like, Chen et al. 2019): ``mean_k P^k R`` with
  ``P = D^-1 A`` and ``R`` a seeded Gaussian [N, dim]; O(E dim), no eigensolver.
* ``"auto"``: what readers give by default: identity up to
  :data:`IDENTITY_MAX_NODES` nodes, else degree (an N x N identity would not fit).

:data:`PLACEHOLDER_KINDS` lists the kinds that carry no usable signal for clustering
features; ``check_graph`` warns when a feature-based method runs on them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import eigsh

#: Graphs up to this many nodes get identity features under ``"auto"``; larger ones get
#: one-hot degree features.
IDENTITY_MAX_NODES = 2048
#: Degrees at or above this value share the last one-hot degree column.
MAX_DEGREE_FEATURE = 63
#: Every kind :func:`structural_features` builds.
FEATURE_KINDS = ("auto", "identity", "degree", "laplacian", "randomwalk")
#: Kinds that are stand-ins rather than information (warned about by check_graph).
PLACEHOLDER_KINDS = frozenset({"identity", "degree"})
#: Default width of the ``laplacian`` and ``randomwalk`` embeddings.
DEFAULT_DIM = 32


def _adjacency(edge_index: torch.Tensor, num_nodes: int) -> sp.csr_matrix:
    """Binary symmetric CSR adjacency (duplicates merged) of an undirected edge_index."""
    ei = edge_index.detach().cpu().numpy()
    adj = sp.csr_matrix(
        (np.ones(ei.shape[1], dtype=np.float64), (ei[0], ei[1])), shape=(num_nodes, num_nodes)
    )
    adj.data[:] = 1.0  # repeated entries were summed
    return adj


def _degree_one_hot(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    deg = torch.bincount(edge_index[0].cpu(), minlength=num_nodes).clamp(max=MAX_DEGREE_FEATURE)
    x = torch.zeros(num_nodes, MAX_DEGREE_FEATURE + 1, dtype=torch.float32)
    x[torch.arange(num_nodes), deg] = 1.0
    return x


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Eigenvectors are defined up to sign: make each column's largest entry positive."""
    rows = np.abs(vectors).argmax(axis=0)
    signs = np.sign(vectors[rows, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return vectors * signs


def _laplacian(adj: sp.csr_matrix, dim: int, seed: int) -> np.ndarray:
    n = adj.shape[0]
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(deg)
    inv_sqrt[deg > 0] = deg[deg > 0] ** -0.5  # isolated nodes: zero row, eigenvalue 1 of L
    m = sp.diags(inv_sqrt) @ adj @ sp.diags(inv_sqrt)
    k = min(dim, n - 1)
    if n <= 64:  # ARPACK needs k < n and is pointless on tiny graphs
        values, vectors = np.linalg.eigh(m.toarray())
        vectors = vectors[:, ::-1][:, :k]
    else:
        # Smallest eigenvalues of L = largest of D^-1/2 A D^-1/2; a seeded start vector
        # makes the result reproducible.
        v0 = np.random.default_rng(seed).standard_normal(n)
        values, vectors = eigsh(m, k=k, which="LA", v0=v0)
        vectors = vectors[:, np.argsort(-values)]
    return _fix_signs(vectors)


def _random_walk(adj: sp.csr_matrix, dim: int, seed: int, steps: int = 3) -> np.ndarray:
    n = adj.shape[0]
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / deg[deg > 0]
    walk = sp.diags(inv) @ adj  # row-stochastic transition P = D^-1 A
    h = np.random.default_rng(seed).standard_normal((n, dim)) / np.sqrt(dim)
    total = np.zeros_like(h)
    for _ in range(steps):
        h = walk @ h
        total += h
    total /= steps
    # Standardise columns so that no projection dominates a distance-based method.
    std = total.std(axis=0)
    std[std == 0] = 1.0
    return (total - total.mean(axis=0)) / std


def structural_features(
    edge_index: torch.Tensor,
    num_nodes: int,
    kind: str = "laplacian",
    dim: int = DEFAULT_DIM,
    seed: int = 0,
) -> tuple[torch.Tensor, str]:
    """Features computed from the graph alone.

    Args:
        edge_index: [2, E] undirected edges (both directions listed).
        num_nodes: N (isolated nodes allowed).
        kind: one of :data:`FEATURE_KINDS` (see the module docstring).
        dim: width of ``laplacian`` (capped at N - 1) and ``randomwalk``.
        seed: seed of the ARPACK start vector / the random projection.

    Returns:
        (float32 [N, D] features, the kind actually built: ``"auto"`` resolves to
        ``"identity"`` or ``"degree"``).
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"feature kind {kind!r} is unknown; choose one of {FEATURE_KINDS}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if kind == "auto":
        kind = "identity" if num_nodes <= IDENTITY_MAX_NODES else "degree"
    if kind == "identity":
        return torch.eye(num_nodes, dtype=torch.float32), kind
    if kind == "degree":
        return _degree_one_hot(edge_index, num_nodes), kind
    if num_nodes < 2:
        raise ValueError(f"{kind} features need at least 2 nodes, got {num_nodes}")
    adj = _adjacency(edge_index, num_nodes)
    out = _laplacian(adj, dim, seed) if kind == "laplacian" else _random_walk(adj, dim, seed)
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)), kind
