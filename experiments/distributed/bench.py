"""Time per training epoch with 1 vs 2 data-parallel processes (SwAV, PamC mini-batch,
DAG sampled).

Each configuration runs under ``torchrun --standalone --nproc-per-node N`` (gloo on
CPUs, nccl on GPUs); the worker fits the estimator and stamps the end of every
training epoch, so pre-training, k-means and read-outs are left out of the per-epoch
time. The global batch is the same for every N (each process takes 1/N of it), so the
runs compute the same training: what changes is only how the work is split.

    python experiments/distributed/bench.py                     # CPU, 1 and 2 processes
    python experiments/distributed/bench.py --device cuda --nproc 1,2 --scale 8
    python experiments/distributed/bench.py --methods dag --scale 10   # N = 1e5

Writes results.jsonl (one line per method and N) and results.md next to this file
(or to --out). Numbers measured on a shared CPU are inflated by contention: say so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _pamc(scale: int, device: str):
    import torch
    from torch_geometric.data import Data
    from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

    from graphclust.methods.pamc import PamC

    k, per = 8, 1250 * scale
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    p_in, p_out = 10.0 / per, 2.0 / (per * k)
    probs = torch.full((k, k), p_out).fill_diagonal_(p_in)
    edges = to_undirected(stochastic_blockmodel_graph([per] * k, probs))
    truth = torch.arange(k).repeat_interleave(per)
    x = 2.0 * torch.randn(k, 32, generator=gen)[truth] + torch.randn(k * per, 32, generator=gen)
    data = Data(x=x, edge_index=edges)
    model = PamC(
        n_clusters=k,
        hidden=(256, 256, 512),
        latent_dim=10,
        pretrain_epochs=1,
        epochs=4,
        batch_size=512,
        n_init=2,
        device=device,
    )
    what = f"PamC mini-batch, SBM N={k * per}, x [N, 32], batch 512, MLP 256-256-512-10"
    return model, data, what


def _dag(scale: int, device: str):
    from graphclust.data.synthetic import load_sbm
    from graphclust.methods.dag import DAG

    # 8 blocks, expected degree 12 (80% inside the blocks), without any N x N matrix
    n, k, degree, batch = 10_000 * scale, 8, 12.0, 8192
    p_in, p_out = 0.8 * degree * k / n, 0.2 * degree * k / ((k - 1) * n)
    data = load_sbm(n, k, p_in, p_out, feature_dim=32, seed=0)
    model = DAG(
        preset="cpu",
        k_max=16,
        k_readout="argmax",
        epochs=6,
        eval_every=6,  # one evaluation, after the last timed epoch
        batch_size=batch,
        subgraphs_per_step=2,  # the same training for 1 and 2 processes
        progress=False,
        device=device,
    )
    what = f"DAG sampled, SBM N={n}, x [N, 32], batch {batch} as 2 subgraphs, GAT 64 x 2 heads"
    return model, data, what


def _swav(scale: int, device: str, batch: int = 128):
    import torch

    from graphclust.methods.swav import SwAV

    n = 1024 * scale
    images = torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    model = SwAV(
        n_clusters=10,
        width=8,
        n_local=2,
        local_size=8,
        epochs=4,
        batch_size=batch,
        queue_size=0,
        labels_from="kmeans",
        kmeans_n_init=2,
        progress=False,
        device=device,
    )
    return model, images, f"SwAV, {n} random 16x16 images, batch {batch}, 2+2 crops, width 8"


def worker(method: str, scale: int, device: str, swav_batch: int) -> None:
    import torch

    from graphclust.methods.base import BaseClusterer
    from graphclust.utils.distributed import init_from_env, is_main, resolve_group, shutdown

    torch.set_num_threads(1)
    init_from_env()
    group = resolve_group(None)
    if method == "swav":
        model, data, what = _swav(scale, device, swav_batch)
    else:
        model, data, what = {"pamc": _pamc, "dag": _dag}[method](scale, device)
    stamps: list[float] = []

    def log(**values: float) -> None:  # one "loss" entry per training epoch
        if "loss" in values:
            stamps.append(time.perf_counter())
        BaseClusterer.log(model, **values)

    model.log = log
    start = time.perf_counter()
    model.fit(data)
    total = time.perf_counter() - start
    if is_main(group):
        epochs = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        print(
            "RESULT "
            + json.dumps(
                {
                    "method": method,
                    "problem": what,
                    "epoch_s_median": statistics.median(epochs),
                    "epoch_s": [round(e, 3) for e in epochs],
                    "fit_s": round(total, 2),
                    "final_loss": model.history_["loss"][-1],
                }
            )
        )
    shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="swav,pamc")
    parser.add_argument("--nproc", default="1,2", help="process counts to compare")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--scale", type=int, default=1, help="problem size multiplier")
    parser.add_argument("--swav-batch", type=int, default=128, help="SwAV global batch")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.scale, args.device, args.swav_batch)
        return

    from graphclust.bench.environment import run_context

    context = run_context()
    rows = []
    for method in args.methods.split(","):
        for nproc in (int(n) for n in args.nproc.split(",")):
            cmd = [
                sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={nproc}", str(Path(__file__).resolve()),
                "--worker", method, "--scale", str(args.scale), "--device", args.device,
                "--swav-batch", str(args.swav_batch),
            ]  # fmt: skip
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode or not lines:
                raise SystemExit(f"{method} x{nproc} failed:\n{done.stderr[-3000:]}")
            row = {**json.loads(lines[-1][7:]), "nproc": nproc, "device": args.device}
            rows.append(row)
            print(f"{method} x{nproc}: {row['epoch_s_median']:.3f} s/epoch", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps({**row, **context}) + "\n")
    write_table(args.out)


def write_table(out: Path) -> None:
    """results.md from every run in results.jsonl (speed-up against 1 process of the
    same method, problem and date)."""
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    lines = [
        "# Time per training epoch, 1 vs several data-parallel processes",
        "",
        "Written by `experiments/distributed/bench.py` from results.jsonl (each line also",
        "holds the command, versions and machine). Same global batches for every process",
        "count: the runs compute the same training (equal final losses), split differently.",
        "",
        "| date (UTC) | device | method | problem | processes | s/epoch (median) | speed-up "
        "| final loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        same = [
            r
            for r in rows
            if (r["method"], r["problem"], r["date"][:13], r["device"], r["nproc"])
            == (row["method"], row["problem"], row["date"][:13], row["device"], 1)
        ]
        speed = f"{same[-1]['epoch_s_median'] / row['epoch_s_median']:.2f}" if same else "-"
        lines.append(
            f"| {row['date']} | {row['device']} ({row['machine'].get('cpu_count')} cores) | "
            f"{row['method']} | {row['problem']} | {row['nproc']} | "
            f"{row['epoch_s_median']:.3f} | {speed} | {row['final_loss']:.4f} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
