"""PamC loss vs the dense Graph-MLP loss: time and peak memory side by side, in one run.

On attributed SBMs (K = 10 blocks, mean degree ~10, 64 features, 80% of edges inside
blocks; ``S`` of order 1, tau 0.5, hard meta-nodes) at N from 3k to 1M (``--sizes``):

- ``loss``: forward + backward of the loss alone on random embeddings ``z`` [N, 10];
- ``epoch``: one full-batch PamC training step (the paper's D-500-500-2000-10 MLP, DEC
  KL term, Adam), the loss being PamC's or the dense one; N <= ``--epoch-max`` (100k on
  CPU, where an MLP this wide needs mini-batches beyond; 1M on a GPU);
- ``minibatch-epoch``: one epoch of PamC's mini-batch mode (batch 4096, including the
  gradient-free pass that refreshes the cache and the targets): the median of ``--reps``
  epochs of one fit, each timed between synchronised end-of-epoch stamps, after a
  warm-up epoch (so never negative; :func:`graphclust.bench.timing.epoch_times`).

A run is guarded by estimated footprints: the dense loss runs while ``3.5 N^2`` float32
(similarities, exponentials, dense ``S``, product, gradients; 2.9 measured) fit in 60% of
the memory available (RAM on CPU, free GPU memory on CUDA), the full-batch epoch while its
activations do; beyond, the row says why it was skipped. An out-of-memory error is
recorded, not raised. ``--budget-s`` stops starting new sizes or parts once that many
seconds have passed (the rows say so), so a GPU run ends in a known time.

Measurement (:mod:`graphclust.bench.timing`): times are medians over ``--reps``
repetitions after one warm-up. On CPU, peak memory is the growth of the process's peak
RSS over the measurement (Linux VmHWM, reset before each measurement); on CUDA, each
repetition is closed by ``torch.cuda.synchronize`` and the peak is
``torch.cuda.max_memory_allocated`` minus the memory allocated before (stats reset
before each measurement).

Usage (from the repository root)::

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock python experiments/pamc/speed.py \
        --out experiments/pamc/results/speed.jsonl
    PYTHONPATH=. python experiments/pamc/speed.py --device cuda --out speed_gpu.jsonl
    python experiments/pamc/speed.py --smoke --out /tmp/speed_smoke.jsonl   # < 60 s, CPU
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psutil
import torch
import torch_geometric.typing

from graphclust.assign import dec_target, student_t_assignment
from graphclust.bench.environment import run_context
from graphclust.bench.timing import PeakMemory, epoch_times, time_calls
from graphclust.data import load_dataset
from graphclust.graph.adjacency import influence_matrix
from graphclust.losses import graph_mlp_loss, kl_clustering_loss, pamc_loss
from graphclust.methods.pamc import PamC
from graphclust.nn.mlp import DEFAULT_HIDDEN, Autoencoder

K, DEGREE, DIM, TAU, LATENT = 10, 10.0, 64, 0.5, 10
# Share of the available memory a run may plan to use (the estimates are rough).
MEMORY_SHARE = 0.6


def sbm(n: int, seed: int = 0):
    block = n / K
    p_in = 0.8 * DEGREE / (block - 1)
    p_out = 0.2 * DEGREE / (n - block)
    return load_dataset(
        "sbm", n_nodes=n, n_clusters=K, p_in=p_in, p_out=p_out, feature_dim=DIM, seed=seed
    )


def available_gb(device: torch.device) -> float:
    """Memory a measurement may use: free GPU memory, or available RAM."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] / 2**30
    return psutil.virtual_memory().available / 2**30


def dense_gb(n: int) -> float:
    """Footprint of the dense loss: 3.5 ``N x N`` float32 matrices (peak RSS growth of a
    dense training step measured 2.9 of them at N = 20k on CPU, plus a margin)."""
    return 3.5 * n * n * 4 / 2**30


def epoch_gb(n: int) -> float:
    """Full-batch MLP step: each layer's output, its activation and its gradient (x4)."""
    return 4 * n * (sum(DEFAULT_HIDDEN) + LATENT + DIM) * 4 / 2**30


