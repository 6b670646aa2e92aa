"""Diagnose DAG on one graph: per evaluation K, cluster sizes, the selection score and,
for diagnosis only, the NMI against the labels (never used for training or selection).

Usage (from the repository root):

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock python experiments/dag/diagnose.py \
        --dataset cora --set detach_readout=True --set beta=0.5

Each ``--set name=value`` overrides one DAG parameter (value parsed as a Python literal).
Prints one line per evaluation and a summary line; appends the summary to
experiments/dag/logs/diagnose.jsonl.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
import warnings
from pathlib import Path

import torch

from graphclust.data import load_dataset
from graphclust.methods.dag import DAG
from graphclust.metrics import evaluate_partition, nmi

HERE = Path(__file__).resolve().parent
# the paper's readout (the estimator's default "auto" could restart it mid-run)
BASE = {"hidden": 64, "heads": 2, "epochs": 200, "eval_every": 25, "readout_norm": "none"}
PAPER_WD = {"cora": 1e-3, "citeseer": 1e-4, "pubmed": 1e-2}


class OracleDAG(DAG):
    """DAG that also records the NMI of every evaluated partition (diagnosis only)."""

    y: torch.Tensor

    def log(self, **values: object) -> None:
        super().log(**values)

    def _evaluate(self, x, edge_index, adjacency, x_cpu, edge_index_cpu, epoch, selector):
        super()._evaluate(x, edge_index, adjacency, x_cpu, edge_index_cpu, epoch, selector)
        h = self._mae.embed(x, edge_index)
        from graphclust.methods.dag import affiliation_labels

        with torch.no_grad():
            c, scores = self._readout(h, adjacency)
            labels, _ = affiliation_labels(c, scores)
        sizes = torch.bincount(labels.cpu()).sort(descending=True).values[:8].tolist()
        self.history_.setdefault("oracle_nmi", []).append(nmi(self.y, labels.cpu()))
        self.history_.setdefault("sizes", []).append(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--k-factor", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="name=value")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        name, value = item.split("=", 1)
        try:
            overrides[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[name] = value
    data = load_dataset(args.dataset)
    true_k = int(data.num_classes)
    for seed in [int(s) for s in args.seeds.split(",")]:
        params = {
            **BASE,
            "weight_decay": PAPER_WD.get(args.dataset, 1e-3),
            "k_max": args.k_factor * true_k,
            **overrides,
            "seed": seed,
        }
        if args.dataset == "pubmed":
            params.setdefault("mask_rate", 0.75)
        model = OracleDAG(**params)
        model.y = data.y
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data)
        wall = time.perf_counter() - start
        h = model.history_
        if not args.quiet:
            for i, epoch in enumerate(h["eval_epoch"]):
                print(
                    f"  ep {int(epoch):>5} K {int(h['k'][i]):>3} Q {h['modularity'][i]:.3f} "
                    f"CH {h['calinski_harabasz'][i]:8.2f} score {h['selection_score'][i]:8.3f} "
                    f"nmi* {h['oracle_nmi'][i]:.3f} sizes {h['sizes'][i]}"
                )
        m = evaluate_partition(model.labels_, data)
        best_nmi = max(h["oracle_nmi"])
        summary = {
            "dataset": args.dataset,
            "seed": seed,
            "overrides": overrides,
            "k": m["k"],
            "true_k": true_k,
            "nmi": round(m["nmi"], 4),
            "edge": round(m["edge"], 4),
            "edge_minus_trivial": round(m["edge"] - m["edge_trivial"], 4),
            "selected_epoch": model.selected_epoch_,
            "best_checkpoint_nmi_oracle": round(best_nmi, 4),
            "final": {k: h[k][-1] for k in ("sce", "bpr", "gs")},
            "wall_s": round(wall, 1),
        }
        print(json.dumps(summary), flush=True)
        (HERE / "logs").mkdir(exist_ok=True)
        with (HERE / "logs" / "diagnose.jsonl").open("a") as handle:
            handle.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
