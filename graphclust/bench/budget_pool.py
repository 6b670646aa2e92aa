"""Run jobs in worker processes under a wall-clock budget: the time guard of a GPU run.

A lent GPU comes for a fixed number of minutes, and a small model on it is bound by the
CPU that launches its kernels, not by the GPU: several worker processes that share the
card run several trainings at once. :func:`run_budgeted` hands out jobs in priority order
to ``n_workers`` spawned processes and starts a job only when its estimated duration
(the longest finished job of its group, else of any group scaled by the jobs' relative
costs) still fits before the deadline. Before any job has finished there is no estimate
and every worker gets a job: with an assumed duration instead, a budget shorter than
the assumption would start nothing at all (a 45 s prior under a 40 s budget did exactly
that on the first GPU run), whereas a job that overruns is only stopped at the deadline.
At the deadline it terminates the workers still busy. Every job ends in exactly one
outcome passed to ``on_outcome``: ``"ok"`` (with the worker's result), ``"error"`` (with
the traceback), ``"killed"`` (running at the deadline) or ``"skipped"`` (never started:
its estimate no longer fitted, or every worker had died).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
import traceback
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphclust.utils.checks import non_negative_float, one_of, positive_float, positive_int


@dataclass
class Job:
    """One unit of work.

    Attributes:
        key: unique name (shown in outcomes).
        group: jobs of one group take about equally long (the duration estimate's key).
        payload: what the worker's ``run_job`` receives (picklable).
        cost: relative size (e.g. epochs / 20), to scale other groups' durations to
            this job while none of its own group has finished.
    """

    key: str
    group: str
    payload: Any = field(default_factory=dict)
    cost: float = 1.0

    def __post_init__(self) -> None:
        self.cost = positive_float(self.cost, "cost")


def _worker(
    wid: int,
    init: Callable[..., None],
    init_args: tuple,
    run_job: Callable[[dict[str, Any]], Any],
    tasks: Any,
    results: Any,
) -> None:
    """Worker process: initialise once, then run the jobs the parent sends until ``None``."""
    try:
        init(*init_args)
    except BaseException:  # noqa: BLE001 - reported to the parent, which goes on without us
        results.put(("fatal", wid, None, traceback.format_exc()))
        return
    results.put(("ready", wid, None, None))
    while True:
        job = tasks.get()
        if job is None:
            return
        try:
            results.put(("done", wid, job.key, run_job(job.payload)))
        except Exception:  # noqa: BLE001 - one failed job must not stop the others
            results.put(("error", wid, job.key, traceback.format_exc()))


def run_budgeted(
    jobs: Sequence[Job],
    init: Callable[..., None],
    init_args: tuple,
    run_job: Callable[[dict[str, Any]], Any],
    n_workers: int,
    deadline: float,
    on_outcome: Callable[[Job, str, Any, float], None],
    margin_s: float = 2.0,
    log: Callable[[str], None] = print,
    prepare: Callable[[], None] | None = None,
    start_method: str = "spawn",
) -> dict[str, int]:
    """Run ``jobs`` (highest priority first) on ``n_workers`` processes until ``deadline``.

    Args:
        jobs: the work, in priority order.
        init, init_args: called once in every worker (load data, pick the device).
        run_job: ``payload -> result``, run in a worker (module-level, so picklable).
        n_workers: worker processes.
        deadline: ``time.monotonic()`` value by which everything must have stopped.
        on_outcome: ``(job, outcome, result_or_message, seconds)``, called in this process.
        margin_s: a job starts only if its estimate ends this long before the deadline.
        log: progress lines.
        prepare: run here after the workers are spawned and before any job is sent (e.g.
            load the data the jobs read), so it overlaps the workers' start-up.
        start_method: how workers start: "spawn" (a fresh interpreter, so CUDA
            initialises cleanly in each; it imports ``run_job``'s module again) or, for
            CPU-only work, "fork" or "forkserver".

    Returns:
        Counts of each outcome.

    Raises:
        ValueError: ``n_workers`` not an integer >= 1, ``margin_s`` negative, an unknown
            ``start_method``, or two jobs with one key.
    """
    n_workers = positive_int(n_workers, "n_workers")
    margin_s = non_negative_float(margin_s, "margin_s")
    start_method = one_of(start_method, "start_method", ("spawn", "fork", "forkserver"))
    keys = [job.key for job in jobs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"jobs must have distinct keys (outcomes name jobs by key): {repeated}")
    ctx = mp.get_context(start_method)
    results = ctx.Queue()
    tasks = [ctx.Queue() for _ in range(n_workers)]
    procs = [
        ctx.Process(
            target=_worker,
            args=(w, init, init_args, run_job, tasks[w], results),
            daemon=True,
        )
        for w in range(n_workers)
    ]
    for proc in procs:
        proc.start()
    if prepare is not None:
        try:
            prepare()
        except BaseException:
            for proc in procs:
                proc.kill()
            raise
    pending = deque(jobs)
    by_key = {job.key: job for job in jobs}
    running: dict[int, tuple[Job, float]] = {}
    idle: list[int] = []
    stopped: set[int] = set()
    dead: set[int] = set()
    durations: dict[str, list[float]] = defaultdict(list)
    durations_per_cost: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)

    def finish(job: Job, outcome: str, value: Any, seconds: float) -> None:
        counts[outcome] += 1
        on_outcome(job, outcome, value, seconds)

    def estimate(job: Job) -> float:
        # The group's longest run; else the longest of any group per unit of cost, with
        # a margin; else 0: nothing has finished, so start (the deadline is the guard).
        seen = durations.get(job.group)
        if seen:
            return 1.1 * max(seen)
        per_cost = [d for values in durations_per_cost.values() for d in values]
        return 1.25 * job.cost * max(per_cost) if per_cost else 0.0

    def stop(w: int) -> None:
        if w not in stopped:
            stopped.add(w)
            tasks[w].put(None)

    while (pending or running) and len(stopped) < n_workers:
        now = time.monotonic()
        if now >= deadline:
            break
        try:
            kind, w, key, value = results.get(timeout=min(0.5, deadline - now))
        except queue.Empty:
            kind = None
        if kind == "fatal":
            log(f"worker {w} failed to start:\n{value}")
            stopped.add(w)
            dead.add(w)
        elif kind in ("done", "error"):
            job, started = running.pop(w)
            seconds = time.monotonic() - started
            if kind == "done":
                durations[job.group].append(seconds)
                durations_per_cost[job.group].append(seconds / job.cost)
            finish(by_key[key], "ok" if kind == "done" else "error", value, seconds)
            idle.append(w)
        elif kind == "ready":
            idle.append(w)
        for w, proc in enumerate(procs):  # a worker that died mid-job (e.g. out of memory)
            if w not in stopped and not proc.is_alive():
                stopped.add(w)
                dead.add(w)
                if w in running:
                    job, started = running.pop(w)
                    finish(job, "error", f"worker died (exit code {proc.exitcode})", 0.0)
        while idle:
            w = idle.pop()
            if w in stopped:
                continue
            left = deadline - time.monotonic() - margin_s
            fitting = next((j for j in pending if estimate(j) <= left), None)
            if fitting is None:
                stop(w)
                continue
            pending.remove(fitting)
            running[w] = (fitting, time.monotonic())
            tasks[w].put(fitting)
            log(f"[{deadline - time.monotonic():6.1f} s left] worker {w}: {fitting.key}")
    while running:  # results that arrived as the deadline passed
        try:
            kind, w, key, value = results.get(timeout=0.05)
        except queue.Empty:
            break
        if kind in ("done", "error") and w in running:
            job, started = running.pop(w)
            outcome = "ok" if kind == "done" else "error"
            finish(job, outcome, value, time.monotonic() - started)
    for w, (job, started) in list(running.items()):
        procs[w].terminate()
        finish(job, "killed", "still running at the time budget", time.monotonic() - started)
    for job in pending:
        why = "every worker failed" if len(dead) == n_workers else "the time budget"
        finish(job, "skipped", f"not started: {why}", 0.0)
    for w in range(n_workers):
        stop(w)
    until = time.monotonic() + 1.5  # idle workers exit at once on None; the rest are killed
    for proc in procs:
        proc.join(timeout=max(0.0, until - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=0.5)
    return dict(counts)


__all__ = ["Job", "run_budgeted"]
