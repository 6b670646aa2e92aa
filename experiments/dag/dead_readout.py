"""Diagnostic: does the paper's readout learn? Early training curves on eight graphs.

For a future label-free switch to ``readout_norm="layer"`` (README, "When the readout
does not learn"): trains DAG at the reduced settings for 50 epochs, seed 0, and prints
the per-edge BPR loss (``history_["bpr"]`` / directed edges; ln 2 = 0.693 means the
affiliations carry no ranking) and K of the training passes. No labels are read::

    OMP_NUM_THREADS=2 python experiments/dag/dead_readout.py \\
        | tee experiments/dag/logs/dead_readout.txt
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diagnose import BASE, PAPER_WD  # noqa: E402

from graphclust.bench.environment import run_context  # noqa: E402
from graphclust.data import load_dataset  # noqa: E402
from graphclust.methods.dag import DAG  # noqa: E402

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
    print(run_context())
    for name, kwargs in GRAPHS:
        data = load_dataset(name, **kwargs)
        params = {
            **BASE,
            "weight_decay": PAPER_WD.get(name, 1e-3),
            "k_max": 2 * int(data.num_classes),
            "seed": 0,
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
        print(
            f"{name:9s} per-edge BPR epoch 10 {per_edge[9]:.3f}, 30 {per_edge[29]:.3f}, "
            f"50 {per_edge[49]:.3f} | K of the training pass at epochs 10-50: {k_train}",
            flush=True,
        )


if __name__ == "__main__":
    main()
