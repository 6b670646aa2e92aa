"""Benchmark suites: which methods run on which datasets with which seeds.

A suite comes from the command line (``--methods kmeans,louvain --datasets karate``) or
from a YAML file::

    name: baselines
    seeds: 5                      # or an explicit list: [0, 1, 2]
    methods:
      - kmeans
      - name: spectral
        params: {n_init: 20}
    datasets:
      - karate
      - name: sbm
        params: {n_nodes: 2000, n_clusters: 5}

Every (method, dataset, seed) triple becomes one :class:`RunSpec`, identified by a
stable key so a rerun can skip what is already done.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graphclust.data import DATASETS, list_datasets
from graphclust.methods import METHODS


@dataclass(frozen=True)
class Entry:
    """A method or dataset name with its keyword parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class RunSpec:
    """One run: a method on a dataset with a seed."""

    method: Entry
    dataset: Entry
    seed: int

    @property
    def key(self) -> str:
        """Stable identifier of the run, independent of dict ordering."""
        payload = json.dumps(
            {
                "method": [self.method.name, self.method.params],
                "dataset": [self.dataset.name, self.dataset.params],
                "seed": self.seed,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha1(payload.encode()).hexdigest()[:16]


@dataclass
class Suite:
    """A named set of runs."""

    name: str
    methods: list[Entry]
    datasets: list[Entry]
    seeds: list[int]

    def runs(self) -> list[RunSpec]:
        """Every (dataset, method, seed), datasets outermost so each loads once."""
        return [
            RunSpec(method, dataset, seed)
            for dataset in self.datasets
            for method in self.methods
            for seed in self.seeds
        ]


def _parse_entry(item: object, kind: str, source: str) -> Entry:
    if isinstance(item, str):
        return Entry(item.strip())
    if isinstance(item, dict) and "name" in item:
        params = item.get("params") or {}
        unknown = set(item) - {"name", "params"}
        if unknown or not isinstance(params, dict):
            raise ValueError(
                f"{source}: a {kind} entry takes 'name' and a 'params' mapping, got {item!r}"
            )
        return Entry(str(item["name"]).strip(), dict(params))
    raise ValueError(f"{source}: a {kind} entry must be a name or {{name, params}}, got {item!r}")


def _parse_seeds(seeds: object, source: str) -> list[int]:
    if isinstance(seeds, bool):
        raise ValueError(f"{source}: seeds must be a count or a list of integers")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"{source}: seeds must be at least 1, got {seeds}")
        return list(range(seeds))
    if (
        isinstance(seeds, list)
        and seeds
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        return list(seeds)
    raise ValueError(f"{source}: seeds must be a count or a list of non-negative integers")


def _check_names(suite: Suite, source: str) -> None:
    for entry in suite.methods:
        if entry.name not in METHODS:
            known = ", ".join(METHODS.names())
            raise ValueError(f"{source}: unknown method {entry.name!r}; known: {known}")
    for entry in suite.datasets:
        if entry.name not in DATASETS:
            known = ", ".join(list_datasets())
            raise ValueError(f"{source}: unknown dataset {entry.name!r}; known: {known}")


#: ``graphclust bench`` with no arguments: the baselines and the toolkit's own graph
#: methods at a quick setting (a short training, DAG's "cpu" preset) on the embedded data,
#: so the first command shows what the toolkit is for in about two minutes on 2 CPU cores.
#: Named on the command line (``--methods pamc``), a method runs at its full defaults.
QUICK_METHODS: tuple[Entry, ...] = (
    Entry("kmeans"),
    Entry("spectral"),
    Entry("louvain"),
    Entry("pamc", {"hidden": [128, 128, 256], "pretrain_epochs": 30, "epochs": 20}),
    Entry("dag", {"preset": "cpu", "epochs": 40, "eval_every": 20}),
)
QUICK_DATASETS: tuple[str, ...] = ("karate", "digits", "sbm", "lfr")


def quick_suite(seeds: int | list[int] = 3, datasets: list[str] | None = None) -> Suite:
    """The default suite of ``graphclust bench``: :data:`QUICK_METHODS` on ``datasets``
    (default :data:`QUICK_DATASETS`, embedded data that need no download)."""
    names = list(QUICK_DATASETS) if datasets is None else datasets
    suite = Suite(
        name="quick",
        methods=list(QUICK_METHODS),
        datasets=[_parse_entry(d, "dataset", "--datasets") for d in names if d.strip()],
        seeds=_parse_seeds(seeds, "--seeds"),
    )
    if not suite.datasets:
        raise ValueError("a suite needs at least one dataset")
    _check_names(suite, "the quick suite")
    return suite


def make_suite(
    methods: list[str], datasets: list[str], seeds: int | list[int], name: str = "cli"
) -> Suite:
    """A suite from plain names (the command line's ``--methods``/``--datasets``)."""
    suite = Suite(
        name=name,
        methods=[_parse_entry(m, "method", "--methods") for m in methods if m.strip()],
        datasets=[_parse_entry(d, "dataset", "--datasets") for d in datasets if d.strip()],
        seeds=_parse_seeds(seeds, "--seeds"),
    )
    if not suite.methods or not suite.datasets:
        raise ValueError("a suite needs at least one method and one dataset")
    _check_names(suite, "command line")
    return suite


def load_suite(path: str | Path) -> Suite:
    """Read a YAML suite file (format in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"suite file {path} does not exist")
    raw = yaml.safe_load(path.read_text())
    source = str(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected a mapping with methods, datasets and seeds")
    missing = {"methods", "datasets"} - set(raw)
    if missing:
        raise ValueError(f"{source}: missing keys {sorted(missing)}")
    unknown = set(raw) - {"name", "methods", "datasets", "seeds", "description"}
    if unknown:
        raise ValueError(f"{source}: unknown keys {sorted(unknown)}")
    suite = Suite(
        name=str(raw.get("name", path.stem)),
        methods=[_parse_entry(m, "method", source) for m in raw["methods"]],
        datasets=[_parse_entry(d, "dataset", source) for d in raw["datasets"]],
        seeds=_parse_seeds(raw.get("seeds", 1), source),
    )
    _check_names(suite, source)
    return suite
