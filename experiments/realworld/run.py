"""The real-world robustness suite: every graph method on graphs nobody tuned it to.

Graphs: football, email-Eu-core and seven Facebook ego networks (overlapping ground
truth; the hard label is each node's largest community), polblogs, LFR graphs at mixing
0.1 / 0.3 / 0.5 and SBMs with 5 / 20 / 50 blocks, both with weak features. Featureless
graphs run the feature-based methods once per feature kind (``identity`` placeholders,
``laplacian`` and ``randomwalk`` structural features, :mod:`graphclust.data.features`).

Methods: KMeans (true K, features), Louvain, networkx's asynchronous label propagation
(an outside reference), PamC (true K), DAG per preset (``k_max`` from N: no label is
read), and any other registered method named with ``--methods``. Labels are read only
after a fit, for the report. One JSON line per fit in ``results.jsonl`` (a rerun skips
fits already recorded); ``summarize.py`` writes ``results.md``.

Usage (from the repository root)::

    OMP_NUM_THREADS=2 python experiments/realworld/run.py --seeds 3
    python experiments/realworld/run.py --methods dag-paper --device cuda --seeds 3 \\
        --out experiments/realworld/results_gpu.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import networkx as nx
import torch
from torch_geometric.data import Data

from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.data import load_dataset
from graphclust.data.features import structural_features
from graphclust.methods import DAG, METHODS, KMeans, Louvain, PamC
from graphclust.metrics import evaluate_partition

HERE = Path(__file__).resolve().parent
REAL = ["football", "email-eu-core", "polblogs"] + [
    f"fb-{ego}" for ego in (0, 348, 414, 686, 698, 3437, 3980)
]
FEATURE_KINDS = ("identity", "laplacian", "randomwalk")


def synthetic() -> list[tuple[str, str, dict]]:
    """(label, dataset, params) of the synthetic graphs, weak features throughout."""
    graphs = []
    for mu in (0.1, 0.3, 0.5):
        params = {"n_nodes": 1000, "mu": mu, "feature_signal": 0.5, "seed": 0}
        graphs.append((f"lfr-mu{mu}", "lfr", params))
    for k in (5, 20, 50):
        n = 100 * k
        params = {
            "n_nodes": n,
            "n_clusters": k,
            "p_in": 0.1,
            "p_out": 3.0 / n,
            "feature_signal": 0.5,
            "seed": 0,
        }
        graphs.append((f"sbm-k{k}", "sbm", params))
    return graphs


def graphs(names: set[str] | None) -> Iterator[tuple[str, Data, bool]]:
    """(label, graph, has_attributes) for every graph of the suite (or those named)."""
    items = [(name, name, {}) for name in REAL] + synthetic()
    for label, name, params in items:
        if names and label not in names:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the readers' notes on repairs/placeholders
            data = load_dataset(name, **params)
        yield label, data, getattr(data, "feature_kind", None) is None


def with_features(data: Data, kind: str, seed: int) -> Data:
    """A copy of ``data`` whose ``x`` is the structural ``kind`` of features."""
    x, _ = structural_features(data.edge_index, data.num_nodes, kind=kind, seed=seed)
    out = data.clone()
    out.x = x
    out.feature_kind = kind
    return out


def label_propagation(data: Data, seed: int) -> torch.Tensor:
    """networkx's asynchronous label propagation (Raghavan et al. 2007)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(data.num_nodes))
    graph.add_edges_from(data.edge_index.t().tolist())
    labels = torch.empty(data.num_nodes, dtype=torch.long)
    for c, members in enumerate(nx.community.asyn_lpa_communities(graph, seed=seed)):
        labels[list(members)] = c
    return labels


def methods(device: str) -> dict[str, tuple[bool, Callable[[int, int], object]]]:
    """name -> (uses features, factory(seed, true_k)); true K only for methods that
    need K (KMeans, PamC), never for the K-free ones."""
    return {
        "kmeans": (True, lambda seed, k: KMeans(n_clusters=k, seed=seed)),
        "louvain": (False, lambda seed, k: Louvain(seed=seed)),
        "label-propagation": (False, None),
        "pamc": (True, lambda seed, k: PamC(n_clusters=k, seed=seed, device=device)),
        "dag-cpu": (
            True,
            lambda seed, k: DAG(preset="cpu", progress=False, seed=seed, device=device),
        ),
        "dag-gpu": (
            True,
            lambda seed, k: DAG(preset="gpu", progress=False, seed=seed, device=device),
        ),
        "dag-paper": (
            True,
            lambda seed, k: DAG(preset="paper", progress=False, seed=seed, device=device),
        ),
    }


