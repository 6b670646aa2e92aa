"""The dataset catalog: one :class:`DatasetSpec` per name, in one registry.

``load_dataset("cora")`` looks the name up in :data:`DATASETS`, checks the raw files
(clear error when missing), and calls the spec's loader. Adding a dataset is adding
one ``_add(DatasetSpec(...))`` here; nothing else branches on names.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from torch_geometric.data import Data

from graphclust.data import benchmarks, images, pyg_datasets, realworld, synthetic
from graphclust.data.checksums import CHECKSUMS as _CHECKSUMS
from graphclust.data.karate import load_karate
from graphclust.data.paths import (
    ChecksumMismatchError,
    DatasetNotFoundError,
    data_root,
    missing_files,
    sha256,
)
from graphclust.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """What the toolkit knows about one dataset.

    Attributes:
        name: registry name (lower case).
        loader: builds the graph; called as ``loader(root, **params)`` for datasets
            with files and ``loader(**params)`` for embedded ones.
        description: one line for listings.
        files: raw files relative to the data root; empty for embedded datasets.
        num_nodes, num_classes: as loaded with default parameters (None: depends on
            parameters).
        source: where the raw files come from.
        licence: terms of use, as far as published.
        checksums: sha256 of each raw file, as in datasets/README.md.
        downloadable: PyG/ogb can download the files (``load_dataset(download=True)``).
    """

    name: str
    loader: Callable[..., Data]
    description: str
    files: tuple[str, ...] = ()
    num_nodes: int | None = None
    num_classes: int | None = None
    source: str = ""
    licence: str = ""
    checksums: dict[str, str] = field(default_factory=dict)
    downloadable: bool = False

    @property
    def embedded(self) -> bool:
        return not self.files


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def _add(spec: DatasetSpec) -> None:
    DATASETS.register(spec.name, spec)


def list_datasets() -> list[str]:
    """Names of all registered datasets, sorted."""
    return DATASETS.names()


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` registered as ``name`` (KeyError lists known names)."""
    return DATASETS.get(name)


def is_available(name: str, root: str | os.PathLike[str] | None = None) -> bool:
    """True when the dataset can be loaded without downloading anything."""
    spec = dataset_spec(name)
    return not missing_files(data_root(root), spec.files)