def measure(fn: Callable[[], None], reps: int, device: torch.device) -> dict | str:
    """Median seconds of ``fn`` and its peak memory growth (MiB) over the measurement."""
    try:
        seconds, peak = time_calls(fn, reps, device)
    except torch.cuda.OutOfMemoryError as error:
        torch.cuda.empty_cache()
        return f"failed: out of memory ({str(error).splitlines()[0][:120]})"
    return {"s": round(seconds, 5), "peak_mb": round(peak, 1)}


def loss_step(kind: str, z: torch.Tensor, s: torch.Tensor, labels: torch.Tensor) -> None:
    z.grad = None
    loss = pamc_loss(z, s, labels, TAU, K) if kind == "pamc" else graph_mlp_loss(z, s, TAU)
    loss.backward()


def make_epoch(kind: str, x: torch.Tensor, s: torch.Tensor) -> Callable[[], None]:
    """One full-batch PamC training step with the PamC or the dense contrastive loss."""
    torch.manual_seed(0)
    encoder = Autoencoder(x.size(1)).encoder.to(x.device)
    centroids = torch.nn.Parameter(torch.randn(K, LATENT, device=x.device))
    optimizer = torch.optim.Adam([*encoder.parameters(), centroids], lr=1e-3)

    def step() -> None:
        z = encoder(x)
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


def minibatch_epoch(data, batch_size: int, device: torch.device, reps: int = 3) -> dict | str:
    """Median seconds of one epoch of PamC's mini-batch mode, over ``reps`` epochs.

    One fit with ``reps + 1`` epochs; the epoch times are the intervals between
    synchronised end-of-epoch stamps (:func:`graphclust.bench.timing.epoch_times`: the
    loop logs ``loss`` once per epoch, after its last step), so the first epoch is the
    warm-up. An earlier version subtracted a 1-epoch fit's ``fit_time_`` from a 2-epoch
    fit's: the first fit paid the CUDA warm-up, so the difference came out negative on a
    GPU (-0.146 s).
    """
    model = PamC(
        n_clusters=K,
        pretrain_epochs=0,
        epochs=max(int(reps), 1) + 1,
        batch_size=batch_size,
        n_init=1,
        device=str(device),
    )
    try:
        with PeakMemory(device) as window, warnings.catch_warnings():
            # "only k of K clusters used": expected here
            warnings.simplefilter("ignore", UserWarning)
            epochs = epoch_times(model, data)
    except torch.cuda.OutOfMemoryError as error:
        torch.cuda.empty_cache()
        return f"failed: out of memory ({str(error).splitlines()[0][:120]})"
    return {
        "s": round(statistics.median(epochs), 4),
        "epochs_timed": len(epochs),
        "peak_mb": round(window.growth_mb, 1),
    }


