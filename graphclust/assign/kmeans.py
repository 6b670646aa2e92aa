"""k-means in torch, on the device of its input (a GPU k-means for label-free searches).

Lloyd's algorithm from k-means++ starts (Arthur and Vassilvitskii, 2007), ``n_init``
seeded restarts, the lowest inertia kept: the algorithm scikit-learn's ``KMeans`` runs,
written with tensor operations so that it runs where the embeddings already are. On a
GPU this avoids the host copy and the single-threaded CPU runs that dominate a k-means
search over many K at a wide embedding (DAG's ``selection="readout"`` runs one search
per evaluation).

:func:`fit_kmeans` is the one k-means entry point of the toolkit's methods: scikit-learn
on the host for CPU tensors (the results every CPU benchmark recorded), this torch
k-means for tensors on a GPU, or either on request.

Distances use ||x||^2 - 2 x.c + ||c||^2 in chunks of rows, so the memory is
O(chunk x K), never N x N. A cluster that loses all its points is restarted at the
point farthest from its centre, as scikit-learn does.

Determinism: the starts come from a ``torch.Generator`` seeded with ``seed``; on a CPU a
seed gives the same result every run. The partitions are not scikit-learn's bit for
bit (different random streams), but reach the same inertia on separated data and a
comparable one in general (tests/assign/test_kmeans.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# rows per distance block: 4096 x K floats at a time
CHUNK_ROWS = 4096


@dataclass
class KMeansResult:
    """labels [N] in 0..K-1, centroids [K, d], inertia (sum of squared distances to the
    assigned centres) and the Lloyd iterations of the kept restart."""

    labels: torch.Tensor
    centroids: torch.Tensor
    inertia: float
    n_iter: int


def _nearest(x: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest centre and the squared distance to it, for every row."""
    c_sq = (centroids * centroids).sum(1)
    labels, dists = [], []
    for start in range(0, x.size(0), CHUNK_ROWS):
        block = x[start : start + CHUNK_ROWS]
        d = (block * block).sum(1, keepdim=True) - 2.0 * block @ centroids.T + c_sq
        best, idx = d.min(dim=1)
        labels.append(idx)
        dists.append(best.clamp_min(0.0))
    return torch.cat(labels), torch.cat(dists)


