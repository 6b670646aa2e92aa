"""SDP relaxations of clustering solved by ADMM in torch (CPU or GPU).

One solver covers the Peng-Wei relaxation of k-means and its likelihood-adjusted
lift (iLA-SDP). Both are instances of the block problem

    minimise   sum_k <B_k, Z_k>
    subject to Z_k PSD,  tr Z_k = t_k,  Z_k >= 0 (entrywise),  sum_k Z_k 1 = 1,

with ``m`` symmetric cost matrices ``B_k`` [N, N]:

- Peng and Wei (2007): ``m = 1``, ``B = -X X^T``, ``t = K``. The ideal solution is
  block diagonal, ``1 / n_k`` on the block of cluster ``k``.
- Likelihood-adjusted SDP (Zhuang, Chen and Yang, ICML 2023): ``m = K``, one membership
  matrix per cluster, ``t_k = 1``, ``B_k`` the Gaussian negative log-likelihood of
  cluster ``k`` written on pairs (``graphclust.methods.sdp``).

ADMM (Boyd et al. 2011, section 5) on the splitting ``Z_k = W_k`` into two sets whose
projections have closed forms:

- ``C1 = {Z_k PSD, tr Z_k = t_k}`` (a spectrahedron per block): project the eigenvalues
  onto the simplex ``{mu >= 0, sum mu = t_k}``. Only eigenvalues above the simplex
  threshold survive and the solution has rank about ``K``, so ``eig="partial"``
  computes the leading eigenpairs by a warm-started block Krylov / Rayleigh-Ritz
  iteration, ``O(N^2 r)`` instead of ``O(N^3)``, and falls back to a full
  decomposition when more than ``r`` eigenvalues pass the threshold.
- ``C2 = {W_k >= 0, sum_k W_k 1 = 1}``: it splits by rows; row ``i`` of all blocks
  together is projected onto the probability simplex (Newton on the threshold).

Convergence is reported by the relative primal residual ``||Z - W|| / max(||Z||,
||W||)``, the relative dual residual ``rho ||W - W_prev|| / ||rho U||``, and a duality
gap: for any multiplier ``Y`` the Lagrangian gives the lower bound
``sum_k t_k lambda_min(B_k + Y_k) - sum_i max_{k, j} (Y_k)_ij`` (the minimum of a
linear function over a spectrahedron and over a simplex), evaluated at ``Y = rho U``.

Memory is a handful of ``m`` N x N matrices, time ``O(N^3)`` (full) or ``O(N^2 r)``
(partial) per iteration: methods that call this refuse large ``N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from graphclust.training import progress as show_progress
from graphclust.utils.checks import positive_float, positive_int

EIG_MODES = ("auto", "full", "partial")
# "auto" switches to the partial eigensolver above this N
PARTIAL_FROM = 600
RELAXATION = 1.6


def _project_rows(v: torch.Tensor, theta: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Projection onto C2 of ``v`` [m, N, N] (row ``i`` of all blocks on one simplex),
    warm-started from the previous step's thresholds ``theta`` [N, 1] when given."""
    m, n = v.size(0), v.size(1)
    rows = v[0] if m == 1 else v.permute(1, 0, 2).reshape(n, m * n)
    if theta is None:
        theta = (rows.sum(dim=1, keepdim=True) - 1.0) / rows.size(1)
    projected, theta = _simplex_rows(rows, 1.0, theta)
    if m == 1:
        return projected.unsqueeze(0), theta
    return projected.reshape(n, m, n).permute(1, 0, 2).contiguous(), theta


