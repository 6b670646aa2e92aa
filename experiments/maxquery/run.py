"""MaxQuery out-of-distribution scores of fitted clusterers, with held-out classes.

Protocol (fixed before any run). For every dataset and seed, ``round(0.3 C)`` of the
``C`` classes are drawn as held out (out of distribution, OOD); the nodes of the seen
classes are split 80/20 into *fit* and *test* nodes. Every score is evaluated on the
same rows: the seen-class test nodes (in distribution, negatives) and all held-out
nodes (positives). The class labels decide only the split and the evaluation.

- ``kmeans`` (inductive): KMeans with ``K`` = number of seen classes on the features of
  the fit nodes only; scores of the evaluation rows from their features.
  ``maxquery``: ``-max_k cos(x, c_k)``; ``knn``: cosine distance to the 10th nearest
  fit node. KMeans has no soft assignments, so no MSP.
- ``pamc`` (transductive: PamC keeps no encoder to embed unseen nodes): PamC with
  ``K`` = number of seen classes fitted on the whole graph, held-out nodes included and
  unlabelled as every node is (PamC reads no labels); ``maxquery`` on its embeddings and
  centroids, ``msp`` from its Student-t assignments, ``knn``: distance to the 10th
  nearest other node (every node is in the fitted set, so no in-distribution reference
  exists without labels).
- ``transductive``: TransductiveClustering on the whole graph with 5 labelled nodes per
  seen class (drawn from the fit nodes), ``K`` = seen classes; scores as for PamC.
- ``mgca`` / ``mgca-uniform`` (transductive, as PamC): MGCA with one prototype per
  seen class (``n_prototypes=None``), without and with the prototype uniformity
  regulariser (``uniformity_weight``), which keeps the queries apart during training.

Run (CPU, reduced: 2 seeds, a smaller PamC):  python experiments/maxquery/run.py
Full (3 seeds, PamC at the paper's widths):  python experiments/maxquery/run.py --full --device cuda
The regulariser alone:  python experiments/maxquery/run.py --methods mgca mgca-uniform \
    --datasets cora citeseer --out experiments/maxquery/results_uniformity
Writes results.jsonl and results.md beside this file (or at ``--out``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from graphclust.bench.environment import run_context
from graphclust.data import load_dataset
from graphclust.methods.baselines import KMeans
from graphclust.methods.mgca import MGCA
from graphclust.methods.pamc import PamC
from graphclust.methods.transductive import TransductiveClustering, draw_labelled_rows
from graphclust.metrics.ood import knn_distance_scores, maxquery_scores, msp_scores, ood_report

HERE = Path(__file__).parent
DATASETS = ("cora", "citeseer", "usps", "mnist-test")
METHODS = ("kmeans", "pamc", "transductive", "mgca", "mgca-uniform")
KNN_K = 10


def split(y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Held-out classes [H], fit mask [N] (80% of seen-class nodes), evaluation mask [N]."""
    gen = torch.Generator().manual_seed(seed)
    classes = int(y.max()) + 1
    held_out = torch.randperm(classes, generator=gen)[: round(0.3 * classes)].sort().values
    ood = torch.isin(y, held_out)
    seen_rows = (~ood).nonzero().flatten()
    order = seen_rows[torch.randperm(seen_rows.numel(), generator=gen)]
    fit = torch.zeros_like(ood)
    fit[order[: int(0.8 * order.numel())]] = True
    return held_out, fit, ~fit


def seen_labels(y: torch.Tensor, held_out: torch.Tensor) -> torch.Tensor:
    """Seen classes renumbered 0..S-1; held-out rows -1."""
    seen = torch.tensor([c for c in range(int(y.max()) + 1) if c not in held_out.tolist()])
    mapping = torch.full((int(y.max()) + 1,), -1, dtype=torch.long)
    mapping[seen] = torch.arange(seen.numel())
    return mapping[y]


def evaluate(scores: dict[str, torch.Tensor], rows: torch.Tensor, ood: torch.Tensor) -> dict:
    return {name: ood_report(s[rows], ood[rows]) for name, s in scores.items()}


