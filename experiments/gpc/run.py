"""GPC benchmark: generalised category discovery and a side-by-side of estimated K.

Protocol: half of the classes are known and 50% of their rows are labelled
(:func:`graphclust.methods.gpc.draw_labeled_rows`, seeded by the run's seed); the other
classes are unseen. ACC all / old / new on the unlabelled rows (one Hungarian matching
over all of them; :func:`graphclust.metrics.gcd_accuracy`). Methods, every one with K
bounds that never come from the true K:

- ``gpc``: GPC with a trained encoder (GCN on Cora/CiteSeer, MLP elsewhere);
- ``gpc-plain``: GPC on the features (``train_encoder=False``);
- ``gpc-plain+mk``: the same with ``merge_known=True`` (free clusters may merge into
  known classes);
- ``ksearch``: label-free k-means K search (modularity x Calinski-Harabasz, K in 2..16)
  on the same reduced features GPC-plain clusters (rows L2-normalised, PCA 32), on the
  dataset's graph (kNN graph for images and mixtures); sees no label;
- ``dag``: DAG at reduced widths (hidden 64, 2 heads, factorised decoder), k_max 16
  (its default, a constant), sees no label. CPU: Cora, CiteSeer and the mixture only.

Run (CPU, reduced, one seed; GPU: ``--full --device cuda``, 3 seeds, DAG everywhere,
(dataset, seed) jobs in ``--workers`` processes; the E-step runs on the host)::

    OMP_NUM_THREADS=1 GRAPHCLUST_DATA=/path/to/data python experiments/gpc/run.py
    OMP_NUM_THREADS=1 GRAPHCLUST_DATA=/path/to/data python experiments/gpc/run.py \
        --full --device cuda --workers 8 --out experiments/gpc/results_gpu.jsonl

Every record (one per method x dataset x seed) goes to the jsonl; ``results.md`` is
rewritten from it (mean +- std over seeds; final models, no selection by labels).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch
from sklearn.datasets import make_blobs
from torch_geometric.data import Data

import graphclust
from graphclust.graph import knn_graph
from graphclust.methods.dag import DAG
from graphclust.methods.gpc import GPC, draw_labeled_rows
from graphclust.methods.ksearch import default_k_max, kmeans_k_search
from graphclust.metrics import gcd_accuracy

HERE = Path(__file__).resolve().parent
#: Real-world graphs without features: Laplacian eigenvector features, and the K
#: bounds of every method from N alone (``default_k_max``), never from the true K.
REALWORLD = ("football", "email-eu-core")
DATASETS = ("mixture-k10", "cora", "citeseer", "usps", "mnist-test", *REALWORLD)
GRAPHS = ("cora", "citeseer", *REALWORLD)
K_RANGE = range(2, 17)
DAG_REDUCED = {"hidden": 64, "heads": 2, "decoder_factorized": True, "readout_norm": "none"}


def mixture(seed: int) -> Data:
    """10 Gaussian classes, 200 rows each, 16-d, unit spread; kNN graph (k = 10)."""
    x, y = make_blobs(2000, n_features=16, centers=10, cluster_std=1.0, random_state=seed)
    x = torch.tensor(x, dtype=torch.float32)
    return Data(x=x, edge_index=knn_graph(x, 10), y=torch.tensor(y), num_classes=10)


def load(name: str, seed: int) -> Data:
    if name.startswith("mixture"):
        return mixture(seed)
    if name in REALWORLD:
        return graphclust.load_dataset(name, features="laplacian")
    return graphclust.load_dataset(name)


def k_bounds(name: str, data: Data) -> tuple[range, int]:
    """The k-means search's K range and DAG's k_max: fixed for the original sets, the
    rule of N for the real-world graphs (never the true K)."""
    if name in REALWORLD:
        k_max = default_k_max(int(data.num_nodes))
        return range(2, k_max + 1), k_max
    return K_RANGE, 16


def gpc_params(name: str, full: bool) -> dict:
    params = {"encoder": "gcn" if name in GRAPHS else "mlp", "latent_dim": 32}
    if name.startswith("mixture"):
        params["normalize"] = False  # Gaussian blobs: keep the Euclidean geometry
    if full:
        params.update(pretrain_epochs=30, rounds=3, epochs_per_round=10)
    else:
        params.update(pretrain_epochs=20, rounds=3, epochs_per_round=5)
    return params


def run_one(name: str, data: Data, method: str, seed: int, args) -> dict:
    y = data.y.long()
    mask, known = draw_labeled_rows(y, 0.5, 0.5, seed)
    start = time.perf_counter()
    record = {"dataset": name, "method": method, "seed": seed, "true_k": int(y.unique().numel())}
    if method.startswith("gpc"):
        params = gpc_params(name, args.full)
        if method.startswith("gpc-plain"):
            params["train_encoder"] = False
        if method.endswith("+mk"):
            params["merge_known"] = True
        model = GPC(seed=seed, device=args.device, **params).fit(data, y, mask)
        labels, k = model.labels_, model.n_clusters_
        record["params"] = {k_: v for k_, v in params.items()}
    elif method == "ksearch":
        space = GPC(train_encoder=False, normalize=not name.startswith("mixture"))
        torch.manual_seed(seed)  # the randomised PCA of wide features
        u = space._reduce(data.x.to(args.device)).float()
        # the graph stays on the host: the search scores modularity there
        found = kmeans_k_search(u, data.edge_index, k_bounds(name, data)[0], n_init=3, seed=seed)
        labels, k = found.labels, found.n_clusters
    else:
        epochs = 300 if args.full else 150
        model = DAG(
            k_max=k_bounds(name, data)[1],
            epochs=epochs,
            eval_every=25,
            seed=seed,
            device=args.device,
            **DAG_REDUCED,
        )
        model.fit(data)
        labels, k = model.labels_, model.n_clusters_
    record.update(gcd_accuracy(y, labels, mask, known))
    record.update(k=int(k), time_s=round(time.perf_counter() - start, 2))
    return record


def summarize(records: list[dict]) -> str:
    """Markdown: ACC all/old/new and K per dataset x method, mean +- std over seeds."""
    rows = {}
    for r in records:
        rows.setdefault((r["dataset"], r["method"]), []).append(r)

    def ms(values, digits=3):
        t = torch.tensor(values, dtype=torch.float64)
        if t.numel() == 1:  # one seed: no spread to report
            return f"{float(t):.{digits}f}"
        return f"{float(t.mean()):.{digits}f} ± {float(t.std()):.{digits}f}"

    def mk(values):
        return ms(values, 1)

    lines = [
        "| dataset (true K) | method | seeds | ACC all | ACC old | ACC new | K | time s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, method), rs in sorted(
        rows.items(), key=lambda kv: (DATASETS.index(kv[0][0]), kv[0][1])
    ):
        lines.append(
            f"| {dataset} ({rs[0]['true_k']}) | {method} | {len(rs)} | "
            + " | ".join(ms([r[key] for r in rs]) for key in ("acc_all", "acc_old", "acc_new"))
            + f" | {mk([r['k'] for r in rs])} | {sum(r['time_s'] for r in rs) / len(rs):.0f} |"
        )
    table = [
        "",
        "K side by side (mean over seeds):",
        "",
        "| dataset | true K | gpc | gpc-plain | gpc-plain+mk | ksearch | dag |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in DATASETS:
        found = {
            m: rows.get((dataset, m))
            for m in ("gpc", "gpc-plain", "gpc-plain+mk", "ksearch", "dag")
        }
        if not any(found.values()):
            continue
        true_k = next(v for v in found.values() if v)[0]["true_k"]
        cells = [mk([r["k"] for r in v]) if v else "—" for v in found.values()]
        table.append(f"| {dataset} | {true_k} | " + " | ".join(cells) + " |")
    runs = sorted(
        {(r["command"], r["date"][:10], r["device"], r["machine"], r["torch"]) for r in records}
    )
    header = [
        "# GPC benchmark results",
        "",
        "Generated by `experiments/gpc/run.py` from these runs:",
        "",
    ]
    header += [f"- `{c}` ({d}; {dev}; {m}; torch {t})" for c, d, dev, m, t in runs]
    header += ["", "Final models (no selection); mean ± std over seeds where seeds > 1.", ""]
    return "\n".join(header + lines + table) + "\n"


SHOWN = ("dataset", "method", "seed", "k", "acc_all", "acc_old", "acc_new", "time_s")


def run_job(name: str, seed: int, args: argparse.Namespace, meta: dict) -> list[dict]:
    """Every method on one (dataset, seed); one thread per process on the host."""
    torch.set_num_threads(1)
    data = load(name, seed)
    methods = ["gpc", "gpc-plain", "gpc-plain+mk", "ksearch"]
    if args.full or name in GRAPHS or name.startswith("mixture"):
        methods.append("dag")
    methods = [m for m in methods if args.methods is None or m in args.methods]
    records = []
    for method in methods:
        record = {**run_one(name, data, method, seed, args), **meta}
        print(json.dumps({k: record[k] for k in SHOWN}), flush=True)
        records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--full", action="store_true", help="longer training, 3 seeds, DAG on every dataset"
    )
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    parser.add_argument("--only", nargs="*", default=None, help="datasets to run")
    parser.add_argument("--methods", nargs="*", default=None, help="subset of the methods")
    parser.add_argument("--workers", type=int, default=1, help="(dataset, seed) jobs at once")
    parser.add_argument("--out", default=str(HERE / "results.jsonl"))
    parser.add_argument("--table-only", action="store_true", help="rewrite the .md only")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.table_only:
        seeds = args.seeds if args.seeds is not None else ([0, 1, 2] if args.full else [0])
        meta = {
            "command": " ".join(sys.argv),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.processor()} ({os.cpu_count()} CPUs)",
            "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
        jobs = [(name, seed) for name in args.only or DATASETS for seed in seeds]
        if args.workers > 1:
            context = multiprocessing.get_context("spawn")  # CUDA-safe workers
            with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
                futures = [pool.submit(run_job, n, s, args, meta) for n, s in jobs]
                for future in as_completed(futures):
                    _append(out, future.result())
        else:
            for name, seed in jobs:
                _append(out, run_job(name, seed, args, meta))
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    out.with_suffix(".md").write_text(summarize(records))


def _append(out: Path, records: list[dict]) -> None:
    with out.open("a") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
