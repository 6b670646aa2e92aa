"""The time guard of the SwAV GPU run (experiments/swav/budget_pool.py).

The workers run ``time.sleep`` (importable in a spawned process, and a negative argument
raises), so each outcome can be produced on purpose: a job that finishes, one that fails,
one still running at the deadline, and one whose estimated duration no longer fits.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "swav"))
from budget_pool import Job, run_budgeted  # noqa: E402 - the module beside the script


def _run(jobs: list[Job], n_workers: int, seconds: float) -> tuple[dict, dict, float]:
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
    )
    return counts, outcomes, time.monotonic() - start


def test_first_jobs_start_without_any_estimate() -> None:
    """Regression: a 45 s assumed duration once kept every job of a 40 s budget from
    starting. With no job finished there is no estimate, and the workers get jobs."""
    jobs = [Job(f"j{i}", "a", 0.1) for i in range(3)]
    counts, outcomes, _ = _run(jobs, 2, 3.0)
    assert counts == {"ok": 3} and set(outcomes.values()) == {"ok"}


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
