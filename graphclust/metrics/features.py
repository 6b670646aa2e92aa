"""Label-free scores of a partition of feature vectors: Calinski-Harabasz, silhouette.

Both are used for model selection without labels (DAG keeps the checkpoint with the
highest modularity x Calinski-Harabasz), so degenerate partitions (one cluster, every
point alone) return a documented value instead of raising.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.metrics import silhouette_score
from torch_geometric.utils import scatter

from graphclust.metrics._inputs import as_labels, relabel


def _as_features(x: Any) -> torch.Tensor:
    """Features [N, D] as a CPU tensor of the caller's float type, checked finite."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor or numpy array [N, D], got {type(x).__name__}")
    if x.is_sparse:
        x = x.to_dense()
    if x.dim() != 2:
        hint = "; for one feature per sample use x.unsqueeze(1)" if x.dim() == 1 else ""
        raise ValueError(f"x must have shape [N, D], got {list(x.shape)}{hint}")
    if x.size(0) == 0 or x.size(1) == 0:
        raise ValueError(f"x is empty (shape {list(x.shape)})")
    if not (x.is_floating_point() or x.dtype in (torch.int32, torch.int64, torch.uint8)):
        raise TypeError(f"x must hold numbers, got dtype {x.dtype}")
    out = x.detach().cpu()
    if out.is_floating_point() and not bool(torch.isfinite(out).all()):
        raise ValueError("x contains NaN or inf; impute or drop those rows first")
    return out


def _checked(x: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor, int]:
    features = _as_features(x)
    codes, n_clusters = relabel(as_labels(labels, "labels", num_nodes=features.size(0)))
    return features, codes, n_clusters


def calinski_harabasz(x: Any, labels: Any) -> float:
    """Calinski-Harabasz index (variance ratio) of a partition of x, in [0, inf).

    CH = [B / (K - 1)] / [W / (N - K)], B the between-cluster and W the within-cluster
    sum of squared distances to the means; higher is better. Same value as
    scikit-learn's ``calinski_harabasz_score`` where that is defined, computed in float64
    with scatter sums (O(N D) memory).

    Degenerate cases, which scikit-learn rejects, return 0.0 so that label-free model
    selection never prefers them: a single cluster (K = 1) and every sample alone
    (K = N). As in scikit-learn, W = 0 with 1 < K < N (each cluster a repeated point)
    returns 1.0.

    Args:
        x: features [N, D] (tensor or numpy array).
        labels: cluster labels [N], any integer values.
    """
    features, codes, n_clusters = _checked(x, labels)
    n = features.size(0)
    if n_clusters == 1 or n_clusters == n:
        return 0.0
    features = features.double()
    sizes = torch.bincount(codes, minlength=n_clusters).double()
    means = scatter(features, codes, dim=0, dim_size=n_clusters, reduce="sum") / sizes[:, None]
    overall = features.mean(dim=0)
    between = float((sizes * ((means - overall) ** 2).sum(dim=1)).sum())
    within = float(((features - means[codes]) ** 2).sum())
    if within == 0.0:
        return 1.0
    return between * (n - n_clusters) / (within * (n_clusters - 1))


def silhouette(
    x: Any,
    labels: Any,
    sample_size: int | None = 2000,
    seed: int = 0,
    metric: str = "euclidean",
) -> float:
    """Mean silhouette coefficient, in [-1, 1], on a seeded random subsample.

    The exact silhouette needs all N^2 distances; this takes ``sample_size`` samples
    uniformly without replacement (numpy ``default_rng(seed)``) and computes the exact
    silhouette of that subset with scikit-learn (``silhouette_score``, which works in
    memory-bounded chunks). With ``sample_size=None`` or ``sample_size >= N`` the whole
    set is used and the value equals scikit-learn's exact score.

    Degenerate cases return 0.0 instead of raising: one cluster in the (sub)sample, or
    every sampled point in its own cluster (scikit-learn already gives a singleton
    cluster's point the value 0).

    Args:
        x: features [N, D] (tensor or numpy array).
        labels: cluster labels [N], any integer values.
        sample_size: points to sample, at least 2; None for all of them.
        seed: seed of the subsample, so that repeated calls agree.
        metric: any metric scikit-learn's ``pairwise_distances`` accepts, e.g. "cosine".
    """
    features, codes, _ = _checked(x, labels)
    n = features.size(0)
    if sample_size is not None and (isinstance(sample_size, bool) or int(sample_size) < 2):
        raise ValueError(f"sample_size must be an integer >= 2 or None, got {sample_size!r}")
    if sample_size is not None and int(sample_size) < n:
        chosen = np.random.default_rng(seed).choice(n, size=int(sample_size), replace=False)
        index = torch.from_numpy(chosen)
        features, codes = features[index], codes[index]
    # float64 whatever the input dtype, so the score does not depend on how x was stored.
    points, assigned = features.double().numpy(), codes.numpy()
    n_distinct = np.unique(assigned).size
    if n_distinct == 1 or n_distinct == assigned.size:
        return 0.0
    return float(silhouette_score(points, assigned, metric=metric))
