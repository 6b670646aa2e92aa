"""Run a benchmark suite: every method x dataset x seed, one JSON line per run.

Results are appended to ``<out>/results.jsonl`` as each run finishes (one whole line per
write, fsynced), so an interrupted sweep loses at most the run in progress; a rerun
drops a line torn by a kill, skips every run whose key already has an ``"ok"`` record
and retries failed ones. Runners sharing a folder claim each job with a lock file, so
no job runs twice.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout
from torch_geometric.data import Data
from tqdm.auto import tqdm

from graphclust.bench.environment import machine_info, package_versions, run_context
from graphclust.bench.memory import peak_is_per_run, peak_rss_mb, reset_peak_rss
from graphclust.bench.suite import RunSpec, Suite
from graphclust.data import load_dataset
from graphclust.methods import METHODS, BaseClusterer
from graphclust.metrics import evaluate_partition

RESULTS_FILE = "results.jsonl"
LOCK_DIR = ".locks"


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
    if "progress" in estimator.get_params() and "progress" not in params:
        params["progress"] = False  # the runner shows one bar for the whole suite
    estimator.set_params(**params)
    return estimator


def method_input(estimator: Any, data: Data, dataset: str | None, root: Any = None) -> Any:
    """What ``estimator.fit`` takes on this dataset: the graph itself, or, for a method
    whose ``input_kind`` is ``"images"`` (SwAV; DEPICT with ``input="images"``, MLCD with
    ``encoder="cnn"``), the images of an image dataset
    (:func:`graphclust.adapters.load_images`) in the graph's node order, so that the
    labels it returns are scored on the graph as every other method's.

    Raises:
        ValueError: the method takes images or clips and the dataset holds none.
    """
    kind = getattr(estimator, "input_kind", "graph")
    if kind == "graph":
        return data
    from graphclust.adapters import image_datasets, load_images

    method = type(estimator).__name__
    if kind == "images" and dataset in image_datasets():
        images = load_images(dataset, root)
        y = getattr(data, "y", None)
        if images.labels.numel() != data.num_nodes or (
            y is not None and not torch.equal(images.labels, y.cpu())
        ):
            raise ValueError(f"the images of {dataset} are not in its graph's node order")
        return images.images
    if kind == "images":
        raise ValueError(
            f"{method} trains on images: use an image dataset ({', '.join(image_datasets())}), "
            f"not {dataset or 'a graph file'}"
        )
    raise ValueError(
        f"{method} trains on video clips [N, T, C, H, W], which no catalog dataset holds: "
        "generate them with graphclust.adapters.moving_digits and call fit from Python "
        "(experiments/sigma/run.py does)"
    )


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
        estimator.fit(method_input(estimator, data, spec.dataset.name))
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


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def _results_lock(path: Path) -> FileLock:
    """The lock every writer of ``path`` holds while it appends or repairs the file."""
    return FileLock(str(path) + ".lock")


def _job_lock(out_dir: Path, key: str) -> FileLock:
    """The lock a process holds while it runs the job ``key`` (keys are hex digests)."""
    folder = out_dir / LOCK_DIR
    folder.mkdir(exist_ok=True)
    return FileLock(str(folder / f"{key}.lock"))


def _repair_torn_line(path: Path) -> None:
    """Cut a last line left unterminated by a killed run, so the file is whole JSON lines.

    The torn record is dropped, not kept: its run has no ``"ok"`` record and is redone.
    """
    with _results_lock(path):
        if not path.is_file() or path.stat().st_size == 0:
            return
        with path.open("rb+") as handle:
            data = handle.read()
            if data.endswith(b"\n"):
                return
            handle.truncate(data.rfind(b"\n") + 1)


def _append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a single ``write`` of a whole line, under the results lock,
    so concurrent runners never interleave or tear lines."""
    line = (json.dumps(record, default=str) + "\n").encode()
    with _results_lock(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if os.write(fd, line) != len(line):
                raise OSError(f"short write to {path}; the disk may be full")
            os.fsync(fd)
        finally:
            os.close(fd)


def _finished(path: Path, since: int) -> dict[str, dict[str, Any]]:
    """Records that settle a job: every ``"ok"`` record, and any record appended after
    byte ``since`` (a job another runner of this sweep tried, failures included)."""
    with _results_lock(path):
        records = read_records(path)
        size = path.stat().st_size if path.is_file() else 0
        fresh: list[dict[str, Any]] = []
        if size > since:
            with path.open("rb") as handle:
                handle.seek(since)
                for line in handle.read().splitlines():
                    try:
                        fresh.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
    done = {r["key"]: r for r in records if r.get("status") == "ok"}
    done.update({r["key"]: r for r in fresh if r.get("key") not in done})
    return done


def run_suite(
    suite: Suite,
    out_dir: str | Path,
    root: str | Path | None = None,
    progress: bool = True,
    loader: Callable[..., Data] = load_dataset,
) -> list[dict[str, Any]]:
    """Run every pending run of ``suite``, appending records to ``out_dir/results.jsonl``.

    Several runners may share ``out_dir`` (two ``graphclust bench`` processes, say):
    each job is claimed with a lock file under ``out_dir/.locks`` and the finished
    records are re-read before it runs, so every job runs once and has one line. A job
    another runner holds is skipped and collected at the end, once that runner is done.

    Returns:
        The records of every run of the suite (old and new), in suite order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_FILE
    _repair_torn_line(path)
    since = path.stat().st_size if path.is_file() else 0
    records = _finished(path, since)
    context = run_context()
    context["peak_rss_per_run"] = peak_is_per_run()
    pending = [spec for spec in suite.runs() if spec.key not in records]
    loaded: dict[str, Data | Exception] = {}
    bar = tqdm(total=len(pending), disable=not progress, desc=f"bench {suite.name}")

    def settle(spec: RunSpec) -> None:
        """Run ``spec`` (its job lock held) unless a record already settles it."""
        finished = _finished(path, since)
        if spec.key in finished:
            records[spec.key] = finished[spec.key]
            return
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
        _append_record(path, record)
        records[spec.key] = record

    held_elsewhere = []
    for spec in pending:
        lock = _job_lock(out_dir, spec.key)
        try:
            lock.acquire(timeout=0)
        except Timeout:  # another runner has it; collect its record at the end
            held_elsewhere.append(spec)
            continue
        try:
            settle(spec)
        finally:
            lock.release()
        bar.update(1)
    for spec in held_elsewhere:
        with _job_lock(out_dir, spec.key):  # waits for the other runner to finish it
            settle(spec)
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
