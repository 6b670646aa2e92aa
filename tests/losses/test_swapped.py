"""Swapped and symmetric prediction losses against hand-written loops."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.assign import sinkhorn
from graphclust.losses import swapped_prediction_loss, symmetric_prediction_loss


def loop_cross_entropy(codes: torch.Tensor, scores: torch.Tensor, tau: float) -> torch.Tensor:
    """-(1/B) sum_b sum_k q[b, k] log softmax(s[b] / tau)_k, element by element."""
    total = torch.zeros((), dtype=torch.float64)
    for b in range(scores.shape[0]):
        norm = sum(math.exp(float(v) / tau) for v in scores[b])
        for k in range(scores.shape[1]):
            total -= float(codes[b, k]) * (float(scores[b, k]) / tau - math.log(norm))
    return total / scores.shape[0]


def views(n_views: int, seed: int, n: int = 6, k: int = 4) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(n, k, generator=g) * 2 - 1 for _ in range(n_views)]


def test_two_views_equal_double_loop() -> None:
    scores = views(2, seed=0)
    codes = [sinkhorn(s) for s in scores]
    expected = 0.5 * (
        loop_cross_entropy(codes[0], scores[1], 0.1) + loop_cross_entropy(codes[1], scores[0], 0.1)
    )
    loss = swapped_prediction_loss(scores, codes, temperature=0.1)
    torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-6)


def test_multi_crop_equals_double_loop_over_pairs() -> None:
    scores = views(5, seed=1)  # 2 global views, 3 local ones
    codes = [sinkhorn(s) for s in scores[:2]]
    pairs = [(t, s) for t in range(2) for s in range(5) if s != t]
    expected = sum(loop_cross_entropy(codes[t], scores[s], 0.2) for t, s in pairs) / len(pairs)
    loss = swapped_prediction_loss(scores, codes, temperature=0.2)
    torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-6)
    # A mapping names the views explicitly; the same views give the same loss.
    by_name = swapped_prediction_loss(scores, {0: codes[0], 1: codes[1]}, temperature=0.2)
    torch.testing.assert_close(by_name, loss)


def test_codes_for_a_single_non_first_view() -> None:
    scores = views(3, seed=2)
    code = sinkhorn(scores[2])
    expected = (
        loop_cross_entropy(code, scores[0], 0.1) + loop_cross_entropy(code, scores[1], 0.1)
    ) / 2
    loss = swapped_prediction_loss(scores, {2: code})
    torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-6)


def test_no_gradient_reaches_codes() -> None:
    scores = [s.requires_grad_(True) for s in views(3, seed=3)]
    codes = [torch.softmax(s.detach(), dim=1).requires_grad_(True) for s in scores[:2]]
    loss = swapped_prediction_loss(scores, codes)
    grads = torch.autograd.grad(loss, [*scores, *codes], allow_unused=True)
    assert all(g is not None and g.abs().sum() > 0 for g in grads[:3])
    assert all(g is None for g in grads[3:])


def test_symmetric_loss_is_half_sum_and_equals_two_view_swapped() -> None:
    scores_a, scores_b = views(2, seed=4)
    codes_a = sinkhorn(scores_a, hard=True)
    codes_b = sinkhorn(scores_b)
    loss = symmetric_prediction_loss(scores_a, scores_b, codes_a, codes_b, temperature=0.2)
    expected = 0.5 * (
        loop_cross_entropy(codes_b, scores_a, 0.2) + loop_cross_entropy(codes_a, scores_b, 0.2)
    )
    torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-6)
    swapped = swapped_prediction_loss([scores_a, scores_b], [codes_a, codes_b], temperature=0.2)
    torch.testing.assert_close(loss, swapped)


def test_half_precision_scores_give_a_finite_float32_loss() -> None:
    scores = [s.half() for s in views(2, seed=5, k=1000)]
    codes = [sinkhorn(s) for s in scores]
    loss = swapped_prediction_loss(scores, codes, temperature=0.01)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    expected = swapped_prediction_loss([s.float() for s in scores], codes, temperature=0.01)
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize(
    ("n_views", "codes", "kwargs", "match"),
    [
        (1, {0: None}, {}, "at least 2 views"),
        (2, {}, {}, "empty"),
        (2, {2: None}, {}, r"views are 0\.\.1"),
        (2, {0: None}, {"temperature": 0.0}, "temperature"),
        (2, "bad", {}, "list of"),
    ],
)
def test_invalid_input_is_rejected(n_views: int, codes, kwargs: dict, match: str) -> None:
    scores = views(n_views, seed=6)
    if isinstance(codes, dict):
        codes = {t: torch.full((6, 4), 0.25) for t in codes}
    with pytest.raises(ValueError, match=match):
        swapped_prediction_loss(scores, codes, **kwargs)


def test_mismatched_shapes_are_rejected() -> None:
    a, b = views(2, seed=7)
    with pytest.raises(ValueError, match="same"):
        swapped_prediction_loss([a, b[:3]], [torch.full((6, 4), 0.25)])
    with pytest.raises(ValueError, match="codes for view 0"):
        swapped_prediction_loss([a, b], [torch.full((6, 5), 0.2)])
    with pytest.raises(ValueError, match="codes_b"):
        symmetric_prediction_loss(a, b, a.softmax(1), b[:2].softmax(1))