def registered(name: str, device: str) -> tuple[bool, Callable[[int, int], object]]:
    """Any other registered method: given K when its constructor takes ``n_clusters``."""
    cls = METHODS.get(name)

    def make(seed: int, k: int) -> object:
        params = {"seed": seed}
        names = cls._param_names()
        if "n_clusters" in names:
            params["n_clusters"] = k
        if "device" in names:
            params["device"] = device
        if "progress" in names:
            params["progress"] = False
        return cls(**params)

    return cls.requires_features, make


def _done(path: Path) -> set[tuple]:
    keys = set()
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            r = json.loads(line)
            keys.add((r["graph"], r["method"], r["features"], r["seed"]))
        except (json.JSONDecodeError, KeyError):
            continue
    return keys


def fit(method: str, factory, data: Data, seed: int, true_k: int) -> tuple[torch.Tensor, dict]:
    """Fit one method; the labels and what the fit said (warnings, K, extras)."""
    extra: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if factory is None:
            labels = label_propagation(data, seed)
        else:
            model = factory(seed, true_k)
            labels = model.fit_predict(data)
            extra["n_clusters_"] = int(model.n_clusters_)
            if hasattr(model, "settings_"):
                extra["settings"] = model.settings_
            history = getattr(model, "history_", {})
            if "restarted" in history:
                extra["restarts"] = int(sum(history["restarted"]))
    extra["warnings"] = sorted({str(w.message)[:200] for w in caught})
    return labels, extra


def record_fit(
    label: str,
    data: Data,
    attributed: bool,
    method: str,
    factory,
    kind: str,
    seed: int,
    device: str,
    context: dict,
) -> dict:
    """Fit one (method, features, seed) on one graph and return its JSON record."""
    true_k = int(data.y[data.y >= 0].unique().numel())
    graph = data if kind in ("attributes", "none", "identity") else with_features(data, kind, seed)
    reset_peak_rss()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        labels, extra = fit(method, factory, graph, seed, true_k)
        error = None
    except Exception as exc:  # recorded: a failing fit is a finding
        labels, extra, error = None, {}, f"{type(exc).__name__}: {exc}"
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "graph": label,
        "method": method,
        "features": kind,
        "seed": seed,
        "attributed": attributed,
        "n_nodes": data.num_nodes,
        "n_edges": data.edge_index.size(1) // 2,
        "true_k": true_k,
        "error": error,
        "metrics": None if labels is None else evaluate_partition(labels, data),
        **extra,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "peak_rss_mb": peak_rss_mb(),
        **context,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="kmeans,louvain,label-propagation,pamc,dag-cpu")
    parser.add_argument("--graphs", default=None, help="comma-separated labels (default all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--feature-kinds",
        default=",".join(FEATURE_KINDS),
        help="features of featureless graphs for the feature-based methods",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.jsonl")
    args = parser.parse_args()
    table = methods(args.device)
    chosen = {
        m: table[m] if m in table else registered(m, args.device) for m in args.methods.split(",")
    }
    done = _done(args.out)
    context = run_context()
    names = set(args.graphs.split(",")) if args.graphs else None
    for label, data, attributed in graphs(names):
        for method, (uses_features, factory) in chosen.items():
            if not uses_features:
                kinds = ["attributes" if attributed else "none"]
            else:
                kinds = ["attributes"] if attributed else args.feature_kinds.split(",")
            for kind in kinds:
                for seed in range(args.seeds):
                    if (label, method, kind, seed) in done:
                        continue
                    record = record_fit(
                        label, data, attributed, method, factory, kind, seed, args.device, context
                    )
                    with args.out.open("a") as handle:
                        handle.write(json.dumps(record, default=float) + "\n")
                    metrics = record["metrics"]
                    nmi = "error" if metrics is None else f"{metrics['nmi']:.3f}"
                    print(
                        f"{label} {method} {kind} {seed}: NMI {nmi} {record['wall_s']} s",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