@dataclass
class SDPResult:
    """Output of :func:`solve_block_sdp`.

    Attributes:
        z: [m, N, N] the PSD iterate (exact trace, PSD up to round-off; its negative
            entries and row-sum errors are bounded by the primal residual).
        objective: ``sum_k <B_k, Z_k>`` at ``z`` (the caller's unscaled costs).
        lower_bound: the Lagrangian lower bound on the optimum, certified for any
            multiplier (for :func:`sdp_kmeans`, a maximisation, an upper bound).
        primal_residual, dual_residual: relative residuals at the last iteration.
        n_iter: ADMM iterations run; converged: both residuals below ``tol``.
        history: per-check lists ``iter``, ``primal``, ``dual``, ``rho``.
    """

    z: torch.Tensor
    objective: float
    lower_bound: float
    primal_residual: float
    dual_residual: float
    n_iter: int
    converged: bool
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative duality gap ``|objective - bound| / (1 + |objective|)`` (small
        negative gaps of an approximately feasible ``z`` show as small positive ones)."""
        return abs(self.objective - self.lower_bound) / (1.0 + abs(self.objective))


def project_simplex_rows(v: torch.Tensor, total: float = 1.0) -> torch.Tensor:
    """Euclidean projection of each row of ``v`` [R, M] onto ``{w >= 0, sum w = total}``.

    Newton's method on the threshold ``theta`` of ``w = (v - theta)_+``: the function
    ``f(theta) = sum (v - theta)_+ - total`` is convex, piecewise linear and decreasing,
    so Newton steps started left of the root (at ``(sum v - total) / M``) rise
    monotonically and reach the root after finitely many steps (when the active set
    stops changing).
    """
    return _simplex_rows(v, total, (v.sum(dim=1, keepdim=True) - total) / v.size(1))[0]


def _simplex_rows(
    v: torch.Tensor, total: float, theta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`project_simplex_rows` from the thresholds ``theta`` [R, 1]; returns the
    projection and the final thresholds. A start right of the root is fine: by
    convexity its first step lands left of it, and the rise goes on from there."""
    previous = None
    for _ in range(100):
        count = (v > theta).sum(dim=1, keepdim=True)
        # an unchanged count between two iterates means one active set on the interval
        # between them, where f is linear and the last step solved it exactly
        if previous is not None and torch.equal(count, previous):
            break
        excess = (v - theta).clamp_min(0.0).sum(dim=1, keepdim=True) - total
        theta = theta + excess / count.clamp_min(1)
        previous = count
    return (v - theta).clamp_min(0.0), theta


def _simplex_threshold(values: torch.Tensor, total: float) -> tuple[float, int]:
    """Threshold ``theta`` and count of ``values`` (sorted descending) above it, for the
    projection of ``values`` onto ``{mu >= 0, sum mu = total}``."""
    cumulative = values.cumsum(0)
    ranks = torch.arange(1, values.numel() + 1, device=values.device, dtype=values.dtype)
    candidates = (cumulative - total) / ranks
    active = int((values > candidates).sum())
    return float(candidates[active - 1]), active


class _Spectrahedron:
    """Projection onto ``{Z PSD, tr Z = total}`` with a warm-started leading subspace."""

    def __init__(self, n: int, total: float, mode: str, rank: int, generator: torch.Generator):
        self.n, self.total, self.mode = n, total, mode
        self.rank = min(n, rank)
        self.generator = generator
        self.basis: torch.Tensor | None = None

    def __call__(self, s: torch.Tensor) -> torch.Tensor:
        partial = self.mode == "partial" and 3 * self.rank < self.n
        if partial:
            projected = self._partial(s)
            if projected is not None:
                return projected
        values, vectors = torch.linalg.eigh(s)
        values, vectors = values.flip(0), vectors.flip(1)
        theta, active = _simplex_threshold(values, self.total)
        if partial and 3 * (active + 10) < self.n:
            # the subspace was too narrow for this rank: widen it. A projection of high
            # rank (the first steps, while the threshold is below the bulk) is left to
            # the exact path rather than widening the subspace for good
            self.rank, self.basis = max(self.rank, 2 * active + 10), None
        keep = vectors[:, :active]
        return (keep * (values[:active] - theta)) @ keep.T

    def _partial(self, s: torch.Tensor) -> torch.Tensor | None:
        if self.basis is None or self.basis.size(1) != self.rank:
            self.basis = torch.randn(
                self.n, self.rank, generator=self.generator, dtype=s.dtype, device="cpu"
            ).to(s.device)
        values, vectors = _leading_eigenpairs(s, self.basis, steps=2)
        self.basis = vectors
        theta, active = _simplex_threshold(values, self.total)
        if active >= self.rank - 1:
            return None  # more eigenvalues may pass the threshold than the subspace holds
        keep = vectors[:, :active]
        return (keep * (values[:active] - theta)) @ keep.T


