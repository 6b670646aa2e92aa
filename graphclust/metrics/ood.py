"""Out-of-distribution scores of fitted clusterers and the metrics that judge them.

Scores (higher = more likely out of distribution):

- :func:`maxquery_scores`: MaxQuery (CVPR 2023): ``s(x) = -max_k cos(z(x), c_k)``, the
  prototypes or centroids ``c_k`` of a fitted estimator (``cluster_centers_`` of
  PamC, KMeans, TransductiveClustering; the cluster head of SwAV's prototypes).
- :func:`msp_scores`: maximum soft-assignment probability baseline,
  ``s = -max_k q_k`` from ``soft_assignments_`` (Hendrycks and Gimpel's MSP).
- :func:`knn_distance_scores`: cosine distance to the ``k``-th nearest in-distribution
  embedding (Sun et al. 2022).

Metrics (out-of-distribution rows are the positive class, as in Hendrycks and Gimpel):
:func:`auroc`, :func:`aupr` (average precision) and :func:`fpr_at_tpr` (FPR95: the
fraction of in-distribution rows flagged when 95% of the out-of-distribution rows are).
Some papers take the in-distribution rows as positives for FPR95; with scores negated
and the classes swapped this function gives that number too.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from graphclust.graph.knn import knn_graph


def _check_scores(scores: Any, is_ood: Any) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.as_tensor(scores).detach().cpu().double()
    is_ood = torch.as_tensor(is_ood).detach().cpu()
    if scores.dim() != 1 or is_ood.shape != scores.shape:
        raise ValueError(
            f"scores and is_ood must be 1-D and of one length, got {list(scores.shape)} "
            f"and {list(is_ood.shape)}"
        )
    if is_ood.dtype != torch.bool:
        if is_ood.is_floating_point() or not bool(((is_ood == 0) | (is_ood == 1)).all()):
            raise ValueError("is_ood must be boolean (or 0/1): True marks out-of-distribution")
        is_ood = is_ood.bool()
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores contain NaN or inf")
    n_pos = int(is_ood.sum())
    if n_pos == 0 or n_pos == is_ood.numel():
        raise ValueError("is_ood needs both in- and out-of-distribution rows")
    return scores, is_ood


def auroc(scores: Any, is_ood: Any) -> float:
    """Area under the ROC curve of ``scores`` [N] for detecting ``is_ood`` [N] (bool).

    The Mann-Whitney statistic with tied scores counted as one half: the probability
    that a random out-of-distribution row scores above a random in-distribution row.
    0.5 is chance, 1 perfect.
    """
    scores, is_ood = _check_scores(scores, is_ood)
    # Average ranks of tied values: rank = (first + last position of the value) / 2.
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    last = counts.cumsum(0).double()
    ranks = (last - (counts.double() - 1) / 2)[inverse]
    n_pos, n_neg = int(is_ood.sum()), int((~is_ood).sum())
    u = ranks[is_ood].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def aupr(scores: Any, is_ood: Any) -> float:
    """Average precision of ``scores`` [N] for ``is_ood`` [N]: ``sum_n (R_n - R_n-1) P_n``.

    Thresholds at every distinct score, from the highest (scikit-learn's
    ``average_precision_score``). Chance level is the fraction of positives.
    """
    scores, is_ood = _check_scores(scores, is_ood)
    order = torch.argsort(scores, descending=True, stable=True)
    sorted_scores, hits = scores[order], is_ood[order].double()
    # The last row of every group of tied scores closes one threshold.
    closes = torch.ones_like(hits, dtype=torch.bool)
    closes[:-1] = sorted_scores[1:] != sorted_scores[:-1]
    tp = hits.cumsum(0)[closes]
    flagged = torch.arange(1, hits.numel() + 1, dtype=torch.double)[closes]
    recall = tp / hits.sum()
    precision = tp / flagged
    gain = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((gain * precision).sum())


def fpr_at_tpr(scores: Any, is_ood: Any, tpr: float = 0.95) -> float:
    """False-positive rate at the highest threshold that flags ``tpr`` of the OOD rows.

    With ``m`` out-of-distribution rows, the threshold is the ``ceil(tpr m)``-th largest
    of their scores; the result is the fraction of in-distribution rows scoring at or
    above it (FPR95 for ``tpr=0.95``). Lower is better.
    """
    if not 0 < tpr <= 1:
        raise ValueError(f"tpr must be in (0, 1], got {tpr!r}")
    scores, is_ood = _check_scores(scores, is_ood)
    positives = scores[is_ood].sort(descending=True).values
    # round(): 0.95 * 20 is 19.000000000000004 in floating point, whose ceil is 20.
    needed = max(1, math.ceil(round(tpr * positives.numel(), 9)))
    threshold = positives[needed - 1]
    return float((scores[~is_ood] >= threshold).double().mean())


def ood_report(scores: Any, is_ood: Any) -> dict[str, float]:
    """``{"auroc", "aupr", "fpr95"}`` of ``scores`` for ``is_ood``."""
    return {
        "auroc": auroc(scores, is_ood),
        "aupr": aupr(scores, is_ood),
        "fpr95": fpr_at_tpr(scores, is_ood, 0.95),
    }


def cluster_centres(estimator: Any) -> torch.Tensor:
    """The fitted prototypes / centroids ``[K, d]`` of ``estimator``.

    ``cluster_centers_`` where the estimator has it (PamC, KMeans,
    TransductiveClustering), else the cluster head of ``model_.prototypes`` (SwAV).
    """
    centres = getattr(estimator, "cluster_centers_", None)
    if centres is None:
        prototypes = getattr(getattr(estimator, "model_", None), "prototypes", None)
        if prototypes is not None:
            centres = prototypes.heads[0].weight
    if not isinstance(centres, torch.Tensor):
        raise ValueError(
            f"{type(estimator).__name__} has no fitted cluster centres (cluster_centers_ "
            "or model_.prototypes); fit it first, or use a method with prototypes"
        )
    return torch.as_tensor(centres).detach().float().cpu()


def _embeddings(estimator: Any, data: Any, centres: torch.Tensor) -> torch.Tensor:
    """Embeddings [N, d] in the space of the centres: fitted ones, or of new ``data``."""
    if data is None:
        z = getattr(estimator, "embeddings_", None)
        if z is None:
            raise ValueError(
                f"{type(estimator).__name__} keeps no embeddings_ (its centres live in the "
                "input space): pass data=... to score its rows"
            )
    elif hasattr(estimator, "transform"):
        z = estimator.transform(data)
    elif getattr(estimator, "embeddings_", None) is None:
        z = getattr(data, "x", data)  # an input-space method (KMeans): the features
    else:
        raise ValueError(
            f"{type(estimator).__name__} cannot embed new data (no transform); call with "
            "data=None to score the rows it was fitted on"
        )
    z = torch.as_tensor(z).detach().float().cpu()
    if z.dim() != 2 or z.size(1) != centres.size(1):
        raise ValueError(
            f"embeddings of shape {list(z.shape)} do not match centres of dimension "
            f"{centres.size(1)}"
        )
    return z


def maxquery_scores(estimator: Any, data: Any = None) -> torch.Tensor:
    """MaxQuery scores ``-max_k cos(z_i, c_k)`` [N] of a fitted estimator.

    Args:
        estimator: a fitted method with centres (see :func:`cluster_centres`).
        data: None scores the fitted rows (``embeddings_``); otherwise new input, embedded
            by ``estimator.transform`` when it has one, else taken as features
            (``data.x`` or a tensor [N, D]) for input-space methods such as KMeans.

    Returns:
        FloatTensor [N] in ``[-1, 1]``; higher means farther from every centre.
    """
    centres = cluster_centres(estimator)
    z = _embeddings(estimator, data, centres)
    similarity = F.normalize(z, dim=1) @ F.normalize(centres, dim=1).t()
    return -similarity.max(dim=1).values


def msp_scores(estimator: Any) -> torch.Tensor:
    """Maximum-softmax-probability baseline ``-max_k q_ik`` [N] from ``soft_assignments_``."""
    q = getattr(estimator, "soft_assignments_", None)
    if q is None:
        raise ValueError(f"{type(estimator).__name__} has no soft_assignments_ for MSP")
    return -torch.as_tensor(q).detach().float().cpu().max(dim=1).values


def knn_distance_scores(
    embeddings: torch.Tensor,
    reference: torch.Tensor | None = None,
    k: int = 1,
    chunk_size: int = 4096,
) -> torch.Tensor:
    """Cosine distance of every row to its ``k``-th nearest reference row (self excluded).

    Args:
        embeddings: [N, d] embeddings of all rows to score.
        reference: BoolTensor [N] marking the in-distribution rows that form the
            reference set (e.g. the training nodes); None uses every row
            (:func:`graphclust.graph.knn_graph`), the only choice for a fully
            transductive fit.
        k: which neighbour (Sun et al. use k of 1..50; larger is smoother).
        chunk_size: query rows per block (memory ``chunk_size x |reference|``).

    Returns:
        FloatTensor [N], in ``[0, 2]``; higher means farther from the reference set.
    """
    z = F.normalize(torch.as_tensor(embeddings).detach().float(), dim=1)
    if reference is None:
        _, dist = knn_graph(z, k, metric="cosine", symmetric=False, return_distances=True)
        return dist.view(-1, k)[:, -1].cpu()
    reference = torch.as_tensor(reference, device=z.device)
    if reference.dtype != torch.bool or reference.shape != (z.size(0),):
        raise ValueError("reference must be a BoolTensor [N] marking the reference rows")
    ref_rows = reference.nonzero().flatten()
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < ref_rows.numel():
        raise ValueError(f"k must be an integer in [1, {ref_rows.numel() - 1}], got {k!r}")
    ref = z[ref_rows]
    out = []
    for start in range(0, z.size(0), chunk_size):
        rows = torch.arange(start, min(start + chunk_size, z.size(0)), device=z.device)
        similarity = z[rows] @ ref.t()
        # A reference row is not its own neighbour.
        own = (rows[:, None] == ref_rows[None, :]).nonzero()
        similarity[own[:, 0], own[:, 1]] = -float("inf")
        out.append(1.0 - similarity.topk(k, dim=1).values[:, -1])
    return torch.cat(out).cpu()


__all__ = [
    "aupr",
    "auroc",
    "cluster_centres",
    "fpr_at_tpr",
    "knn_distance_scores",
    "maxquery_scores",
    "msp_scores",
    "ood_report",
]
