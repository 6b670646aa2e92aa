"""Exact k-nearest-neighbour graphs from feature vectors, in bounded memory.

Distances are computed one block of query rows at a time (``chunk x N``), never as a
full N x N matrix, on whatever device ``x`` lives on; ``torch.topk`` picks the
neighbours; one score buffer is reused across chunks. An optional faiss backend does
the same search with faiss' exact flat index; ``backend="auto"`` picks it on CPU for
float32 inputs from ``FAISS_MIN_N`` points (1.4-4.6x faster than the torch path at
N >= 10k on 2 cores, experiments/knn/README.md). On CUDA the Triton backend
(:mod:`graphclust.graph.knn_triton`) runs the search as one tiled kernel that keeps a
running top-k per query tile and never writes score rows; ``backend="auto"`` picks it
there where it applies. Measured on an H200 for N = 1M,
d = 128, k = 10: 0.95 s in bfloat16 and 2.2 s for exact float32 results, against about
11 s and 26 s for the chunked torch path (experiments/knn/README.md).
"""

from __future__ import annotations

import functools

import torch
from torch_geometric.utils import coalesce

from graphclust.graph import knn_triton

METRICS = ("cosine", "euclidean")
BACKENDS = ("torch", "faiss", "triton", "auto")
#: Triton float32 modes: "exact" = TF32 candidates re-ranked exactly (see _topk_triton).
PRECISIONS = ("exact", *knn_triton.PRECISIONS)
#: Bound on |TF32 score - float32 score| / (|q| |d|): inputs truncated to 10 mantissa
#: bits (2^-10 each, so 2^-9 + 2^-20 per product, summed at most |q||d| by
#: Cauchy-Schwarz) plus float32 accumulation, ``(D + 1) 2^-23``, added separately.
_TF32_PRODUCT_ERROR = 2.0**-9 + 2.0**-20
#: Default chunk: rows such that one chunk's distance block holds about 2**26 entries
#: (256 MB in float32).
_BLOCK_ENTRIES = 1 << 26
#: ``backend="auto"`` on CPU uses faiss' flat index from this many points and this many
#: dimensions on (float32 input): below, its set-up and heap cost more than it saves
#: (measured crossover, 1 thread: N = 2-3k at D = 64-128, later at D <= 16;
#: experiments/knn/README.md).
FAISS_MIN_N = 5000
FAISS_MIN_D = 16


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
    x: torch.Tensor,
    k: int,
    metric: str,
    chunk_size: int | None,
    queries: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbour indices and distances, both [Q, k], nearest first, self excluded.

    ``queries=(start, stop)`` searches only for those rows (default all N); the
    benchmarks time query subsets with it.
    """
    n = x.size(0)
    first, last = queries if queries is not None else (0, n)
    chunk = chunk_size or max(1, _BLOCK_ENTRIES // n)
    if metric == "cosine":
        # Zero rows stay zero: cosine distance 1 to everything, rather than NaN.
        base = torch.nn.functional.normalize(x, dim=1)
    else:
        base = x
        sq_norms = (x * x).sum(dim=1)
    indices, distances = [], []
    # One score buffer for all chunks: a fresh [chunk, N] block per chunk costs page
    # faults on every allocation (on CPU about a third of the matmul's time at N = 100k).
    buffer = torch.empty(min(chunk, last - first), n, dtype=x.dtype, device=x.device)
    for start in range(first, last, chunk):
        stop = min(start + chunk, last)
        rows = torch.arange(stop - start, device=x.device)
        score = buffer[: stop - start]
        torch.mm(base[start:stop], base.T, out=score)  # [chunk, N]
        if metric == "euclidean":
            # Largest -d^2 = smallest distance; the constant |q|^2 does not change ranks
            # but is kept so the returned distances are real distances. In place, in the
            # order (2 s - |q|^2) - |d|^2.
            score.mul_(2).sub_(sq_norms[start:stop, None]).sub_(sq_norms[None, :])
        score[rows, rows + start] = -torch.inf
        top, idx = score.topk(k, dim=1)
        dist = 1.0 - top if metric == "cosine" else (-top).clamp_min(0).sqrt()
        indices.append(idx)
        distances.append(dist)
    return torch.cat(indices), torch.cat(distances)


def _topk_triton(
    x: torch.Tensor,
    k: int,
    metric: str,
    precision: str,
    queries: tuple[int, int] | None = None,
    prepared: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Triton search; ``precision="exact"`` on float32 runs one TF32 pass for
    ``min(MAX_K, N - 1)`` candidates, scores them exactly and certifies each row.

    A row is certified when its exact k-th best candidate score beats the TF32 score
    of its last candidate by more than the TF32 error bound: no point outside the
    candidates can then be closer. Uncertified rows are searched exactly again. 16-bit
    inputs need none of this: their products are exact in the kernel's float32 sums.
    Returns ``(indices long [Q, k], distances [Q, k] in x.dtype)``, nearest first.
    """
    kernel_precision = "tf32" if precision == "exact" else precision
    knn_triton.check_triton_inputs(x, k, kernel_precision)
    if precision != "exact" or x.dtype != torch.float32:
        return knn_triton.topk_triton(x, k, metric, kernel_precision, queries, prepared)
    n, d = x.shape
    start, stop = queries if queries is not None else (0, n)
    base, sq_norms = prepared if prepared is not None else knn_triton.prepare(x, metric)
    n_cand = min(knn_triton.MAX_K, n - 1)
    cand, approx = knn_triton.candidates(x, n_cand, metric, "tf32", (start, stop), (base, sq_norms))
    nbr, score = _rerank(base, sq_norms, cand, start, k, metric)
    # Largest possible TF32 error of any score of the row (euclidean: 2 q.d).
    scale = sq_norms[start:stop].sqrt() * sq_norms.max().sqrt()
    bound = (_TF32_PRODUCT_ERROR + (d + 1) * 2.0**-23) * scale * (2 if metric == "euclidean" else 1)
    certified = score[:, k - 1] > approx[:, -1] + bound
    if n_cand == n - 1:  # every other point is a candidate
        certified[:] = True
    redo = (~certified).nonzero().squeeze(1)
    if redo.numel():
        nbr[redo], score[redo] = _exact_rows(base, sq_norms, redo + start, k, metric)
    dist = knn_triton.scores_to_distances(score, sq_norms[start:stop], metric)
    return nbr, dist.to(x.dtype)


