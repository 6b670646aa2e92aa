"""PamC's mini-batch mode on a 1,000,000-node attributed SBM: time and peak RSS.

The graph: K = 10 blocks, mean degree ~10 (80% inside blocks), 64 features with a
weak block signal (``feature_signal`` 0.5), influence matrix of order 1. The model: the
paper's D-500-500-2000-10 MLP, node batches of 4096, one pre-training epoch and two
training epochs (a demonstration of memory and time per epoch, not a tuned run).
Peak RSS is the whole process (data generation included), read from getrusage; run it
under ``/usr/bin/time -v`` for an outside measurement as well.

Usage (from the repository root)::

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock /usr/bin/time -v \
        python experiments/pamc/million.py --out experiments/pamc/results/million.json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

from graphclust.bench.environment import run_context
from graphclust.data import load_dataset
from graphclust.methods.pamc import PamC
from graphclust.metrics import ari, clustering_accuracy, nmi


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--pretrain-epochs", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    n, k, degree = args.n, 10, 10.0
    start = time.perf_counter()
    data = load_dataset(
        "sbm",
        n_nodes=n,
        n_clusters=k,
        p_in=0.8 * degree / (n / k - 1),
        p_out=0.2 * degree / (n - n / k),
        feature_dim=64,
        feature_signal=0.5,
        seed=0,
    )
    data_s = time.perf_counter() - start
    rss_after_data = peak_rss_gb()
    model = PamC(
        n_clusters=k,
        batch_size=args.batch_size,
        pretrain_epochs=args.pretrain_epochs,
        pretrain_batch_size=args.batch_size,
        epochs=args.epochs,
        n_init=1,
        order=1,
        tau=0.5,
        device="cpu",
    )
    model.fit(data)
    record = {
        "n": n,
        "edges": int(data.edge_index.size(1) // 2),
        "features": 64,
        "k": k,
        "params": {key: value for key, value in model.get_params().items()},
        "data_generation_s": round(data_s, 1),
        "fit_s": round(model.fit_time_, 1),
        "peak_rss_gb_after_data": round(rss_after_data, 2),
        "peak_rss_gb": round(peak_rss_gb(), 2),
        "acc_final": round(clustering_accuracy(data.y, model.final_labels_), 4),
        "nmi_final": round(nmi(data.y, model.final_labels_), 4),
        "ari_final": round(ari(data.y, model.final_labels_), 4),
        "acc_selected": round(clustering_accuracy(data.y, model.labels_), 4),
        "selected_epoch": model.selected_epoch_,
        "history": model.history_,
        "pretrain_history": model.pretrain_history_,
        "context": {**run_context(), "command": "python " + " ".join(sys.argv)},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k not in ("history", "context")}))


if __name__ == "__main__":
    main()
