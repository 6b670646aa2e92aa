"""Transductive clustering with a few labelled rows (Ziko et al. 2021, LaplacianShot).

Minimise over soft assignments ``Y`` (rows on the simplex) and prototypes ``m``

    E(Y, m) = sum_ik y_ik a_ik(m_k) - (lambda / 2) sum_ij w_ij y_i^T y_j
              + T sum_{i unlabelled} sum_k y_ik log y_ik,

with the labelled rows fixed to their one-hot labels. ``a_ik`` is the K-means cost
``|x_i - m_k|^2`` or, for the mode variant, ``-exp(-|x_i - m_k|^2 / (2 sigma^2))`` (a
Gaussian kernel density at the mode ``m_k``; Scalable Laplacian K-modes, Ziko et al.
2018). With ``W`` positive semi-definite the pairwise term is concave in ``Y``, so its
tangent at the current ``Y^t`` bounds it from above; the bound plus the (convex)
entropy barrier is minimised in closed form, for every row in parallel, by

    y_i <- softmax((-a_i + lambda sum_j w_ij y_j^t) / T)              (bound step)

so every bound step lowers ``E`` (concave-convex procedure). Bound steps run until ``Y``
stops changing; then the prototypes are re-estimated: the weighted mean
``m_k = sum_i y_ik x_i / sum_i y_ik`` (the exact minimiser for K-means) or one
mean-shift step ``m_k = sum_i y_ik k_ik x_i / sum_i y_ik k_ik`` (an ascent step of the
kernel density, for modes). Both lower ``E`` too, so the whole run is monotone.

Differences from the published code/paper, all deliberate:

- The paper writes the pairwise term as ``-lambda sum_ij w_ij y_i^T y_j``, whose tangent
  gives ``2 lambda`` in the update; the ``1/2`` here makes ``laplacian_weight`` the
  update's ``lambda`` (0.7 by default, as published).
- ``W`` comes from the input graph (``affinity="graph"``) or a cosine kNN graph of the
  features (``"knn"``, the paper), and is by default ``(I + D^-1/2 A D^-1/2) / 2``
  (``weights="normalized"``), whose eigenvalues lie in ``[0, 1]``: PSD, so the bound
  holds and ``E`` provably never rises, and hubs do not dominate. The paper's 0/1 kNN
  affinity is ``weights="binary"``; it is not PSD in general, so the parallel updates
  may then raise ``E`` (``history_["objective"]`` shows it).
- Graph nodes are all rows of one graph: labelled nodes take part in the pairwise term
  (as in label propagation), not only through the prototypes.
- An entropy weight (``temperature`` ``T``, update ``softmax((-a_i + lambda (W Y)_i)
  / T)``) exists because the paper's ``T = 1`` is tied to its backbone features: on
  centred, L2-normalised bag-of-words features (Cora, CiteSeer) the cost gaps between
  prototypes are ~0.1, ``T = 1`` leaves every row near uniform (mean max-probability
  0.15 for ``K = 7``), and the soft prototype updates then pull all prototypes to the
  data mean. That collapse is visible without labels (the assignments' entropy), hence
  the default ``T = 0.1``; ``T = 1`` is the paper's setting.
- Features are centred and L2-normalised (``feature_norm="center_l2"``, the paper's
  CL2N), so ``a_ik`` lies in ``[0, 4]`` whatever the input scale.
- The mode variant's bandwidth defaults to ``sigma^2`` = the mean over rows of the
  squared distance to the nearest initial prototype (label-free, scale-matched).
"""

from __future__ import annotations

import numbers
from typing import ClassVar

import torch
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from graphclust.data.labelled import labelled_rows
from graphclust.graph.adjacency import _csr
from graphclust.graph.knn import knn_graph
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.training import progress
from graphclust.utils.checks import flag, positive_float, positive_int

_CHOICES = {
    "variant": ("kmeans", "modes"),
    "affinity": ("graph", "knn"),
    "weights": ("normalized", "binary"),
    "feature_norm": ("center_l2", "l2", "none"),
}