class Budget:
    """Wall-clock guard: after ``seconds``, parts are skipped instead of started."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds, self.start = seconds, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def over(self) -> bool:
        return self.seconds is not None and self.elapsed() > self.seconds

    def skip_reason(self) -> str:
        return f"skipped: time budget ({self.seconds:.0f} s) used"


def measure_size(n: int, args, device: torch.device, budget: Budget) -> dict:
    """All parts at one size ``N``; a part that cannot or may not run says why."""
    t0 = time.perf_counter()
    data = sbm(n)
    s_cpu = influence_matrix(data.edge_index, n, order=1)
    record: dict = {
        "n": n,
        "edges": int(data.edge_index.size(1) // 2),
        "nnz_S": s_cpu._nnz(),
        "device": str(device),
        "data_s": round(time.perf_counter() - t0, 2),
    }
    s, x = s_cpu.to(device), data.x.to(device)
    free_gb = available_gb(device)
    record["free_gb"] = round(free_gb, 1)

    def fits(need_gb: float) -> str:
        if need_gb < MEMORY_SHARE * free_gb:
            return ""
        return f"skipped: needs ~{need_gb:.1f} GB of {free_gb:.0f} GB free"

    dense_why = fits(dense_gb(n)) if args.dense else "not run"
    epoch_why = fits(epoch_gb(n)) if n <= args.epoch_max else None
    z = torch.randn(n, LATENT, device=device, requires_grad=True)
    labels = torch.randint(0, K, (n,), generator=torch.Generator().manual_seed(0)).to(device)

    def part(key: str, why: str | None, fn: Callable[[], dict | str]) -> None:
        if why is None:  # not part of this size's plan
            return
        if why or budget.over():
            record[key] = why or budget.skip_reason()
            return
        try:
            record[key] = fn()
        except Exception as error:  # one failing part must not cost a one-shot run the rest
            record[key] = f"failed: {type(error).__name__}: {str(error)[:200]}"

    part(
        "loss_pamc",
        "",
        lambda: measure(partial(loss_step, "pamc", z, s, labels), args.reps, device),
    )
    part(
        "loss_dense",
        dense_why,
        lambda: measure(partial(loss_step, "dense", z, s, labels), args.reps, device),
    )
    part("epoch_pamc", epoch_why, lambda: measure(make_epoch("pamc", x, s), args.reps, device))
    if epoch_why is not None:
        part(
            "epoch_dense",
            epoch_why or dense_why,
            lambda: measure(make_epoch("dense", x, s), args.reps, device),
        )
    if n in args.minibatch_sizes:
        part(
            "minibatch_epoch_pamc",
            "",
            lambda: minibatch_epoch(data, args.batch_size, device, args.reps),
        )
    record["elapsed_s"] = round(budget.elapsed(), 1)
    return record


def run(sizes: list[int], args, device: torch.device, budget: Budget):
    for n in sizes:
        if budget.over():
            record = {"n": n, "skipped": budget.skip_reason()}
        else:
            record = measure_size(n, args, device, budget)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(json.dumps(record), flush=True)
        yield record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda' (or 'cuda:I')")
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma list of N (default 3k,10k,20k,30k,100k,1M on CPU; 3k,10k,30k,50k,100k,1M "
        "on CUDA)",
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--epoch-max",
        type=int,
        default=None,
        help="largest N of the full-batch epoch rows (default 100k on CPU, 1M on CUDA)",
    )
    parser.add_argument("--minibatch-sizes", default="100000")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--no-dense", dest="dense", action="store_false", help="PamC only")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="start no new part after this many seconds (default: none on CPU, 35 on CUDA)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default 2 on CPU)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one rep (< 60 s on CPU)")
    parser.add_argument("--tag", default="", help="label of this environment in the output")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch here")
    if args.smoke:
        args.sizes, args.reps, args.minibatch_sizes, args.batch_size = "300,1000", 1, "1000", 256
    if args.sizes is None:
        args.sizes = (
            "3000,10000,30000,50000,100000,1000000"
            if device.type == "cuda"
            else "3000,10000,20000,30000,100000,1000000"
        )
    if args.epoch_max is None:
        args.epoch_max = 1_000_000 if device.type == "cuda" else 100_000
    if args.budget_s is None and device.type == "cuda":
        args.budget_s = 35.0
    if args.threads or device.type == "cpu":
        torch.set_num_threads(args.threads or 2)
    args.minibatch_sizes = {int(v) for v in args.minibatch_sizes.split(",") if v}
    context = run_context()
    context["command"] = "python " + " ".join(sys.argv)
    context["device"] = str(device)
    context["cuda"] = torch.version.cuda
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        context["gpu_name"] = props.name
        context["gpu_total_gb"] = round(props.total_memory / 2**30, 1)
        context["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    context["torch_scatter_used_by_pyg"] = bool(torch_geometric.typing.WITH_TORCH_SCATTER)
    context["budget_s"] = args.budget_s
    sizes = [int(v) for v in args.sizes.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    budget = Budget(args.budget_s)
    with out.open("a") as handle:
        for record in run(sizes, args, device, budget):
            record.update(tag=args.tag, smoke=args.smoke, context=context)
            handle.write(json.dumps(record) + "\n")
            handle.flush()
    print(f"done in {budget.elapsed():.1f} s -> {out}", flush=True)


if __name__ == "__main__":
    main()
