"""Clustering methods behind one estimator contract, resolvable by name."""

from graphclust.methods.base import BaseClusterer, NotFittedError
from graphclust.methods.baselines import KMeans, Louvain, SpectralClustering
from graphclust.methods.dag import DAG
from graphclust.methods.pamc import PamC
from graphclust.registry import Registry

METHODS: Registry[type[BaseClusterer]] = Registry("method")
METHODS.register("kmeans", KMeans)
METHODS.register("spectral", SpectralClustering)
METHODS.register("louvain", Louvain)
METHODS.register("pamc", PamC)
METHODS.register("dag", DAG)


def get_method(name: str) -> type[BaseClusterer]:
    """The estimator class registered as ``name`` (e.g. ``"kmeans"``)."""
    return METHODS.get(name)


__all__ = [
    "DAG",
    "METHODS",
    "BaseClusterer",
    "KMeans",
    "Louvain",
    "NotFittedError",
    "PamC",
    "SpectralClustering",
    "get_method",
]
