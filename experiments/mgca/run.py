"""MGCA (two views) against each view alone and against PamC, on attributed graphs.

Every model trains without labels; labels only score the final model (no selection).
Models, all with the same budget (epochs, widths, augmentations):

- ``mgca``: attribute view (MLP on masked features) vs structure view (GCN on masked
  features and dropped edges), one shared prototype layer, swapped prediction;
- ``mgca-attribute`` / ``mgca-structure``: the single-view ablations
  (``views="attribute"|"structure"``): one encoder, two augmented copies of its view;
- ``pamc``: ``graphclust.PamC`` at its defaults (``epochs`` reduced on CPU).

Each MGCA fit is read out three ways from the same model (k-means on the fused
embedding, argmax of its Sinkhorn codes, argmax of its prototype scores; the last two
only when ``n_prototypes == n_clusters``). ``--prototypes`` sets ``n_prototypes``
(``k``: the number of classes; an integer: that many, read out by k-means).

    OMP_NUM_THREADS=1 python experiments/mgca/run.py                 # CPU, reduced
    python experiments/mgca/run.py --full --device cuda              # GPU batch

Results: ``results_<setting>.jsonl`` (one record per fit, appended; a finished
(dataset, model, seed) is skipped) and ``results_<setting>.md`` (the table), where
``setting`` is ``reduced`` or ``full``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import graphclust
from graphclust.bench.environment import run_context
from graphclust.methods.mgca import MGCA
from graphclust.methods.pamc import PamC
from graphclust.metrics import ari, clustering_accuracy, nmi

HERE = Path(__file__).resolve().parent
DATASETS = ("cora", "citeseer", "acm", "photo")
MODELS = ("mgca", "mgca-attribute", "mgca-structure", "pamc")
# Budgets: reduced = what the shared 2-core CPU allows now; full = MGCA's defaults and
# PamC's defaults (200 epochs after 30 of pre-training).
SETTINGS = {
    "reduced": {"mgca": {"epochs": 30, "warmup_epochs": 3}, "pamc": {"epochs": 40}},
    "full": {"mgca": {}, "pamc": {}},
}
READOUTS = ("labels_", "kmeans_labels_", "sinkhorn_labels_", "prototype_labels_")


def scores(y: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    return {
        "nmi": round(nmi(y, labels), 4),
        "acc": round(clustering_accuracy(y, labels), 4),
        "ari": round(ari(y, labels), 4),
    }


def fit_one(model: str, data, k: int, seed: int, setting: str, args) -> dict:
    """Train one model on ``data`` (labels never passed) and score its read-outs."""
    device = args.device
    if model == "pamc":
        params = SETTINGS[setting]["pamc"]
        est = PamC(n_clusters=k, seed=seed, device=device, **params)
    else:
        views = {"mgca": "both"}.get(model, model.removeprefix("mgca-"))
        n_proto = None if args.prototypes == "k" else int(args.prototypes)
        params = {**SETTINGS[setting]["mgca"], "views": views, "n_prototypes": n_proto}
        est = MGCA(n_clusters=k, seed=seed, device=device, progress=False, **params)
    start = time.perf_counter()
    est.fit(data)
    wall = time.perf_counter() - start
    readouts = {
        name.removesuffix("_"): scores(data.y, getattr(est, name))
        for name in READOUTS
        if getattr(est, name, None) is not None
    }
    return {"params": params, "train_s": round(wall, 1), "metrics": readouts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seeds", nargs="*", type=int, default=None)
    parser.add_argument("--prototypes", default="k", help="'k' or an integer (default k)")
    parser.add_argument("--full", action="store_true", help="MGCA's and PamC's default budgets")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where results go")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    setting = "full" if args.full else "reduced"
    seeds = args.seeds if args.seeds is not None else [0, 1, 2]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"results_{setting}.jsonl"
    records = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    done = {(r["dataset"], r["model"], r["prototypes"], r["seed"]) for r in records}
    context = run_context()
    for name in [] if args.table_only else args.datasets:
        data = graphclust.load_dataset(name)
        k = int(data.y.max()) + 1
        for seed in seeds:
            for model in args.models:
                protos = "-" if model == "pamc" else args.prototypes
                if (name, model, protos, seed) in done:
                    continue
                rec = {"dataset": name, "model": model, "prototypes": protos, "seed": seed}
                rec.update(fit_one(model, data, k, seed, setting, args))
                rec.update(device=args.device, command=context["command"], date=context["date"])
                records.append(rec)
                with out.open("a") as handle:
                    handle.write(json.dumps(rec) + "\n")
                print(json.dumps(rec), flush=True)
    # Re-read: runs of other datasets may have appended to the same file meanwhile.
    records = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    write_table(records, setting, args.out_dir / f"results_{setting}.md", context)


def write_table(records: list[dict], setting: str, path: Path, context: dict) -> None:
    """Mean ± sample std over seeds of every (dataset, model, prototypes, read-out)."""
    versions = ", ".join(f"{k} {v}" for k, v in context["versions"].items())
    machine = context["machine"]
    commands = sorted({r["command"] for r in records})
    lines = [
        f"# MGCA vs single views vs PamC ({setting} budget)",
        "",
        "- commands: " + "; ".join(f"`{c}`" for c in commands),
        f"- table written (UTC): {context['date']}; machine: {machine['platform']}, "
        f"{machine['cpu_count']} CPUs, GPU: {machine['gpu']}; versions: {versions}",
        f"- budgets: {json.dumps(SETTINGS[setting])}",
        "- MGCA: final model (no selection); PamC: its default label-free selection (epoch of",
        "  highest modularity). Labels only score the models. Cells: mean ± sample std",
        "  over seeds. Read-outs: `labels` is the default (`readout='auto'`), then k-means",
        "  on the fused embedding, argmax of Sinkhorn codes, argmax of prototype scores.",
        "- train_s: mean wall seconds per fit (CPU times inflated by a shared machine).",
        "",
        "| dataset | model | prototypes | read-out | seeds | NMI | ACC | ARI | train_s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(r["dataset"], r["model"], r["prototypes"]) for r in records},
        key=lambda t: (DATASETS.index(t[0]) if t[0] in DATASETS else 99, MODELS.index(t[1]), t[2]),
    )
    for dataset, model, protos in keys:
        runs = [
            r
            for r in records
            if (r["dataset"], r["model"], r["prototypes"]) == (dataset, model, protos)
        ]
        wall = np.mean([r["train_s"] for r in runs])
        for readout in (name.removesuffix("_") for name in READOUTS):
            vals = [r["metrics"][readout] for r in runs if readout in r["metrics"]]
            same = all(r["metrics"].get(readout) == r["metrics"]["labels"] for r in runs)
            if not vals or (readout != "labels" and same):
                continue  # absent, or the default read-out itself
            cells = []
            for metric in ("nmi", "acc", "ari"):
                x = np.array([v[metric] for v in vals])
                std = x.std(ddof=1) if len(x) > 1 else 0.0
                cells.append(f"{x.mean():.3f} ± {std:.3f}")
            lines.append(
                f"| {dataset} | {model} | {protos} | {readout} | {len(vals)} | "
                + " | ".join(cells)
                + f" | {wall:.1f} |"
            )
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
