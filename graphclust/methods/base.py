"""The estimator contract every method follows (scikit-learn style, PyG data).

A subclass declares its hyper-parameters as ``__init__`` keyword arguments, stores them
unchanged as attributes, and implements :meth:`BaseClusterer._fit`. Everything else,
validation at the door, seeding, device resolution, the fitted-state checks and the
run configuration, lives here once.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import torch
from torch_geometric.data import Data

from graphclust.assign.dist import ProcessGroup, any_rank
from graphclust.data.validation import check_graph, check_n_clusters
from graphclust.utils import resolve_device, seed_everything


class NotFittedError(RuntimeError):
    """A fitted attribute was read before :meth:`BaseClusterer.fit` was called."""


class BaseClusterer(ABC):
    """Base class of all graphclust methods.

    Subclass attributes:
        requires_features: ``fit`` refuses graphs without ``data.x``.
        k_free: the method finds the number of clusters itself (no ``n_clusters``).
        semi_supervised_attrs: attributes of ``data`` that ``fit`` may read (labels of
            the rows marked as known); empty for unsupervised methods, whose validated
            input never contains ``y``.

    Fitted attributes (set by ``fit``):
        labels_: LongTensor [N], cluster ids in 0..n_clusters_-1.
        soft_assignments_: FloatTensor [N, K] with rows summing to 1, or None.
        embeddings_: FloatTensor [N, d], or None for methods without embeddings.
        n_clusters_: number of non-empty clusters in ``labels_``.
        n_features_in_: feature width ``D`` of the fitted graph, or None (no features,
            or an input that is not a graph).
        history_: dict of per-epoch (or per-step) lists: losses, label-free scores.
        config_: the class name and hyper-parameters of this run.
        fit_time_: wall-clock seconds spent in ``fit``.
    """

    requires_features: ClassVar[bool] = True
    k_free: ClassVar[bool] = False
    semi_supervised_attrs: ClassVar[tuple[str, ...]] = ()

    # -- hyper-parameters -------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for name, param in signature.parameters.items():
            if name == "self":
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters as a dict, read from the constructor's signature."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseClusterer:
        """Set hyper-parameters by name; unknown names raise ``ValueError``."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {sorted(valid)}"
                )
            setattr(self, name, value)
        return self

    def clone(self) -> BaseClusterer:
        """A new, unfitted estimator with the same hyper-parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- fitting ----------------------------------------------------------------------
    def fit(self, data: Data) -> BaseClusterer:
        """Validate ``data``, train, and set the fitted attributes. Returns ``self``."""
        clean, num_samples = self._validate_input(data)
        self._train(clean, num_samples)
        return self

    def _validate_input(self, data: Any) -> tuple[Any, int]:
        """Check the input at the door; return the clean copy ``_fit`` receives and ``N``.

        Graph methods get :func:`check_graph`'s copy; estimators whose input is not a
        graph (images, videos) override this and keep the rest of :meth:`fit`.
        """
        n_clusters = None if self.k_free else getattr(self, "n_clusters", None)
        clean = check_graph(
            data,
            n_clusters=n_clusters,
            require_features=self.requires_features,
            keep=self.semi_supervised_attrs,
        )
        self._validate_params(clean)
        return clean, clean.num_nodes

    def _validate_new_input(self, data: Any) -> Data:
        """Check a graph given to ``transform`` / ``predict`` after ``fit``.

        Requires a fitted estimator, then applies :meth:`_validate_input`'s graph checks
        (without ``n_clusters``: any number of nodes; labels are never carried) and
        refuses features of another width than the fitted graph's. Returns the clean
        copy. Inductive graph methods call this first.
        """
        self._require_fitted()
        clean = check_graph(data, require_features=self.requires_features)
        expected = getattr(self, "n_features_in_", None)
        if expected is not None and clean.x is not None and clean.x.size(1) != expected:
            raise ValueError(
                f"data.x has {clean.x.size(1)} features per node, but "
                f"{type(self).__name__} was fitted on {expected}; pass features of "
                f"width {expected} (the same columns as at fit)"
            )
        return clean

    def _train(self, clean: Any, num_samples: int) -> None:
        """Seed, resolve the device, reset fitted state, run ``_fit``, check its outputs."""
        seed_everything(self.seed)  # raises for a missing or negative seed
        device = resolve_device(self.device)
        self.labels_ = None
        self.soft_assignments_ = None
        self.embeddings_ = None
        self.n_clusters_ = None
        x = getattr(clean, "x", None)
        self.n_features_in_ = int(x.size(1)) if isinstance(x, torch.Tensor) else None
        self.history_: dict[str, list[float]] = {}
        self.config_ = {"method": type(self).__name__, "params": self.get_params()}
        start = time.perf_counter()
        self._fit(clean, device)
        self.fit_time_ = time.perf_counter() - start
        self._check_fitted_outputs(num_samples)

    def fit_predict(self, data: Data) -> torch.Tensor:
        """Fit and return ``labels_`` (LongTensor [N])."""
        return self.fit(data).labels_

    def _validate_params(self, data: Data) -> None:
        """Hyper-parameter checks after the graph is checked; subclasses extend it."""
        if getattr(self, "device", None) is not None:
            resolve_device(self.device)  # fail before any work on an unknown device

    @abstractmethod
    def _fit(self, data: Data, device: torch.device) -> None:
        """Train on the validated input and set ``labels_`` (and what the method has)."""

    def _check_fitted_outputs(self, num_nodes: int) -> None:
        labels = self.labels_
        if not isinstance(labels, torch.Tensor) or labels.shape != (num_nodes,):
            raise RuntimeError(f"{type(self).__name__}._fit must set labels_ as a LongTensor [N]")
        self.labels_ = labels.detach().long().cpu()
        for name in ("soft_assignments_", "embeddings_"):
            value = getattr(self, name)
            if value is None:
                continue
            value = value.detach().float().cpu()
            check_finite(value, name)
            setattr(self, name, value)
        if self.n_clusters_ is None:
            self.n_clusters_ = int(self.labels_.unique().numel())

    # -- fitted state -----------------------------------------------------------------
    def _require_fitted(self) -> None:
        if getattr(self, "labels_", None) is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(data) first")

    def log(self, **values: float) -> None:
        """Append one value per key to ``history_`` (used by training loops)."""
        for key, value in values.items():
            self.history_.setdefault(key, []).append(float(value))


def check_finite(
    tensor: torch.Tensor | Sequence[torch.Tensor],
    what: str,
    step: int | None = None,
    group: ProcessGroup | None = None,
) -> None:
    """Raise ``FloatingPointError`` when ``tensor`` (or any of a sequence of tensors)
    holds NaN or inf, saying where.

    Training loops call this on their loss so that a run never goes on silently with NaN.
    With a process ``group`` every rank must call it, and all raise when any rank's
    tensors are not finite (one all-reduce per call), so that none is left waiting in
    the next collective.
    """
    tensors = (tensor,) if isinstance(tensor, torch.Tensor) else tuple(tensor)
    bad = not all(bool(torch.isfinite(t).all()) for t in tensors)
    if any_rank(bad, group, tensors[0].device):
        where = f" at step {step}" if step is not None else ""
        elsewhere = "" if bad else " on another process"
        raise FloatingPointError(
            f"{what} became NaN or inf{elsewhere}{where}; lower the learning rate, check "
            "the input scale, or raise the Sinkhorn epsilon"
        )


class DivergenceGuard:
    """Stops a fit whose values blow up while staying finite.

    ``check(tensor, step)`` records the largest magnitude of the first tensor it sees and
    raises ``FloatingPointError`` naming ``what`` and the step once a later one is more
    than ``factor`` times larger (and above 1): weights driven by too large a learning
    rate grow by orders of magnitude per step long before they overflow, and the
    clustering then collapses silently. NaN and inf are refused as by
    :func:`check_finite`.
    """

    def __init__(self, what: str, factor: float = 1e6) -> None:
        self.what = what
        self.factor = factor
        self.reference: float | None = None

    def check(self, tensor: torch.Tensor, step: int) -> None:
        check_finite(tensor, self.what, step)
        size = float(tensor.detach().abs().max()) if tensor.numel() else 0.0
        if self.reference is None:
            self.reference = size
        elif size > self.factor * max(self.reference, 1.0):
            raise FloatingPointError(
                f"{self.what} diverged at step {step}: values grew from {self.reference:.3g} "
                f"to {size:.3g} in magnitude; lower the learning rate or check the input scale"
            )


class Renumbered(NamedTuple):
    """Labels of the clusters that hold samples, numbered ``0..n-1`` (:func:`renumber_clusters`)."""

    labels: torch.Tensor  # LongTensor [N], in 0..n-1
    cluster_ids: torch.Tensor  # LongTensor [n], ascending: the trained cluster of each label
    soft: torch.Tensor | None  # [N, n], the columns of cluster_ids, rows summing to 1


def renumber_clusters(
    raw: torch.Tensor,
    soft: torch.Tensor | None = None,
    n_trained: int | None = None,
    method: str = "",
) -> Renumbered:
    """Number the trained clusters that hold samples ``0..n-1``, as the contract wants.

    A method that trains ``K`` clusters (centroids, a softmax head, prototypes) and
    reads its labels as ``raw`` ids in ``0..K-1`` can leave some empty; their ids would
    then be missing from ``labels_``. Here the used ids, ascending, become
    ``cluster_ids`` and ``labels = inverse``, so that ``cluster_ids[labels] == raw``.
    ``soft`` ``[N, K]`` keeps the columns of ``cluster_ids``, each row renormalised
    (its argmax is unchanged when ``raw`` is the argmax of ``soft``).

    With ``n_trained``, a ``UserWarning`` naming ``method`` says when fewer than
    ``n_trained`` clusters hold samples; it points at the first caller outside
    graphclust (the user's ``fit``).
    """
    cluster_ids, labels = torch.unique(raw, return_inverse=True)
    if soft is not None:
        soft = soft[:, cluster_ids.to(soft.device)]
        soft = soft / soft.sum(dim=1, keepdim=True).clamp_min(1e-30)
    n = int(cluster_ids.numel())
    if n_trained is not None and n < n_trained:
        warnings.warn(
            f"{method}: only {n} of the {n_trained} clusters hold samples; labels_ are "
            f"numbered 0..{n - 1} and cluster_ids_ maps them to the trained clusters",
            UserWarning,
            stacklevel=_outside_package_stacklevel(),
        )
    return Renumbered(labels, cluster_ids, soft)


def _outside_package_stacklevel() -> int:
    """The ``warnings.warn`` stacklevel, for its caller, of the first frame outside
    graphclust and torch (whose decorators such as ``no_grad`` add frames)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    skip = (package + os.sep, os.path.dirname(torch.__file__) + os.sep)
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1
    return level


__all__ = [
    "BaseClusterer",
    "NotFittedError",
    "Renumbered",
    "check_finite",
    "check_n_clusters",
    "renumber_clusters",
]
