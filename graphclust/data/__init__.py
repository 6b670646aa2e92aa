"""Datasets, user-graph readers and input validation."""

from graphclust.data.arrays import from_arrays, membership_to_labels
from graphclust.data.catalog import (
    DATASETS,
    DatasetSpec,
    dataset_spec,
    is_available,
    list_datasets,
    load_dataset,
    verify_checksums,
)
from graphclust.data.features import structural_features
from graphclust.data.finalize import default_features, finalize_graph
from graphclust.data.memmap import load_memmap, save_memmap
from graphclust.data.paths import (
    ChecksumMismatchError,
    DatasetNotFoundError,
    cache_root,
    data_root,
)
from graphclust.data.readers import from_edge_list, from_gml, from_networkx, from_npz
from graphclust.data.validation import GraphWarning, check_graph

__all__ = [
    "DATASETS",
    "ChecksumMismatchError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "GraphWarning",
    "cache_root",
    "check_graph",
    "data_root",
    "dataset_spec",
    "default_features",
    "finalize_graph",
    "from_arrays",
    "from_edge_list",
    "from_gml",
    "from_networkx",
    "from_npz",
    "is_available",
    "list_datasets",
    "load_dataset",
    "load_memmap",
    "membership_to_labels",
    "save_memmap",
    "structural_features",
    "verify_checksums",
]
