"""Tiny estimators of every registered method, shared by the hardening and property tests.

:func:`tiny_estimator` builds ``METHODS.get(name)`` with settings small enough for a fit
on a few dozen nodes in well under a second on one CPU thread (few epochs, narrow
layers, few k-means restarts), the semi-supervised switch that lets GPC and the
transductive method draw labelled rows from ``data.y``, and ``device="cpu"``.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from graphclust.methods import METHODS, BaseClusterer

#: Methods whose ``fit`` takes images / video clips, not a graph.
IMAGE_ONLY = frozenset({"swav", "sigma"})

#: Per-method settings for a fit of a few dozen nodes in under a second.
TINY: dict[str, dict[str, Any]] = {
    "kmeans": {"n_init": 2, "max_iter": 50},
    "spectral": {"n_init": 2},
    "louvain": {},
    "pamc": {"hidden": (16,), "latent_dim": 4, "pretrain_epochs": 2, "epochs": 3, "n_init": 2},
    "dag": {"preset": "paper", "k_max": 4, "hidden": 8, "heads": 1, "epochs": 3, "progress": False},
    "depict": {
        "hidden": (16,),
        "latent_dim": 4,
        "pretrain_epochs": 2,
        "init_epochs": 1,
        "epochs": 2,
        "batch_size": 64,
        "n_init": 2,
    },
    "mlcd": {
        "n_centres": 6,
        "n_positive": 2,
        "rounds": 1,
        "epochs": 1,
        "hidden": (16,),
        "embedding_dim": 8,
        "kmeans_n_init": 2,
        "progress": False,
    },  # fmt: skip
    "mgca": {
        "embedding_dim": 8,
        "hidden": (16,),
        "epochs": 2,
        "warmup_epochs": 0,
        "n_prototypes": None,
        "kmeans_n_init": 2,
        "progress": False,
    },  # fmt: skip
    "gpc": {
        "pretrain_epochs": 2,
        "rounds": 1,
        "epochs_per_round": 1,
        "hidden": (16,),
        "latent_dim": 4,
        "pca_dim": 4,
    },  # fmt: skip
    "sdp-kmeans": {"ila_iter": 2, "n_init": 2, "max_iter": 100},
    "transductive": {"max_iter": 5, "bound_iter": 10},
    "swav": {
        "width": 4,
        "hidden_dim": 16,
        "embedding_dim": 8,
        "batch_size": 32,
        "local_size": 4,
        "n_local": 2,
        "epochs": 1,
        "kmeans_n_init": 2,
        "progress": False,
    },  # fmt: skip
    "sigma": {
        "tube_size": (2, 4),
        "dim": 16,
        "depth": 1,
        "heads": 2,
        "decoder_dim": 16,
        "feature_dim": 8,
        "n_prototypes": 6,
        "epochs": 1,
        "batch_size": 8,
        "kmeans_n_init": 2,
        "progress": False,
    },  # fmt: skip
}


def semi_supervised(name: str) -> dict[str, Any]:
    """The switch that lets a semi-supervised method draw its labelled rows from data.y."""
    return {"gpc": {"label_fraction": 0.5}, "transductive": {"labels_per_class": 2}}.get(name, {})


def accepted(cls: type[BaseClusterer], params: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` that ``cls.__init__`` takes."""
    names = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in params.items() if k in names}


def tiny_estimator(name: str, n_clusters: int | None = 2, **overrides: Any) -> BaseClusterer:
    """``METHODS.get(name)`` with :data:`TINY` settings, on the CPU.

    ``n_clusters`` is passed to methods that take it (None leaves their default / lets a
    K-free method choose); ``overrides`` win over everything (unknown names dropped).
    """
    cls = METHODS.get(name)
    params: dict[str, Any] = {"device": "cpu", **TINY[name], **semi_supervised(name)}
    if n_clusters is not None:
        params["n_clusters"] = n_clusters
    params.update(overrides)
    return cls(**accepted(cls, params))


def check_partition(estimator, n: int, n_clusters=None) -> None:
    """The fitted-attribute contract of BaseClusterer, checked on the values."""
    labels = estimator.labels_
    assert labels.dtype == torch.long and labels.shape == (n,)
    k = estimator.n_clusters_
    # labels are 0..n_clusters_-1, every id used (no id of an emptied cluster kept)
    assert sorted(labels.unique().tolist()) == list(range(k)), (k, labels.unique())
    if n_clusters is not None:
        assert 1 <= k <= int(n_clusters)
    soft = estimator.soft_assignments_
    if soft is not None:
        assert soft.shape[0] == n and soft.shape[1] >= k
        assert bool((soft >= 0).all())
        torch.testing.assert_close(soft.sum(dim=1), torch.ones(n), atol=1e-4, rtol=0)
    embeddings = estimator.embeddings_
    if embeddings is not None:
        assert embeddings.shape[0] == n and bool(torch.isfinite(embeddings).all())
