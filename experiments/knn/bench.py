"""Exact kNN search: our backends against scikit-learn, faiss and PyG, CPU and GPU.

CPU (default): for N in {10k, 100k, 1M}, d in {64, 512}, k = 10, cosine, one run side
by side: our chunked torch path, our faiss backend (faiss' exact flat index),
scikit-learn ``NearestNeighbors(algorithm="brute", n_jobs=-1)`` and PyG's
``knn_graph`` (a row says why when it cannot run). Where all N queries would cost more
than ``--flop-budget`` (2 * queries * N * d), only the first ``queries`` rows are
searched against the full database and the search time is scaled by N / queries
(``extrapolated: true``); one-off preparation (normalising, building the index) is
timed once and not scaled. Every method's neighbour sets on the timed queries are
compared with the torch path's.

GPU (``--device cuda``): N in {100k, 1M}, d = 128 (then 64 and 512 while the budget
lasts), k = 10, cosine; bfloat16 and float32 (Triton "exact": TF32 candidates
re-ranked in float32 with a certificate; and plain tf32, tf32x3, ieee products): the
plain chunked torch path against the Triton kernel (medians after a warm-up, each
repetition closed by ``torch.cuda.synchronize``; the plain path on N/8 queries at 1M,
scaled). Exactness on the first 2000 queries (500 in --smoke) against float32 products
(TF32 off) of the rows the kernel sees (normalised, then rounded to the dtype): share
of identical neighbour sets and largest difference of the sorted distance lists; the
plain path is compared to the same reference.
Achieved TFLOP/s = 2 N^2 d / time, beside the card's dense spec-sheet peak.
``--budget-s`` (default 125, counted from process start, compiling included) stops
starting new cases once a case could overrun it; 1M-point cases use one repetition
fewer.

Usage (from the repository root)::

    OMP_NUM_THREADS=2 flock /tmp/graphclust-heavy.lock python experiments/knn/bench.py \
        --out experiments/knn/results_cpu.jsonl
    PYTHONPATH=. python experiments/knn/bench.py --device cuda --out knn_gpu.jsonl
    python experiments/knn/bench.py --smoke --out /tmp/knn_smoke.jsonl  # CPU, < 60 s
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

if "--smoke" in sys.argv and "cuda" not in sys.argv:
    # Triton decorates its own library when it is first imported (torch_geometric imports
    # it), so the CPU interpreter must be switched on before any import below.
    os.environ.setdefault("TRITON_INTERPRET", "1")

START = time.perf_counter()  # the --budget-s guard counts from here, imports included

import torch  # noqa: E402

from graphclust.bench.environment import run_context  # noqa: E402
from graphclust.graph import knn_triton  # noqa: E402
from graphclust.graph.knn import _topk_torch, _topk_triton  # noqa: E402

K, METRIC = 10, "cosine"
#: Dense (no sparsity) spec-sheet peaks in TFLOP/s: (FP32 CUDA cores, TF32, BF16) for
#: SXM parts (NVIDIA H100/H200 data sheets list 67 / 989 / 1979 "with sparsity" for
#: TF32/BF16; dense is half). PCIe H100: 51 / 378 / 756.
PEAKS = {
    "H200": (67.0, 494.7, 989.4),
    "H100 PCIe": (51.0, 378.0, 756.0),
    "H100": (67.0, 494.7, 989.4),
}
#: Seconds allowed for compiling and autotuning one kernel variant (2-3 configs).
COMPILE_S = 12.0
#: TF32 peak the issue quotes as the reference.
ISSUE_TF32_PEAK = 411.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device, reps: int) -> tuple[float, object]:
    """Median seconds of ``reps`` calls after one warm-up call, and the last result."""
    out = fn()
    _sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        out = fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def clustered_points(n: int, d: int, seed: int, device: torch.device) -> torch.Tensor:
    """[n, d] float32 Gaussian mixture (1000 centres, unit noise around spread 3)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    centres = 3.0 * torch.randn(1000, d, generator=gen)
    member = torch.randint(0, 1000, (n,), generator=gen)
    x = centres[member] + torch.randn(n, d, generator=gen)
    return x.to(device)


def agreement(idx: torch.Tensor, ref: torch.Tensor) -> float:
    """Share of rows whose neighbour sets are identical. idx, ref: [Q, k]."""
    same = idx.sort(dim=1).values.cpu() == ref.sort(dim=1).values.cpu()
    return float(same.all(dim=1).float().mean())


