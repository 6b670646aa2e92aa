"""graphclust: deep graph clustering and community detection on attributed graphs."""

from graphclust.data import list_datasets, load_dataset
from graphclust.methods import METHODS, BaseClusterer, KMeans, Louvain, SpectralClustering

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "BaseClusterer",
    "KMeans",
    "Louvain",
    "SpectralClustering",
    "__version__",
    "list_datasets",
    "load_dataset",
]
