"""Swapped prediction losses: predict one view's codes from another view's scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from graphclust.utils.checks import positive_float


def swapped_prediction_loss(
    scores_per_view: Sequence[torch.Tensor],
    codes_per_view: Sequence[torch.Tensor] | Mapping[int, torch.Tensor],
    temperature: float = 0.1,
) -> torch.Tensor:
    """SwAV's swapped prediction loss, with multi-crop.

    ``L = mean over pairs (t, s), t a view with codes, s != t any other view, of
    -(1/B) sum_b sum_k q_t[b, k] log softmax(scores_s[b] / temperature)_k``.
    Each view with codes is paired with all ``V - 1`` other views, so this equals SwAV's
    ``mean_t mean_{s != t}``. Codes are detached (they are targets; compute them with
    :func:`graphclust.assign.sinkhorn`, which already runs without gradient).

    Multi-crop: pass the scores of every view (say 2 global + 6 local crops, in that
    order) and codes only for the global views, e.g. ``codes_per_view=[q0, q1]`` (a
    sequence gives views ``0 .. n_global-1``) or ``{0: q0, 1: q1}`` (a mapping names the
    views). Every view is then predicted from every global view but itself::

        scores = [protos(z) for z in embeddings_per_view]        # V x [B, K]
        codes = [sinkhorn(s, epsilon=0.05, n_iters=3) for s in scores[:2]]
        loss = swapped_prediction_loss(scores, codes, temperature=0.1)

    Args:
        scores_per_view: ``V >= 2`` tensors ``[B, K]`` (prototype scores, before the
            temperature), one per view of the same ``B`` items.
        codes_per_view: ``[B, K]`` target codes (rows summing to 1) for some views:
            a sequence for views ``0 .. len-1``, or a mapping ``view index -> codes``.
        temperature: softmax temperature ``tau`` > 0 (SwAV 0.1).

    Returns:
        Scalar loss (float32, or float64 for float64 scores).
    """
    temperature = positive_float(temperature, "temperature")
    scores = list(scores_per_view)
    if len(scores) < 2:
        raise ValueError(
            f"swapped prediction needs at least 2 views, got {len(scores)}; pass a list of "
            "[B, K] scores, one per view"
        )
    shape = _check_scores_shape(scores[0], "scores_per_view[0]")
    for v, s in enumerate(scores):
        if s.shape != shape:
            raise ValueError(
                f"every view must have the same [B, K] scores, view 0 has {tuple(shape)} "
                f"and view {v} has {tuple(s.shape)}"
            )
    codes = _codes_by_view(codes_per_view, len(scores))
    for t, q in codes.items():
        if q.shape != shape:
            raise ValueError(
                f"codes for view {t} have shape {tuple(q.shape)}, expected {tuple(shape)} "
                "(the shape of the scores)"
            )

    log_probs = [_log_softmax(s, temperature) for s in scores]
    total = 0.0
    n_pairs = 0
    for t, q in codes.items():
        q = q.detach()
        for s, log_p in enumerate(log_probs):
            if s != t:
                total = total - (q * log_p).sum(dim=1).mean()
                n_pairs += 1
    return total / n_pairs


def symmetric_prediction_loss(
    scores_a: torch.Tensor,
    scores_b: torch.Tensor,
    codes_a: torch.Tensor,
    codes_b: torch.Tensor,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Two-branch swapped prediction (MGCA, SIGMA): each branch predicts the other's codes.

    ``L = 1/2 [CE(codes_b, softmax(scores_a / t)) + CE(codes_a, softmax(scores_b / t))]``
    with ``CE(q, p) = -(1/B) sum_b sum_k q[b, k] log p[b, k]``. The 1/2 is MGCA's
    convention; SIGMA's loss is the plain sum, i.e. twice this value (scale the
    learning rate or multiply by 2 to reproduce it). Equal to
    ``swapped_prediction_loss([scores_a, scores_b], [codes_a, codes_b], t)``.
    For SIGMA's "prototypes detached on the video branch", score that branch with
    ``Prototypes(..., detach_prototypes=True)``; codes are detached here.

    Args:
        scores_a, scores_b: ``[B, K]`` scores of the two branches (e.g. image and text,
            or attribute and structure views), before the temperature.
        codes_a, codes_b: ``[B, K]`` codes computed from ``scores_a`` / ``scores_b``
            (soft or hard Sinkhorn codes).
        temperature: softmax temperature > 0 (MGCA 0.2, SIGMA 0.1).

    Returns:
        Scalar loss.
    """
    temperature = positive_float(temperature, "temperature")
    shape = _check_scores_shape(scores_a, "scores_a")
    for name, t in (("scores_b", scores_b), ("codes_a", codes_a), ("codes_b", codes_b)):
        if t.shape != shape:
            raise ValueError(
                f"{name} has shape {tuple(t.shape)}, expected {tuple(shape)} like scores_a"
            )
    ce_a = -(codes_b.detach() * _log_softmax(scores_a, temperature)).sum(dim=1).mean()
    ce_b = -(codes_a.detach() * _log_softmax(scores_b, temperature)).sum(dim=1).mean()
    return 0.5 * (ce_a + ce_b)


def _log_softmax(scores: torch.Tensor, temperature: float) -> torch.Tensor:
    # Upcast half precision: log-probabilities of many clusters lose too much in fp16.
    dtype = torch.promote_types(scores.dtype, torch.float32)
    return F.log_softmax(scores.to(dtype) / temperature, dim=1)


def _codes_by_view(
    codes_per_view: Sequence[torch.Tensor] | Mapping[int, torch.Tensor], n_views: int
) -> dict[int, torch.Tensor]:
    if isinstance(codes_per_view, Mapping):
        codes = {int(t): q for t, q in codes_per_view.items()}
    elif isinstance(codes_per_view, Sequence) and not isinstance(codes_per_view, str):
        codes = dict(enumerate(codes_per_view))
    else:
        codes = None
    if codes is None or not all(isinstance(q, torch.Tensor) for q in codes.values()):
        raise ValueError(
            "codes_per_view must be a list of [B, K] code tensors (views 0..n-1) or a dict "
            f"{{view index: codes}}, got {type(codes_per_view).__name__}"
        )
    if not codes:
        raise ValueError("codes_per_view is empty; give codes for at least one view")
    bad = [t for t in codes if not 0 <= t < n_views]
    if bad:
        raise ValueError(f"codes given for view(s) {bad}, but views are 0..{n_views - 1}")
    return codes


def _check_scores_shape(scores: torch.Tensor, name: str) -> torch.Size:
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2 or scores.shape[0] == 0:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores)
        raise ValueError(f"{name} must be a non-empty [B, K] tensor, got {shape}")
    return scores.shape
