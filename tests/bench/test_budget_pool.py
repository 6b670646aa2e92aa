"""The time guard of a budgeted GPU run (graphclust.bench.budget_pool).

The workers run ``time.sleep`` (importable in any worker, and a negative argument
raises), so each outcome can be produced on purpose: a job that finishes, one that fails,
one still running at the deadline, and one whose estimated duration no longer fits. The
scheduling tests fork their workers: a spawned worker imports graphclust again, which
takes longer on a loaded machine than the budgets these tests can afford.
"""

from __future__ import annotations

import time

import pytest

from graphclust.bench.budget_pool import Job, run_budgeted


def _run(
    jobs: list[Job], n_workers: int, seconds: float, start_method: str = "fork"
) -> tuple[dict, dict, float]:
    outcomes: dict[str, str] = {}
    start = time.monotonic()
    counts = run_budgeted(
        jobs,
        time.sleep,
        (0,),
        time.sleep,
        n_workers,
        start + seconds,
        lambda job, outcome, value, s: outcomes.__setitem__(job.key, outcome),
        margin_s=0.5,
        log=lambda line: None,
        start_method=start_method,
    )
    return counts, outcomes, time.monotonic() - start


def test_first_jobs_start_without_any_estimate() -> None:
    """Regression: a 45 s assumed duration once kept every job of a 40 s budget from
    starting. With no job finished there is no estimate, and the workers get jobs."""
    jobs = [Job(f"j{i}", "a", 0.1) for i in range(3)]
    counts, outcomes, _ = _run(jobs, 2, 3.0)
    assert counts == {"ok": 3} and set(outcomes.values()) == {"ok"}


@pytest.mark.slow
def test_spawned_workers_run_the_jobs() -> None:
    """The default start method, as on a GPU: a budget ample for the workers' imports,
    and run_budgeted returns as soon as the last job is done."""
    jobs = [Job(f"j{i}", "a", 0.1) for i in range(3)]
    counts, _, elapsed = _run(jobs, 1, 300.0, start_method="spawn")
    assert counts == {"ok": 3} and elapsed < 300.0


def test_every_job_gets_exactly_one_outcome_and_the_deadline_holds() -> None:
    jobs = [
        Job("short", "a", 0.2),
        Job("long", "b", 30.0),
        Job("fails", "a", -1.0),  # time.sleep(-1) raises ValueError
        Job("too-big", "c", 0.2, cost=1000.0),  # 1.25 * 1000 * 0.2 s never fits
    ]
    counts, outcomes, elapsed = _run(jobs, 2, 3.0)
    assert outcomes == {"short": "ok", "long": "killed", "fails": "error", "too-big": "skipped"}
    assert counts == {"ok": 1, "killed": 1, "error": 1, "skipped": 1}
    assert elapsed < 3.0 + 2.5  # the deadline, plus the bounded wait for the workers to exit


def test_refuses_what_it_cannot_report_or_schedule() -> None:
    with pytest.raises(ValueError, match="distinct keys.*'a'"):
        _run([Job("a", "g", 0.0), Job("a", "g", 0.0)], 1, 1.0)
    with pytest.raises(ValueError, match="n_workers"):
        _run([Job("a", "g", 0.0)], 0, 1.0)
    with pytest.raises(ValueError, match="start_method"):
        _run([Job("a", "g", 0.0)], 1, 1.0, start_method="thread")
    with pytest.raises(ValueError, match="cost"):
        Job("a", "g", 0.0, cost=0.0)