def nearest_centroids(
    x: torch.Tensor, centroids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest centre [N] and the squared distance to it [N], for every row
    of ``x`` [N, d] (chunks of rows: never an N x N or N x K x d tensor)."""
    return _nearest(x, centroids)


def restart_empty_clusters(
    centroids: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, sq_dists: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move every centre that no point is assigned to onto a point far from its centre.

    The ``E`` empty clusters take the ``E`` points with the largest squared distance to
    their own centre (scikit-learn's rule for Lloyd's algorithm; PamC applies it during
    training so that self-training cannot silently shrink K).

    Args:
        centroids: ``[K, d]`` centres.
        x: ``[N, d]`` points.
        labels: ``[N]`` index of each point's centre.
        sq_dists: ``[N]`` squared distance of each point to its centre.

    Returns:
        The centres (a new tensor when some moved, else ``centroids`` itself) and the
        LongTensor of the empty clusters' indices (empty when none).
    """
    counts = torch.bincount(labels, minlength=centroids.size(0))
    empty = (counts == 0).nonzero().flatten()
    if empty.numel():
        far = sq_dists.topk(min(empty.numel(), x.size(0))).indices
        empty = empty[: far.numel()]
        centroids = centroids.clone()
        centroids[empty] = x[far].to(centroids.dtype)
    return centroids, empty


def _plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ starts: each next centre drawn with probability proportional to the
    squared distance to the nearest centre chosen so far."""
    n = x.size(0)
    first = torch.randint(n, (1,), generator=generator, device=x.device)
    centres = [x[first[0]]]
    _, closest = _nearest(x, x[first])
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:  # every point sits on a centre: any point will do
            pick = torch.randint(n, (1,), generator=generator, device=x.device)[0]
        else:
            pick = torch.multinomial(closest / total, 1, generator=generator)[0]
        centres.append(x[pick])
        _, d_new = _nearest(x, x[pick].unsqueeze(0))
        closest = torch.minimum(closest, d_new)
    return torch.stack(centres)


def _lloyd(
    x: torch.Tensor, centroids: torch.Tensor, max_iter: int, tol: float
) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    k = centroids.size(0)
    # scikit-learn's tolerance: relative to the mean feature variance
    threshold = tol * float(x.var(dim=0).mean()) if x.size(0) > 1 else 0.0
    labels, dists = _nearest(x, centroids)
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=k).to(x.dtype)
        new, _ = restart_empty_clusters(sums / counts.clamp_min(1.0)[:, None], x, labels, dists)
        shift = float(((new - centroids) ** 2).sum())
        centroids = new
        labels, dists = _nearest(x, centroids)
        if shift <= threshold:
            break
    return labels, centroids, float(dists.sum()), n_iter


def kmeans(
    x: torch.Tensor,
    n_clusters: int,
    n_init: int = 5,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
) -> KMeansResult:
    """Cluster the rows of ``x`` into ``n_clusters`` groups, on ``x``'s device.

    Args:
        x: [N, d] floating point, finite.
        n_clusters: K in [1, N].
        n_init: k-means++ restarts; the lowest inertia wins.
        max_iter: Lloyd iterations per restart at most.
        tol: stop when the centres move less (squared, summed) than ``tol`` x the mean
            feature variance, as scikit-learn does.
        seed: seed of the starts.

    Raises:
        ValueError: ``x`` not [N, d] floating point or not finite, ``n_clusters``
            outside [1, N], ``n_init`` or ``max_iter`` below 1.
    """
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"x must be a floating point [N, d] tensor, got {tuple(x.shape)}")
    n = x.size(0)
    if not isinstance(n_clusters, int) or not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters must be an integer in [1, {n}] (N), got {n_clusters!r}")
    if n_init < 1 or max_iter < 1:
        raise ValueError(f"n_init and max_iter must be at least 1, got {n_init}, {max_iter}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or inf; k-means cannot cluster it")
    points = x.detach().float()
    generator = torch.Generator(device=points.device).manual_seed(seed)
    best: KMeansResult | None = None
    for _ in range(n_init):
        start = _plus_plus(points, n_clusters, generator)
        labels, centroids, inertia, n_iter = _lloyd(points, start, max_iter, tol)
        if best is None or inertia < best.inertia:
            best = KMeansResult(labels, centroids, inertia, n_iter)
    assert best is not None  # n_init >= 1
    return best


BACKENDS = ("auto", "sklearn", "torch")


def fit_kmeans(
    x: torch.Tensor,
    n_clusters: int,
    n_init: int = 5,
    seed: int = 0,
    max_iter: int = 300,
    backend: str = "auto",
) -> KMeansResult:
    """k-means of the rows of ``x`` by scikit-learn or by :func:`kmeans`.

    Args:
        x: [N, d] floating point. scikit-learn clusters it in its own dtype (pass
            float64 for double-precision centres).
        n_clusters, n_init, seed, max_iter: as in scikit-learn's ``KMeans``
            (``random_state=seed``).
        backend: "sklearn" (on the host), "torch" (on ``x``'s device) or "auto"
            ("torch" when ``x`` is on a GPU, else "sklearn").

    Returns:
        :class:`KMeansResult` with labels (long, on the host for "sklearn", on ``x``'s
        device for "torch") and float32 centroids.

    Raises:
        ValueError: an unknown backend, or what the chosen backend refuses.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "torch" if x.is_cuda else "sklearn"
    if backend == "torch":
        return kmeans(x, n_clusters, n_init=n_init, max_iter=max_iter, seed=seed)
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed)
    labels = km.fit_predict(x.detach().cpu().numpy())
    return KMeansResult(
        torch.from_numpy(labels.astype(np.int64)),
        torch.from_numpy(km.cluster_centers_).float(),
        float(km.inertia_),
        int(km.n_iter_),
    )


__all__ = [
    "BACKENDS",
    "KMeansResult",
    "fit_kmeans",
    "kmeans",
    "nearest_centroids",
    "restart_empty_clusters",
]