def verify_checksums(name: str, root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Hash the raw files of ``name`` and compare with the manifest.

    Returns:
        file (relative to the root) -> sha256 as computed.

    Raises:
        DatasetNotFoundError: a file is missing.
        ChecksumMismatchError: a file's sha256 differs from the recorded one.
    """
    spec = dataset_spec(name)
    root = data_root(root)
    missing = missing_files(root, spec.files)
    if missing:
        raise DatasetNotFoundError(spec.name, root, missing)
    computed = {f: sha256(root / f) for f in spec.files}
    wrong = [
        f for f, digest in computed.items() if f in spec.checksums and spec.checksums[f] != digest
    ]
    if wrong:
        raise ChecksumMismatchError(
            f"dataset {spec.name!r}: sha256 differs from datasets/README.md for "
            f"{', '.join(wrong)} under {root}; the files are corrupt or another version"
        )
    return computed


def _check_params(spec: DatasetSpec, params: dict[str, Any]) -> None:
    signature = inspect.signature(spec.loader)
    accepted = [p for p in signature.parameters if p not in ("root", "name")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(
            f"dataset {spec.name!r} takes no parameter(s) {unknown}; accepted: {accepted or 'none'}"
        )


def load_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    verify: bool = False,
    **params: Any,
) -> Data:
    """Load a dataset by name as a ``torch_geometric.data.Data``.

    Every graph has ``x`` float32 [N, D], ``edge_index`` long [2, E] (undirected,
    coalesced, no self-loops), ``y`` long [N] (when labelled), ``num_classes`` and
    ``name``. Processed files go to the cache (``$GRAPHCLUST_CACHE``), never to the
    data root.

    Args:
        name: one of :func:`list_datasets` (case-, ``_``/``-``-insensitive).
        root: the data root; default ``$GRAPHCLUST_DATA``, else ``./datasets``.
        download: for datasets PyG/ogb can fetch (Planetoid, Amazon, ogbn-*), download
            missing files into the root as PyG and ogb usually do (needs internet and a
            writable root). When the download fails (offline machine), the error is a
            :class:`DatasetNotFoundError` naming the files and the folder. Pass False
            to fail at once without trying the network.
        verify: check the raw files' sha256 against the manifest first.
        **params: dataset parameters (e.g. ``k`` for image kNN graphs, ``n_nodes``,
            ``p_in``, ``seed`` for ``sbm``); see ``dataset_spec(name).loader``.

    Raises:
        KeyError: unknown name. TypeError: unknown parameter.
        DatasetNotFoundError: raw files missing (names them and the folder).
    """
    spec = dataset_spec(name)
    _check_params(spec, params)
    if spec.embedded:
        return spec.loader(**params)
    root = data_root(root)
    missing = missing_files(root, spec.files)
    if missing and not (download and spec.downloadable):
        hint = (
            "Or pass download=True on a machine with internet."
            if spec.downloadable
            else f"These files cannot be downloaded automatically; source: {spec.source}."
        )
        raise DatasetNotFoundError(spec.name, root, missing, hint)
    if verify and not missing:
        verify_checksums(spec.name, root)
    if not missing:
        return spec.loader(root, **params)
    try:
        return spec.loader(root, **params)
    except OSError as err:  # urllib's URLError is an OSError: no network, read-only root
        hint = f"Downloading them failed ({type(err).__name__}: {err}); place them by hand."
        raise DatasetNotFoundError(spec.name, root, missing, hint) from err


_PLANETOID_SRC = "kimiyoung/planetoid (Yang et al. 2016), via PyG Planetoid"
_PLANETOID_LICENCE = "research use; no explicit licence in the original release"
_SDCN_SRC = "bdy9527/SDCN data/ and graph/ (Bo et al. 2020)"

_add(
    DatasetSpec(
        "karate",
        load_karate,
        "Zachary's karate club (networkx), 2 factions",
        num_nodes=34,
        num_classes=2,
        source="networkx.karate_club_graph",
        licence="public domain (Zachary 1977)",
    )
)
_add(
    DatasetSpec(
        "digits",
        images.load_digits,
        "scikit-learn 8x8 digits as a kNN graph",
        num_nodes=1797,
        num_classes=10,
        source="sklearn.datasets.load_digits",
        licence="CC BY 4.0 (UCI optical recognition of handwritten digits)",
    )
)
_add(
    DatasetSpec(
        "sbm",
        synthetic.load_sbm,
        "synthetic attributed stochastic block model",
        source="generated (seeded)",
        licence="n/a",
    )
)
_add(
    DatasetSpec(
        "lfr",
        synthetic.load_lfr,
        "LFR benchmark graph (networkx) with features",
        source="networkx.LFR_benchmark_graph (seeded)",
        licence="n/a",
    )
)


def _file_spec(name: str, loader: Callable[..., Data], files: tuple[str, ...], **kw: Any) -> None:
    digests = _CHECKSUMS.get(name, ())
    checksums = dict(zip(files, digests, strict=True)) if digests else {}
    _add(DatasetSpec(name, loader, files=files, checksums=checksums, **kw))


for _name, _n, _c, _what in (
    ("cora", 2708, 7, "Cora citation graph"),
    ("citeseer", 3327, 6, "CiteSeer citation graph"),
    ("pubmed", 19717, 3, "PubMed diabetes citation graph"),
):
    _file_spec(
        _name,
        partial(pyg_datasets.load_planetoid, name=_name),
        pyg_datasets.planetoid_files(_name),
        description=f"{_what} (Planetoid)",
        num_nodes=_n,
        num_classes=_c,
        source=_PLANETOID_SRC,
        licence=_PLANETOID_LICENCE,
        downloadable=True,
    )
_file_spec(
    "photo",
    partial(pyg_datasets.load_amazon, name="photo"),
    pyg_datasets.amazon_files("photo"),
    description="Amazon Photo co-purchase graph",
    num_nodes=7650,
    num_classes=8,
    source="shchur/gnn-benchmark, via PyG Amazon",
    licence="MIT (gnn-benchmark); Amazon data of McAuley et al.",
    downloadable=True,
)
_file_spec(
    "computers",
    partial(pyg_datasets.load_amazon, name="computers"),
    pyg_datasets.amazon_files("computers"),
    description="Amazon Computers co-purchase graph",
    num_nodes=13752,
    num_classes=10,
    source="shchur/gnn-benchmark, via PyG Amazon",
    licence="MIT (gnn-benchmark); Amazon data of McAuley et al.",
    downloadable=True,
)
for _name, _n, _c, _what in (
    ("acm", 3025, 3, "ACM paper graph (SDCN)"),
    ("dblp", 4057, 4, "DBLP author graph (SDCN)"),
    ("cite", 3327, 6, "Citeseer as distributed with SDCN"),
):
    _file_spec(
        _name,
        partial(benchmarks.load_sdcn, name=_name),
        benchmarks.sdcn_files(_name),
        description=_what,
        num_nodes=_n,
        num_classes=_c,
        source=_SDCN_SRC,
        licence="research use; no licence in the SDCN repository",
    )
_file_spec(
    "polblogs",
    benchmarks.load_polblogs,
    (benchmarks.POLBLOGS_FILE,),
    description="political blogs hyperlink graph, identity features",
    num_nodes=1490,
    num_classes=2,
    source="danielzuegner/nettack data/polblogs.npz",
    licence="research use (Adamic and Glance 2005); nettack code MIT",
)
_file_spec(
    "usps",
    images.load_usps,
    (images.USPS_FILE,),
    description="USPS digits (train+test) as a kNN graph",
    num_nodes=9298,
    num_classes=10,
    source="Hastie et al. zip.train/zip.test via the Kaggle usps.h5",
    licence="research use; no explicit licence",
)
_file_spec(
    "mnist-test",
    images.load_mnist_test,
    images.MNIST_TEST_FILES,
    description="MNIST test split as a kNN graph",
    num_nodes=10000,
    num_classes=10,
    source="LeCun et al., yann.lecun.com/exdb/mnist (IDX files)",
    licence="CC BY-SA 3.0",
)
for _name, _n, _c in (("ogbn-arxiv", 169343, 40), ("ogbn-products", 2449029, 47)):
    _file_spec(
        _name,
        partial(pyg_datasets.load_ogb, name=_name),
        pyg_datasets.ogb_files(_name),
        description=f"{_name} (Open Graph Benchmark)",
        num_nodes=_n,
        num_classes=_c,
        source="ogb.stanford.edu, via ogb PygNodePropPredDataset",
        licence="ODC-BY (arxiv: MAG); Amazon licence (products)",
        downloadable=True,
    )

# Real-world robustness suite (graphclust/data/realworld.py): featureless, directed,
# overlapping.
_file_spec(
    "football",
    realworld.load_football,
    (realworld.FOOTBALL_FILE,),
    description="US college football 2000 (Girvan & Newman), 12 conferences, no features",
    num_nodes=115,
    num_classes=12,
    source="Newman's football.gml (Girvan & Newman 2002)",
    licence="research use (M. Newman's network data page)",
)
_file_spec(
    "email-eu-core",
    realworld.load_email_eu_core,
    realworld.EMAIL_FILES,
    description="SNAP email-Eu-core, directed -> undirected, 42 departments, no features",
    num_nodes=1005,
    num_classes=42,
    source="SNAP email-Eu-core (Leskovec et al. 2007; Yin et al. 2017)",
    licence="SNAP: free for research use",
)
for _ego, _n, _c in (
    (0, 347, 24),
    (348, 227, 14),
    (414, 159, 7),
    (686, 170, 14),
    (698, 66, 13),
    (3437, 547, 32),
    (3980, 59, 17),
):
    _file_spec(
        f"fb-{_ego}",
        partial(realworld.load_facebook_ego, ego=_ego),
        (realworld.facebook_file(_ego),),
        description=f"Facebook ego network {_ego} (NOCD), overlapping circles",
        num_nodes=_n,
        num_classes=_c,
        source="shchur/overlapping-community-detection data/facebook_ego (SNAP ego-Facebook)",
        licence="SNAP: free for research use; NOCD code MIT",
    )
