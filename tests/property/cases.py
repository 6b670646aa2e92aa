"""The outcome rule of the property suite, and its per-entry-point case counts.

Every case of every property ends in one of two outcomes:

* a result, which the property then checks for correctness; or
* a *clear error*: an exception of an allowed type (:data:`ALLOWED`) with a non-empty
  message, raised by graphclust's own code (the innermost Python frame of its traceback
  lies in the ``graphclust`` package), so it is a message written for the user at the
  entry point rather than, say, scikit-learn's "Input X contains NaN" from deep inside.

Anything else (``IndexError``, ``ZeroDivisionError``, ``AttributeError``, a
``RuntimeError`` from torch, an allowed type raised by a third-party library, an empty
message) fails the case. :func:`attempt` applies the rule and counts the case under its
entry point; the terminal summary (``conftest.py``) prints the counts.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphclust

#: Exception types a clear error may have.
ALLOWED: tuple[type[BaseException], ...] = (ValueError, TypeError, FloatingPointError)
PACKAGE_DIR = Path(graphclust.__file__).resolve().parent

#: entry point -> Counter of outcomes ("result", "clear error", "failed").
COUNTS: defaultdict[str, Counter] = defaultdict(Counter)


@dataclass(frozen=True)
class Outcome:
    """What one call ended in: ``value`` when ``ok``, else the clear ``error``."""

    ok: bool
    value: Any = None
    error: BaseException | None = None


def raised_in_graphclust(error: BaseException) -> bool:
    """Whether the innermost Python frame of ``error``'s traceback is graphclust code."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    origin = Path(frames[-1].filename).resolve()
    return PACKAGE_DIR in origin.parents


def check_clear_error(entry: str, error: BaseException) -> None:
    """Fail unless ``error`` is a clear error (module docstring)."""
    kind = type(error).__name__
    message = str(error).strip()
    if not isinstance(error, ALLOWED):
        raise AssertionError(f"{entry}: {kind} is not a clear error: {message}") from error
    if not message:
        raise AssertionError(f"{entry}: {kind} with an empty message") from error
    if not raised_in_graphclust(error):
        where = traceback.extract_tb(error.__traceback__)[-1]
        raise AssertionError(
            f"{entry}: {kind} raised outside graphclust ({where.filename}:{where.lineno}), "
            f"not at the entry point: {message}"
        ) from error


#: Seconds one call may take before it counts as a hang (tiny inputs take well under 5).
HANG_SECONDS = 60


class Hang(Exception):
    """A call ran past :data:`HANG_SECONDS`."""


@contextmanager
def hang_guard(entry: str, seconds: float = HANG_SECONDS):
    """Turn a call that never returns into a :class:`Hang` (POSIX main thread only)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"{entry} did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def attempt(entry: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``fn``; return its result or the clear error it raised, counting the case.

    Raises ``AssertionError`` (counted as "failed") for anything but a clear error, a
    hang past :data:`HANG_SECONDS` included.
    """
    try:
        with hang_guard(entry):
            value = fn(*args, **kwargs)
    except Exception as error:
        try:
            check_clear_error(entry, error)
        except AssertionError:
            COUNTS[entry]["failed"] += 1
            raise
        COUNTS[entry]["clear error"] += 1
        return Outcome(ok=False, error=error)
    COUNTS[entry]["result"] += 1
    return Outcome(ok=True, value=value)


def count(entry: str, outcome: str) -> None:
    """Count one case whose outcome the property decided itself (e.g. a CLI exit status)."""
    COUNTS[entry][outcome] += 1


def summary_lines() -> list[str]:
    """One line per entry point: cases run and how they ended."""
    lines = []
    width = max((len(entry) for entry in COUNTS), default=0)
    for entry in sorted(COUNTS):
        counter = COUNTS[entry]
        parts = ", ".join(
            f"{counter[k]} {k}" for k in ("result", "clear error", "failed") if k in counter
        )
        lines.append(f"{entry:<{width}}  {sum(counter.values()):>5} cases ({parts})")
    total = sum(sum(c.values()) for c in COUNTS.values())
    lines.append(f"{'total':<{width}}  {total:>5} cases over {len(COUNTS)} entry points")
    return lines
