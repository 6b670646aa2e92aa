"""One fit of one method on one graph, with its outputs on disk: ``graphclust fit``.

:func:`run_fit` is the whole command without argparse: it checks every name and value
before any work (method, parameters, dataset, output folder), loads the graph from the
catalog or a file (or maps a :mod:`graphclust.data.memmap` folder), fits, scores and
writes

* ``labels.txt``: one cluster label per line, node order; ``id label`` per line when the
  graph came from a file with its own node ids (``data.node_ids``, e.g. sparse or
  string ids in an edge list), so each label stays attached to the id the user wrote;
* ``embeddings.npy``: float32 [N, d], when the method has ``embeddings_``;
* ``record.json``: the configuration (the estimator's ``config_`` and ``settings_``),
  seed, device, wall seconds, peak memory, versions and machine, and the scores:
  label-free (modularity, conductance, K) always, labelled (acc, nmi, ari, f1, EDGE)
  when the graph has labels. Labels are read only to score the final partition, never
  to steer the fit;
* with ``plot=True``, the figures of :func:`graphclust.plot.save_figures` as PNG.

Every input mistake is a :class:`FitError` (a ``ValueError``) with one line that names
the argument and the fix, so the command line can print it without a traceback.

Several processes (docs/distributed.md): ``graphclust fit ... --nproc-per-node N``
re-runs the same command under ``torchrun`` (:func:`torchrun_command`); in each process
:func:`run_fit` joins the group, trains data-parallel (``distributed=True`` for methods
that have it; the others are refused), and only rank 0 writes the outputs; the record
holds every rank's peak memory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch_geometric.data import Data

from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_is_per_run, peak_rss_mb, reset_peak_rss
from graphclust.bench.runner import build_estimator, method_input
from graphclust.bench.suite import Entry, RunSpec
from graphclust.utils.distributed import (
    gather_rows,
    init_from_env,
    is_main,
    resolve_group,
    world_size,
)

#: Files a fit writes (plots aside); checked for anything in the way before fitting.
OUTPUT_FILES = ("labels.txt", "embeddings.npy", "record.json")
#: The score keys reported as label-free; everything else in evaluate_partition's
#: dict needs ground truth.
LABEL_FREE = ("modularity", "conductance", "coverage", "soft_modularity", "k")
GRAPH_SUFFIXES = {
    ".gml": "gml",
    ".npz": "npz",
    ".txt": "edges",
    ".edges": "edges",
    ".edgelist": "edges",
    ".csv": "edges",
    ".tsv": "edges",
}


class FitError(ValueError):
    """A bad argument of ``graphclust fit``; the message is one line naming the fix."""


@dataclass
class FitConfig:
    """What to fit on what. Exactly one of ``dataset`` and ``graph`` is set."""

    method: str
    dataset: str | None = None
    graph: Path | None = None
    labels: Path | None = None
    label_attr: str | None = None
    feature_kind: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    dataset_params: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None
    plot: bool = False
    seed: int = 0
    device: str | None = None
    root: Path | None = None


def parse_assignments(items: Sequence[str] | None, option: str) -> dict[str, Any]:
    """``["k=5", "hidden=[64, 32]"]`` -> ``{"k": 5, "hidden": [64, 32]}``.

    Values are YAML scalars or lists (``1e-3`` and ``null`` included; a bare ``1e-3`` is
    a string to YAML 1.1, so a value that reads as a float becomes one).
    """
    params: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise FitError(f"{option} {item!r}: expected NAME=VALUE, e.g. {option} n_clusters=7")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as err:
            first = str(err).splitlines()[0]
            raise FitError(f"{option} {name}: value {text!r} is not valid YAML ({first})") from err
        value = _floats_of(value)
        if isinstance(value, dict):
            raise FitError(f"{option} {name}: a mapping is not a parameter value; got {text!r}")
        params[name] = value
    return params


_EXPONENT_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _floats_of(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` (no dot) as a string; read it as the float it means."""
    if isinstance(value, str) and _EXPONENT_FLOAT.match(value):
        return float(value)
    if isinstance(value, list):
        return [_floats_of(v) for v in value]
    return value


