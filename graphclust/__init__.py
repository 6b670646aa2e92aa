"""graphclust: deep graph clustering and community detection on attributed graphs."""

from importlib.metadata import PackageNotFoundError, version

from graphclust.data import from_arrays, list_datasets, load_dataset, structural_features
from graphclust.methods import (
    DAG,
    DEPICT,
    GPC,
    METHODS,
    MGCA,
    MLCD,
    SIGMA,
    BaseClusterer,
    KMeans,
    Louvain,
    PamC,
    SDPKMeans,
    SpectralClustering,
    SwAV,
    TransductiveClustering,
)

try:
    __version__ = version("graphclust")  # one version source: the package metadata
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

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
    "PamC",
    "SDPKMeans",
    "SpectralClustering",
    "SwAV",
    "TransductiveClustering",
    "__version__",
    "from_arrays",
    "list_datasets",
    "load_dataset",
    "structural_features",
]
