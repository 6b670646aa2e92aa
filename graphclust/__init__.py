"""graphclust: deep graph clustering and community detection on attributed graphs."""

from graphclust.data import list_datasets, load_dataset
from graphclust.methods import (
    DAG,
    METHODS,
    BaseClusterer,
    KMeans,
    Louvain,
    PamC,
    SpectralClustering,
)

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "METHODS",
    "BaseClusterer",
    "KMeans",
    "Louvain",
    "PamC",
    "SpectralClustering",
    "__version__",
    "list_datasets",
    "load_dataset",
]
