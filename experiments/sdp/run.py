"""SDP k-means and iLA-SDP against k-means and EM on Gaussian mixtures, and their cost.

Part "error": mis-clustering error (1 - best-matching accuracy) over separation levels
and seeds, on two families of 3-cluster mixtures in 2-d:

- ``isotropic``: unit-variance clusters whose centres sit on a triangle of side
  ``sep`` (the Peng-Wei setting);
- ``heterogeneous``: a tight blob beside two long thin clusters crossing near it, the
  long ones offset by ``sep`` (different covariances: Lloyd and EM go astray).

Methods: scikit-learn ``KMeans`` (10 restarts), ``GaussianMixture`` (full covariances,
k-means start), ``SDPKMeans`` (Peng-Wei) and ``SDPKMeans(covariance="cluster")``
(iLA-SDP), both at their defaults. No labels are read by any method; the labels only
score the result.

Part "scale": time, ADMM iterations and memory of SDPKMeans (Peng-Wei) at growing N,
with a least-squares log-log slope.

    OMP_NUM_THREADS=1 python experiments/sdp/run.py               # CPU, reduced
    python experiments/sdp/run.py --device cuda --full            # GPU batch
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from torch_geometric.data import Data

from graphclust.bench.environment import run_context
from graphclust.methods.sdp import SDPKMeans
from graphclust.metrics import clustering_accuracy

HERE = Path(__file__).resolve().parent


def mixture(family: str, sep: float, per_cluster: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points [3 m, 2] and labels of one mixture (module docstring)."""
    rng = np.random.default_rng(seed)
    m = per_cluster
    if family == "isotropic":
        centres = sep * np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
        xs = [rng.normal(size=(m, 2)) + c for c in centres]
    else:
        xs = [
            rng.normal(size=(m, 2)) * [0.3, 0.3],
            rng.normal(size=(m, 2)) * [4.0, 0.3] + [0.0, sep / 2],
            rng.normal(size=(m, 2)) * [0.3, 4.0] + [sep / 2 + 1, 0.0],
        ]
    return np.concatenate(xs).astype(np.float32), np.repeat([0, 1, 2], m)


def run_error(args: argparse.Namespace, out: list[dict]) -> None:
    per = 100 if args.full else 30
    seeds = range(3)
    grid = {"isotropic": (1.5, 2.5, 3.5, 5.0), "heterogeneous": (2.0, 4.0, 6.0)}
    for family, seps in grid.items():
        for sep in seps:
            for seed in seeds:
                x, y = mixture(family, sep, per, seed)
                truth = torch.from_numpy(y)
                fits = {
                    "kmeans": lambda x=x, s=seed: KMeans(3, n_init=10, random_state=s).fit_predict(
                        x
                    ),
                    "gmm": lambda x=x, s=seed: GaussianMixture(3, random_state=s).fit(x).predict(x),
                    "sdp": lambda x=x, s=seed: (
                        SDPKMeans(3, seed=s, device=args.device, progress=False)
                        .fit(Data(x=torch.from_numpy(x)))
                        .labels_.numpy()
                    ),
                    "ila-sdp": lambda x=x, s=seed: (
                        SDPKMeans(
                            3, covariance="cluster", seed=s, device=args.device, progress=False
                        )
                        .fit(Data(x=torch.from_numpy(x)))
                        .labels_.numpy()
                    ),
                }
                for name, fit in fits.items():
                    start = time.perf_counter()
                    labels = fit()
                    error = 1.0 - clustering_accuracy(truth, torch.as_tensor(labels))
                    record = {
                        "part": "error",
                        "family": family,
                        "sep": sep,
                        "n": len(y),
                        "seed": seed,
                        "method": name,
                        "error": round(error, 4),
                        "seconds": round(time.perf_counter() - start, 2),
                    }
                    out.append(record)
                    print(json.dumps(record), flush=True)


def run_scale(args: argparse.Namespace, out: list[dict]) -> None:
    sizes = (1000, 2000, 4000, 8000) if args.full else (250, 500, 1000, 2000)
    for n in sizes:
        x, _ = mixture("isotropic", 5.0, n // 3, seed=0)
        if args.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        model = SDPKMeans(3, seed=0, device=args.device, progress=False).fit(
            Data(x=torch.from_numpy(x))
        )
        if args.device == "cuda":
            torch.cuda.synchronize()
            memory = torch.cuda.max_memory_allocated() / 2**20
        else:  # growth of the peak resident set (MiB); 0 once the peak was reached before
            memory = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        record = {
            "part": "scale",
            "n": len(x),
            "seconds": round(time.perf_counter() - start, 2),
            "admm_iter": int(model.history_["admm_iter"][-1]),
            "gap": model.history_["gap"][-1],
            "memory_mib": round(memory, 1),
        }
        out.append(record)
        print(json.dumps(record), flush=True)


def slope(rows: list[dict], key: str) -> float:
    """Least-squares slope of log(key) against log(n)."""
    pts = [(r["n"], r[key]) for r in rows if r[key] > 0]
    if len(pts) < 2:
        return float("nan")
    n, v = np.log(np.array(pts, dtype=float)).T
    return float(np.polyfit(n, v, 1)[0])


def table(records: list[dict], header: dict) -> str:
    lines = [
        "# SDP k-means / iLA-SDP benchmark",
        "",
        f"Command: `{header['command']}`; date {header['date']}; machine "
        f"{header['machine']}; torch {header['versions']['torch']}.",
        "",
        "## Mis-clustering error (mean ± std over seeds)",
        "",
        "| family | sep | n | kmeans | gmm | sdp | ila-sdp |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    errors = [r for r in records if r["part"] == "error"]
    keys = sorted({(r["family"], r["sep"], r["n"]) for r in errors})
    for family, sep, n in keys:
        cells = []
        for method in ("kmeans", "gmm", "sdp", "ila-sdp"):
            vals = [
                r["error"]
                for r in errors
                if (r["family"], r["sep"], r["method"]) == (family, sep, method)
            ]
            cells.append(f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "-")
        lines.append(f"| {family} | {sep} | {n} | " + " | ".join(cells) + " |")
    scale = [r for r in records if r["part"] == "scale"]
    if scale:
        lines += [
            "",
            "## Cost of SDPKMeans (Peng-Wei, float32, tol 1e-3)",
            "",
            "| n | seconds | ADMM iterations | relative gap | memory MiB |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['n']} | {r['seconds']} | {r['admm_iter']} | {r['gap']:.1e} | {r['memory_mib']} |"
            for r in scale
        ]
        lines += [
            "",
            f"log-log slope in n: time {slope(scale, 'seconds'):.2f}, "
            f"memory {slope(scale, 'memory_mib'):.2f}.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--full", action="store_true", help="n=300; scale to n=8000")
    parser.add_argument("--parts", nargs="+", default=["error", "scale"])
    parser.add_argument("--tag", default=None, help="output name (default: device)")
    args = parser.parse_args()
    torch.set_num_threads(1 if args.device == "cpu" else torch.get_num_threads())
    header = run_context()
    records: list[dict] = []
    if "error" in args.parts:
        run_error(args, records)
    if "scale" in args.parts:
        run_scale(args, records)
    tag = args.tag or (args.device + ("_full" if args.full else ""))
    with open(HERE / f"results_{tag}.jsonl", "w") as fh:
        fh.write(json.dumps({"header": header}) + "\n")
        for record in records:
            fh.write(json.dumps(record) + "\n")
    (HERE / f"results_{tag}.md").write_text(table(records, header))


if __name__ == "__main__":
    main()
