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

# sha256 of each dataset's raw files, in the order of its spec's `files` (measured on
# ../shared/data and equal to the PROVENANCE.txt records there).
_CHECKSUMS: dict[str, tuple[str, ...]] = {
    "cora": (
        "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    ),
    "citeseer": (
        "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    ),
    "pubmed": (
        "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33",
        "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d",
        "08417f620c348e354ca4eaef0f1e511e0a851377f7898bff46b05d50df38f9c6",
        "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3",
        "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd",
        "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
        "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
        "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
    ),
    "photo": ("bdb1feb8e6ff42ee44024b04479145029c563fd42fc31bff80af20887ba0439a",),
    "acm": (
        "d17f923ab9ba3cd3e835441075095603bafd5db2b5a1171c0d8a81e4de265659",
        "a1637c25de4e946d027f131cc02a2f8cae268ac8488fc12fa22e9b275603ead3",
        "54529a64f7b2cd373b3cee450afec900bcf34de3dfb87fe436552efe48b15c87",
    ),
    "dblp": (
        "db75502016b31ecf792b4361c106f3513284ec2f8ee66c3ce68fbd0c9ec839ee",
        "31c369e801d7c6891b2d7b31d4c1f2718d69aca498d23a8c48945061fcdc0da6",
        "cadb495a8810b48866ee9a2c92b2b10a7137406476c94eb4ebee642f268df984",
    ),
    "cite": (
        "d48456603e2c23ba880a293300092135cf5c0ccea7193530cda91fd990881152",
        "877820efe71f99632dffc43a74503ec84e26ad08c1f6df8bc7ae0ed7554c6cd5",
        "29da9311f1b3060f564263ca6f15e98af459b45f13bee0a6979beb4c41ba6494",
    ),
    "polblogs": ("cd0983c2b1caa3bbe2703a4e316f97bb1dccd33f98800d3d8e4bbe51cc86941b",),
    "usps": ("e5fc806b76edecf96b4ab8e00bc98ce20cbad7e56878510d97de5d513476a9e5",),
    "mnist-test": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}


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
# overlapping. sha256 as in datasets/README.md and the shared PROVENANCE.txt.
_REALWORLD_SRC = "see datasets/README.md (realworld)"
_CHECKSUMS.update(
    {
        "football": ("48bc58e19bf674cc9064e60fe7128f0b95a908e684fed575178f1388ac34e949",),
        "email-eu-core": (
            "23e0ca0bce21a053025e78f7e9691ac9210ae806a0689bd5edff3c3bac572d4c",
            "91a089f21ee35eb224066456fa5322c8ad57c0f07b2da7a58a3220c72b5d54b5",
        ),
        "fb-0": ("ccc4119eaa1b691a629351164ff351e1d962c947df00f4de9fd036857679d1a2",),
        "fb-348": ("97f82b9d0e69f3abca84964732ab805724d4785abf3a83655160c51de2514eb3",),
        "fb-414": ("57a370a6b9a78053a85e4d7a0e57aaaf68fd28d8f78119a9d2811010500c20cf",),
        "fb-686": ("ff6388cafdf58a518acd0e05eaeca1089988a702cecc83f94ff4200ec3b86699",),
        "fb-698": ("db02fb4f6b6d2cb743edcb9f04b7e2ad81ce6e2a83717da756aabed38dcd7593",),
        "fb-3437": ("6a7ba8f1483df5e578e3de3f521594b0d35b65a8f37d857937f5bb6a76b6ec04",),
        "fb-3980": ("ef623d222baca47d3cd8faec9d764ccf5bf109615c975a022f21f4dd9e8a6682",),
    }
)
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
