"""Clustering methods behind one estimator contract, resolvable by name."""

from graphclust.methods.base import BaseClusterer, NotFittedError
from graphclust.methods.baselines import KMeans, Louvain, SpectralClustering
from graphclust.methods.dag import DAG
from graphclust.methods.depict import DEPICT
from graphclust.methods.gpc import GPC
from graphclust.methods.mgca import MGCA
from graphclust.methods.mlcd import MLCD
from graphclust.methods.pamc import PamC
from graphclust.methods.sdp import SDPKMeans
from graphclust.methods.sigma import SIGMA
from graphclust.methods.swav import SwAV
from graphclust.methods.transductive import TransductiveClustering
from graphclust.registry import Registry

METHODS: Registry[type[BaseClusterer]] = Registry("method")
for _name, _cls in (
    ("kmeans", KMeans),
    ("spectral", SpectralClustering),
    ("louvain", Louvain),
    ("pamc", PamC),
    ("dag", DAG),
    ("depict", DEPICT),
    ("mlcd", MLCD),
    ("mgca", MGCA),
    ("gpc", GPC),
    ("sdp-kmeans", SDPKMeans),
    ("transductive", TransductiveClustering),
    ("swav", SwAV),
    ("sigma", SIGMA),
):
    METHODS.register(_name, _cls)


def get_method(name: str) -> type[BaseClusterer]:
    """The estimator class registered as ``name`` (e.g. ``"kmeans"``)."""
    return METHODS.get(name)


__all__ = [
    "DAG",
    "DEPICT",
    "GPC",
    "METHODS",
    "MGCA",
    "MLCD",
    "SIGMA",
    "BaseClusterer",
    "KMeans",
    "Louvain",
    "NotFittedError",
    "PamC",
    "SDPKMeans",
    "SpectralClustering",
    "SwAV",
    "TransductiveClustering",
    "get_method",
]
