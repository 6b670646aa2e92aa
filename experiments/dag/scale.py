"""DAG's sampled-subgraph mode on a 1,000,000-node SBM: time and peak memory.

Usage (from the repository root):

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock python experiments/dag/scale.py

Writes experiments/dag/scale.json. Training steps see random-walk subgraphs of about
``--batch-size`` nodes; the label-free evaluation runs once on the whole graph.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.data import load_dataset
from graphclust.methods.dag import DAG
from graphclust.metrics import evaluate_partition

HERE = Path(__file__).resolve().parent


def scale_graph(n_nodes: int, k: int):
    """The benchmark's attributed SBM: k equal blocks, ~10 neighbours inside the block and
    ~3 outside on average, seed 0."""
    return load_dataset(
        "sbm",
        n_nodes=n_nodes,
        n_clusters=k,
        p_in=10.0 / (n_nodes // k),
        p_out=3.0 / n_nodes,
        seed=0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-nodes", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=16)
    args = parser.parse_args(argv)

    reset_peak_rss()
    start = time.perf_counter()
    data = scale_graph(args.n_nodes, args.k)
    load_s = time.perf_counter() - start
    load_rss = peak_rss_mb()

    model = DAG(
        preset="paper",
        k_max=2 * args.k,
        hidden=args.hidden,
        heads=2,
        epochs=args.epochs,
        eval_every=args.epochs,
        batch_size=args.batch_size,
        seed=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data)
    metrics = evaluate_partition(model.labels_, data)
    record = {
        "n_nodes": args.n_nodes,
        "n_edges": int(data.edge_index.size(1) // 2),
        "true_k": args.k,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "steps_per_epoch": -(-args.n_nodes // args.batch_size),
        "hidden": args.hidden,
        "load_s": round(load_s, 1),
        "load_peak_rss_mb": round(load_rss, 1),
        "fit_s": round(model.fit_time_, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "found_k": model.n_clusters_,
        "nmi": metrics["nmi"],
        "ari": metrics["ari"],
        "modularity": metrics["modularity"],
        "edge": metrics["edge"],
        "edge_trivial": metrics["edge_trivial"],
        "context": run_context(),
    }
    (HERE / "scale.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "context"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
