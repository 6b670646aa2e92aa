"""SwAV on USPS and MNIST-test: multi-crop and the kNN-graph term, on / off.

Reads ``suite.yaml`` beside this file, trains every (dataset, variant, seed) that is not
yet in ``results.jsonl`` (so an interrupted sweep goes on where it stopped; a run cut
short mid-training resumes from its checkpoint in ``$GRAPHCLUST_CACHE``), adds a
KMeans-on-pixels baseline, and writes ``results.md``. Labels are read only to score.

    OMP_NUM_THREADS=1 flock /tmp/graphclust-heavy.lock \
        python experiments/swav/run.py --root ../shared/data [--only usps] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from sklearn.cluster import KMeans

from graphclust.adapters import load_images
from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.bench.table import format_report, summarize
from graphclust.data import cache_root
from graphclust.methods.swav import SwAV
from graphclust.metrics import ari, clustering_accuracy, nmi

HERE = Path(__file__).resolve().parent
METRICS = ("acc", "nmi", "ari")
PUBLISHED = {"usps": 0.964, "mnist-test": 0.965}  # DEPICT (Ghasedi Dizaji et al. 2017), ACC


def scores(y: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    return {
        "acc": round(clustering_accuracy(y, labels), 4),
        "nmi": round(nmi(y, labels), 4),
        "ari": round(ari(y, labels), 4),
    }


def run_swav(name: str, variant: str, params: dict[str, Any], seed: int, images, y) -> list[dict]:
    tag = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    ckpt = cache_root() / "experiments" / "swav" / f"{name}-{tag}-{seed}.pt"
    reset_peak_rss()
    start = time.perf_counter()
    params = {"progress": True, **params}
    model = SwAV(seed=seed, checkpoint=str(ckpt), **params).fit(images)
    wall = round(time.perf_counter() - start, 1)
    base = {
        "dataset": name,
        "seed": seed,
        "status": "ok",
        "wall_time_s": wall,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "params": params,
        "final_loss": round(model.history_["loss"][-1], 4),
    }
    return [
        {
            **base,
            "method": f"{variant} (prototypes)",
            "metrics": scores(y, model.prototype_labels_),
        },
        {**base, "method": f"{variant} (k-means)", "metrics": scores(y, model.kmeans_labels_)},
    ]


def run_kmeans(name: str, seed: int, images, y) -> list[dict]:
    reset_peak_rss()
    start = time.perf_counter()
    labels = KMeans(10, n_init=10, random_state=seed).fit_predict(images.flatten(1).numpy())
    return [
        {
            "dataset": name,
            "seed": seed,
            "status": "ok",
            "method": "KMeans (pixels)",
            "wall_time_s": round(time.perf_counter() - start, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "metrics": scores(y, torch.from_numpy(labels)),
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="data root (default $GRAPHCLUST_DATA)")
    parser.add_argument("--only", nargs="*", help="datasets to run (default: all in the suite)")
    parser.add_argument("--variants", nargs="*", help="variants to run (default: all)")
    parser.add_argument("--seeds", nargs="*", type=int, help="seeds (default: the suite's)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--table-only", action="store_true", help="only rewrite results.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    suite = yaml.safe_load((HERE / "suite.yaml").read_text())
    out = HERE / "results.jsonl"
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            rec = json.loads(line)
            done.add((rec["dataset"], rec["method"].split(" (")[0], rec["seed"]))
    if not args.table_only:
        for name, dataset_cfg in suite["datasets"].items():
            if args.only and name not in args.only:
                continue
            data = load_images(name, args.root)
            seeds = args.seeds if args.seeds is not None else dataset_cfg["seeds"]
            wanted = args.variants or dataset_cfg.get("variants") or list(suite["variants"])
            jobs = [("KMeans", None)] + [
                (v, cfg) for v, cfg in suite["variants"].items() if v in wanted
            ]
            for seed in seeds:
                for variant, cfg in jobs:
                    if (name, variant, seed) in done:
                        continue
                    if cfg is None:
                        records = run_kmeans(name, seed, data.images, data.labels)
                    else:
                        params = {**suite["common"], **dataset_cfg.get("params", {}), **cfg}
                        records = run_swav(name, variant, params, seed, data.images, data.labels)
                    with out.open("a") as handle:
                        for rec in records:
                            handle.write(json.dumps(rec) + "\n")
                            print(rec["dataset"], rec["method"], seed, rec["metrics"], flush=True)
    write_table(out, HERE / "results.md")


def write_table(records_path: Path, md_path: Path) -> None:
    records = [json.loads(line) for line in records_path.read_text().splitlines()]
    rows = summarize(records, METRICS)
    context = run_context()
    report = format_report(rows, METRICS, context, title="SwAV on USPS and MNIST-test")
    published = "\n".join(
        f"| {name} | DEPICT (published, not rerun) | - | {acc:.3f} | - | - | - | - |"
        for name, acc in PUBLISHED.items()
    )
    md_path.write_text(
        report + "\nPublished reference (ACC only):\n\n"
        "| dataset | method | runs | acc | nmi | ari | time_s | peak_rss_mb |\n"
        "|---|---|---|---|---|---|---|---|\n" + published + "\n"
    )


if __name__ == "__main__":
    main()
