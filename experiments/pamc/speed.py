"""PamC loss vs the dense Graph-MLP loss: time and peak memory side by side, in one run.

On attributed SBMs (K = 10 blocks, mean degree ~10, 64 features, 80% of edges inside
blocks; ``S`` of order 1, tau 0.5, hard meta-nodes) at N = 3k, 10k, 30k, 100k and 1M:

- ``loss``: forward + backward of the loss alone on random embeddings ``z`` [N, 10];
- ``epoch``: one full-batch PamC training step (the paper's D-500-500-2000-10 MLP, DEC
  KL term, Adam), the loss being PamC's or the dense one; N <= 100k (an MLP this wide
  needs mini-batches beyond);
- ``minibatch-epoch``: one epoch of PamC's mini-batch mode (batch 4096, including the
  gradient-free pass that refreshes the cache and the targets).

The dense loss runs while its estimated footprint (6 N^2 float32) fits in 60% of the
memory available at the start; beyond, the row says why it was skipped. Peak memory is
the growth of the process's peak RSS during the measurement (Linux VmHWM, reset before
each measurement); times are medians over ``--reps`` repetitions after one warm-up.

Usage (from the repository root)::

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock python experiments/pamc/speed.py \
        --out experiments/pamc/results/speed.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psutil
import torch
import torch_geometric.typing

from graphclust.assign import dec_target, kl_clustering_loss, student_t_assignment
from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.data import load_dataset
from graphclust.graph.adjacency import influence_matrix
from graphclust.methods.pamc import PamC
from graphclust.nn.contrastive import graph_mlp_loss, pamc_loss
from graphclust.nn.mlp import Autoencoder

K, DEGREE, DIM, TAU = 10, 10.0, 64, 0.5


def sbm(n: int, seed: int = 0):
    block = n / K
    p_in = 0.8 * DEGREE / (block - 1)
    p_out = 0.2 * DEGREE / (n - block)
    return load_dataset(
        "sbm", n_nodes=n, n_clusters=K, p_in=p_in, p_out=p_out, feature_dim=DIM, seed=seed
    )


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def measure(fn: Callable[[], None], reps: int) -> dict[str, float]:
    """Median seconds of ``fn`` and the peak RSS growth (MiB) over the measurement."""
    fn()  # warm-up (allocator, lazy init)
    times = []
    reset_peak_rss()
    base = _rss_mb()
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"s": round(statistics.median(times), 4), "peak_mb": round(peak_rss_mb() - base, 1)}


def dense_fits(n: int) -> tuple[bool, float]:
    need_gb = 6 * n * n * 4 / 2**30
    return need_gb < 0.6 * psutil.virtual_memory().available / 2**30, round(need_gb, 1)


def loss_step(kind: str, z: torch.Tensor, s: torch.Tensor, labels: torch.Tensor) -> None:
    z.grad = None
    loss = pamc_loss(z, s, labels, TAU, K) if kind == "pamc" else graph_mlp_loss(z, s, TAU)
    loss.backward()


def make_epoch(kind: str, data, s: torch.Tensor) -> Callable[[], None]:
    """One full-batch PamC training step with the PamC or the dense contrastive loss."""
    torch.manual_seed(0)
    encoder = Autoencoder(data.x.size(1)).encoder
    centroids = torch.nn.Parameter(torch.randn(K, 10))
    optimizer = torch.optim.Adam([*encoder.parameters(), centroids], lr=1e-3)

    def step() -> None:
        z = encoder(data.x)
        q = student_t_assignment(z, centroids)
        kl = kl_clustering_loss(dec_target(q.detach()), q)
        if kind == "pamc":
            contrast = pamc_loss(z, s, q.detach().argmax(1), TAU, K)
        else:
            contrast = graph_mlp_loss(z, s, TAU)
        optimizer.zero_grad(set_to_none=True)
        (kl + contrast).backward()
        optimizer.step()

    return step


def minibatch_epoch(data, reps: int) -> dict[str, float]:
    """Seconds per epoch of PamC's mini-batch mode (fit with 1 vs 1 + reps epochs)."""

    def fit(epochs: int) -> float:
        model = PamC(
            n_clusters=K, pretrain_epochs=0, epochs=epochs, batch_size=4096, n_init=1, device="cpu"
        )
        model.fit(data)
        return model.fit_time_

    reset_peak_rss()
    base = _rss_mb()
    short, long = fit(1), fit(1 + reps)
    return {"s": round((long - short) / reps, 3), "peak_mb": round(peak_rss_mb() - base, 1)}


def run(sizes: list[int], reps: int, epoch_max: int, minibatch_sizes: set[int], dense: bool):
    for n in sizes:
        t0 = time.perf_counter()
        data = sbm(n)
        s = influence_matrix(data.edge_index, n, order=1)
        record: dict = {
            "n": n,
            "edges": int(data.edge_index.size(1) // 2),
            "nnz_S": s._nnz(),
            "data_s": round(time.perf_counter() - t0, 1),
        }
        fits, need_gb = dense_fits(n)
        fits = fits and dense
        z = torch.randn(n, 10, requires_grad=True)
        labels = torch.randint(0, K, (n,), generator=torch.Generator().manual_seed(0))
        record["loss_pamc"] = measure(partial(loss_step, "pamc", z, s, labels), reps)
        record["loss_dense"] = (
            measure(partial(loss_step, "dense", z, s, labels), reps)
            if fits
            else (f"skipped: needs ~{need_gb} GB" if dense else "not run")
        )
        if n <= epoch_max:
            record["epoch_pamc"] = measure(make_epoch("pamc", data, s), reps)
            record["epoch_dense"] = (
                measure(make_epoch("dense", data, s), reps)
                if fits
                else (f"skipped: needs ~{need_gb} GB" if dense else "not run")
            )
        if n in minibatch_sizes:
            record["minibatch_epoch_pamc"] = minibatch_epoch(data, 1)
        print(json.dumps(record), flush=True)
        yield record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3000,10000,30000,100000,1000000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epoch-max", type=int, default=100_000)
    parser.add_argument("--minibatch-sizes", default="100000")
    parser.add_argument("--no-dense", action="store_true", help="PamC only")
    parser.add_argument("--tag", default="", help="label of this environment in the output")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    context = run_context()
    context["command"] = "python " + " ".join(sys.argv)
    context["torch_scatter_used_by_pyg"] = bool(torch_geometric.typing.WITH_TORCH_SCATTER)
    sizes = [int(v) for v in args.sizes.split(",")]
    minibatch = {int(v) for v in args.minibatch_sizes.split(",") if v}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as handle:
        for record in run(sizes, args.reps, args.epoch_max, minibatch, not args.no_dense):
            record.update(tag=args.tag, context=context)
            handle.write(json.dumps(record) + "\n")
            handle.flush()


if __name__ == "__main__":
    main()
