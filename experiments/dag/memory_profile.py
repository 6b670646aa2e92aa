"""Where DAG's memory goes in sampled-subgraph mode: peak RSS per phase on an SBM.

Usage (from the repository root; about a minute and 3-4 GB at N = 1M):

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock \
        python experiments/dag/memory_profile.py --n-nodes 1000000

Wraps the phases of one DAG fit (one epoch, batch 4096, hidden 16, k_max 100) and
prints, for each, the resident memory before it and the peak during it (the kernel's
high-water mark, reset before the phase). Phases nest: "evaluate" contains "embed",
"modularity" and "calinski_harabasz".
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphclust.methods.base as base
import graphclust.methods.dag as dag
import graphclust.methods.dag_selection as dag_selection
import graphclust.methods.dag_training as dag_training
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.metrics import evaluate_partition

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import scale_graph  # noqa: E402 - the module beside this script


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(label: str, before: float, seconds: float) -> None:
    peak = peak_rss_mb()
    print(
        f"{label:>26}: rss before {before:6.0f} MB, peak {peak:6.0f} MB "
        f"(+{peak - before:5.0f}), after {rss_mb():6.0f} MB, {seconds:5.1f} s",
        flush=True,
    )


def measured(owner: Any, name: str, label: str, once: bool = False) -> None:
    function: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    @functools.wraps(function)
    def inner(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if once and calls[0] > 1:
            return function(*args, **kwargs)
        before, start = rss_mb(), time.perf_counter()
        reset_peak_rss()
        out = function(*args, **kwargs)
        report(label, before, time.perf_counter() - start)
        return out

    setattr(owner, name, inner)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-nodes", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=50)
    args = parser.parse_args(argv)
    measured(base, "check_graph", "check_graph (input copy)")
    measured(dag_training, "gcn_adjacency", "whole-graph Ahat", once=True)
    measured(dag_training.TrainingRun, "_step", "first training step", once=True)
    measured(dag_training.TrainingRun, "evaluate", "evaluate (whole graph)")
    measured(dag_training.MaskedGraphAutoencoder, "embed", "  embed")
    measured(dag_selection, "modularity", "  modularity")
    measured(dag_selection, "calinski_harabasz", "  calinski_harabasz")
    reset_peak_rss()
    data = scale_graph(args.n_nodes, args.k)
    print(
        f"loaded x {tuple(data.x.shape)}, {data.edge_index.size(1)} directed edges: "
        f"rss {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB",
        flush=True,
    )
    model = dag.DAG(
        preset="paper",
        k_max=2 * args.k,
        hidden=16,
        heads=2,
        epochs=1,
        eval_every=1,
        batch_size=4096,
        seed=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data)
    before = rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    evaluate_partition(model.labels_, data)
    report("evaluate_partition", before, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
