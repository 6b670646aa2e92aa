"""Multi-label cluster discrimination (MLCD, An et al., ECCV 2024): the loss and its labels.

A sample's ``l`` nearest cluster centres are its positive classes, every other centre a
negative one. With similarities ``s`` of the sample to the centres, the loss decouples
the two sets (no softmax across them, so ``l`` positives do not compete):

    L = log(1 + sum_{i in pos} exp(-s_i)) + log(1 + sum_{j in neg'} exp(s_j))

``neg'`` is a random subset of the negatives (ratio ``r``; the paper uses 0.1).

- :func:`multilabel_cluster_loss`: the loss, from scores ``[B, K]`` and index lists.
- :func:`positive_centres`: the ``l`` nearest centres of every row (chunked, never
  ``N x K`` at once beyond a chunk).
- :func:`sample_negatives`: a uniform subset of each row's negatives, by ratio.

Both terms are ``logsumexp`` over the scores with a zero column appended
(``log(1 + sum e^x) = logsumexp([0, x])``): finite for any finite scores, and a row
without sampled negatives contributes exactly 0 with a zero gradient (a plain
``softplus(logsumexp(empty))`` would give ``-inf`` and a NaN gradient).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from graphclust.utils.checks import positive_int

# rows per distance block in positive_centres: CHUNK_ROWS x K scores at a time
CHUNK_ROWS = 4096


def _log1p_sum_exp(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + sum_j exp(x_ij))`` per row of ``x [B, m]`` (``-inf`` entries count 0)."""
    zeros = x.new_zeros(x.shape[0], 1)
    return torch.logsumexp(torch.cat([zeros, x], dim=1), dim=1)


def _check_index(index: torch.Tensor, name: str, batch: int, n_centres: int) -> None:
    if index.dtype != torch.long or index.dim() != 2 or index.shape[0] != batch:
        raise ValueError(
            f"{name} must be a LongTensor [B, m] of centre indices with B = {batch} rows "
            f"(one per row of scores), got {index.dtype} {tuple(index.shape)}"
        )
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n_centres):
        raise ValueError(f"{name} holds indices outside [0, {n_centres}) (the columns of scores)")
    if index.shape[1] > 1:
        ordered = index.sort(dim=1).values
        if bool((ordered[:, 1:] == ordered[:, :-1]).any()):
            raise ValueError(f"{name} repeats a centre within a row; list each centre once")


