"""Diagnose DAG on one graph: per evaluation K, cluster sizes, the selection score and,
for diagnosis only, the NMI against the labels (never used for training or selection).

Usage (from the repository root):

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock python experiments/dag/diagnose.py \
        --dataset cora --set detach_readout=True --set beta=0.5

Each ``--set name=value`` overrides one DAG parameter (value parsed as a Python literal).
``--full`` uses the paper's full settings (widths, weight decay, epochs, evaluation every
50 epochs; Cora, CiteSeer, PubMed) instead of the reduced ones. ``--embedding-nmi`` also
clusters the embeddings H of every evaluation by k-means at the true K and reports that
NMI (how much the encoder knows, whatever the readout does; diagnosis only).
Prints one line per evaluation and a summary line; appends the summary (with the
per-evaluation NMIs) to experiments/dag/logs/diagnose.jsonl.
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
from sklearn.cluster import KMeans as SklearnKMeans

from graphclust.data import load_dataset
from graphclust.methods.dag import DAG
from graphclust.metrics import evaluate_partition, nmi

HERE = Path(__file__).resolve().parent
# the paper's readout (the estimator's default "auto" could restart it mid-run)
BASE = {"hidden": 64, "heads": 2, "epochs": 200, "eval_every": 25, "readout_norm": "none"}
PAPER_WD = {"cora": 1e-3, "citeseer": 1e-4, "pubmed": 1e-2}
# the paper's full settings (docs/METHODS.md section 3), as in gpu_suite.py
FULL = {
    "cora": {"hidden": 512, "heads": 4, "weight_decay": 1e-3, "epochs": 1500},
    "citeseer": {"hidden": 256, "heads": 2, "weight_decay": 1e-4, "epochs": 500},
    "pubmed": {"hidden": 1024, "heads": 4, "weight_decay": 1e-2, "epochs": 1000},
}


class OracleDAG(DAG):
    """DAG that also records the NMI of every evaluated partition (diagnosis only)."""

    y: torch.Tensor
    embedding_nmi: bool = False

    def log(self, **values: object) -> None:
        super().log(**values)

    def _evaluated(self, epoch, h, c, scores, first):
        from graphclust.methods.dag import affiliation_labels

        labels, _ = affiliation_labels(c, scores)
        sizes = torch.bincount(labels.cpu()).sort(descending=True).values[:8].tolist()
        self.history_.setdefault("oracle_nmi", []).append(nmi(self.y, labels.cpu()))
        self.history_.setdefault("sizes", []).append(sizes)
        if self.embedding_nmi:
            k = int(self.y.max()) + 1
            km = SklearnKMeans(k, n_init=5, random_state=0).fit_predict(
                h.detach().cpu().double().numpy()
            )
            self.history_.setdefault("embedding_nmi", []).append(nmi(self.y, km))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--k-factor", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="name=value")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--full", action="store_true", help="the paper's full settings")
    parser.add_argument("--embedding-nmi", action="store_true", help="k-means NMI of H (true K)")
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
        base = BASE
        if args.full:
            base = {**BASE, "eval_every": 50, **FULL[args.dataset]}
        params = {
            "preset": "paper",
            **base,
            "weight_decay": base.get("weight_decay", PAPER_WD.get(args.dataset, 1e-3)),
            "k_max": args.k_factor * true_k,
            **overrides,
            "seed": seed,
        }
        if args.dataset == "pubmed":
            params.setdefault("mask_rate", 0.75)
        model = OracleDAG(**params)
        model.y = data.y
        model.embedding_nmi = args.embedding_nmi
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
                    + (f" H-kmeans nmi* {h['embedding_nmi'][i]:.3f}" if args.embedding_nmi else "")
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
            "settings": "full" if args.full else "reduced",
            "eval_epochs": [int(e) for e in h["eval_epoch"]],
            "k_per_eval": [int(k) for k in h["k"]],
            "nmi_oracle_per_eval": [round(v, 4) for v in h["oracle_nmi"]],
            "embedding_nmi_oracle_per_eval": [round(v, 4) for v in h.get("embedding_nmi", [])],
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
