"""Probe: does k-means on graph-smoothed embeddings raise DAG's EDGE or NMI?

Fits the detached configuration (``detach_readout=True, k_readout="kmeans"``, the
plain decoder, reduced settings as in run.py) once, then runs the label-free K search
on A_hat^t H for t = 0..3 (A_hat the symmetric-normalised adjacency with self loops,
a sparse product), and reports NMI, EDGE and K of each read-out. Labels are read for
the report only; nothing is selected on them.

    PYTHONPATH=. GRAPHCLUST_DATA=<data> python experiments/dag/smooth_probe.py cora 0
(appends one JSON line to experiments/dag/logs/smooth_probe.jsonl)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from run import PAPER, REDUCED  # experiments/dag is this script's folder

from graphclust.data import load_dataset
from graphclust.graph.adjacency import normalized_adjacency
from graphclust.methods.dag import DAG
from graphclust.methods.ksearch import kmeans_k_search
from graphclust.metrics import evaluate_partition

LOG = Path(__file__).resolve().parent / "logs" / "smooth_probe.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("seed", type=int)
    args = parser.parse_args()
    data = load_dataset(args.dataset)
    k = int(data.num_classes)
    params = {
        "preset": "paper",
        **REDUCED,
        **PAPER.get(args.dataset, {}),
        "decoder_factorized": False,
        "detach_readout": True,
        "k_readout": "kmeans",
        "k_max": 2 * k,
        "seed": args.seed,
    }
    model = DAG(**params).fit(data)
    adjacency = normalized_adjacency(data.edge_index, data.num_nodes, kind="sym")
    record: dict = {"dataset": args.dataset, "seed": args.seed, "params": params}
    z = model.embeddings_.float()
    for t in range(4):
        if t:
            z = adjacency @ z
        found = kmeans_k_search(z, data.edge_index, range(2, 2 * k + 1), seed=args.seed)
        m = evaluate_partition(found.labels, data)
        record[f"t{t}"] = {key: m[key] for key in ("nmi", "edge", "edge_trivial", "k")}
        print(t, record[f"t{t}"], flush=True)
    LOG.parent.mkdir(exist_ok=True)
    with LOG.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
