"""SwAV on USPS and MNIST-test: multi-crop and the kNN-graph term, on / off.

Two modes, same settings (``suite.yaml`` beside this file); labels are read only to score.

**CPU sweep** (default): trains every (dataset, variant, seed) of the suite that is not yet
in ``results.jsonl`` (an interrupted sweep goes on where it stopped; a run cut short
mid-training resumes from its checkpoint in ``$GRAPHCLUST_CACHE``), adds a
KMeans-on-pixels baseline, and rewrites ``results.md``::

    OMP_NUM_THREADS=1 flock /tmp/graphclust-heavy.lock \\
        python experiments/swav/run.py --root ../shared/data [--only usps] [--seeds 0 1]

**Budgeted run** (``--out FILE``, for a lent GPU): the suite's ``gpu`` schedule, run by
several worker processes sharing the device (see ``graphclust.bench.budget_pool``) under
a wall-clock budget: no job starts unless its estimated duration still fits, jobs running
at the deadline are stopped, and every job, finished or not, gets a line in the one
JSON-lines file ``FILE`` (with the device name, torch version, command and date)::

    PYTHONPATH=. GRAPHCLUST_DATA=/path/to/data \\
        python experiments/swav/run.py --device cuda --out swav_gpu.jsonl [--budget 150]
    python experiments/swav/run.py --smoke --out /tmp/smoke.jsonl     # CPU, < 1 minute

``--table-only [--extra FILE ...]`` rewrites ``results.md`` from ``results.jsonl`` and the
budgeted runs' files (default: ``results_gpu.jsonl`` beside this file, if present), with
a device column.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from sklearn.cluster import KMeans

from graphclust.adapters import load_images
from graphclust.bench.budget_pool import Job, run_budgeted
from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.data import cache_root
from graphclust.methods.swav import SwAV
from graphclust.metrics import ari, clustering_accuracy, nmi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from table import write_table  # noqa: E402 - the module beside this script

HERE = Path(__file__).resolve().parent


def scores(y: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    return {
        "acc": round(clustering_accuracy(y, labels), 4),
        "nmi": round(nmi(y, labels), 4),
        "ari": round(ari(y, labels), 4),
    }


# the read-outs of one trained model, as they are named in the records
READOUTS = {
    "prototypes": "prototype_labels_",
    "k-means": "kmeans_labels_",
    "graph merge": "merged_labels_",
}


def label_records(base: dict[str, Any], variant: str, model: SwAV, y: torch.Tensor) -> list[dict]:
    """One record per read-out of one trained model (prototypes, k-means, graph merge)."""
    return [
        {**base, "method": f"{variant} ({name})", "metrics": scores(y, getattr(model, attr))}
        for name, attr in READOUTS.items()
        if getattr(model, attr) is not None
    ]


def checkpoint_path(name: str, params: dict[str, Any], seed: int) -> Path:
    """Where the CPU sweep keeps the checkpoint of one (dataset, settings, seed) run.

    Read-out settings (``SwAV.readout_params``) do not change the trained network and
    are left out of the name, so a finished run is read out again without training.
    """
    training = {k: v for k, v in params.items() if k not in SwAV.readout_params}
    tag = hashlib.sha1(json.dumps(training, sort_keys=True).encode()).hexdigest()[:8]
    return cache_root() / "experiments" / "swav" / f"{name}-{tag}-{seed}.pt"


def run_swav(name: str, variant: str, params: dict[str, Any], seed: int, images, y) -> list[dict]:
    ckpt = checkpoint_path(name, params, seed)
    reset_peak_rss()
    start = time.perf_counter()
    params = {"progress": True, **params}
    model = SwAV(seed=seed, checkpoint=str(ckpt), **params).fit(images)
    base = {
        "dataset": name,
        "seed": seed,
        "status": "ok",
        "wall_time_s": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "params": params,
        "final_loss": round(model.history_["loss"][-1], 4),
        "torch_threads": torch.get_num_threads(),
    }
    return label_records(base, variant, model, y)


def rescore(
    name: str, variant: str, params: dict[str, Any], seed: int, images, y, done
) -> list[dict]:
    """Records of read-outs missing for a finished run, from its checkpoint (no training).

    ``done`` holds the run's existing records by method name; the new ones copy their
    run fields (time, memory, loss) and are marked ``"rescored": true``.
    """
    ckpt = checkpoint_path(name, params, seed)
    if not ckpt.exists():
        print(f"{name} {variant} {seed}: no checkpoint {ckpt}, cannot add read-outs", flush=True)
        return []
    model = SwAV(seed=seed, checkpoint=str(ckpt), **{**params, "progress": False}).fit(images)
    reference = next(iter(done.values()))
    base = {k: reference[k] for k in ("dataset", "seed", "status", "wall_time_s", "peak_rss_mb")}
    base.update(params=params, final_loss=reference.get("final_loss"), rescored=True)
    if "torch_threads" in reference:  # the training's thread count, not the read-out's
        base["torch_threads"] = reference["torch_threads"]
    return [r for r in label_records(base, variant, model, y) if r["method"] not in done]


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


def cpu_sweep(args: argparse.Namespace, suite: dict[str, Any]) -> None:
    out = HERE / "results.jsonl"
    done: dict[tuple, dict[str, dict]] = {}  # (dataset, variant, seed) -> method -> record
    if out.exists():
        for line in out.read_text().splitlines():
            rec = json.loads(line)
            key = (rec["dataset"], rec["method"].split(" (")[0], rec["seed"])
            done.setdefault(key, {})[rec["method"]] = rec
    for name, dataset_cfg in suite["datasets"].items():
        if args.only and name not in args.only:
            continue
        data = load_images(name, args.root)
        seeds = args.seeds if args.seeds is not None else dataset_cfg["seeds"]
        wanted = args.variants or dataset_cfg.get("variants") or list(suite["variants"])
        # The GPU's extra variants (longer training) run here only when named.
        known = {**suite["variants"], **suite.get("gpu", {}).get("extra_variants", {})}
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; known: {sorted(known)}")
        jobs = [("KMeans", None)]
        jobs += [(v, cfg) for v, cfg in known.items() if v in wanted]
        for seed in seeds:
            for variant, cfg in jobs:
                finished = done.get((name, variant, seed))
                if cfg is None:
                    if finished:
                        continue
                    records = run_kmeans(name, seed, data.images, data.labels)
                else:
                    params = {**suite["common"], **dataset_cfg.get("params", {}), **cfg}
                    if args.device != "auto":
                        params["device"] = args.device
                    if not finished:
                        records = run_swav(name, variant, params, seed, data.images, data.labels)
                    elif len(finished) < len(READOUTS):  # a read-out added since
                        records = rescore(
                            name, variant, params, seed, data.images, data.labels, finished
                        )
                    else:
                        continue
                with out.open("a") as handle:
                    for rec in records:
                        handle.write(json.dumps(rec) + "\n")
                        print(rec["dataset"], rec["method"], seed, rec["metrics"], flush=True)


# -- budgeted run (GPU) -----------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def process_age() -> float:
    """Seconds since this process started (Linux ``/proc``; 0 where unavailable)."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(stat[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores)"


