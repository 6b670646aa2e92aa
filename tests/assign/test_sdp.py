"""ADMM solver of the Peng-Wei SDP and its block lift, against references computed
other ways: a closed-form optimum, a conic solver (cvxpy, optional), a sort-based
simplex projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphclust.assign.sdp import (
    project_simplex_rows,
    sdp_embedding,
    sdp_kmeans,
    solve_block_sdp,
)


def _blobs(sizes: tuple[int, ...], spread: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])[: len(sizes)]
    y = torch.cat([torch.full((s,), k) for k, s in enumerate(sizes)])
    x = centres[y] + spread * torch.randn(len(y), 2, generator=g)
    return x.double(), y


def _assert_feasible(z: torch.Tensor, k: int, atol: float) -> None:
    assert torch.allclose(z, z.T, atol=1e-10)
    assert float(torch.linalg.eigvalsh(z)[0]) > -atol  # PSD
    assert float(z.min()) > -atol  # entrywise nonnegative
    assert torch.allclose(z.sum(1), torch.ones(z.size(0), dtype=z.dtype), atol=atol)
    assert abs(float(z.trace()) - k) < atol


def test_simplex_projection_matches_sort_formula() -> None:
    g = torch.Generator().manual_seed(0)
    v = 3 * torch.randn(7, 11, generator=g, dtype=torch.float64)
    # reference: Held et al. / Duchi et al. sort-based threshold
    ref = []
    for row in v.numpy():
        u = np.sort(row)[::-1]
        css = np.cumsum(u) - 1.0
        rho = np.nonzero(u - css / np.arange(1, len(u) + 1) > 0)[0][-1]
        ref.append(np.maximum(row - css[rho] / (rho + 1), 0.0))
    out = project_simplex_rows(v)
    assert torch.allclose(out, torch.from_numpy(np.array(ref)), atol=1e-12)
    assert torch.allclose(out.sum(1), torch.ones(7, dtype=torch.float64))


def test_closed_form_optimum_on_duplicated_points() -> None:
    # K distinct points, each repeated: rank X <= K, so by Ky Fan the optimum is
    # tr(X X^T) = ||X||_F^2, attained by the block matrix 1/n_k on each cluster
    centres = torch.tensor([[1.0, 0.0], [-1.0, 2.0], [0.5, -3.0]], dtype=torch.float64)
    y = torch.tensor([0] * 5 + [1] * 3 + [2] * 4)
    x = centres[y]
    result = sdp_kmeans(x, 3, max_iter=5000, tol=1e-7, eig="full")
    optimum = float((x * x).sum())
    assert result.converged
    assert abs(result.objective - optimum) / optimum < 1e-3
    assert result.lower_bound >= optimum - 1e-3 * optimum  # an upper bound here (max)
    block = (y[:, None] == y[None, :]).double() / torch.bincount(y)[y][None, :].double()
    assert torch.allclose(result.z, block, atol=1e-3)
    _assert_feasible(result.z, 3, atol=1e-5)


@pytest.mark.parametrize("eig", ["full", "partial"])
def test_feasibility_and_gap_on_overlapping_mixture(eig: str) -> None:
    x, _ = _blobs((12, 12, 12), spread=2.0, seed=1)  # overlapping: Z is not a block matrix
    result = sdp_kmeans(x, 3, max_iter=5000, tol=1e-6, eig=eig)
    assert result.converged
    _assert_feasible(result.z, 3, atol=1e-4)
    assert result.gap < 1e-4
    assert result.history["iter"][-1] == result.n_iter


def test_partial_and_full_eigensolvers_agree() -> None:
    x, _ = _blobs((12, 12, 12), spread=1.5, seed=2)
    full = sdp_kmeans(x, 3, max_iter=3000, tol=1e-6, eig="full")
    partial = sdp_kmeans(x, 3, max_iter=3000, tol=1e-6, eig="partial")
    assert abs(full.objective - partial.objective) / abs(full.objective) < 1e-4


def test_objective_matches_cvxpy_reference() -> None:
    cp = pytest.importorskip("cvxpy")
    x, _ = _blobs((6, 6, 6), spread=2.5, seed=3)
    n, k = x.size(0), 3
    a = (x @ x.T).numpy()
    z = cp.Variable((n, n), PSD=True)
    constraints = [z >= 0, cp.sum(z, axis=1) == 1, cp.trace(z) == k]
    problem = cp.Problem(cp.Maximize(cp.trace(a @ z)), constraints)
    solver = "CLARABEL" if "CLARABEL" in cp.installed_solvers() else "SCS"
    reference = problem.solve(solver=solver)
    result = sdp_kmeans(x, k, max_iter=5000, tol=1e-6, eig="full")
    assert abs(result.objective - reference) / abs(reference) < 1e-3
    assert result.lower_bound >= reference * (1 - 1e-3)  # certified bound holds


def test_block_lift_with_identical_costs_reduces_to_peng_wei() -> None:
    # with B_k = D/2 for every k, sum_k Z_k is feasible for Peng-Wei and the objective
    # equals <D/2, Z> = const - <X X^T, Z>: the optima coincide
    x, _ = _blobs((8, 8, 8), spread=2.0, seed=4)
    sq = (x * x).sum(1)
    half_dist = 0.5 * (sq[:, None] + sq[None, :] - 2 * x @ x.T)
    lifted = solve_block_sdp(
        half_dist.expand(3, -1, -1).clone(), [1.0] * 3, max_iter=10000, tol=1e-7, eig="full"
    )
    pw = sdp_kmeans(x, 3, max_iter=10000, tol=1e-7, eig="full")
    constant = float(sq.sum())  # <q 1^T, Z> with rows summing to one
    assert abs(lifted.objective - (constant - pw.objective)) < 1e-3 * constant
    total = lifted.z.sum(0)
    assert torch.allclose(total.sum(1), torch.ones(24, dtype=torch.float64), atol=1e-4)


def test_embedding_separates_exact_blocks() -> None:
    y = torch.tensor([0, 0, 1, 1, 1, 2])
    block = (y[:, None] == y[None, :]).double() / torch.bincount(y)[y][None, :].double()
    emb = sdp_embedding(block, 3)
    same = torch.cdist(emb, emb) < 1e-9
    assert torch.equal(same, y[:, None] == y[None, :])


def test_bad_inputs() -> None:
    x = torch.randn(10, 2)
    with pytest.raises(ValueError, match="n_clusters"):
        sdp_kmeans(x, 11)
    with pytest.raises(ValueError, match="n_clusters"):
        sdp_kmeans(x, True)
    with pytest.raises(ValueError, match=r"\[N, d\]"):
        sdp_kmeans(torch.arange(10), 2)
    with pytest.raises(ValueError, match="NaN"):
        sdp_kmeans(torch.full((10, 2), float("nan")), 2)
    with pytest.raises(ValueError, match="eig"):
        sdp_kmeans(x, 2, eig="lanczos")
    with pytest.raises(ValueError, match="tol"):
        sdp_kmeans(x, 2, tol=0.0)
    with pytest.raises(ValueError, match="totals"):
        solve_block_sdp(torch.zeros(2, 10, 10), [1.0])
    with pytest.raises(ValueError, match=r"\[m, N, N\]"):
        solve_block_sdp(torch.zeros(10, 10), [1.0])
