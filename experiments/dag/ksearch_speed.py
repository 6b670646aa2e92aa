"""Time of the k-means search over K (DAG's k-means read-out) with scikit-learn's and
the toolkit's torch k-means, side by side, at the paper's widths.

The embeddings are stand-ins with the paper's shapes: H = ReLU(X R), X the dataset's
features and R a seeded Gaussian projection to the paper's hidden width (Cora 512,
CiteSeer 256, PubMed 1024); the search covers K = 2..2 x the true K with 5 restarts
per K, as DAG runs it. On a GPU the torch search runs on the device (what DAG does
there); scikit-learn always runs on the host. Labels are never read: ``same_k`` and
``ari`` compare the two searches with each other.

    PYTHONPATH=. GRAPHCLUST_DATA=<data> python experiments/dag/ksearch_speed.py \
        --device cpu --out experiments/dag/logs/ksearch_speed.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from sklearn.metrics import adjusted_rand_score

from graphclust.bench.environment import run_context
from graphclust.data import load_dataset
from graphclust.methods.ksearch import kmeans_k_search

WIDTHS = {"cora": 512, "citeseer": 256, "pubmed": 1024}


def stand_in(name: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, int]:
    data = load_dataset(name)
    x = data.x.to_dense() if data.x.is_sparse else data.x
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(x.size(1), WIDTHS[name], generator=g) / x.size(1) ** 0.5
    return torch.relu(x.float() @ r), data.edge_index, int(data.num_classes)


def timed_search(h: torch.Tensor, edge_index: torch.Tensor, k: int, backend: str) -> tuple:
    if h.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    found = kmeans_k_search(h, edge_index, range(2, 2 * k + 1), seed=0, backend=backend)
    if h.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", default="cora,citeseer,pubmed")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    context = run_context()
    device = torch.device(args.device)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in args.only.split(","):
        h, edge_index, k = stand_in(name)
        h_dev = h.to(device)
        timed_search(h_dev, edge_index, 2, "torch")  # warm-up (CUDA context, kernels)
        s_sklearn, ref = timed_search(h, edge_index, k, "sklearn")
        s_torch, ours = timed_search(h_dev, edge_index, k, "torch")
        record = {
            "dataset": name,
            "shape": list(h.shape),
            "k_range": [2, 2 * k],
            "device": str(device),
            "gpu": context["machine"].get("gpu"),
            "torch_threads": torch.get_num_threads(),
            "sklearn_s": round(s_sklearn, 2),
            "torch_s": round(s_torch, 2),
            "speedup": round(s_sklearn / s_torch, 2),
            "k_sklearn": ref.n_clusters,
            "k_torch": ours.n_clusters,
            "ari": round(float(adjusted_rand_score(ref.labels.numpy(), ours.labels.numpy())), 4),
            "date": context["date"],
            "versions": context["versions"],
            "command": context["command"],
        }
        print(json.dumps(record), flush=True)
        with args.out.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