def init_worker(data_file: str, device: str, threads: int) -> None:
    """Once per worker process: threads and device (CUDA initialised before any job).

    The data file is read at the first job: the parent writes it while the workers start.
    """
    torch.set_num_threads(threads)
    _WORKER["data_file"] = data_file
    _WORKER["device"] = device
    _WORKER["device_name"] = device_name(device)
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # crop sizes are fixed within a run
        torch.zeros(1, device=device)


def run_job(payload: dict[str, Any]) -> list[dict]:
    """One SwAV training in a worker: the two label records, with device and timings."""
    name, variant, seed, params = (payload[k] for k in ("dataset", "variant", "seed", "params"))
    if "data" not in _WORKER:
        _WORKER["data"] = torch.load(_WORKER["data_file"], weights_only=False)
    images, y = _WORKER["data"][name]
    device = _WORKER["device"]
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    model = SwAV(seed=seed, device=device, progress=False, checkpoint=None, **params)
    model.fit(images)
    steps = model.epochs * (images.shape[0] // min(model.batch_size, images.shape[0]))
    base = {
        "dataset": name,
        "seed": seed,
        "status": "ok",
        "wall_time_s": round(time.perf_counter() - start, 1),
        "fit_time_s": round(model.fit_time_, 1),
        "steps": steps,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "gpu_peak_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if cuda else None,
        "params": params,
        "final_loss": round(model.history_["loss"][-1], 4),
        "device": _WORKER["device_name"],
        "torch": torch.__version__,
    }
    return label_records(base, variant, model, y)


def gpu_jobs(suite: dict[str, Any], only: list[str] | None, smoke: bool) -> list[Job]:
    """The schedule as jobs: tier by tier, seed-major, alternating the datasets."""
    gpu = suite["gpu"]
    names = [n for n in gpu["datasets"] if not only or n in only]
    variants = {**suite["variants"], **gpu.get("extra_variants", {})}
    jobs = []
    for tier in gpu["schedule"]:
        for seed in tier["seeds"]:
            for variant in tier["variants"]:
                for name in names:
                    base = {**suite["common"], **suite["datasets"][name].get("params", {})}
                    tiny = gpu["smoke"]["params"] if smoke else {}
                    params = {**base, **variants[variant], **tiny}
                    payload = {"dataset": name, "variant": variant, "seed": seed, "params": params}
                    key = f"{name} / {variant} / seed {seed}"
                    # relative size, for the duration estimate (e.g. 40 epochs costs 2)
                    cost = params["epochs"] / {**base, **tiny}["epochs"]
                    jobs.append(Job(key, f"{name}/{variant}", payload, cost))
    return jobs


def budgeted_run(args: argparse.Namespace, suite: dict[str, Any]) -> None:
    start = time.monotonic() - process_age()  # the budget counts the imports too
    gpu = suite["gpu"]
    cfg = gpu["smoke"] if args.smoke else gpu
    budget = float(args.budget if args.budget is not None else cfg["budget_s"])
    deadline = start + budget - 3.0  # leaves time to stop the workers and write the summary
    device = "cpu" if args.smoke and args.device == "auto" else args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch.cuda.is_available() is False")
    workers = args.workers or (cfg["workers"] if device.startswith("cuda") or args.smoke else 1)
    threads = max(1, (os.cpu_count() or 1) // workers)
    # Children inherit the environment: set their BLAS/OpenMP pools before they start.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    context = run_context()
    header = {
        "record": "header",
        "run_id": run_id,
        "command": " ".join(sys.argv),
        "date": context["date"],
        "device": device_name(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "budget_s": budget,
        "workers": workers,
        "threads_per_worker": threads,
        "smoke": args.smoke,
        "versions": context["versions"],
        "machine": context["machine"],
    }

    def write(rec: dict[str, Any]) -> None:
        with out.open("a") as handle:
            handle.write(json.dumps(rec) + "\n")

    write(header)
    print(f"run {run_id}: {header['device']}, {workers} workers, {budget:.0f} s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="swav-run-"))
    jobs = gpu_jobs(suite, args.only, args.smoke)

    def load_data() -> None:  # in this process while the workers import and start CUDA
        data = {}
        for name in gpu["datasets"]:
            if args.only and name not in args.only:
                continue
            images = load_images(name, args.root)
            x, y = images.images, images.labels
            if args.smoke:
                x, y = x[: cfg["n_images"]], y[: cfg["n_images"]]
            data[name] = (x, y)
        torch.save(data, tmp / "part.pt")
        (tmp / "part.pt").rename(tmp / "data.pt")
        print(f"data ready after {time.monotonic() - start:.1f} s", flush=True)

    def on_outcome(job: Job, outcome: str, value: Any, seconds: float) -> None:
        if outcome == "ok":
            records = value
        else:
            p = job.payload
            # one record per label source, so the table counts the failure in both rows
            records = [
                {
                    "dataset": p["dataset"],
                    "seed": p["seed"],
                    "method": f"{p['variant']} ({source})",
                    "status": outcome,
                    "message": str(value)[-2000:],
                    "seconds": round(seconds, 1),
                    "device": header["device"],
                    "torch": torch.__version__,
                }
                for source in ("prototypes", "k-means")
            ]
        for rec in records:
            write({**rec, "run_id": run_id})
        if outcome == "ok":
            accs = {r["method"].rsplit(" (", 1)[1][:-1]: r["metrics"]["acc"] for r in records}
            print(f"  done {job.key} in {seconds:.1f} s: acc {accs}", flush=True)
        elif outcome != "skipped":
            print(f"  {outcome}: {job.key}: {str(value)[-500:]}", flush=True)

    counts = run_budgeted(
        jobs,
        init_worker,
        (str(tmp / "data.pt"), device, threads),
        run_job,
        workers,
        deadline,
        on_outcome,
        log=lambda line: print(line, flush=True),
        prepare=load_data,
    )
    elapsed = round(time.monotonic() - start, 1)
    write({"record": "summary", "run_id": run_id, "elapsed_s": elapsed, "outcomes": counts})
    print(f"finished in {elapsed} s: {counts}; records in {out}", flush=True)
    for leftover in tmp.iterdir():
        leftover.unlink()
    tmp.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="data root (default $GRAPHCLUST_DATA)")
    parser.add_argument("--only", nargs="*", help="datasets to run (default: all in the suite)")
    parser.add_argument("--variants", nargs="*", help="CPU sweep: variants (default: all)")
    parser.add_argument("--seeds", nargs="*", type=int, help="CPU sweep: seeds")
    parser.add_argument("--threads", type=int, default=1, help="CPU sweep: torch threads")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, or auto")
    parser.add_argument("--out", help="budgeted run: the JSON-lines file to append to")
    parser.add_argument("--budget", type=float, help="budgeted run: wall seconds in all")
    parser.add_argument("--workers", type=int, help="budgeted run: worker processes")
    parser.add_argument("--smoke", action="store_true", help="budgeted run, tiny, on the CPU")
    parser.add_argument("--table-only", action="store_true", help="only rewrite results.md")
    parser.add_argument("--extra", nargs="*", type=Path, help="budgeted runs' files for the table")
    args = parser.parse_args()
    suite = yaml.safe_load((HERE / "suite.yaml").read_text())
    if args.smoke and not args.out:
        parser.error("--smoke needs --out FILE")
    if args.out:
        budgeted_run(args, suite)
        return
    torch.set_num_threads(args.threads)
    if not args.table_only:
        cpu_sweep(args, suite)
    extra = args.extra
    if extra is None:
        extra = [p for p in [HERE / "results_gpu.jsonl"] if p.exists()]
    write_table([HERE / "results.jsonl", *extra], HERE / "results.md")


if __name__ == "__main__":
    main()
