"""Sinkhorn: agreement with SwAV's formula, stability, marginals, hard codes, gloo."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphclust.assign import sinkhorn
from graphclust.assign.sinkhorn import _logsumexp
from tests.assign.dist_utils import run_distributed


def swav_sinkhorn(scores: torch.Tensor, epsilon: float, n_iters: int) -> torch.Tensor:
    """SwAV's plain-exponent Sinkhorn (single process), written out as the reference."""
    Q = torch.exp(scores / epsilon).T  # [K, B]
    Q /= torch.sum(Q)
    K, B = Q.shape
    for _ in range(n_iters):
        Q /= torch.sum(Q, dim=1, keepdim=True)  # each prototype gets mass 1/K
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)  # each sample gets mass 1/B
        Q /= B
    return (Q * B).T


def cosine_scores(n: int, k: int, seed: int, dim: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(n, dim, generator=g), dim=1)
    c = F.normalize(torch.randn(k, dim, generator=g), dim=1)
    return z @ c.T


@pytest.mark.parametrize("n_iters", [1, 3, 10])
@pytest.mark.parametrize(("n", "k", "epsilon"), [(64, 10, 0.05), (200, 3, 0.1), (5, 30, 0.05)])
def test_matches_swav_formula(n: int, k: int, epsilon: float, n_iters: int) -> None:
    scores = cosine_scores(n, k, seed=n + k)
    expected = swav_sinkhorn(scores.double(), epsilon, n_iters)
    codes = sinkhorn(scores, epsilon=epsilon, n_iters=n_iters)
    assert codes.dtype == torch.float32
    torch.testing.assert_close(codes.double(), expected, atol=1e-5, rtol=0)


def test_rows_exact_columns_converge() -> None:
    # The row step is the last step of each iteration: rows are exact after any n_iters,
    # columns only as the iterations converge.
    scores = cosine_scores(128, 8, seed=1)
    errors = []
    for n_iters in (1, 3, 10, 50):
        codes = sinkhorn(scores, epsilon=0.05, n_iters=n_iters)
        torch.testing.assert_close(codes.sum(dim=1), torch.ones(128), atol=1e-6, rtol=0)
        errors.append((codes.sum(dim=0) - 128 / 8).abs().max().item())
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-4 * 128