def _rerank(
    base: torch.Tensor, sq_norms: torch.Tensor, cand: torch.Tensor, start: int, k: int, metric: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact float32 scores of candidates ``cand`` [Q, C] of rows ``start ..``: the best
    ``k`` as ``(indices [Q, k], scores [Q, k])``, best first. Elementwise products and
    sums, so no TF32 setting can touch them; memory bounded by _BLOCK_ENTRIES."""
    n_q, n_cand = cand.shape
    chunk = max(1, _BLOCK_ENTRIES // (n_cand * base.size(1)))
    nbrs, scores = [], []
    for first in range(0, n_q, chunk):
        rows = cand[first : first + chunk]  # [c, C]
        queries = base[start + first : start + first + rows.size(0)]  # [c, D]
        score = (base[rows] * queries[:, None, :]).sum(dim=2)  # [c, C]
        if metric == "euclidean":
            score = 2 * score - sq_norms[rows]
        top, pos = score.topk(k, dim=1)
        nbrs.append(rows.gather(1, pos))
        scores.append(top)
    return torch.cat(nbrs), torch.cat(scores)


def _exact_rows(
    base: torch.Tensor, sq_norms: torch.Tensor, rows: torch.Tensor, k: int, metric: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact float32 top-k ``(indices [R, k], scores [R, k])`` of the given rows [R]
    against all of ``base``, self excluded, with TF32 matmuls switched off."""
    n = base.size(0)
    chunk = max(1, _BLOCK_ENTRIES // n)
    allow_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    nbrs, scores = [], []
    try:
        for first in range(0, rows.numel(), chunk):
            ids = rows[first : first + chunk]
            score = base[ids] @ base.T  # [c, N]
            if metric == "euclidean":
                score = 2 * score - sq_norms[None, :]
            score[torch.arange(ids.numel(), device=ids.device), ids] = -torch.inf
            top, idx = score.topk(k, dim=1)
            nbrs.append(idx)
            scores.append(top)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    return torch.cat(nbrs), torch.cat(scores)


def _topk_faiss(x: torch.Tensor, k: int, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            "backend='faiss' needs the faiss package: pip install faiss-cpu (or faiss-gpu), "
            "or use backend='torch'"
        ) from err
    # faiss runs its own OpenMP pool; keep it within the thread budget torch was given.
    faiss.omp_set_num_threads(torch.get_num_threads())
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


@functools.cache
def faiss_available() -> bool:
    """Whether the faiss package imports (checked once per process)."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(x: torch.Tensor, k: int, backend: str) -> str:
    """The backend ``knn_graph`` uses; any name but ``"auto"`` is returned as given.

    ``"auto"`` picks the fastest exact backend for the device:

    - CUDA: ``"triton"`` for a dtype the kernel supports with ``k <= knn_triton.MAX_K``
      when triton imports, else ``"torch"``.
    - CPU: ``"faiss"`` for float32 input with ``N >= FAISS_MIN_N`` and
      ``D >= FAISS_MIN_D`` when faiss imports (its flat index was 1.4-4.6x faster than
      the torch path from N = 10k on, experiments/knn), else ``"torch"``. Other dtypes
      stay on ``"torch"``: faiss computes in float32, which would round float64 input.
    """
    if backend != "auto":
        return backend
    if x.device.type == "cuda":
        use_triton = (
            x.dtype in knn_triton.DTYPES and k <= knn_triton.MAX_K and knn_triton.triton_available()
        )
        return "triton" if use_triton else "torch"
    n, d = x.shape
    use_faiss = (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and n >= FAISS_MIN_N
        and d >= FAISS_MIN_D
        and faiss_available()
    )
    return "faiss" if use_faiss else "torch"


def knn_graph(
    x: torch.Tensor,
    k: int,
    metric: str = "cosine",
    chunk_size: int | None = None,
    backend: str = "auto",
    mutual: bool = False,
    symmetric: bool = True,
    return_distances: bool = False,
    precision: str = "exact",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Exact k-nearest-neighbour graph of the rows of ``x``.

    Each point ``i`` is linked to its ``k`` nearest other points ``j`` (itself
    excluded; ties broken by ``torch.topk``). Memory is ``O(chunk_size * N)`` for the
    torch path, ``O(N * k)`` plus the kernel's registers for Triton.

    Args:
        x: [N, D] floating-point features, on any device (the result is on it too).
        k: neighbours per point, ``1 <= k < N``.
        metric: ``"cosine"`` (distance ``1 - cos``) or ``"euclidean"``.
        chunk_size: query rows per block of the torch path; default keeps a block near
            2**26 entries. Unused by the other backends.
        backend: ``"torch"`` (chunked matrix products, any device), ``"faiss"`` (exact
            flat index; needs the faiss package; computes on CPU in float32),
            ``"triton"`` (tiled kernel with a running top-k; CUDA, float32/bfloat16/
            float16, ``k <= 32``; same neighbours as ``"torch"`` up to ties) or
            ``"auto"`` (the default; see :func:`resolve_backend`): the Triton kernel on
            a GPU where it applies; on CPU faiss for float32 inputs from
            ``FAISS_MIN_N`` points and ``FAISS_MIN_D`` dimensions when faiss is
            installed; else the chunked torch path. The first Triton call for a new
            (D, k, metric, dtype) compiles and tunes the kernel, a one-off cost of
            seconds.
        mutual: keep ``i - j`` only when each is among the other's ``k`` nearest;
            the result is symmetric and a node may end up with no edge.
        symmetric: (ignored when ``mutual``) return the union of ``i -> j`` and
            ``j -> i``, coalesced; when False, return the directed kNN edges.
        return_distances: also return the distance of every returned edge.
        precision: triton backend with float32 input only: ``"exact"`` (one TF32
            tensor-core pass keeps 32 candidates, which are re-scored in float32; rows
            the TF32 error bound cannot certify are searched again exactly: the float32
            result, fast), ``"ieee"`` (float32 products on CUDA cores; slow),
            ``"tf32x3"`` (3 TF32 passes, close to float32) or ``"tf32"`` (one pass;
            near-ties may differ from the float32 result).

    Returns:
        ``edge_index`` long [2, E]. Directed (``symmetric=False``): row 0 is the point,
        row 1 its neighbour, E = N * k, grouped by point, nearest first. Otherwise
        sorted and coalesced. With ``return_distances``: ``(edge_index, dist [E])``.
    """
    x, n = _validate(x, k, metric, backend)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    backend = resolve_backend(x, k, backend)
    with torch.no_grad():
        if backend == "faiss":
            nbr, dist = _topk_faiss(x, k, metric)
        elif backend == "triton":
            nbr, dist = _topk_triton(x, k, metric, precision)
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
