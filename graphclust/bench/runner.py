"""Run a benchmark suite: every method x dataset x seed, one JSON line per run.

Results are appended to ``<out>/results.jsonl`` as each run finishes (flushed), so an
interrupted sweep loses at most the run in progress; a rerun skips every run whose key
already has an ``"ok"`` record and retries failed ones.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch_geometric.data import Data
from tqdm.auto import tqdm

from graphclust.bench.environment import machine_info, package_versions, run_context
from graphclust.bench.memory import peak_is_per_run, peak_rss_mb, reset_peak_rss
from graphclust.bench.suite import RunSpec, Suite
from graphclust.data import load_dataset
from graphclust.methods import METHODS, BaseClusterer
from graphclust.metrics import evaluate_partition

RESULTS_FILE = "results.jsonl"


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All records of a results file; a truncated last line (a killed run) is ignored."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    with path.open() as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def build_estimator(spec: RunSpec, data: Data) -> BaseClusterer:
    """Instantiate the method of ``spec``; K defaults to the dataset's number of classes."""
    cls = METHODS.get(spec.method.name)
    params = dict(spec.method.params)
    params["seed"] = spec.seed
    if not cls.k_free and "n_clusters" not in params:
        num_classes = getattr(data, "num_classes", None)
        if not num_classes:
            raise ValueError(
                f"{spec.dataset.name} has no labels, so {spec.method.name} needs n_clusters "
                "in its params"
            )
        params["n_clusters"] = int(num_classes)
    estimator = cls()
    estimator.set_params(**params)
    return estimator


def run_one(spec: RunSpec, data: Data) -> dict[str, Any]:
    """Fit one method on one graph and measure it; never raises for a failing method."""
    record: dict[str, Any] = {
        "key": spec.key,
        "method": spec.method.label(),
        "dataset": spec.dataset.label(),
        "seed": spec.seed,
        "dataset_params": spec.dataset.params,
        "n_nodes": int(data.num_nodes),
        "n_edges": int(data.edge_index.size(1) // 2),
    }
    start = time.perf_counter()
    reset_peak_rss()
    try:
        estimator = build_estimator(spec, data)
        record["params"] = {k: _jsonable(v) for k, v in estimator.get_params().items()}
        estimator.fit(data)
        record["fit_time_s"] = round(estimator.fit_time_, 4)
        record["metrics"] = evaluate_partition(estimator.labels_, data)
        record["status"] = "ok"
    except Exception as err:  # a failing run is recorded and the sweep goes on
        record["status"] = "error"
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback"] = traceback.format_exc(limit=5)
    record["wall_time_s"] = round(time.perf_counter() - start, 4)
    record["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return record


def _end_with_newline(path: Path) -> None:
    """Terminate a line cut short by a killed run, so the next record starts cleanly."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            handle.write(b"\n")


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def run_suite(
    suite: Suite,
    out_dir: str | Path,
    root: str | Path | None = None,
    progress: bool = True,
    loader: Callable[..., Data] = load_dataset,
) -> list[dict[str, Any]]:
    """Run every pending run of ``suite``, appending records to ``out_dir/results.jsonl``.

    Returns:
        The records of every run of the suite (old and new), in suite order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_FILE
    done = {r["key"]: r for r in read_records(path) if r.get("status") == "ok"}
    context = run_context()
    context["peak_rss_per_run"] = peak_is_per_run()
    pending = [spec for spec in suite.runs() if spec.key not in done]
    records = dict(done)
    loaded: dict[str, Data | Exception] = {}
    bar = tqdm(total=len(pending), disable=not progress, desc=f"bench {suite.name}")
    _end_with_newline(path)
    with path.open("a") as handle:
        for spec in pending:
            bar.set_postfix_str(f"{spec.method.label()} on {spec.dataset.label()} s{spec.seed}")
            data_key = spec.dataset.label()
            if data_key not in loaded:
                loaded.clear()  # datasets are outermost: keep one graph in memory
                try:
                    loaded[data_key] = loader(spec.dataset.name, root=root, **spec.dataset.params)
                except Exception as err:
                    loaded[data_key] = err
            data = loaded[data_key]
            if isinstance(data, Exception):
                record = {
                    "key": spec.key,
                    "method": spec.method.label(),
                    "dataset": data_key,
                    "seed": spec.seed,
                    "status": "error",
                    "error": f"could not load dataset: {type(data).__name__}: {data}",
                }
            else:
                record = run_one(spec, data)
            record.update(suite=suite.name, **context)
            handle.write(json.dumps(record, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            records[spec.key] = record
            bar.update(1)
    bar.close()
    return [records[spec.key] for spec in suite.runs() if spec.key in records]


__all__ = [
    "RESULTS_FILE",
    "build_estimator",
    "machine_info",
    "package_versions",
    "read_records",
    "run_one",
    "run_suite",
]