def test_column_marginals_met() -> None:
    n, k = 300, 5
    scores = cosine_scores(n, k, seed=2)
    prior = torch.tensor([0.4, 0.3, 0.15, 0.1, 0.05])
    codes = sinkhorn(scores, epsilon=0.05, n_iters=100, col_marginals=prior)
    torch.testing.assert_close(codes.sum(dim=0) / n, prior, atol=1e-4, rtol=0)
    torch.testing.assert_close(codes.sum(dim=1), torch.ones(n), atol=1e-6, rtol=0)
    # A list is accepted, and the uniform prior is the default.
    uniform = sinkhorn(scores, epsilon=0.05, n_iters=5, col_marginals=[0.2] * 5)
    torch.testing.assert_close(uniform, sinkhorn(scores, epsilon=0.05, n_iters=5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_stable_where_plain_exponent_overflows(dtype: torch.dtype) -> None:
    # Unnormalised scores of magnitude 50 at epsilon 0.01: exp(5000) is inf in any dtype.
    scores = (50 * cosine_scores(128, 8, seed=3)).to(dtype)
    assert not torch.isfinite(swav_sinkhorn(scores.float(), 0.01, 3)).all()
    codes = sinkhorn(scores, epsilon=0.01, n_iters=3)
    assert codes.dtype == torch.float32
    assert torch.isfinite(codes).all()
    torch.testing.assert_close(codes.sum(dim=1), torch.ones(128), atol=1e-5, rtol=0)
    # Epsilon this small relative to the score range converges slowly, but it converges.
    balanced = sinkhorn(scores, epsilon=0.01, n_iters=10_000)
    torch.testing.assert_close(
        balanced.sum(dim=0) / 128, torch.full((8,), 1 / 8), atol=1e-4, rtol=0
    )


def log_domain_reference(scores: torch.Tensor, epsilon: float, n_iters: int) -> torch.Tensor:
    """The same iteration with torch.logsumexp in float64: no shortcuts, no buffers."""
    log_q = scores.double() / epsilon
    for _ in range(n_iters):
        log_q = log_q - torch.logsumexp(log_q, dim=0)
        log_q = log_q - torch.logsumexp(log_q, dim=1, keepdim=True)
    return log_q.exp()


@pytest.mark.parametrize("n_iters", [3, 50])
def test_matches_float64_log_domain_reference_where_exponent_overflows(n_iters: int) -> None:
    # Here column sums of exp underflow float32, so the max-shifted fallback is exercised.
    scores = 50 * cosine_scores(128, 8, seed=3)
    codes = sinkhorn(scores, epsilon=0.01, n_iters=n_iters)
    expected = log_domain_reference(scores, 0.01, n_iters)
    torch.testing.assert_close(codes.double(), expected, atol=1e-4, rtol=0)


def test_logsumexp_shortcut_falls_back_when_sums_underflow() -> None:
    x = torch.tensor([[-200.0, -1.0], [-300.0, -2.0], [-250.0, -0.5]])
    buffer = torch.empty_like(x)
    for dim in (0, 1):
        got = _logsumexp(x, dim, buffer, nonpositive=True)
        torch.testing.assert_close(got, torch.logsumexp(x, dim=dim))
        torch.testing.assert_close(_logsumexp(x, dim, buffer, nonpositive=False), got)
    empty = _logsumexp(torch.empty(0, 3), 0, torch.empty(0, 3), nonpositive=True)
    assert torch.equal(empty, torch.full((3,), -torch.inf))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_input_is_computed_in_float32(dtype: torch.dtype) -> None:
    scores = cosine_scores(64, 6, seed=4).to(dtype)
    # SwAV's formula in half precision overflows already at epsilon 0.05 (exp(20) > 65504).
    if dtype == torch.float16:
        assert not torch.isfinite(swav_sinkhorn(scores, 0.05, 3)).all()
    codes = sinkhorn(scores, epsilon=0.05, n_iters=3)
    torch.testing.assert_close(codes, sinkhorn(scores.float(), epsilon=0.05, n_iters=3))


def test_hard_codes_are_one_hot_argmax_of_soft() -> None:
    scores = cosine_scores(100, 7, seed=5)
    soft = sinkhorn(scores, epsilon=0.05, n_iters=3)
    hard = sinkhorn(scores, epsilon=0.05, n_iters=3, hard=True)
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(hard.sum(dim=1), torch.ones(100))
    assert torch.equal(hard.argmax(dim=1), soft.argmax(dim=1))


def test_codes_carry_no_gradient_and_input_is_untouched() -> None:
    scores = cosine_scores(32, 4, seed=6).requires_grad_(True)
    before = scores.detach().clone()
    with torch.enable_grad():
        codes = sinkhorn(scores)
    assert not codes.requires_grad
    assert torch.equal(scores.detach(), before)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scores": torch.rand(5)}, "2-D"),
        ({"scores": torch.rand(0, 3)}, "at least one row"),
        ({"scores": torch.tensor([[0.1, float("nan")]])}, "non-finite"),
        ({"scores": torch.ones(4, 3, dtype=torch.long)}, "floating point"),
        ({"scores": torch.full((2, 2), 3e38), "epsilon": 0.01}, "overflows"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": float("inf")}, "epsilon"),
        ({"n_iters": 0}, "n_iters"),
        ({"n_iters": 2.5}, "n_iters"),
        ({"col_marginals": torch.full((4,), 0.25)}, r"shape \[K\]"),
        ({"col_marginals": torch.tensor([0.5, 0.5, 0.0])}, "> 0"),
        ({"col_marginals": torch.tensor([0.5, 0.5, 0.5])}, "sum to 1"),
        ({"col_relax": 0.0}, "col_relax"),
        ({"col_relax": -1.0}, "col_relax"),
        ({"col_relax": float("inf")}, "col_relax"),
    ],
)
def test_invalid_input_is_rejected(kwargs: dict, match: str) -> None:
    args = {"scores": torch.rand(6, 3), **kwargs}
    with pytest.raises(ValueError, match=match):
        sinkhorn(**args)


def _distributed_codes(
    rank: int, world_size: int, group: object, scores: torch.Tensor, splits: list[list[int]]
) -> list[dict[str, torch.Tensor]]:
    """Every rank's codes for several row splits of the same global batch."""
    prior = torch.tensor([0.5, 0.2, 0.2, 0.1])
    results = []
    for sizes in splits:
        local = scores.split(sizes)[rank]
        results.append(
            {
                "soft": sinkhorn(local, epsilon=0.05, n_iters=3, group=group),
                "prior": sinkhorn(
                    local, epsilon=0.05, n_iters=20, col_marginals=prior, group=group
                ),
                "hard": sinkhorn(local, epsilon=0.05, n_iters=3, hard=True, group=group),
                "relaxed": sinkhorn(local, epsilon=0.05, n_iters=10, col_relax=0.2, group=group),
            }
        )
    return results


def test_two_gloo_processes_equal_one_process_on_concatenated_batch(tmp_path) -> None:
    scores = 3 * cosine_scores(50, 4, seed=7)  # scale 3: codes far from uniform
    splits = [[25, 25], [9, 41], [0, 50]]  # equal, unequal, and one empty rank
    per_rank = run_distributed(_distributed_codes, 2, tmp_path, scores, splits)
    prior = torch.tensor([0.5, 0.2, 0.2, 0.1])
    expected = {
        "soft": sinkhorn(scores, epsilon=0.05, n_iters=3),
        "prior": sinkhorn(scores, epsilon=0.05, n_iters=20, col_marginals=prior),
        "hard": sinkhorn(scores, epsilon=0.05, n_iters=3, hard=True),
        "relaxed": sinkhorn(scores, epsilon=0.05, n_iters=10, col_relax=0.2),
    }
    for i in range(len(splits)):
        for key, full in expected.items():
            gathered = torch.cat([per_rank[r][i][key] for r in range(2)])
            torch.testing.assert_close(gathered, full, atol=1e-6, rtol=0)


# -- relaxed column marginals (unbalanced transport) ---------------------------------------
def unbalanced_scaling(
    scores: torch.Tensor, epsilon: float, n_iters: int, relax: float, prior: torch.Tensor
) -> torch.Tensor:
    """Chizat et al.'s scaling iterations, plain exponent in float64, as the reference.

    ``K = exp(S / epsilon)``; columns: ``v = (r / K^T u)^(relax / (relax + epsilon))``;
    rows: ``u = 1 / (K v)`` (each row a distribution); ``Q = diag(u) K diag(v)``.
    """
    kernel = torch.exp(scores.double() / epsilon)
    u = torch.ones(kernel.shape[0], dtype=torch.float64)
    power = relax / (relax + epsilon)
    for _ in range(n_iters):
        v = (prior.double() / (kernel.T @ u)) ** power
        u = 1.0 / (kernel @ v)
    return u[:, None] * kernel * v[None, :]


@pytest.mark.parametrize("relax", [0.01, 0.2, 3.0])
@pytest.mark.parametrize("n_iters", [1, 3, 30])
def test_relaxed_matches_plain_unbalanced_scaling(relax: float, n_iters: int) -> None:
    scores = cosine_scores(60, 5, seed=3)
    prior = torch.tensor([0.3, 0.3, 0.2, 0.1, 0.1])
    expected = unbalanced_scaling(scores, 0.05, n_iters, relax, prior)
    codes = sinkhorn(scores, epsilon=0.05, n_iters=n_iters, col_marginals=prior, col_relax=relax)
    torch.testing.assert_close(codes.double(), expected, atol=1e-5, rtol=0)


def test_relaxed_limits_are_balanced_codes_and_softmax() -> None:
    scores = cosine_scores(100, 6, seed=4)
    balanced = sinkhorn(scores, epsilon=0.05, n_iters=200)
    torch.testing.assert_close(
        sinkhorn(scores, epsilon=0.05, n_iters=200, col_relax=1e6), balanced, atol=1e-4, rtol=0
    )
    softmax = torch.softmax(scores / 0.05, dim=1)
    torch.testing.assert_close(
        sinkhorn(scores, epsilon=0.05, n_iters=5, col_relax=1e-9), softmax, atol=1e-6, rtol=0
    )


def test_relaxed_keeps_an_imbalanced_class_whole() -> None:
    # 80 points near prototype 0, 20 near prototype 1: converged balanced codes move 30
    # points to the wrong prototype to reach 50/50; relaxed sizes keep 80/20.
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[2.0, 0.0]] * 80 + [[-2.0, 0.0]] * 20)
    z = F.normalize(centres + 0.3 * torch.randn(100, 2, generator=g), dim=1)
    scores = z @ torch.tensor([[1.0, 0.0], [-1.0, 0.0]]).T
    balanced = sinkhorn(scores, epsilon=0.05, n_iters=500).sum(dim=0)
    relaxed = sinkhorn(scores, epsilon=0.05, n_iters=500, col_relax=1.0).sum(dim=0)
    torch.testing.assert_close(balanced, torch.tensor([50.0, 50.0]), atol=0.5, rtol=0)
    torch.testing.assert_close(relaxed, torch.tensor([80.0, 20.0]), atol=0.5, rtol=0)