def _leading_eigenpairs(
    s: torch.Tensor, start: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Largest ``r`` eigenpairs of symmetric ``s`` [N, N] (values descending, vectors
    [N, r]) by Rayleigh-Ritz on the block Krylov space ``span(V, S V)``, ``steps`` times
    from ``start`` [N, r]; warm starts from the previous ADMM step need few steps."""
    r = start.size(1)
    vectors = start
    s_vectors = s @ vectors
    for _ in range(steps):
        basis = torch.linalg.qr(torch.cat([vectors, s_vectors], dim=1)).Q
        s_basis = s @ basis
        small = basis.T @ s_basis
        values, rotation = torch.linalg.eigh(0.5 * (small + small.T))
        top = rotation[:, -r:].flip(1)
        vectors, s_vectors = basis @ top, s_basis @ top
    return values[-r:].flip(0), vectors


def _lower_bound(costs: torch.Tensor, multiplier: torch.Tensor, totals: list[float]) -> float:
    """Lagrangian lower bound at the multiplier ``Y`` of ``Z = W`` (module docstring)."""
    bound = 0.0
    for k, total in enumerate(totals):
        g = costs[k] + multiplier[k]
        bound += total * float(torch.linalg.eigvalsh(0.5 * (g + g.T))[0])
    row_max = multiplier.amax(dim=2).amax(dim=0)  # [N]: max over blocks and columns
    return bound - float(row_max.sum())


def solve_block_sdp(
    costs: torch.Tensor,
    totals: list[float],
    max_iter: int = 2000,
    tol: float = 1e-4,
    rho: float = 1.0,
    eig: str = "auto",
    check_every: int = 10,
    seed: int = 0,
    start: torch.Tensor | None = None,
    progress: bool = False,
) -> SDPResult:
    """Solve the block SDP of the module docstring by ADMM.

    Args:
        costs: [m, N, N] symmetric cost matrices ``B_k`` (float32 or float64; the solver
            runs in this dtype on this device).
        totals: ``m`` traces ``t_k > 0`` (``K`` for Peng-Wei, ones for the lift).
        max_iter: ADMM iterations at most.
        tol: stop when both relative residuals fall below it.
        rho: initial penalty (on costs scaled to unit size); adapted by residual
            balancing (Boyd et al. 2011, 3.4.1).
        eig: "full" (``eigh`` per step), "partial" (leading subspace, module
            docstring) or "auto" (partial from N = 600).
        check_every: residuals and the rho update every this many iterations.
        seed: seed of the random start of the partial eigensolver.
        start: optional [m, N, N] warm start for ``W`` (e.g. a previous solution).
        progress: show a progress bar over the ADMM iterations (tqdm, on stderr; it
            stops early at convergence).

    Raises:
        ValueError: malformed costs, totals or settings.
    """
    if costs.dim() != 3 or costs.size(1) != costs.size(2) or not costs.is_floating_point():
        raise ValueError(f"costs must be a floating [m, N, N] tensor, got {tuple(costs.shape)}")
    m, n = costs.size(0), costs.size(1)
    if len(totals) != m or any(not (t > 0) for t in totals):
        raise ValueError(f"totals must hold {m} positive traces, got {totals!r}")
    if not bool(torch.isfinite(costs).all()):
        raise ValueError("costs contain NaN or inf")
    if eig not in EIG_MODES:
        raise ValueError(f"eig must be one of {EIG_MODES}, got {eig!r}")
    max_iter = positive_int(max_iter, "max_iter")
    check_every = positive_int(check_every, "check_every")
    tol, rho = positive_float(tol, "tol"), positive_float(rho, "rho")
    mode = ("partial" if n >= PARTIAL_FROM else "full") if eig == "auto" else eig

    # costs scaled so that B / rho and Z are of comparable size at rho = 1
    scale = float(costs.norm()) / math.sqrt(sum(totals)) or 1.0
    b = 0.5 * (costs + costs.transpose(1, 2)) / scale
    generator = torch.Generator().manual_seed(seed)
    cones = [_Spectrahedron(n, t, mode, 2 * int(math.ceil(t)) + 10, generator) for t in totals]
    w = torch.zeros_like(b) if start is None else start.to(b).clone()
    u = torch.zeros_like(b)
    z = torch.empty_like(b)
    history: dict[str, list[float]] = {"iter": [], "primal": [], "dual": [], "rho": []}
    primal = dual = math.inf
    n_iter = 0
    b_rho = b / rho
    theta = None
    for n_iter in show_progress(range(1, max_iter + 1), progress, "SDP (ADMM)"):
        target = w - u - b_rho
        for k in range(m):
            z[k] = cones[k](0.5 * (target[k] + target[k].T))
        # over-relaxation (Boyd et al. 2011, 3.4.3): fewer iterations for the same tol
        z_hat = RELAXATION * z + (1.0 - RELAXATION) * w
        w_prev = w
        w, theta = _project_rows(z_hat + u, theta)
        u = u + z_hat - w
        if n_iter % check_every and n_iter != max_iter:
            continue
        # relative residuals (Boyd et al. 2011, 3.3.1)
        primal = float((z - w).norm()) / max(float(z.norm()), float(w.norm()), 1e-12)
        dual = rho * float((w - w_prev).norm()) / max(rho * float(u.norm()), 1e-12)
        for key, value in zip(history, (n_iter, primal, dual, rho), strict=True):
            history[key].append(value)
        if primal < tol and dual < tol:
            break
        if primal > 10 * dual:
            rho, u = 2 * rho, u / 2
        elif dual > 10 * primal:
            rho, u = rho / 2, u * 2
        b_rho = b / rho
    objective = float((costs * z).sum())
    bound = scale * _lower_bound(b, rho * u, totals)
    return SDPResult(
        z=z,
        objective=objective,
        lower_bound=bound,
        primal_residual=primal,
        dual_residual=dual,
        n_iter=n_iter,
        converged=primal < tol and dual < tol,
        history=history,
    )


def sdp_kmeans(
    x: torch.Tensor,
    n_clusters: int,
    max_iter: int = 2000,
    tol: float = 1e-4,
    eig: str = "auto",
    seed: int = 0,
    progress: bool = False,
) -> SDPResult:
    """Peng-Wei SDP relaxation of k-means: ``max <X X^T, Z>`` s.t. ``Z`` PSD,
    ``Z >= 0``, ``Z 1 = 1``, ``tr Z = K``.

    Args:
        x: [N, d] points (any floating dtype; the solver runs in it, on its device).
        n_clusters: K in [1, N].
        max_iter, tol, eig, seed, progress: as in :func:`solve_block_sdp`.

    Returns:
        :class:`SDPResult` whose ``z`` is [N, N] and whose ``objective`` and
        ``lower_bound`` are of the maximisation, ``<X X^T, Z>`` (the bound is then an
        upper bound on the optimum). Centring ``x`` changes ``<X X^T, Z>`` by the
        constant ``N ||mean||^2`` on the feasible set, so the solver works centred.
    """
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"x must be a floating point [N, d] tensor, got {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or inf; impute or drop those rows first")
    n = x.size(0)
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters must be an integer in [1, {n}] (N), got {n_clusters!r}")
    centred = x - x.mean(dim=0, keepdim=True)
    result = solve_block_sdp(
        -(centred @ centred.T).unsqueeze(0),
        [float(n_clusters)],
        max_iter=max_iter,
        tol=tol,
        eig=eig,
        seed=seed,
        progress=progress,
    )
    offset = n * float((x.mean(dim=0) ** 2).sum())
    result.z = result.z[0]
    result.objective = float((x * (result.z @ x)).sum())
    result.lower_bound = offset - result.lower_bound
    return result


def sdp_embedding(z: torch.Tensor, n_clusters: int) -> torch.Tensor:
    """Rows of the top ``K`` eigenvectors of ``z`` [N, N], scaled by their eigenvalues:
    [N, K]. For the ideal block solution the rows of one cluster coincide."""
    values, vectors = torch.linalg.eigh(0.5 * (z + z.T))
    return vectors[:, -n_clusters:] * values[-n_clusters:].clamp_min(0.0)


__all__ = [
    "EIG_MODES",
    "SDPResult",
    "project_simplex_rows",
    "sdp_embedding",
    "sdp_kmeans",
    "solve_block_sdp",
]
