"""Growth of time per epoch and peak memory with graph size, for every graph method.

Graphs: the attributed SBM (``graphclust.load_dataset("sbm")``), K = 10 blocks, mean
degree ~10 (80% inside blocks), 32 features with a weak block signal (0.5), seed 0, for
N = 1e3 .. 1e6 (``--sizes``). Methods (``METHODS``):

- ``pamc-minibatch`` / ``pamc-full``: PamC with node batches of 4096 / on the whole
  graph; a reduced MLP (32-128-128-10, not the paper's 500-500-2000: growth, not
  accuracy, is measured), one pre-training epoch, ``n_init=1``, influence order 1.
- ``dag-sampled`` / ``dag-full``: DAG's ``cpu`` preset with random-walk subgraphs of
  about 4096 nodes / on the whole graph; ``k_max=32`` fixed (the default rule
  ``2 sqrt N`` would let the readout grow with N and hide the growth in edges).
- ``kmeans`` (features, K = 10, one k-means++ start), ``louvain`` (networkx) and
  ``label-propagation`` (networkx's asynchronous LPA): one fit each, no epochs.

Every fit runs in its own subprocess (``OMP_NUM_THREADS=1``, one torch thread), so its
peak RSS is its own: the Linux high-water mark is reset after the graph is generated,
and ``peak_rss_mb`` is the peak during the fit (resident graph included);
``fit_extra_mb`` subtracts the RSS just before the fit. Time per epoch is the median gap
between consecutive per-epoch ``loss`` records of ``history_`` (the wrapper only adds a
timestamp to each ``log`` call; the methods are untouched), so it covers training
epochs and excludes pre-training, k-means initialisation and the final evaluation (the
evaluation runs only after the last epoch: ``eval_every = epochs``). Methods without
epochs report the whole fit. ``processes`` is 1 throughout: the 1-vs-2-process
comparison is run by the distributed benchmark (docs/distributed.md).

Budget: before each fit the parent predicts its time from the method's previous size
(linear in edges, x1.5) and skips it, with the reason, when the prediction exceeds
``--max-fit-s`` or the time left of ``--budget-s``; a fit past ``--max-fit-s`` x 2 is
killed and recorded as timed out.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python experiments/scaling/growth.py \\
        --out experiments/scaling/results_cpu.jsonl
    python experiments/scaling/growth.py --summarize experiments/scaling/results_cpu.jsonl
    # GPU (see docs/scaling.md):
    python experiments/scaling/growth.py --device cuda --sizes 1000000,10000000 \\
        --methods pamc-minibatch,pamc-full,dag-sampled,kmeans --epochs-large 3 \\
        --out experiments/scaling/results_gpu.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
METHODS = (
    "pamc-minibatch",
    "dag-sampled",
    "kmeans",
    "label-propagation",
    "louvain",
    "pamc-full",
    "dag-full",
)
EPOCH_METHODS = {"pamc-minibatch", "pamc-full", "dag-sampled", "dag-full"}
K, DEGREE, FEATURES, BATCH = 10, 10.0, 32, 4096


# ---------------------------------------------------------------- worker (one fit)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sbm(n: int):
    from graphclust.data import load_dataset

    return load_dataset(
        "sbm",
        n_nodes=n,
        n_clusters=K,
        p_in=min(1.0, 0.8 * DEGREE / max(1, n // K - 1)),
        p_out=0.2 * DEGREE / (n - n // K),
        feature_dim=FEATURES,
        feature_signal=0.5,
        seed=0,
    )


def make_model(method: str, epochs: int, device: str):
    from graphclust.methods.baselines import KMeans, Louvain
    from graphclust.methods.dag import DAG
    from graphclust.methods.pamc import PamC

    if method.startswith("pamc"):
        return PamC(
            n_clusters=K,
            hidden=(128, 128),
            latent_dim=10,
            pretrain_epochs=1,
            pretrain_batch_size=BATCH,
            epochs=epochs,
            batch_size=BATCH if method == "pamc-minibatch" else None,
            eval_every=epochs,
            n_init=1,
            order=1,
            seed=0,
            device=device,
        )
    if method.startswith("dag"):
        return DAG(
            preset="cpu",
            k_max=32,
            epochs=epochs,
            eval_every=epochs,
            batch_size=BATCH if method == "dag-sampled" else None,
            progress=False,
            seed=0,
            device=device,
        )
    if method == "kmeans":
        return KMeans(n_clusters=K, n_init=1, seed=0)
    if method == "louvain":
        return Louvain(seed=0)
    return None  # label propagation: networkx, below


def label_propagation(data) -> None:
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(data.num_nodes))
    row, col = data.edge_index
    keep = row < col
    graph.add_edges_from(zip(row[keep].tolist(), col[keep].tolist(), strict=True))
    list(nx.community.asyn_lpa_communities(graph, seed=0))


def worker(method: str, n: int, epochs: int, device: str) -> dict:
    import torch

    from graphclust.bench.memory import peak_rss_mb, reset_peak_rss

    torch.set_num_threads(1)
    rss_base = _rss_mb()  # interpreter + imports
    start = time.perf_counter()
    data = sbm(n)
    out = {"gen_s": time.perf_counter() - start, "edges": int(data.edge_index.size(1) // 2)}
    out["rss_base_mb"] = rss_base
    model = make_model(method, epochs, device)
    stamps: list[tuple[float, float]] = []
    if model is not None:
        log = model.log

        def timed_log(**values: float) -> None:
            if "loss" in values:  # one per training epoch in PamC and DAG
                stamps.append((time.perf_counter(), time.process_time()))
            log(**values)

        model.log = timed_log
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    out["rss_before_fit_mb"] = _rss_mb()
    reset_peak_rss()
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model is None:
            label_propagation(data)
        else:
            model.fit(data)
    if device == "cuda":
        torch.cuda.synchronize()
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out["fit_s"] = time.perf_counter() - wall
    out["fit_cpu_s"] = time.process_time() - cpu
    out["peak_rss_mb"] = peak_rss_mb()
    out["fit_extra_mb"] = out["peak_rss_mb"] - out["rss_before_fit_mb"]
    if method in EPOCH_METHODS:
        gaps = [b[0] - a[0] for a, b in zip(stamps, stamps[1:], strict=False)]
        cpu_gaps = [b[1] - a[1] for a, b in zip(stamps, stamps[1:], strict=False)]
        out["epochs"] = epochs
        out["epoch_s_all"] = gaps
        out["epoch_s"] = statistics.median(gaps) if gaps else None
        out["epoch_cpu_s"] = statistics.median(cpu_gaps) if cpu_gaps else None
    out["unit_s"] = out.get("epoch_s") or out["fit_s"]
    return out


# ---------------------------------------------------------------- parent (schedule)


def run_one(method: str, n: int, epochs: int, device: str, timeout_s: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--n", str(n)]
    cmd += ["--epochs", str(epochs), "--device", device]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout_s:.0f} s (killed)"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout)[-600:], "returncode": proc.returncode}
    return json.loads(lines[-1])


def schedule(args: argparse.Namespace) -> None:
    from graphclust.bench.environment import run_context

    start = time.perf_counter()
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    last: dict[str, tuple[int, float]] = {}  # method -> (N, seconds of generation + fit)
    overhead = 30.0  # process start-up and imports, updated from each run
    with out_path.open("w") as fh:

        def write(row: dict) -> None:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(json.dumps({k: v for k, v in row.items() if k != "epoch_s_all"}), flush=True)

        context = run_context()
        context["command"] = "python " + " ".join(sys.argv)
        write({"kind": "header", **context, "device": args.device, "threads": 1})
        for n in args.sizes:
            epochs = args.epochs if n < 300_000 else args.epochs_large
            for method in args.methods:
                row = {"kind": "fit", "method": method, "n": n, "processes": 1}
                row["device"] = args.device
                left = args.budget_s - (time.perf_counter() - start)
                limit = args.full_batch_max_n if method.endswith("-full") else None
                guess = None
                if method in last:
                    n0, s0 = last[method]
                    # + start-up (imports: ~30 s on the contended 2-core machine)
                    guess = 1.5 * s0 * n / n0 + overhead
                if limit is not None and n > limit:
                    row["skipped"] = f"full batch above --full-batch-max-n={limit}"
                elif left < 20:
                    row["skipped"] = "run budget spent"
                elif guess is not None and guess > min(args.max_fit_s, left):
                    row["skipped"] = (
                        f"predicted {guess:.0f} s (linear from N={last[method][0]}) > "
                        f"{min(args.max_fit_s, left):.0f} s allowed"
                    )
                if "skipped" in row:
                    write(row)
                    continue
                t0 = time.perf_counter()
                row.update(run_one(method, n, epochs, args.device, 2 * args.max_fit_s))
                row["wall_s"] = time.perf_counter() - t0
                if "fit_s" in row:
                    last[method] = (n, row["fit_s"] + row["gen_s"])
                    overhead = max(5.0, row["wall_s"] - last[method][1])
                else:
                    last[method] = (n, float("inf"))
                write(row)
        write({"kind": "footer", "total_s": time.perf_counter() - start})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON-lines file to write")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(float(v)) for v in s.split(",")],
        default=[1000, 10_000, 100_000, 1_000_000],
    )
    parser.add_argument("--methods", type=lambda s: s.split(","), default=list(METHODS))
    parser.add_argument("--epochs", type=int, default=4, help="below N = 300k")
    parser.add_argument("--epochs-large", type=int, default=3, help="from N = 300k")
    parser.add_argument("--max-fit-s", type=float, default=300.0)
    parser.add_argument("--budget-s", type=float, default=1800.0)
    parser.add_argument("--full-batch-max-n", type=int, default=1_000_000)
    parser.add_argument("--summarize", metavar="JSONL", help="write results.md + figure")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.epochs, args.device)), flush=True)
    elif args.summarize:
        from summarize import summarize  # experiments/scaling/summarize.py

        summarize(Path(args.summarize))
    else:
        if not args.out:
            parser.error("--out is required")
        unknown = set(args.methods) - set(METHODS)
        if unknown:
            parser.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
        schedule(args)


if __name__ == "__main__":
    main()