def check_method_params(method: str, params: dict[str, Any]) -> type:
    """The registered class of ``method``; every name in ``params`` must be its parameter."""
    from graphclust.methods import METHODS

    try:
        cls = METHODS.get(method)
    except KeyError as err:
        raise FitError(err.args[0]) from err
    valid = cls._param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise FitError(
            f"method {method!r} has no parameter(s) {unknown} (from --set/--seed/--device); "
            f"valid: {', '.join(valid)}"
        )
    return cls


def prepare_out_dir(out: Path, plot: bool) -> Path:
    """Create ``out`` and make sure every output can be written there, before any work."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FitError(f"--out {out}: a file is in the way; pass a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FitError(f"--out {out}: cannot create the folder ({err.strerror})") from err
    if not os.access(out, os.W_OK | os.X_OK):
        raise FitError(f"--out {out}: the folder is not writable; pass another --out")
    names = list(OUTPUT_FILES)
    if plot:
        from graphclust.plot import FIGURE_FILES

        names += list(FIGURE_FILES)
    for name in names:
        if (out / name).is_dir():
            raise FitError(f"--out {out}: {name} is a folder, in the way of the output file")
    return out


def load_graph(
    path: Path,
    labels: Path | None = None,
    label_attr: str | None = None,
    feature_kind: str | None = None,
) -> Data:
    """Read a graph file by extension: ``.gml``, ``.npz``, else an edge list; or map a
    folder written by :func:`graphclust.data.memmap.save_memmap` (its tensors are
    read-only views of the files, shared by every process that maps them).

    Args:
        labels: edge lists only: a labels file (one per line, or ``id label`` lines).
        label_attr: GML only: the node attribute holding the ground truth.
        feature_kind: the readers' ``feature_kind`` (None: the file's features, else
            placeholders with a warning; or "identity", "degree", "laplacian", ...).
    """
    from graphclust.data.readers import from_edge_list, from_gml, from_npz

    path = Path(path)
    if path.is_dir():
        return _load_memmap_folder(path, labels, label_attr, feature_kind)
    if not path.is_file():
        raise FitError(f"--graph {path}: no such file")
    kind = GRAPH_SUFFIXES.get(path.suffix.lower(), "edges")
    if labels is not None and kind != "edges":
        raise FitError(f"--labels works with edge lists only; {path.name} carries its own labels")
    if label_attr is not None and kind != "gml":
        raise FitError(f"--label-attr works with .gml files only, not {path.name}")
    name, kw = path.stem, {"feature_kind": feature_kind}
    if kind == "gml":
        return from_gml(path, label_attr=label_attr, name=name, **kw)
    if kind == "npz":
        return from_npz(path, name=name, **kw)
    return from_edge_list(path, labels=labels, name=name, **kw)


def _load_memmap_folder(
    path: Path, labels: Path | None, label_attr: str | None, feature_kind: str | None
) -> Data:
    from graphclust.data.memmap import is_memmap_folder, load_memmap

    if not is_memmap_folder(path):
        raise FitError(
            f"--graph {path}: a folder without meta.json; pass a graph file or a folder "
            "written by graphclust.data.memmap.save_memmap"
        )
    if any(v is not None for v in (labels, label_attr, feature_kind)):
        raise FitError(
            f"--labels/--label-attr/--feature-kind do not apply to the memory-mapped graph "
            f"{path} (its features and labels are in the folder); drop them"
        )
    try:
        return load_memmap(path)
    except (OSError, ValueError) as err:
        raise FitError(f"--graph {err}") from err


def _jsonable(value: Any) -> Any:
    """Python/JSON form of a config value (tensors and arrays to lists, other objects repr)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def check_distributed_method(method: str, nproc: int) -> None:
    """Refuse ``--nproc-per-node`` for a method that does not train data-parallel."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise FitError(f"--nproc-per-node must be a positive integer, got {nproc!r}")
    if nproc > 1 and "distributed" not in check_method_params(method, {})._param_names():
        raise FitError(
            f"--nproc-per-node {nproc}: {method} does not train data-parallel (methods with "
            "a 'distributed' parameter do: pamc and dag with --set batch_size=B, swav, "
            "sigma); drop --nproc-per-node"
        )


def torchrun_command(argv: Sequence[str], nproc: int) -> list[str]:
    """The ``torchrun`` command line that runs ``graphclust <argv>`` in ``nproc`` local
    processes (``--standalone``: one machine, a free port), ``--nproc-per-node`` removed
    from ``argv``. For several machines run ``torchrun`` yourself (docs/distributed.md).
    """
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc-per-node":
            skip = True
        elif not item.startswith("--nproc-per-node="):
            rest.append(item)
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "graphclust.cli",
        *rest,
    ]


def launch(argv: Sequence[str], method: str, nproc: int) -> int:
    """Check the method, then run ``graphclust <argv>`` under ``torchrun``; its exit code."""
    check_distributed_method(method, nproc)
    return subprocess.run(torchrun_command(argv, nproc), check=False).returncode


def _default_out(config: FitConfig) -> Path:
    source = config.dataset if config.dataset is not None else Path(config.graph).stem
    return Path("results") / "fit" / f"{config.method}-{source}"


def write_labels(path: Path, labels: torch.Tensor, node_ids: Any = None) -> None:
    """One label per line in node order, or ``id label`` per line when ``node_ids``
    (the file's own ids, one per node) is given and differs from ``0..N-1``."""
    values = labels.numpy().astype(np.int64)
    if node_ids is not None and list(node_ids) == list(range(len(values))):
        node_ids = None  # the ids are the node numbers: nothing to map back
    if node_ids is None:
        np.savetxt(path, values, fmt="%d")
        return
    if len(node_ids) != len(values):
        raise ValueError(f"data.node_ids has {len(node_ids)} ids for {len(values)} nodes")
    lines = (f"{node} {label}\n" for node, label in zip(node_ids, values, strict=True))
    path.write_text("".join(lines))


def run_fit(config: FitConfig) -> dict[str, Any]:
    """Fit ``config.method`` once and write its outputs; returns the record.

    Raises:
        FitError: any bad argument, before the fit starts where it can be known then.
    """
    if (config.dataset is None) == (config.graph is None):
        raise FitError("pass exactly one of --dataset NAME and --graph FILE")
    if config.dataset is None and config.dataset_params:
        raise FitError("--dataset-set applies to --dataset only, not to --graph")
    if config.graph is None and any(
        v is not None for v in (config.labels, config.label_attr, config.feature_kind)
    ):
        raise FitError(
            "--labels/--label-attr/--feature-kind apply to --graph only; for a catalog "
            "dataset use --dataset-set (e.g. --dataset-set features=laplacian)"
        )
    params = dict(config.params)
    params["seed"] = int(config.seed)
    if config.device is not None:
        from graphclust.utils import resolve_device

        try:
            resolve_device(config.device)  # fail before loading data on a bad device
        except ValueError as err:
            raise FitError(f"--device: {err}") from err
        params["device"] = config.device
    cls = check_method_params(config.method, params)
    if init_from_env():  # under torchrun: one process of a group
        check_distributed_method(config.method, world_size(resolve_group(None)))
        params.setdefault("distributed", True)
    group = resolve_group(None)
    main = is_main(group)
    out_arg = config.out or _default_out(config)
    out = prepare_out_dir(out_arg, config.plot) if main else Path(out_arg)

    if config.dataset is not None:
        from graphclust.data import load_dataset

        try:
            data = load_dataset(config.dataset, root=config.root, **config.dataset_params)
        except TypeError as err:  # unknown dataset parameter: name the option
            raise FitError(f"{err} (from --dataset-set)") from err
        source = {"dataset": config.dataset, "dataset_params": _jsonable(config.dataset_params)}
    else:
        data = load_graph(config.graph, config.labels, config.label_attr, config.feature_kind)
        source = {
            "graph": str(config.graph),
            "labels_file": _path_or_none(config.labels),
            "label_attr": config.label_attr,
            "feature_kind": config.feature_kind,
        }
    if not cls.k_free and "n_clusters" not in params and not getattr(data, "num_classes", 0):
        raise FitError(
            f"the graph has no labels to take K from; {config.method} needs --set n_clusters=K"
        )
    name = source.get("dataset") or Path(config.graph).name
    method_params = {k: v for k, v in params.items() if k != "seed"}
    spec = RunSpec(Entry(config.method, method_params), Entry(name, {}), int(config.seed))
    estimator = build_estimator(spec, data)  # K from data.num_classes when not given
    try:
        fit_input = method_input(estimator, data, config.dataset, config.root)
    except ValueError as err:
        raise FitError(f"--method {config.method}: {err}") from err

    per_run = peak_is_per_run()
    reset_peak_rss()
    start = time.perf_counter()
    estimator.fit(fit_input)
    wall = time.perf_counter() - start
    peak = peak_rss_mb()
    peaks = _per_rank(peak, group)
    if not main:  # rank 0 writes and reports
        return {"out": None, "peak_rss_mb": peak}

    from graphclust.metrics import evaluate_partition

    labels = estimator.labels_.detach().cpu()
    scores = evaluate_partition(labels, data)
    label_free = {k: v for k, v in scores.items() if k in LABEL_FREE}
    labelled = {k: v for k, v in scores.items() if k not in LABEL_FREE}

    files = ["labels.txt", "record.json"]
    write_labels(out / "labels.txt", labels, getattr(data, "node_ids", None))
    embeddings = getattr(estimator, "embeddings_", None)
    if embeddings is not None:
        np.save(out / "embeddings.npy", embeddings.detach().cpu().float().numpy())
        files.insert(1, "embeddings.npy")
    record: dict[str, Any] = {
        "method": config.method,
        **source,
        "n_nodes": int(data.num_nodes),
        "n_edges": int(data.edge_index.size(1) // 2),
        "has_labels": getattr(data, "y", None) is not None,
        "seed": int(config.seed),
        "device": config.device,
        "config": _jsonable(estimator.config_),
        "settings": _jsonable(getattr(estimator, "settings_", None)),
        "n_clusters": int(estimator.n_clusters_),
        "selected_epoch": _jsonable(getattr(estimator, "selected_epoch_", None)),
        "wall_time_s": round(wall, 4),
        "fit_time_s": round(float(estimator.fit_time_), 4),
        "peak_rss_mb": round(peak, 1),
        "peak_rss_per_run": per_run,
        "processes": len(peaks),
        "peak_rss_mb_per_process": [round(p, 1) for p in peaks],
        "scores": {"label_free": label_free, "labelled": labelled or None},
        **run_context(),
    }
    if config.plot:
        from graphclust.plot import save_figures

        written = save_figures(estimator, data, out)
        files += [path.name for path in written]
    record["files"] = files
    (out / "record.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    record["out"] = str(out)
    return record


def _per_rank(value: float, group: Any) -> list[float]:
    """``value`` of every rank, in rank order (``[value]`` alone)."""
    return gather_rows(torch.tensor([value], dtype=torch.float64), group).tolist()


def _path_or_none(path: Path | None) -> str | None:
    return None if path is None else str(path)


def format_summary(record: dict[str, Any]) -> str:
    """A few lines for the terminal: what ran, K, the scores, time, memory, files."""
    source = record.get("dataset") or record.get("graph")
    lines = [
        f"{record['method']} on {source} ({record['n_nodes']} nodes, {record['n_edges']} "
        f"edges), seed {record['seed']}: K = {record['n_clusters']}"
    ]
    if record.get("selected_epoch") is not None:
        lines[0] += f", label-free-selected checkpoint at epoch {record['selected_epoch']}"
    free = record["scores"]["label_free"]
    lines.append("label-free: " + ", ".join(f"{k} {_fmt(v)}" for k, v in free.items()))
    if record["scores"]["labelled"]:
        shown = ("acc", "nmi", "ari", "f1", "onmi", "overlap_f1", "edge")
        labelled = {k: v for k, v in record["scores"]["labelled"].items() if k in shown}
        lines.append("vs labels: " + ", ".join(f"{k} {_fmt(v)}" for k, v in labelled.items()))
    lines.append(
        f"wall {record['wall_time_s']:.2f} s, peak memory {record['peak_rss_mb']:.0f} MiB; "
        f"wrote {', '.join(record['files'])} to {record['out']}"
    )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


__all__ = [
    "FitConfig",
    "FitError",
    "check_distributed_method",
    "format_summary",
    "launch",
    "load_graph",
    "parse_assignments",
    "prepare_out_dir",
    "run_fit",
    "torchrun_command",
]