def versions() -> dict[str, str]:
    out = {}
    for name in ("triton", "faiss-cpu", "torch-cluster", "pyg-lib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


# ---------------------------------------------------------------- CPU comparison


def _sklearn(x: torch.Tensor, nq: int) -> tuple[float, Callable[[], torch.Tensor]]:
    from sklearn.neighbors import NearestNeighbors

    points = x.numpy()
    start = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=K + 1, algorithm="brute", metric=METRIC, n_jobs=-1)
    nn.fit(points)
    prep = time.perf_counter() - start

    def search() -> torch.Tensor:
        idx = nn.kneighbors(points[:nq], return_distance=False)
        return torch.from_numpy(idx[:, 1:])  # column 0 is the query itself

    return prep, search


def _faiss(x: torch.Tensor, nq: int) -> tuple[float, Callable[[], torch.Tensor]]:
    import faiss

    start = time.perf_counter()  # what _topk_faiss does before searching
    base = torch.nn.functional.normalize(x, dim=1).contiguous().numpy()
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    prep = time.perf_counter() - start

    def search() -> torch.Tensor:
        return torch.from_numpy(index.search(base[:nq], K + 1)[1][:, 1:]).long()

    return prep, search


def _pyg(x: torch.Tensor, nq: int) -> tuple[float, Callable[[], torch.Tensor]]:
    from torch_geometric.nn import knn

    def search() -> torch.Tensor:
        idx = knn(x, x[:nq], K + 1, cosine=True, num_workers=torch.get_num_threads())
        return idx[1].view(nq, K + 1)[:, 1:]

    return 0.0, search


def _torch(x: torch.Tensor, nq: int) -> tuple[float, Callable[[], torch.Tensor]]:
    return 0.0, lambda: _topk_torch(x, K, METRIC, None, queries=(0, nq))[0]


CPU_METHODS = {"torch": _torch, "faiss": _faiss, "sklearn": _sklearn, "pyg": _pyg}


# ---------------------------------------------------------------- CPU backends (auto)


