"""DAG at the paper's full settings on Cora, CiteSeer and PubMed, on a GPU, under a
hard time budget (``run.py --suite gpu``).

Settings (docs/METHODS.md section 3): hidden/heads/weight decay/epochs Cora
512/4/1e-3/1500, CiteSeer 256/2/1e-4/500, PubMed 1024/4/1e-2/1000 (mask rate 0.75);
alpha 1e-2, beta 5e-3, Adam lr 1e-3, input dropout 0.2, evaluation every 50 epochs,
k_max = 2 x the true K. ``--smoke`` shrinks them (hidden 16, 4 epochs) to test the
pipeline end to end on a CPU in seconds.

The graphs are small for a GPU, so a single fit is bound by kernel launches and
Python, not by the card; the runs are spread over ``workers`` processes that share
the GPU, each with one CPU thread. TF32 matrix products are allowed on CUDA (recorded
in every record).

Time guard: every job gets the deadline ``start + budget``. A worker does not start a
job with less than ``min_start_s`` left, and a started fit stops training (DAG's
``max_time_s``) when the deadline comes, evaluates and returns its best checkpoint
so far, flagged ``truncated``; with ``k_readout="kmeans"`` it stops
``KSEARCH_MARGIN_S`` (per dataset) earlier, leaving time for the k-means search over K
that follows training (without that margin a fit cut by the deadline was still
searching when the parent gave up, and was lost as ``time_up``). The parent stops
waiting ``grace_s`` after the deadline, terminates the workers and records every
unfinished job as ``time_up``. Each run appends to the output file (JSON lines) a
header line, one line per job (result or skip) and a footer with the counts and the
total wall time.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

# decoder_factorized True: the suite's recorded runs predate the plain decoder layer
# (now DAG's default); run it with --set decoder_factorized=False for today's model,
# which gets its own suite name (gpu-decoder_factorizedFalse)
COMMON = {
    "preset": "paper",
    "alpha": 1e-2,
    "beta": 5e-3,
    "lr": 1e-3,
    "input_dropout": 0.2,
    "eval_every": 50,
    "decoder_factorized": True,
}
FULL = {
    "cora": {"hidden": 512, "heads": 4, "weight_decay": 1e-3, "epochs": 1500},
    "citeseer": {"hidden": 256, "heads": 2, "weight_decay": 1e-4, "epochs": 500},
    "pubmed": {
        "hidden": 1024,
        "heads": 4,
        "weight_decay": 1e-2,
        "epochs": 1000,
        "mask_rate": 0.75,
    },
}
SMOKE = {"hidden": 16, "heads": 2, "epochs": 4, "eval_every": 2}
# longest first, so that the short jobs fill the gaps at the end
ORDER = ("pubmed", "cora", "citeseer")
K_FACTOR = 2
# seconds kept free after training for k_readout="kmeans" (the k-means search over
# K = 2..k_max), per dataset. Measured with kmeans_k_search on ReLU(X R), R a random
# projection of the features to the paper's widths, one thread, three processes on two
# cores: Cora 11 s, CiteSeer 6 s, PubMed 53 s (an inline command); ksearch_speed.py,
# the same measurement as a script, gave 6.8 / 3.6 / 33 s (three processes again)
# (logs/ksearch_speed.jsonl). Each margin is about twice the worst time (a single
# margin for all, sized for PubMed, cut Cora's training 100 s short for nothing). On a
# GPU the search runs on the device (torch k-means), which these margins do not count on.
KSEARCH_MARGIN_S = {"cora": 30.0, "citeseer": 20.0, "pubmed": 120.0}

_DATA: dict[str, Any] = {}


def process_start_time() -> float:
    """When this process started (``time.time()`` scale), so that the budget counts
    the imports and CUDA start-up too; falls back to now without psutil."""
    try:
        import psutil

        return psutil.Process().create_time()
    except ImportError:  # pragma: no cover - psutil is on both machines used here
        return time.time()


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    """An outer ``timeout`` sends SIGTERM: unwind so the output file gets its footer."""
    raise TimeoutError(f"signal {signum}")


def job_params(name: str, smoke: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    params = {**COMMON, **FULL[name]}
    if smoke:
        params.update(SMOKE)
    params.update(overrides)
    return params


def dag_record_fields(model: Any, data: Any) -> dict[str, Any]:
    """The DAG-specific fields of a benchmark record (this suite's and run.py's): the
    kept checkpoint, K per evaluation, both read-outs and the readout check."""
    from graphclust.metrics import evaluate_partition

    fields = {
        "selected_epoch": model.selected_epoch_,
        "k_history": model.history_["k"],
        "k_argmax": model.k_argmax_,
        "k_search": model.k_search_,
        # the paper's read-out of the same fit, when the returned one is k-means
        "metrics_argmax": (
            evaluate_partition(model.labels_argmax_, data) if model.k_readout == "kmeans" else None
        ),
        "readout_norm_used": model.readout_norm_,
        "readout_check": model.readout_check_,
    }
    if "readout_k" in model.history_:  # selection="readout": K of each checkpoint's search
        fields["readout_k_history"] = model.history_["readout_k"]
    return fields


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Fit DAG on one (dataset, seed); returns a record (or a skip record)."""
    import torch

    from graphclust.bench.environment import run_context
    from graphclust.data import load_dataset
    from graphclust.methods.dag import DAG
    from graphclust.metrics import evaluate_partition
    from graphclust.utils import resolve_device

    left = job["deadline"] - time.time()
    base = {"suite": job["suite"], "dataset": job["dataset"], "method": "dag"}
    base |= {"seed": job["seed"], "variant": {"k_factor": K_FACTOR, **job["overrides"]}}
    if left < job["min_start_s"]:
        return {**base, "status": "skipped", "reason": f"only {left:.1f} s left before start"}
    name = job["dataset"]
    if name not in _DATA:
        _DATA[name] = load_dataset(name)
    data = _DATA[name]
    true_k = int(data.num_classes)
    params = {**job["params"], "k_max": K_FACTOR * true_k, "seed": job["seed"]}
    model = DAG(**params, device=job["device"], max_time_s=max(1.0, left - job["eval_margin_s"]))
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data)
    except Exception:  # noqa: BLE001 - one failed fit must not lose the others' records
        return {**base, "status": "error", "reason": traceback.format_exc(limit=8)}
    on_cuda = resolve_device(job["device"]).type == "cuda"
    if on_cuda:
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    metrics = evaluate_partition(model.labels_, data)
    context = run_context()
    device = context["machine"]["gpu"] if on_cuda else "cpu"
    truncated = model.epochs_run_ < params["epochs"]
    return {
        **base,
        "key": f"{job['suite']}|{name}|dag|k_factor{K_FACTOR}|{job['seed']}",
        "status": "truncated" if truncated else "ok",
        "true_k": true_k,
        "n_nodes": int(data.num_nodes),
        "n_edges": int(data.edge_index.size(1) // 2),
        "params": {k: v for k, v in params.items() if isinstance(v, (int, float, str))},
        "metrics": metrics,
        "k": metrics["k"],
        "epochs_run": model.epochs_run_,
        "truncated": truncated,
        "eval_margin_s": job["eval_margin_s"],  # training stopped this early for the read-out
        **dag_record_fields(model, data),
        "fit_time_s": round(wall, 2),
        "device": device,
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "date": context["date"],
        "versions": context["versions"],
        "machine": context["machine"],
    }


def run_gpu_suite(
    out: Path,
    seeds: list[int],
    device: str,
    budget_s: float,
    workers: int,
    smoke: bool = False,
    datasets: tuple[str, ...] = ORDER,
    overrides: dict[str, Any] | None = None,
    grace_s: float = 5.0,
    command: str = "",
    started_at: float | None = None,
    ksearch_margin_s: float | None = None,
) -> dict[str, Any]:
    """Run the jobs, write ``out`` (JSON lines) and return the footer.

    The budget counts from ``started_at`` (``time.time()`` at the start of the
    process, so that imports count too) or from this call. ``ksearch_margin_s``
    replaces the per-dataset ``KSEARCH_MARGIN_S`` (e.g. once the search has been timed
    on the device it will run on).
    """
    import torch

    from graphclust.bench.environment import run_context
    from graphclust.data import load_dataset

    t0 = started_at or process_start_time()
    deadline = t0 + budget_s
    overrides = overrides or {}
    # runs with overrides get their own suite name, so that tables never mix them with
    # the paper's settings
    suite = "gpu-smoke" if smoke else "gpu"
    if overrides:
        suite += "-" + "_".join(f"{k}{v}" for k, v in sorted(overrides.items()))
    for name in datasets:  # fills the processed-data cache before the workers read it
        load_dataset(name)
    jobs = [
        {
            "suite": suite,
            "dataset": name,
            "seed": seed,
            "params": job_params(name, smoke, overrides),
            "overrides": overrides,
            "device": device,
            "deadline": deadline,
            "min_start_s": 1.0 if smoke else 5.0,
            "eval_margin_s": (0.5 if smoke else 3.0)
            + (
                (KSEARCH_MARGIN_S[name] if ksearch_margin_s is None else ksearch_margin_s)
                if overrides.get("k_readout") == "kmeans"
                else 0.0
            ),
        }
        for name in datasets
        for seed in seeds
    ]
    context = run_context()
    header = {
        "type": "header",
        "suite": suite,
        "command": command or context["command"],
        "date": context["date"],
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "versions": context["versions"],
        "budget_s": budget_s,
        "workers": workers,
        "n_jobs": len(jobs),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    with out.open("a") as handle:  # a second run adds to the first
        handle.write(json.dumps(header) + "\n")
        handle.flush()
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        ctx = mp.get_context("spawn")  # CUDA cannot be used in forked children
        pool = ctx.Pool(workers, initializer=_init_worker, initargs=(threads,))
        pending = {(j["dataset"], j["seed"]) for j in jobs}
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            results = pool.imap_unordered(_run_job, jobs)
            while pending:
                wait = deadline + grace_s - time.time()
                if wait <= 0:
                    break
                try:
                    record = results.next(timeout=wait)
                except mp.TimeoutError:
                    break
                pending.discard((record["dataset"], record["seed"]))
                record["type"] = "result" if "metrics" in record else "skip"
                records.append(record)
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                if "metrics" in record:
                    m = record["metrics"]
                    print(
                        f"{record['dataset']:>9} seed {record['seed']}: K {m['k']} "
                        f"(true {record['true_k']}) NMI {m['nmi']:.4f} EDGE {m['edge']:.4f} "
                        f"(trivial {m['edge_trivial']:.4f}) {record['fit_time_s']:.1f}s "
                        f"{record['status']} [{time.time() - t0:.0f}s]",
                        flush=True,
                    )
                else:
                    print(f"{record['dataset']} seed {record['seed']}: {record['status']}")
                    print(record["reason"], flush=True)
        except (TimeoutError, KeyboardInterrupt) as stop:
            print(f"stopped from outside ({stop}); writing what is done", flush=True)
        finally:
            # the file is complete before the workers are terminated (which can take
            # seconds with CUDA contexts), so an outer timeout cannot lose the footer
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            for name, seed in sorted(pending):
                record = {"type": "skip", "suite": suite, "dataset": name, "seed": seed}
                record |= {
                    "method": "dag",
                    "status": "time_up",
                    "reason": "not done by the deadline",
                }
                records.append(record)
                handle.write(json.dumps(record) + "\n")
            footer = {
                "type": "footer",
                "wall_s": round(time.time() - t0, 1),
                "n_ok": sum(r.get("status") == "ok" for r in records),
                "n_truncated": sum(r.get("status") == "truncated" for r in records),
                "n_skipped": sum(r.get("status") in ("skipped", "time_up") for r in records),
                "n_error": sum(r.get("status") == "error" for r in records),
            }
            handle.write(json.dumps(footer) + "\n")
            handle.flush()
            print(json.dumps(footer), flush=True)
            pool.terminate()
            pool.join()
    return footer