def draw_labelled_rows(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` random rows of every class of ``y``, sorted.

    Args:
        y: LongTensor [N] of class ids; negative ids mark rows without a label.
        per_class: rows drawn per class.
        seed: seed of the draw (its own generator; global RNG untouched).

    Returns:
        LongTensor [L], ``L = per_class * n_classes``.
    """
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.is_floating_point():
        raise TypeError("y must be an integer tensor [N] of class ids")
    per_class = positive_int(per_class, "labels_per_class")
    generator = torch.Generator().manual_seed(int(seed))
    drawn = []
    for cls in torch.unique(y[y >= 0]).tolist():
        rows = (y == cls).nonzero().flatten()
        if rows.numel() < per_class:
            raise ValueError(
                f"class {cls} has {rows.numel()} rows, fewer than labels_per_class={per_class}"
            )
        drawn.append(rows[torch.randperm(rows.numel(), generator=generator)[:per_class]])
    return torch.cat(drawn).sort().values


def affinity_matrix(edge_index: torch.Tensor, num_nodes: int, weights: str) -> torch.Tensor:
    """The sparse affinity ``W`` [N, N] (CSR) of an undirected ``edge_index``.

    ``"normalized"``: ``(I + D^-1/2 A D^-1/2) / 2`` (PSD; an isolated node keeps only
    its self-loop). ``"binary"``: ``A`` itself, 0/1.
    """
    row, col = edge_index
    value = torch.ones(row.numel(), device=edge_index.device)
    if weights == "normalized":
        degree = scatter(value, row, dim=0, dim_size=num_nodes, reduce="sum")
        inv_sqrt = torch.where(degree > 0, degree.rsqrt(), torch.zeros_like(degree))
        value = 0.5 * value * inv_sqrt[row] * inv_sqrt[col]
        loop = torch.arange(num_nodes, device=edge_index.device)
        row, col = torch.cat([row, loop]), torch.cat([col, loop])
        value = torch.cat([value, torch.full((num_nodes,), 0.5, device=value.device)])
    return _csr(row, col, value, num_nodes)


def assignment_costs(
    x: torch.Tensor, prototypes: torch.Tensor, variant: str, bandwidth: float
) -> torch.Tensor:
    """Unary costs ``a`` [N, K]: ``|x_i - m_k|^2`` or ``-exp(-|x_i - m_k|^2 / 2 sigma^2)``."""
    sq = torch.cdist(x, prototypes).square()
    return sq if variant == "kmeans" else -torch.exp(-sq / (2.0 * bandwidth**2))


def bound_step(
    costs: torch.Tensor,
    affinity: torch.Tensor,
    y: torch.Tensor,
    labelled: torch.Tensor,
    laplacian_weight: float,
    temperature: float = 1.0,
) -> torch.Tensor:
    """One parallel bound step ``y_i <- softmax((-a_i + lambda (W Y)_i) / T)``.

    Labelled rows are kept. Shapes: costs [N, K], affinity sparse [N, N], y [N, K],
    labelled bool [N].
    """
    logits = -costs + laplacian_weight * (affinity @ y)
    return torch.where(labelled.unsqueeze(1), y, torch.softmax(logits / temperature, dim=1))


def objective(
    costs: torch.Tensor,
    affinity: torch.Tensor,
    y: torch.Tensor,
    labelled: torch.Tensor,
    laplacian_weight: float,
    temperature: float = 1.0,
) -> float:
    """``E(Y, m)`` of the module docstring, computed sparsely (shapes as :func:`bound_step`).

    In float64: the steps' decreases fall below float32's resolution of ``E`` near the end.
    """
    y, costs, affinity = y.double(), costs.double(), affinity.double()
    unary = (y * costs).sum()
    pairwise = (y * (affinity @ y)).sum()
    free = y[~labelled]
    entropy = torch.special.xlogy(free, free).sum()
    return float(unary - 0.5 * laplacian_weight * pairwise + temperature * entropy)


class TransductiveClustering(BaseClusterer):
    """Laplacian-regularised K-means / K-modes with a few labelled rows (bound optimiser).

    Semi-supervised: ``fit(data, y=labels, labeled_mask=mask)`` reads the labels of the
    masked rows only; ``data.y`` is never read unless ``labels_per_class`` asks for a
    random draw from it (for benchmark runners that call ``fit(data)``).

    Args:
        n_clusters: ``K``; None takes ``1 + max`` of the given labels. Every class
            ``0..K-1`` needs at least one labelled row (its prototype starts at their mean).
        variant: ``"kmeans"`` or ``"modes"`` (Gaussian-kernel modes, mean-shift updates).
        laplacian_weight: ``lambda`` of the update (0 gives nearest-prototype
            assignment with prototype re-estimation, i.e. semi-supervised K-means).
        affinity: ``"graph"`` (``data.edge_index``) or ``"knn"`` (cosine kNN graph of
            the features, ``knn`` neighbours, symmetrised).
        weights: ``"normalized"`` (PSD, default) or ``"binary"`` (see module docstring).
        knn: neighbours per node for ``affinity="knn"``.
        temperature: ``T``, the entropy weight (see the module docstring; paper: 1).
        feature_norm: ``"center_l2"`` (centre, then rows to unit norm; the paper),
            ``"l2"`` (unit rows only) or ``"none"``.
        bandwidth: ``sigma`` of the mode kernel; None picks it from the data.
        max_iter: prototype updates (outer iterations).
        bound_iter: maximum bound steps per outer iteration.
        tol: stop the bound steps when ``max |Y_new - Y| < tol``, and the outer loop
            when neither ``Y`` nor the prototypes move by more than it.
        labels_per_class: when ``fit`` gets no ``y``, draw this many labelled rows per
            class from ``data.y`` (explicit opt-in; None refuses to read ``data.y``).
        label_seed: seed of that draw.
        progress: show a progress bar over the outer iterations (tqdm, on stderr).
        seed, device: as in every method (the fit itself is deterministic).

    Fitted attributes, besides the base ones: ``cluster_centers_`` [K, D] (the
    prototypes, in the normalised feature space), ``embeddings_`` [N, D] (the features
    the costs were computed on), ``labeled_mask_`` bool [N], ``bandwidth_`` (modes),
    ``n_iter_`` (outer iterations run), ``history_["objective"]`` (after each run of bound
    steps and each prototype step) and ``history_["bound_steps"]``.
    """

    requires_features: ClassVar[bool] = True

    def __init__(
        self,
        n_clusters: int | None = None,
        variant: str = "kmeans",
        laplacian_weight: float = 0.7,
        temperature: float = 0.1,
        affinity: str = "graph",
        weights: str = "normalized",
        knn: int = 10,
        feature_norm: str = "center_l2",
        bandwidth: float | None = None,
        max_iter: int = 20,
        bound_iter: int = 50,
        tol: float = 1e-4,
        labels_per_class: int | None = None,
        label_seed: int = 0,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.variant = variant
        self.laplacian_weight = laplacian_weight
        self.temperature = temperature
        self.affinity = affinity
        self.weights = weights
        self.knn = knn
        self.feature_norm = feature_norm
        self.bandwidth = bandwidth
        self.max_iter = max_iter
        self.bound_iter = bound_iter
        self.tol = tol
        self.labels_per_class = labels_per_class
        self.label_seed = label_seed
        self.progress = progress
        self.seed = seed
        self.device = device

    # -- input -----------------------------------------------------------------------
    def fit(
        self,
        data: Data,
        y: torch.Tensor | None = None,
        labeled_mask: torch.Tensor | None = None,
    ) -> TransductiveClustering:
        """Fit on ``data`` with labelled rows ``labeled_mask`` whose labels are in ``y``.

        Args:
            data: the graph (``x`` [N, D] and ``edge_index``).
            y: LongTensor [N] (only ``y[labeled_mask]`` is read) or [L] (the labels of
                the labelled rows, in the order of the mask's rows).
            labeled_mask: BoolTensor [N], or LongTensor [L] of distinct row indices.
        """
        num_nodes = data.num_nodes if isinstance(data, Data) else None
        index, labels = self._labelled_rows(data, y, labeled_mask, num_nodes)
        clean, n = self._validate_input(data)
        k = self._n_classes(labels)
        if index.numel() >= n:
            raise ValueError("every row is labelled: there is nothing to cluster")
        self._labelled = (index, labels, k)
        try:
            self._train(clean, n)
        finally:
            del self._labelled
        return self

    def fit_predict(
        self, data: Data, y: torch.Tensor | None = None, labeled_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Fit and return ``labels_`` (LongTensor [N])."""
        return self.fit(data, y=y, labeled_mask=labeled_mask).labels_

    def _labelled_rows(self, data, y, labeled_mask, num_nodes) -> tuple[torch.Tensor, ...]:
        """``(index [L], labels [L])`` of the labelled rows, validated."""
        if num_nodes is None:
            raise TypeError(f"expected a torch_geometric.data.Data, got {type(data).__name__}")
        draw = None
        if self.labels_per_class is not None:
            positive_int(self.label_seed, "label_seed", minimum=0)

            def draw(labels: torch.Tensor) -> torch.Tensor:
                return draw_labelled_rows(labels, self.labels_per_class, self.label_seed)

        return labelled_rows(
            data,
            num_nodes,
            y,
            labeled_mask,
            method="TransductiveClustering",
            option="labels_per_class",
            draw=draw,
        )

    def _n_classes(self, labels: torch.Tensor) -> int:
        k = int(labels.max()) + 1 if self.n_clusters is None else self.n_clusters
        if int(labels.max()) >= k:
            raise ValueError(f"y holds class {int(labels.max())} but n_clusters={k}")
        missing = sorted(set(range(k)) - set(labels.tolist()))
        if missing:
            raise ValueError(
                f"classes {missing[:10]} have no labelled row; each of the {k} prototypes "
                "starts at the mean of its labelled rows, so label at least one per class"
            )
        if k < 2:
            raise ValueError("at least 2 classes are needed")
        return k

    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        flag(self.progress, "progress")
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        weight = self.laplacian_weight
        if not isinstance(weight, numbers.Real) or isinstance(weight, bool) or not weight >= 0:
            raise ValueError(f"laplacian_weight must be a number >= 0, got {weight!r}")
        for name in ("max_iter", "bound_iter", "knn"):
            positive_int(getattr(self, name), name)
        if self.affinity == "knn" and self.knn >= data.num_nodes:
            raise ValueError(f"knn={self.knn} must be below the number of nodes")
        positive_float(self.tol, "tol")
        positive_float(self.temperature, "temperature")
        if self.bandwidth is not None:
            positive_float(self.bandwidth, "bandwidth")

    # -- fitting ---------------------------------------------------------------------
    def _fit(self, data: Data, device: torch.device) -> None:
        index, labels, k = self._labelled
        x = data.x.to(device)
        if self.feature_norm == "center_l2":
            x = x - x.mean(dim=0)
        if self.feature_norm != "none":
            x = torch.nn.functional.normalize(x, dim=1)
        n = x.size(0)
        edges = data.edge_index if self.affinity == "graph" else knn_graph(x, self.knn)
        affinity = affinity_matrix(edges.to(device), n, self.weights)
        labelled = torch.zeros(n, dtype=torch.bool, device=device)
        labelled[index.to(device)] = True
        onehot = torch.zeros(n, k, device=device)
        onehot[index.to(device), labels.to(device)] = 1.0
        prototypes = scatter(x[index.to(device)], labels.to(device), 0, dim_size=k, reduce="mean")
        self.bandwidth_ = self._bandwidth(x, prototypes)
        costs = assignment_costs(x, prototypes, self.variant, self.bandwidth_)
        lam, temp = float(self.laplacian_weight), float(self.temperature)
        y = torch.where(labelled.unsqueeze(1), onehot, torch.softmax(-costs / temp, dim=1))
        self.n_iter_ = 0
        for _ in progress(range(self.max_iter), self.progress, "Transductive"):
            y, moved_y = self._bound_steps(costs, affinity, y, labelled, lam, temp)
            new = self._update_prototypes(x, y, prototypes)
            moved_m = float((new - prototypes).abs().max())
            prototypes = new
            costs = assignment_costs(x, prototypes, self.variant, self.bandwidth_)
            self.log(objective=objective(costs, affinity, y, labelled, lam, temp))
            self.n_iter_ += 1
            if moved_y < self.tol and moved_m < self.tol:
                break
        y, _ = self._bound_steps(costs, affinity, y, labelled, lam, temp)
        self.soft_assignments_ = y
        self.labels_ = y.argmax(dim=1)
        self.embeddings_ = x
        self.cluster_centers_ = prototypes.cpu()
        self.labeled_mask_ = labelled.cpu()
        self.n_clusters_ = int(self.labels_.unique().numel())

    def _bandwidth(self, x: torch.Tensor, prototypes: torch.Tensor) -> float | None:
        if self.variant != "modes":
            return None
        if self.bandwidth is not None:
            return float(self.bandwidth)
        nearest = torch.cdist(x, prototypes).square().min(dim=1).values.mean()
        return max(float(nearest.sqrt()), 1e-6)

    def _bound_steps(self, costs, affinity, y, labelled, lam, temp) -> tuple[torch.Tensor, float]:
        """Bound steps to convergence; returns ``Y`` and how far the first step moved it."""
        first = None
        for step in range(self.bound_iter):
            new = bound_step(costs, affinity, y, labelled, lam, temp)
            check_finite(new, "TransductiveClustering assignments", step)
            moved = float((new - y).abs().max())
            first = moved if first is None else first
            y = new
            if moved < self.tol:
                break
        self.log(bound_steps=step + 1)
        self.log(objective=objective(costs, affinity, y, labelled, lam, temp))
        return y, first

    def _update_prototypes(self, x, y, prototypes) -> torch.Tensor:
        """Weighted means (K-means) or one mean-shift step (modes); [K, D]."""
        weight = y
        if self.variant == "modes":
            weight = y * (-assignment_costs(x, prototypes, "modes", self.bandwidth_))
        mass = weight.sum(dim=0).unsqueeze(1)
        # A prototype without mass (every row left it) stays where it was.
        return torch.where(mass > 0, weight.t() @ x / mass.clamp_min(1e-12), prototypes)


__all__ = [
    "TransductiveClustering",
    "affinity_matrix",
    "assignment_costs",
    "bound_step",
    "draw_labelled_rows",
    "objective",
]
