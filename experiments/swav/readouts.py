"""Diagnostic: other label read-outs of already trained SwAV models, and their errors.

Loads the finished checkpoints that ``run.py`` left in ``$GRAPHCLUST_CACHE`` (it refuses
to train: a missing checkpoint is an error) and clusters the same embeddings several
ways: k-means (what ``run.py`` reports), Ward agglomerative clustering, spectral
clustering on the kNN graph of the embeddings, and k-means with 50 clusters merged by
Ward; with ``--merge-grid``, also the graph-merge read-out (``readout_graph``, then
``merge_clusters``) on the input kNN graph, the embedding kNN graph and their union,
for 20, 30 or 50 k-means clusters and k = 5, 10 or 20 neighbours: the comparison that
chose SwAV's ``"merged"`` rule (union, 50, 10) on USPS seeds 0-9 (README.md, "The
graph-merge read-out"). Each record also holds the contingency table (true digit x
k-means cluster), which shows whether an error is a merge, a split, or both. This reads
the labels to compare read-outs after the fact: it is a diagnosis, not a model-selection
rule, and nothing here feeds back into ``run.py``'s defaults::

    OMP_NUM_THREADS=2 python experiments/swav/readouts.py --only usps --seeds 0 1 2 3 4 \\
        --variant "multi-crop 2+4" --out experiments/swav/readouts.jsonl
    OMP_NUM_THREADS=2 python experiments/swav/readouts.py --only usps --seeds 0 1 2 3 4 5 \\
        6 7 8 9 --variant "multi-crop 2+4" --merge-grid --out experiments/swav/merge_grid.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering

from graphclust.adapters import load_images
from graphclust.bench.environment import run_context
from graphclust.graph import merge_clusters
from graphclust.graph.merge import readout_graph
from graphclust.methods.swav import SwAV
from graphclust.metrics import clustering_accuracy, nmi

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import checkpoint_path  # noqa: E402


def readouts(z: np.ndarray, n_clusters: int, seed: int) -> dict[str, np.ndarray]:
    over = KMeans(5 * n_clusters, n_init=3, random_state=seed).fit(z)
    merged = AgglomerativeClustering(n_clusters, linkage="ward").fit_predict(over.cluster_centers_)
    return {
        "ward": AgglomerativeClustering(n_clusters, linkage="ward").fit_predict(z),
        "spectral (kNN 10)": SpectralClustering(
            n_clusters,
            affinity="nearest_neighbors",
            n_neighbors=10,
            assign_labels="cluster_qr",
            random_state=seed,
        ).fit_predict(z),
        f"k-means {5 * n_clusters} + ward": merged[over.labels_],
    }


MERGE_VIEWS = {"input": ("input",), "embedding": ("embedding",), "union": ("input", "embedding")}
MERGE_SIZES = (20, 30, 50)
MERGE_KS = (5, 10, 20)


def merge_grid(images: torch.Tensor, z: np.ndarray, n_clusters: int, seed: int, n_init: int):
    """The graph-merge read-out for every (view, over-clustering size, k) of the grid;
    each graph is built once and reused for the three sizes."""
    zt = torch.as_tensor(z)
    overs = {
        size: torch.as_tensor(KMeans(size, n_init=n_init, random_state=seed).fit_predict(z)).long()
        for size in MERGE_SIZES
    }
    out = {}
    for view, views in MERGE_VIEWS.items():
        for k in MERGE_KS:
            graph = readout_graph(images, zt, k, views)
            for size, over in overs.items():
                labels = merge_clusters(graph, over, n_clusters)
                out[f"merge {view} {size} k{k}"] = labels.numpy()
    return out


def grid_table(path: Path, splits: list[list[int]]) -> str:
    """Markdown: mean ACC of every grid cell over each group of seeds (``--table``)."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    records = [r for r in records if "merge union 50 k10" in r["scores"]]
    names = [
        f"seeds {g[0]}-{g[-1]}" if g == list(range(g[0], g[-1] + 1)) else str(g) for g in splits
    ]
    lines = [
        "| view | k-means clusters | k | " + " | ".join(f"ACC, {n}" for n in names) + " |",
        "|---|---|---|" + "---|" * len(splits),
    ]
    for view in MERGE_VIEWS:
        for size in MERGE_SIZES:
            for k in MERGE_KS:
                cells = []
                for group in splits:
                    accs = [
                        r["scores"][f"merge {view} {size} k{k}"]["acc"]
                        for r in records
                        if r["seed"] in group
                    ]
                    cells.append(f"{np.mean(accs):.3f} ({len(accs)})" if accs else "")
                lines.append(f"| {view} | {size} | {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="usps")
    parser.add_argument("--variant", default="multi-crop 2+4")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--root", default=None)
    parser.add_argument("--out", help="JSON-lines file to append the records to")
    parser.add_argument("--merge-grid", action="store_true", help="add the graph-merge grid")
    parser.add_argument(
        "--table",
        nargs="+",
        metavar="SEEDS",
        help="print the grid table of --out instead of running, one column per group of "
        "seeds given as first-last (e.g. 0-9 10-14)",
    )
    args = parser.parse_args()
    if not args.out:
        parser.error("--out is required")
    if args.table:
        splits = [list(range(int(a), int(b) + 1)) for a, b in (g.split("-") for g in args.table)]
        print(grid_table(Path(args.out), splits))
        return

    suite = yaml.safe_load((HERE / "suite.yaml").read_text())
    dataset_cfg = suite["datasets"][args.only]
    params = {**suite["common"], **dataset_cfg.get("params", {}), **suite["variants"][args.variant]}
    data = load_images(args.only, args.root)
    y = torch.as_tensor(np.asarray(data.labels))
    context = run_context()
    with open(args.out, "a") as handle:
        for seed in args.seeds:
            ckpt = checkpoint_path(args.only, params, seed)
            if not ckpt.exists():
                raise SystemExit(f"no checkpoint {ckpt}: train it first with run.py")
            model = SwAV(seed=seed, checkpoint=str(ckpt), **{**params, "progress": False})
            model.fit(data.images)
            z = F.normalize(model.embeddings_.float(), dim=1).numpy()
            labels = {"k-means": model.kmeans_labels_.numpy()}
            if args.merge_grid:
                images = data.images
                n_init = params.get("kmeans_n_init", 10)
                labels.update(merge_grid(images, z, params["n_clusters"], seed, n_init))
            else:
                labels.update(readouts(z, params["n_clusters"], seed))
            scores = {
                name: {
                    "acc": round(clustering_accuracy(y, torch.as_tensor(lab)), 4),
                    "nmi": round(nmi(y, torch.as_tensor(lab)), 4),
                }
                for name, lab in labels.items()
            }
            table = np.zeros((int(y.max()) + 1, params["n_clusters"]), dtype=int)
            np.add.at(table, (y.numpy(), labels["k-means"]), 1)
            record = {
                "dataset": args.only,
                "variant": args.variant,
                "seed": seed,
                "scores": scores,
                "kmeans_contingency": table.tolist(),
                # the grid's cell of SwAV's own rule must give SwAV's merged labels
                "grid_matches_model": (
                    bool(np.array_equal(labels["merge union 50 k10"], model.merged_labels_.numpy()))
                    if args.merge_grid and model.merged_labels_ is not None
                    else None
                ),
                "context": context,
            }
            handle.write(json.dumps(record) + "\n")
            print(
                seed,
                record["grid_matches_model"],
                {k: v["acc"] for k, v in scores.items()},
                flush=True,
            )


if __name__ == "__main__":
    main()
