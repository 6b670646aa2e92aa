"""MLCD's ablation in miniature: positives l = 1 / 8 / 32, negative ratio 0.1 / 1.0.

On USPS (images, SmallResNet) and Cora (attributed graph, GCN), every model is trained
without labels; its frozen embeddings are then scored two ways: linear-probe accuracy
(:func:`graphclust.metrics.probe.linear_probe_accuracy`, logistic regression on a
stratified half, scored on the other half) and clustering ACC / NMI of k-means at the
true number of classes (MLCD's ``labels_``). References at the same epoch budget: SwAV
(images, 2 crops, k-means read-out) and PamC (graphs), and the raw input.
Labels are read only to score; the reported model is the final one (no selection).

    OMP_NUM_THREADS=1 python experiments/mlcd/run.py                 # reduced, CPU
    python experiments/mlcd/run.py --full --device cuda --budget 330 # GPU batch

Reduced: USPS subset of 2,000 images, 2 rounds x 3 epochs; Cora 3 rounds x 5 epochs;
seeds 0 1. ``--full``: all 9,298 USPS images, 3 rounds x 5 epochs, Cora 3 x 10, seeds
0-2. Runs go seed-major (seed 0 of every dataset and model first) and no run starts
after ``--budget`` seconds, so a cut run keeps balanced partial tables. Records go to
``results_<mode>_<device>.jsonl`` (one line per run, with the run context); the table
``results.md`` is rewritten from every jsonl beside this file after each run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import graphclust
from graphclust.adapters import load_images
from graphclust.bench.environment import run_context
from graphclust.metrics import clustering_accuracy, nmi
from graphclust.metrics.probe import linear_probe_accuracy

HERE = Path(__file__).resolve().parent

# the paper's ablation axes: (n_positive, negative_ratio)
VARIANTS = {
    "MLCD l=1 r=0.1": (1, 0.1),
    "MLCD l=8 r=0.1": (8, 0.1),
    "MLCD l=32 r=0.1": (32, 0.1),
    "MLCD l=8 r=1.0": (8, 1.0),
}
SETTINGS = {
    "reduced": {
        "usps": {"n_images": 2000, "rounds": 2, "epochs": 3, "seeds": [0, 1]},
        "cora": {"rounds": 3, "epochs": 5, "seeds": [0, 1]},
    },
    "full": {
        "usps": {"n_images": None, "rounds": 3, "epochs": 5, "seeds": [0, 1, 2]},
        "cora": {"rounds": 3, "epochs": 10, "seeds": [0, 1, 2]},
    },
}
# MLCD's shared settings (scale 5 and lr 1e-2 chosen on a 2,000-image USPS subset,
# seed 0, 2 x 3 epochs, by the loss and the k-means ACC: scale 10 gave ACC .54)
MLCD_COMMON = {"scale": 5.0, "lr": 1e-2, "embedding_dim": 64}  # the defaults, stated
IMAGE_NET = {"width": 16, "hidden_dim": 256, "batch_size": 256}


def score(z: torch.Tensor, labels: torch.Tensor, y: torch.Tensor, seed: int) -> dict:
    return {
        "probe": round(linear_probe_accuracy(z, y, seed=seed), 4),
        "acc": round(clustering_accuracy(y, labels), 4),
        "nmi": round(nmi(y, labels), 4),
    }


def raw_record(x: torch.Tensor, y: torch.Tensor, k: int, seed: int) -> dict:
    from graphclust.assign import fit_kmeans

    labels = fit_kmeans(x.float(), k, n_init=10, seed=seed).labels
    return score(x.float(), labels, y, seed)


def run_images(cfg: dict, device: str, seed: int, only: set[str] | None):
    from graphclust.methods.mlcd import MLCD
    from graphclust.methods.swav import SwAV

    ds = load_images("usps")
    x, y = ds.images, ds.labels
    if cfg["n_images"] is not None:
        keep = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
        x, y = x[keep[: cfg["n_images"]]], y[keep[: cfg["n_images"]]]
    budget = {"rounds": cfg["rounds"], "epochs": cfg["epochs"]}
    models = {
        name: lambda lp=lp, r=r: MLCD(
            n_clusters=10, n_positive=lp, negative_ratio=r, **budget, **MLCD_COMMON, **IMAGE_NET
        )
        for name, (lp, r) in VARIANTS.items()
    }
    models["SwAV 2 crops"] = lambda: SwAV(
        n_clusters=10,
        overcluster=50,
        n_local=0,
        epochs=cfg["rounds"] * cfg["epochs"],
        lr=1e-2,
        embedding_dim=64,
        labels_from="kmeans",
        **IMAGE_NET,
    )
    yield "raw pixels", None, lambda: raw_record(x.flatten(1), y, 10, seed)
    for name, make in models.items():
        if only and name not in only:
            continue
        yield name, make, (x, y)


def run_graph(cfg: dict, device: str, seed: int, only: set[str] | None):
    from graphclust.methods.mlcd import MLCD
    from graphclust.methods.pamc import PamC

    data = graphclust.load_dataset("cora")
    y = data.y
    budget = {"rounds": cfg["rounds"], "epochs": cfg["epochs"]}
    models = {
        name: lambda lp=lp, r=r: MLCD(
            n_clusters=7,
            n_positive=lp,
            negative_ratio=r,
            encoder="gcn",
            hidden=(256,),
            **budget,
            **MLCD_COMMON,
        )
        for name, (lp, r) in VARIANTS.items()
    }
    # PamC: its own pre-training (30 epochs) + as many epochs as MLCD's rounds x epochs
    models["PamC"] = lambda: PamC(
        n_clusters=7, epochs=cfg["rounds"] * cfg["epochs"], selection="final"
    )
    yield "raw features", None, lambda: raw_record(data.x, y, 7, seed)
    for name, make in models.items():
        if only and name not in only:
            continue
        yield name, make, (data, y)


def run_one(dataset: str, mode: str, name: str, seed: int, make, payload, device: str) -> dict:
    """Train one model (or score the raw input) and return its record."""
    start = time.perf_counter()
    if make is None:
        metrics, params = payload(), {}
    else:
        model = make()
        quiet = {"progress": False} if "progress" in model.get_params() else {}
        model.set_params(seed=seed, device=device, **quiet)
        x, y = payload
        model.fit(x)
        metrics = score(model.embeddings_, model.labels_, y, seed)
        params = {k: v for k, v in model.get_params().items() if k != "progress"}
    return {
        "dataset": dataset,
        "mode": mode,
        "model": name,
        "seed": seed,
        "wall_s": round(time.perf_counter() - start, 1),
        "metrics": metrics,
        "params": params,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="paper-sized settings, more seeds")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--datasets", nargs="*", default=["usps", "cora"])
    parser.add_argument("--seeds", nargs="*", type=int, help="override the seeds")
    parser.add_argument("--only", nargs="*", help="model names to run (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget", type=float, default=None, help="no run starts after this (s)")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mode = "full" if args.full else "reduced"
    out = HERE / f"results_{mode}_{args.device}.jsonl"
    if not args.table_only:
        context = run_context()
        only = set(args.only) if args.only else None
        runners = {"usps": run_images, "cora": run_graph}
        seeds = sorted({s for d in args.datasets for s in SETTINGS[mode][d]["seeds"]})
        done = set()
        if out.exists():  # an interrupted run goes on where it stopped
            for line in out.read_text().splitlines():
                r = json.loads(line)
                done.add((r["dataset"], r["model"], r["seed"]))
        began = time.perf_counter()
        for seed in args.seeds if args.seeds is not None else seeds:
            for dataset in args.datasets:
                cfg = SETTINGS[mode][dataset]
                if args.seeds is None and seed not in cfg["seeds"]:
                    continue
                for name, make, payload in runners[dataset](cfg, args.device, seed, only):
                    if (dataset, name, seed) in done:
                        continue
                    if args.budget is not None and time.perf_counter() - began > args.budget:
                        print(f"budget reached, skipped {dataset} {name} {seed}", flush=True)
                        continue
                    rec = run_one(dataset, mode, name, seed, make, payload, args.device)
                    rec.update(context)
                    with out.open("a") as handle:
                        handle.write(json.dumps(rec, default=str) + "\n")
                    print(dataset, name, seed, rec["wall_s"], rec["metrics"], flush=True)
                    write_table(HERE / "results.md")
    write_table(HERE / "results.md")


def write_table(path: Path) -> None:
    """Mean ± std over seeds per (file, dataset, model), one section per results file."""
    lines = [
        "# MLCD ablation in miniature (generated by experiments/mlcd/run.py)",
        "",
        "probe: linear-probe accuracy (logistic regression, stratified 50/50 split); ACC /",
        "NMI: k-means at the true K on the embeddings; final model, no selection;",
        "mean ± std (ddof 0) over seeds (n). Wall times on a 2-core CPU shared by ~8 jobs",
        "are inflated.",
    ]
    for file in sorted(HERE.glob("results_*.jsonl")):
        records = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
        if not records:
            continue
        first = records[0]
        lines += [
            "",
            f"## {file.name}",
            "",
            f"`{first['command']}`, {first['date']}, {first['machine']}, "
            f"torch {first['versions'].get('torch', '?')}",
            "",
            "| dataset | model | probe | ACC | NMI | wall s | n |",
            "|---|---|---|---|---|---|---|",
        ]
        groups: dict[tuple[str, str], list[dict]] = {}
        for rec in records:
            groups.setdefault((rec["dataset"], rec["model"]), []).append(rec)
        for (dataset, model), recs in groups.items():
            cells = []
            for key in ("probe", "acc", "nmi"):
                vals = np.array([r["metrics"][key] for r in recs])
                cells.append(f"{vals.mean():.3f} ± {vals.std():.3f}")
            wall = np.mean([r["wall_s"] for r in recs])
            lines.append(
                f"| {dataset} | {model} | {' | '.join(cells)} | {wall:.0f} | {len(recs)} |"
            )
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