def fit_scores(method: str, data: Data, fit, labels, n_seen, seed, args) -> dict:
    """Fit ``method`` (the labels are read only by the semi-supervised one) and score."""
    if method == "kmeans":
        kmeans = KMeans(n_clusters=n_seen, seed=seed).fit(
            Data(x=data.x[fit], edge_index=torch.empty(2, 0, dtype=torch.long))
        )
        return {
            "maxquery": maxquery_scores(kmeans, data.x),
            "knn": knn_distance_scores(data.x, reference=fit, k=KNN_K),
        }
    if method == "pamc":
        model = PamC(n_clusters=n_seen, seed=seed, device=args.device, **args.pamc).fit(data)
    elif method in ("mgca", "mgca-uniform"):
        weight = args.uniformity_weight if method == "mgca-uniform" else 0.0
        model = MGCA(
            n_clusters=n_seen,
            n_prototypes=None,  # the prototypes are the clusters: one query per cluster
            uniformity_weight=weight,
            seed=seed,
            device=args.device,
            progress=False,
            **args.mgca,
        ).fit(data)
    elif method == "transductive":
        pool = torch.where(fit, labels, torch.full_like(labels, -1))
        labelled = draw_labelled_rows(pool, 5, seed=seed)
        model = TransductiveClustering(n_clusters=n_seen, device=args.device)
        model.fit(data, y=labels, labeled_mask=labelled)
    else:
        raise ValueError(f"unknown method {method!r}")
    scores = {"maxquery": maxquery_scores(model)}
    if getattr(model, "soft_assignments_", None) is not None:
        scores["msp"] = msp_scores(model)
    scores["knn"] = knn_distance_scores(model.embeddings_, k=KNN_K)
    return scores


def run(args: argparse.Namespace) -> list[dict]:
    records = []
    for name in args.datasets:
        data = load_dataset(name)
        for seed in range(args.seeds):
            held_out, fit, evaluation = split(data.y, seed)
            ood = torch.isin(data.y, held_out)
            n_seen = int(data.num_classes) - held_out.numel()
            labels = seen_labels(data.y, held_out)
            base = {"dataset": name, "seed": seed, "held_out": held_out.tolist()}
            for method in args.methods:
                scores = fit_scores(method, data, fit, labels, n_seen, seed, args)
                records.append({**base, "method": method, **evaluate(scores, evaluation, ood)})
                print(name, seed, method, json.dumps(records[-1]["maxquery"]), flush=True)
    return records


def table(records: list[dict], context: dict, args: argparse.Namespace) -> str:
    lines = [
        "# MaxQuery: detecting held-out classes (AUROC, AUPR up; FPR95 down)",
        "",
        f"- command: `{context['command']}`; date (UTC): {context['date']}",
        f"- machine: {context['machine']}",
        f"- versions: {context['versions']}",
        f"- mean ± std over {args.seeds} seeds (held-out classes and split drawn per seed); "
        f"final / label-free-selected models as each method does by default; PamC {args.pamc}; "
        f"MGCA {args.mgca}, P = K, mgca-uniform with uniformity_weight "
        f"{args.uniformity_weight}",
        "",
        "| dataset | method | score | AUROC | AUPR | FPR95 |",
        "|---|---|---|---|---|---|",
    ]
    for name in args.datasets:
        for method in args.methods:
            rows = [r for r in records if (r["dataset"], r["method"]) == (name, method)]
            for score in ("maxquery", "msp", "knn"):
                if not rows or score not in rows[0]:
                    continue
                cells = []
                for metric in ("auroc", "aupr", "fpr95"):
                    values = [r[score][metric] for r in rows]
                    cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
                lines.append(f"| {name} | {method} | {score} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--full", action="store_true", help="3 seeds, PamC at paper widths")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--uniformity-weight", type=float, default=1.0, help="MGCA's, for mgca-uniform"
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.seeds = args.seeds or (3 if args.full else 2)
    if args.full:
        args.pamc = {"epochs": 200, "pretrain_epochs": 30}
        args.mgca = {}
    else:
        args.pamc = {"hidden": (256, 256, 512), "pretrain_epochs": 20, "epochs": 30}
        args.mgca = {"epochs": 40, "warmup_epochs": 4}
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
