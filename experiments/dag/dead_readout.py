"""Diagnostic: does the paper's readout learn? Early training curves on eight graphs.

For a future label-free switch to ``readout_norm="layer"`` (README, "When the readout
does not learn"): trains DAG at the reduced settings for 50 epochs and prints the
per-edge BPR loss (``history_["bpr"]`` / directed edges; ln 2 = 0.693 means the
affiliations carry no ranking), K of the training passes, the share of nodes in their
largest community, and the verdict of ``readout_norm="auto"``'s check at epoch 30
(:func:`graphclust.methods.dag.dead_readout`). No labels are read::

    OMP_NUM_THREADS=2 python experiments/dag/dead_readout.py --seeds 0,1,2,3,4 \\
        --skip photo | tee experiments/dag/logs/dead_readout.txt
    OMP_NUM_THREADS=2 python experiments/dag/dead_readout.py --seeds 0 --only photo \\
        | tee -a experiments/dag/logs/dead_readout.txt
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diagnose import BASE, PAPER_WD  # noqa: E402

from graphclust.bench.environment import run_context  # noqa: E402
from graphclust.data import load_dataset  # noqa: E402
from graphclust.methods.dag import (  # noqa: E402
    AUTO_CHECK_EPOCH,
    AUTO_CHECK_WINDOW,
    DAG,
    dead_readout,
)

GRAPHS = [
    ("cora", {}),
    ("citeseer", {}),
    ("acm", {}),
    ("dblp", {}),
    ("pubmed", {}),
    ("polblogs", {}),
    ("sbm", {"n_clusters": 10}),
    ("photo", {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--only", default="", help="comma-separated graphs (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated graphs to leave out")
    args = parser.parse_args()
    print(run_context())
    only, skip = set(filter(None, args.only.split(","))), set(args.skip.split(","))
    runs = [
        (name, kwargs, int(seed))
        for name, kwargs in GRAPHS
        if (not only or name in only) and name not in skip
        for seed in args.seeds.split(",")
    ]
    for name, kwargs, seed in runs:
        data = load_dataset(name, **kwargs)
        params = {
            **BASE,
            "weight_decay": PAPER_WD.get(name, 1e-3),
            "k_max": 2 * int(data.num_classes),
            "seed": seed,
            "epochs": 50,
            "eval_every": 50,
        }
        if name == "pubmed":
            params["mask_rate"] = 0.75
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = DAG(**params).fit(data).history_
        per_edge = [b / data.edge_index.size(1) for b in history["bpr"]]
        k_train = [int(k) for k in history["k_train"][9:50:10]]
        window = slice(AUTO_CHECK_EPOCH - AUTO_CHECK_WINDOW, AUTO_CHECK_EPOCH)
        top = history["top_share"][window]
        verdict = dead_readout(per_edge[window], top) or "learns"
        print(
            f"{name:9s} seed {seed} per-edge BPR epoch 10 {per_edge[9]:.3f}, "
            f"30 {per_edge[29]:.3f}, 50 {per_edge[49]:.3f} | K of the training pass at "
            f"epochs 10-50: {k_train} | largest community, epochs 21-30: "
            f"{sum(top) / len(top):.3f} | check at epoch 30: {verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
