"""Few-label transductive clustering against label propagation and K-means.

For every dataset, every number of labelled nodes per class (1, 3, 5) and every random
draw of them (``label_seed`` 0..draws-1), report the accuracy on the *unlabelled*
nodes of:

- ``transductive``: TransductiveClustering with its defaults (K-means costs,
  lambda 0.7, T 0.1, W = (I + D^-1/2 A D^-1/2) / 2 of the input graph);
- ``transductive-l0``: the same with lambda = 0 (semi-supervised soft K-means: the
  paper's "plain K-means" special case);
- ``transductive-modes``: the Gaussian-kernel mode variant;
- ``transductive-binary``: the paper's 0/1 affinity (here the input graph's);
- with ``--full`` also ``transductive-T1`` (the paper's T = 1) and ``transductive-knn``
  (W from a 10-NN cosine graph of the features, the paper's affinity);
- ``labelprop``: torch_geometric's LabelPropagation (50 layers, alpha 0.9, fixed a
  priori), on the input graph, seeded with the same labelled nodes;
- ``kmeans``: unsupervised K-means on the features (K = number of classes),
  Hungarian-matched accuracy on the same unlabelled nodes (uses no labelled node).

Settings are fixed before any run; no label of an unlabelled node steers anything.

Run (CPU, reduced: 3 draws):  python experiments/transductive/run.py
Full (10 draws, two more rows):  python experiments/transductive/run.py --full --device cuda
Writes results.jsonl (one record per fit) and results.md beside this file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch_geometric.nn.models import LabelPropagation

from graphclust.bench.environment import run_context
from graphclust.data import load_dataset
from graphclust.methods.baselines import KMeans
from graphclust.methods.transductive import TransductiveClustering, draw_labelled_rows
from graphclust.metrics import clustering_accuracy

HERE = Path(__file__).parent
DATASETS = ("cora", "citeseer", "pubmed", "usps")
SHOTS = (1, 3, 5)
CONFIGS = {
    "transductive": {},
    "transductive-l0": {"laplacian_weight": 0.0},
    "transductive-modes": {"variant": "modes"},
    "transductive-binary": {"weights": "binary"},
}
FULL_CONFIGS = {
    "transductive-T1": {"temperature": 1.0},
    "transductive-knn": {"affinity": "knn", "knn": 10},
}


def label_propagation(data, labelled: torch.Tensor, device: str) -> torch.Tensor:
    """Predicted classes [N] of PyG's LabelPropagation from the labelled rows only."""
    mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    mask[labelled] = True
    model = LabelPropagation(num_layers=50, alpha=0.9)
    out = model(data.y.to(device), data.edge_index.to(device), mask=mask.to(device))
    return out.argmax(dim=1).cpu()


def run(args: argparse.Namespace) -> list[dict]:
    configs = dict(CONFIGS, **(FULL_CONFIGS if args.full else {}))
    if args.methods:
        configs = {name: configs[name] for name in args.methods}
    records = []
    for name in args.datasets:
        data = load_dataset(name)
        k = int(data.num_classes)
        kmeans = {}
        for shots in SHOTS:
            for draw in range(args.draws):
                labelled = draw_labelled_rows(data.y, shots, seed=draw)
                free = torch.ones(data.num_nodes, dtype=torch.bool)
                free[labelled] = False
                truth = data.y[free]
                base = {"dataset": name, "shots": shots, "draw": draw}
                for method, params in configs.items():
                    model = TransductiveClustering(n_clusters=k, device=args.device, **params)
                    model.fit(data, y=data.y, labeled_mask=labelled)
                    acc = float((model.labels_[free] == truth).float().mean())
                    records.append(
                        {
                            **base,
                            "method": method,
                            "acc": acc,
                            "fit_s": model.fit_time_,
                            "outer_iter": model.n_iter_,
                        }
                    )
                start = time.perf_counter()
                pred = label_propagation(data, labelled, args.device)
                acc = float((pred[free] == truth).float().mean())
                lp_s = time.perf_counter() - start
                records.append({**base, "method": "labelprop", "acc": acc, "fit_s": lp_s})
                if draw not in kmeans:  # unsupervised: one fit per seed serves every shot
                    kmeans[draw] = KMeans(n_clusters=k, seed=draw).fit(data)
                acc = clustering_accuracy(truth, kmeans[draw].labels_[free])
                fit_s = kmeans[draw].fit_time_
                records.append({**base, "method": "kmeans", "acc": acc, "fit_s": fit_s})
                print(name, shots, draw, [f"{r['acc']:.3f}" for r in records[-len(configs) - 2 :]])
    return records


def table(records: list[dict], context: dict, args: argparse.Namespace) -> str:
    methods = list(dict.fromkeys(r["method"] for r in records))
    lines = [
        "# Few-label transductive clustering: accuracy on the unlabelled nodes",
        "",
        f"- command: `{context['command']}`; date (UTC): {context['date']}",
        f"- machine: {context['machine']}",
        f"- versions: {context['versions']}",
        f"- mean ± std over {args.draws} random draws of the labelled nodes "
        "(label_seed 0..draws-1); final model (no selection); kmeans: Hungarian-matched",
        "",
        "| dataset | labels/class | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for name in args.datasets:
        for shots in SHOTS:
            cells = []
            for method in methods:
                accs = [
                    r["acc"]
                    for r in records
                    if (r["dataset"], r["shots"], r["method"]) == (name, shots, method)
                ]
                cells.append(f"{np.mean(accs):.3f} ± {np.std(accs):.3f}")
            lines.append(f"| {name} | {shots} | " + " | ".join(cells) + " |")
    fit_s = {m: np.mean([r["fit_s"] for r in records if r["method"] == m]) for m in methods}
    lines += ["", "Mean fit seconds: " + ", ".join(f"{m} {s:.2f}" for m, s in fit_s.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--full", action="store_true", help="10 draws and two more configs")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--draws", type=int, default=None)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(CONFIGS) + list(FULL_CONFIGS),
        help="only these transductive rows (label propagation and K-means always run)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.draws = args.draws or (10 if args.full else 3)
    context = run_context()
    out = Path(args.out)
    records = []
    datasets = args.datasets
    for done, name in enumerate(datasets, start=1):
        # Written after every dataset, so a stopped run keeps what it finished.
        args.datasets = [name]
        records += run(args)
        args.datasets = datasets[:done]
        with open(out.with_suffix(".jsonl"), "w") as handle:
            for record in records:
                handle.write(json.dumps({**record, "command": context["command"]}) + "\n")
        text = table(records, context, args)
        out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