def _topk_torch_prev(x: torch.Tensor, k: int) -> torch.Tensor:
    """The torch path before buffer reuse (cosine), kept to measure the change: a fresh
    ``[chunk, N]`` score block per chunk."""
    n = x.size(0)
    chunk = max(1, (1 << 26) // n)
    base = torch.nn.functional.normalize(x, dim=1)
    out = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = torch.arange(stop - start)
        score = base[start:stop] @ base.T
        score[rows, rows + start] = -torch.inf
        out.append(score.topk(k, dim=1)[1])
    return torch.cat(out)


def backends_bench(sizes: list[int], d: int, write) -> None:
    """``knn_graph``'s CPU backends side by side, all N queries, one process: the torch
    path before and after buffer reuse, our faiss backend and what ``auto`` resolves to.
    Wall and CPU seconds of one call after a warm-up on N/10 points; ratios within the
    run. Neighbour sets compared with the torch path's."""
    from graphclust.graph.knn import _topk_faiss, resolve_backend

    variants = {
        "torch": lambda x: _topk_torch(x, K, METRIC, None)[0],
        "torch_prev": lambda x: _topk_torch_prev(x, K),
        "faiss": lambda x: _topk_faiss(x, K, METRIC)[0],
    }
    for n in sizes:
        x = clustered_points(n, d, seed=0, device=torch.device("cpu"))
        auto = resolve_backend(x, K, "auto")
        ref, base_s = None, None
        for name, fn in variants.items():
            fn(x[: n // 10])  # warm-up (thread pools, faiss import)
            wall, cpu = time.perf_counter(), time.process_time()
            idx = fn(x)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name == "torch":
                ref, base_s = idx, wall
            row = {"kind": "backends", "n": n, "d": d, "k": K, "metric": METRIC}
            row.update(method=name, wall_s=wall, cpu_s=cpu, auto_picks=auto)
            row["threads"] = torch.get_num_threads()
            row.update(ratio_to_torch=wall / base_s, agree_with_torch=agreement(idx, ref))
            write(row)


def cpu_bench(sizes: list[int], dims: list[int], flop_budget: float, write) -> None:
    device = torch.device("cpu")
    for n in sizes:
        for d in dims:
            x = clustered_points(n, d, seed=0, device=device)
            nq = min(n, max(1000, int(flop_budget / (2 * n * d))))
            ref, base_time = None, None
            for name, setup in CPU_METHODS.items():
                row = {"n": n, "d": d, "k": K, "metric": METRIC, "method": name}
                row.update(queries=nq, extrapolated=nq < n)
                try:
                    prep, search = setup(x, nq)
                    reps = 3 if 2 * nq * n * d < 2e10 else 1
                    search_s, idx = timed(search, device, reps)
                except (ImportError, RuntimeError) as err:
                    row["error"] = f"{type(err).__name__}: {err}"
                    write(row)
                    continue
                total = prep + search_s * n / nq
                if ref is None:
                    ref, base_time = idx, total
                row.update(prep_s=prep, search_s=search_s, total_s=total)
                row.update(ratio_to_torch=total / base_time, agree_with_torch=agreement(idx, ref))
                write(row)


# ---------------------------------------------------------------- GPU kernel


def _peaks(device: torch.device) -> tuple[float, float, float] | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((p for key, p in PEAKS.items() if key in name), None)


def kernel_bench(
    cases: list[tuple[int, int]], check: int, budget_s: float, reps: int, write
) -> None:
    """Plain path vs Triton for each (N, d) of ``cases``, in order, within the budget."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    deadline = START + budget_s
    peaks = _peaks(device)
    variants = [
        ("bfloat16", torch.bfloat16, "exact"),  # 16-bit products are exact in float32
        ("float32", torch.float32, "exact"),
        ("float32", torch.float32, "tf32"),
        ("float32", torch.float32, "tf32x3"),
        ("float32", torch.float32, "ieee"),
    ]
    rates: dict[tuple, float] = {}  # measured seconds per N^2 d, to plan the next case
    plain: dict[tuple, dict] = {}  # the plain path is timed once per input
    for n, d in cases:
        x32 = clustered_points(n, d, seed=0, device=device)
        reps_n = reps if n <= 200_000 else max(1, reps - 1)
        for dtype_name, dtype, precision in variants:
            row = {"n": n, "d": d, "k": K, "metric": METRIC, "dtype": dtype_name}
            row["precision"] = precision
            work = n * n * d
            tri_rate = rates.get((d, dtype_name, precision))
            plain_rate = 0.0 if (n, d, dtype_name) in plain else rates.get(dtype_name, 0.0)
            # reps + warm-up of the kernel and of the plain path (on N/8 queries at 1M);
            # a kernel not yet compiled and autotuned: about COMPILE_S more.
            need = (reps_n + 2) * work * ((tri_rate or 0.0) + plain_rate / 8)
            need += COMPILE_S if tri_rate is None else 0.0
            if time.perf_counter() + need > deadline:
                write({**row, "skipped": f"budget: about {need:.0f} s needed"})
                continue
            x = x32.to(dtype)
            try:
                if (n, d, dtype_name) not in plain:
                    plain[(n, d, dtype_name)] = plain_case(x, n, d, reps_n, device)
                    rates[dtype_name] = plain[(n, d, dtype_name)]["plain_s"] / work
                row.update(plain[(n, d, dtype_name)])
                row.update(kernel_case(x, n, d, precision, check, reps_n, device, peaks))
            except Exception as err:  # one failing case must not lose the others
                write({**row, "error": f"{type(err).__name__}: {str(err)[:500]}"})
                continue
            row["speedup"] = row["plain_s"] / row["triton_s"]
            rates[(d, dtype_name, precision)] = row["triton_s"] / work
            write(row)
        del x32
        if device.type == "cuda":
            torch.cuda.empty_cache()


def plain_case(x: torch.Tensor, n: int, d: int, reps: int, device: torch.device) -> dict:
    """Plain chunked path: all queries up to 200k, else N/8 of them, scaled to N."""
    nq = n if n <= 200_000 else n // 8
    seconds, _ = timed(lambda: _topk_torch(x, K, METRIC, None, (0, nq)), device, reps)
    total = seconds * n / nq
    out = {"plain_s": total, "plain_extrapolated": nq < n, "plain_queries": nq}
    out["plain_tflops"] = 2.0 * n * n * d / total / 1e12
    return out


def exact_reference(
    prepared: tuple[torch.Tensor, torch.Tensor], check: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of the first ``check`` rows from float32 products (TF32 off) of exactly the
    rows the kernel sees (for cosine: normalised, then rounded to the input dtype)."""
    base, _ = prepared
    base = base.float()
    allow = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    idx, dist = [], []
    try:
        for start in range(0, check, 250):
            stop = min(start + 250, check)
            score = base[start:stop] @ base.T
            rows = torch.arange(stop - start, device=base.device)
            score[rows, rows + start] = -torch.inf
            top, nbr = score.topk(K, dim=1)
            idx.append(nbr)
            dist.append(1.0 - top)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = allow
    return torch.cat(idx), torch.cat(dist)


def kernel_case(x, n, d, precision, check, reps, device, peaks) -> dict:
    """Triton kernel on all N queries; exactness on the first ``check`` queries."""
    prepared = knn_triton.prepare(x, METRIC)
    tri_s, (tri_idx, tri_dist) = timed(
        lambda: _topk_triton(x, K, METRIC, precision, prepared=prepared), device, reps
    )
    out = {"triton_s": tri_s, "triton_tflops": 2.0 * n * n * d / tri_s / 1e12}
    kernel_precision = "tf32" if precision == "exact" else precision
    out["triton_config"] = knn_triton.chosen_config(d, x.dtype, kernel_precision)
    ref_idx, ref_dist = exact_reference(prepared, check)
    plain_idx, plain_dist = _topk_torch(x, K, METRIC, None, (0, check))
    out["same_sets_triton"] = agreement(tri_idx[:check], ref_idx)
    out["max_dist_diff_triton"] = float((tri_dist[:check].float() - ref_dist).abs().max())
    out["same_sets_plain"] = agreement(plain_idx, ref_idx)
    out["max_dist_diff_plain"] = float((plain_dist.float() - ref_dist).abs().max())
    if peaks is not None:
        fp32, tf32, bf16 = peaks
        peak = bf16 if x.dtype != torch.float32 else (fp32 if precision == "ieee" else tf32)
        # "exact": one TF32 pass (32 candidates) + float32 re-ranking; TF32 is its bound.
        out.update(peak_tflops=peak, triton_share_of_peak=out["triton_tflops"] / peak)
    return out


#: (N, d) of the GPU run, most wanted first: the budget guard drops the tail.
GPU_CASES = [
    (100_000, 128),
    (1_000_000, 128),
    (100_000, 512),
    (100_000, 64),
    (1_000_000, 64),
    (1_000_000, 512),
]
#: Extra tile configurations (BLOCK_Q, BLOCK_N, num_warps, num_stages) for --sweep.
SWEEP = [
    (128, 128, 8, 2),
    (64, 128, 4, 2),
    (64, 64, 4, 2),
    (128, 64, 4, 2),
    (128, 128, 4, 2),
    (64, 256, 8, 2),
    (128, 64, 8, 3),
    (64, 128, 8, 3),
]


def sweep(n: int, d: int, write) -> None:
    """Time every SWEEP configuration (tuning aid; no autotuning)."""
    device = torch.device("cuda")
    x32 = clustered_points(n, d, seed=0, device=device)
    for dtype, precision in ((torch.bfloat16, "tf32"), (torch.float32, "tf32x3")):
        x = x32.to(dtype)
        prepared = knn_triton.prepare(x, METRIC)
        for cfg in SWEEP:
            row = {"kind": "sweep", "n": n, "d": d, "dtype": str(dtype), "precision": precision}
            try:
                seconds, _ = timed(
                    lambda cfg=cfg, x=x, p=precision, prep=prepared: knn_triton.topk_triton(
                        x, K, METRIC, p, prepared=prep, config=cfg
                    ),
                    device,
                    2,
                )
                row.update(config=cfg, seconds=seconds, tflops=2.0 * n * n * d / seconds / 1e12)
            except Exception as err:  # a config that fails to compile is a result too
                row.update(config=cfg, error=f"{type(err).__name__}: {str(err)[:300]}")
            write(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--out", required=True, help="JSON-lines file to write")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, CPU, < 60 s")
    parser.add_argument("--budget-s", type=float, default=125.0, help="from process start")
    parser.add_argument("--flop-budget", type=float, default=1e12)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--cases",
        type=lambda text: [tuple(map(int, c.split(":"))) for c in text.split(",")],
        help="CUDA: N:d pairs, e.g. 100000:512,1000000:128 (default GPU_CASES)",
    )
    parser.add_argument("--sweep", type=int, default=0, help="CUDA: time SWEEP configs at this N")
    parser.add_argument(
        "--backends",
        type=lambda text: [int(float(v)) for v in text.split(",")],
        help="CPU: knn_graph's backends side by side at these N (d = --dim), e.g. 20000,100000",
    )
    parser.add_argument("--dim", type=int, default=128)
    args = parser.parse_args()
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w") as fh:

        def write(row: dict) -> None:
            row = {**row, "elapsed_s": round(time.perf_counter() - START, 2)}
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(json.dumps(row), flush=True)

        header = run_context()
        header["versions"].update(versions())
        header.update(kind="header", device=args.device, smoke=args.smoke)
        if torch.cuda.is_available():
            header["device_name"] = torch.cuda.get_device_name(0)
        write(header)
        if args.backends:
            backends_bench(args.backends, args.dim, write)
        elif args.device == "cpu":
            if args.smoke:
                cpu_bench([600], [16], 1e5, write)
                if knn_triton.triton_available() and knn_triton.interpreting():
                    kernel_bench([(150, 20)], 50, 55.0, 1, write)
            else:
                cpu_bench([10_000, 100_000, 1_000_000], [64, 512], args.flop_budget, write)
        elif args.sweep:
            sweep(args.sweep, 128, write)
        elif args.smoke:
            kernel_bench([(2000, 128), (5000, 128), (3000, 300)], 500, args.budget_s, 1, write)
        else:
            kernel_bench(args.cases or GPU_CASES, 2000, args.budget_s, args.reps, write)
        write({"kind": "footer", "total_s": time.perf_counter() - START})


if __name__ == "__main__":
    main()
