"""Exact k-nearest-neighbour graphs from feature vectors, in bounded memory.

Distances are computed one block of query rows at a time (``chunk x N``), never as a
full N x N matrix, on whatever device ``x`` lives on; ``torch.topk`` picks the
neighbours. An optional faiss backend does the same search with faiss' exact flat
index.
"""

from __future__ import annotations

import torch
from torch_geometric.utils import coalesce

METRICS = ("cosine", "euclidean")
BACKENDS = ("torch", "faiss")
#: Default chunk: rows such that one chunk's distance block holds about 2**26 entries
#: (256 MB in float32).
_BLOCK_ENTRIES = 1 << 26


def _validate(x: object, k: object, metric: str, backend: str) -> tuple[torch.Tensor, int]:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor [N, D], got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"x must have shape [N, D], got {list(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be floating point, got {x.dtype}; convert it with x.float()")
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k must be an integer, got {k!r}")
    n = x.size(0)
    if k < 1:
        raise ValueError(f"k={k}: need at least one neighbour (k >= 1)")
    if k >= n:
        raise ValueError(f"k={k} but there are only {n} points: k must be below N (self excluded)")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or inf; impute or drop those rows first")
    return x, n


def _topk_torch(
    x: torch.Tensor, k: int, metric: str, chunk_size: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbour indices and distances, both [N, k], nearest first, self excluded."""
    n = x.size(0)
    chunk = chunk_size or max(1, _BLOCK_ENTRIES // n)
    if metric == "cosine":
        # Zero rows stay zero: cosine distance 1 to everything, rather than NaN.
        base = torch.nn.functional.normalize(x, dim=1)
    else:
        base = x
        sq_norms = (x * x).sum(dim=1)
    indices, distances = [], []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = torch.arange(stop - start, device=x.device)
        sim = base[start:stop] @ base.T  # [chunk, N]
        if metric == "cosine":
            score = sim
        else:
            # Largest -d^2 = smallest distance; the constant |q|^2 does not change ranks
            # but is kept so the returned distances are real distances.
            score = 2 * sim - sq_norms[start:stop, None] - sq_norms[None, :]
        score[rows, rows + start] = -torch.inf
        top, idx = score.topk(k, dim=1)
        dist = 1.0 - top if metric == "cosine" else (-top).clamp_min(0).sqrt()
        indices.append(idx)
        distances.append(dist)
    return torch.cat(indices), torch.cat(distances)


def _topk_faiss(x: torch.Tensor, k: int, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            "backend='faiss' needs the faiss package: pip install faiss-cpu (or faiss-gpu), "
            "or use backend='torch'"
        ) from err
    base = x.detach().to("cpu", torch.float32)
    if metric == "cosine":
        base = torch.nn.functional.normalize(base, dim=1)
    base_np = base.contiguous().numpy()
    index = (
        faiss.IndexFlatIP(base_np.shape[1])
        if metric == "cosine"
        else faiss.IndexFlatL2(base_np.shape[1])
    )
    index.add(base_np)
    score, idx = index.search(base_np, k + 1)
    score, idx = torch.from_numpy(score), torch.from_numpy(idx).long()
    # Drop each row's own entry; duplicates of a point may push it off the first slot,
    # and when it is missing entirely the (k+1)-th neighbour is dropped instead.
    n = base.size(0)
    is_self = idx == torch.arange(n)[:, None]
    no_self = ~is_self.any(dim=1)
    is_self[no_self, k] = True
    keep = ~is_self
    idx = idx[keep].view(n, k)
    score = score[keep].view(n, k)
    dist = 1.0 - score if metric == "cosine" else score.clamp_min(0).sqrt()
    return idx.to(x.device), dist.to(device=x.device, dtype=x.dtype)


def knn_graph(
    x: torch.Tensor,
    k: int,
    metric: str = "cosine",
    chunk_size: int | None = None,
    backend: str = "torch",
    mutual: bool = False,
    symmetric: bool = True,
    return_distances: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Exact k-nearest-neighbour graph of the rows of ``x``.

    Each point ``i`` is linked to its ``k`` nearest other points ``j`` (itself
    excluded; ties broken by ``torch.topk``). Memory is ``O(chunk_size * N)``.

    Args:
        x: [N, D] floating-point features, on any device (the result is on it too).
        k: neighbours per point, ``1 <= k < N``.
        metric: ``"cosine"`` (distance ``1 - cos``) or ``"euclidean"``.
        chunk_size: query rows per block; default keeps a block near 2**26 entries.
        backend: ``"torch"`` (chunked matrix products) or ``"faiss"`` (exact flat
            index; needs the faiss package; computes on CPU in float32).
        mutual: keep ``i - j`` only when each is among the other's ``k`` nearest;
            the result is symmetric and a node may end up with no edge.
        symmetric: (ignored when ``mutual``) return the union of ``i -> j`` and
            ``j -> i``, coalesced; when False, return the directed kNN edges.
        return_distances: also return the distance of every returned edge.

    Returns:
        ``edge_index`` long [2, E]. Directed (``symmetric=False``): row 0 is the point,
        row 1 its neighbour, E = N * k, grouped by point, nearest first. Otherwise
        sorted and coalesced. With ``return_distances``: ``(edge_index, dist [E])``.
    """
    x, n = _validate(x, k, metric, backend)
    with torch.no_grad():
        if backend == "faiss":
            nbr, dist = _topk_faiss(x, k, metric)
        else:
            nbr, dist = _topk_torch(x, k, metric, chunk_size)
        src = torch.arange(n, device=x.device).repeat_interleave(k)
        edge_index = torch.stack([src, nbr.reshape(-1)])
        dist = dist.reshape(-1)
        if mutual:
            keys = edge_index[0] * n + edge_index[1]
            reverse = edge_index[1] * n + edge_index[0]
            keep = torch.isin(reverse, keys)
            edge_index, dist = coalesce(edge_index[:, keep], dist[keep], n, reduce="min")
        elif symmetric:
            both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
            # d(i, j) and d(j, i) agree up to rounding; keep one value per pair.
            edge_index, dist = coalesce(both, torch.cat([dist, dist]), n, reduce="min")
    return (edge_index, dist) if return_distances else edge_index
