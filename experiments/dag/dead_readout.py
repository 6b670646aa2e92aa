"""Diagnostic: does the paper's readout learn? Early training curves on eight graphs.

For a future label-free switch to ``readout_norm="layer"`` (README, "When the readout
does not learn"): trains DAG at the reduced settings for 100 epochs and prints K of the
training passes and, over the 10 epochs before epochs 30, 50, 75 and 100, the mean
per-edge BPR loss (``history_["bpr"]`` / directed edges; ln 2 = 0.693 means the
affiliations carry no ranking), the mean share of nodes in the largest community of the
training passes, and what :func:`graphclust.methods.dag.dead_readout` says of that
window. No labels are read::

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


# the check windows printed: the AUTO_CHECK_WINDOW epochs before each of these epochs
WINDOW_ENDS = (30, 50, 75, 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--only", default="", help="comma-separated graphs (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated graphs to leave out")
    parser.add_argument("--epochs", type=int, default=100)
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
            "preset": "paper",
            **BASE,
            "weight_decay": PAPER_WD.get(name, 1e-3),
            "k_max": 2 * int(data.num_classes),
            "seed": seed,
            "epochs": args.epochs,
            "eval_every": args.epochs,
        }
        if name == "pubmed":
            params["mask_rate"] = 0.75
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = DAG(**params).fit(data).history_
        per_edge = [b / data.edge_index.size(1) for b in history["bpr"]]
        k_train = [int(k) for k in history["k_train"][9 : args.epochs : 10]]
        windows = []
        for end in WINDOW_ENDS:
            if end > args.epochs:
                continue
            part = slice(end - AUTO_CHECK_WINDOW, end)
            top, bpr = history["top_share"][part], per_edge[part]
            verdict = "dead" if dead_readout(bpr, top) else "learns"
            windows.append(
                f"{end}: BPR {sum(bpr) / len(bpr):.3f} top {sum(top) / len(top):.3f} {verdict}"
            )
        print(
            f"{name:9s} seed {seed} | K of the training pass every 10 epochs: {k_train} | "
            f"epochs {AUTO_CHECK_WINDOW} before " + "; ".join(windows),
            flush=True,
        )


if __name__ == "__main__":
    main()