def multilabel_cluster_loss(
    scores: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor | None = None,
    margin: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """MLCD's decoupled multi-label loss.

    Args:
        scores: ``[B, K]`` similarities ``s`` of each sample to each centre (already
            scaled, e.g. ``scale * cos``).
        positives: LongTensor ``[B, l]``, the positive centres of each row (distinct).
        negatives: LongTensor ``[B, m]``, the sampled negatives of each row (distinct,
            none of them a positive of that row), or ``None`` for every non-positive
            centre (ratio 1).
        margin: subtracted from the positive scores (``s_i - margin``), an additive
            margin as in CosFace; 0 is the paper's formula.
        reduction: ``"mean"`` (over rows), ``"sum"`` or ``"none"`` (``[B]``).

    Returns:
        The loss, a scalar, or ``[B]`` with ``reduction="none"``; always finite for
        finite scores.

    Raises:
        ValueError: malformed shapes, indices out of range or repeated, a negative that
            is also a positive, non-finite scores or margin, an unknown reduction.
    """
    if scores.dim() != 2 or not scores.is_floating_point():
        raise ValueError(
            f"scores must be a floating point [B, K] tensor, got {tuple(scores.shape)}"
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not math.isfinite(margin):
        raise ValueError(f"margin must be a finite number, got {margin!r}")
    batch, n_centres = scores.shape
    _check_index(positives, "positives", batch, n_centres)
    if positives.shape[1] < 1:
        raise ValueError("positives must give at least one centre per row (l >= 1)")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores contain NaN or inf; check the embeddings and the scale")
    is_positive = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, positives, True)
    pos_term = _log1p_sum_exp(margin - scores.gather(1, positives))
    if negatives is None:
        neg_term = _log1p_sum_exp(scores.masked_fill(is_positive, float("-inf")))
    else:
        _check_index(negatives, "negatives", batch, n_centres)
        if bool(is_positive.gather(1, negatives).any()):
            raise ValueError("negatives holds a centre that is a positive of the same row")
        neg_term = _log1p_sum_exp(scores.gather(1, negatives))
    loss = pos_term + neg_term
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


@torch.no_grad()
def positive_centres(
    x: torch.Tensor, centres: torch.Tensor, n_positive: int, metric: str = "cosine"
) -> torch.Tensor:
    """The ``l`` nearest centres of every row, nearest first.

    Args:
        x: ``[N, d]`` features (the ones the centres were computed from).
        centres: ``[K, d]`` cluster centres.
        n_positive: ``l``, in ``[1, K]``.
        metric: ``"cosine"`` (largest cosine) or ``"euclidean"`` (smallest distance).

    Returns:
        LongTensor ``[N, l]`` on ``x``'s device.
    """
    if x.dim() != 2 or centres.dim() != 2 or x.shape[1] != centres.shape[1]:
        raise ValueError(
            f"x [N, d] and centres [K, d] must share d, got {tuple(x.shape)} and "
            f"{tuple(centres.shape)}"
        )
    n_positive = positive_int(n_positive, "n_positive")
    if n_positive > centres.shape[0]:
        raise ValueError(
            f"n_positive={n_positive} exceeds the {centres.shape[0]} centres; lower it or "
            "cluster into more centres"
        )
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    x, centres = x.float(), centres.float().to(x.device)
    if metric == "cosine":
        x, centres = F.normalize(x, dim=1), F.normalize(centres, dim=1)
    c_sq = (centres * centres).sum(1)
    out = []
    for start in range(0, x.shape[0], CHUNK_ROWS):
        block = x[start : start + CHUNK_ROWS]
        # larger is nearer: cosine, or minus the squared distance without ||x||^2
        near = block @ centres.T if metric == "cosine" else 2.0 * block @ centres.T - c_sq
        out.append(near.topk(n_positive, dim=1).indices)
    return torch.cat(out)


def n_sampled_negatives(n_centres: int, n_positive: int, ratio: float) -> int:
    """How many negatives :func:`sample_negatives` draws per row: ``round(r (K - l))``,
    at least 1 while there is a negative to draw."""
    n_neg = n_centres - n_positive
    if n_neg <= 0:
        return 0
    return min(n_neg, max(1, round(ratio * n_neg)))


@torch.no_grad()
def sample_negatives(
    positives: torch.Tensor,
    n_centres: int,
    ratio: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A uniform random subset of each row's negatives, without replacement.

    Args:
        positives: LongTensor ``[B, l]``, the positives of each row (excluded).
        n_centres: ``K``.
        ratio: ``r`` in ``(0, 1]``; each row gets :func:`n_sampled_negatives` of its
            ``K - l`` negatives.
        generator: random source (on ``positives``' device); ``None``: the global one.

    Returns:
        LongTensor ``[B, m]``, ``m = n_sampled_negatives(K, l, r)``, on ``positives``'
        device.
    """
    if not (isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and 0 < ratio <= 1):
        raise ValueError(f"ratio must be a number in (0, 1], got {ratio!r}")
    n_centres = positive_int(n_centres, "n_centres")
    batch, n_positive = positives.shape
    m = n_sampled_negatives(n_centres, n_positive, float(ratio))
    # Uniform keys, positives pushed past every negative: the m smallest keys are a
    # uniform m-subset of the negatives.
    keys = torch.rand(batch, n_centres, generator=generator, device=positives.device)
    keys.scatter_(1, positives, 2.0)
    return keys.topk(m, dim=1, largest=False).indices


__all__ = [
    "multilabel_cluster_loss",
    "n_sampled_negatives",
    "positive_centres",
    "sample_negatives",
]
