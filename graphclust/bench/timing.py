"""Wall time and peak memory of a piece of work, on the CPU or a GPU.

A GPU runs kernels asynchronously, so a clock read on the host measures launches, not
work, unless the device is synchronised first: every time taken here is read after
:func:`synchronize`. Peak memory is the growth over a window: on CUDA the allocator's
peak (``torch.cuda.max_memory_allocated``, reset when the window opens) minus what was
allocated then; on the CPU the process's peak resident memory
(:mod:`graphclust.bench.memory`, reset when the window opens, so that it starts at the
resident memory then) minus its value then. Where the peak cannot be reset (not Linux)
the CPU growth is the growth beyond the process's lifetime peak.

:func:`epoch_times` times the epochs of one fit from inside it: a fit's first epoch pays
the device's warm-up (CUDA context, cuBLAS handles, kernel loading), so subtracting the
times of two fits of different lengths can even come out negative, whereas the
intervals between end-of-epoch stamps of one fit cannot.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.utils.checks import positive_int


def synchronize(device: torch.device | str) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Context manager: the peak memory growth (MiB) of the work done inside it.

    Example::

        with PeakMemory("cuda") as window:
            model.fit(data)
        window.growth_mb

    Attributes:
        device: where the memory is counted (CUDA memory, or the CPU's resident memory).
        growth_mb: peak memory while the window was open minus the memory in use when
            it opened, >= 0; set on exit.
    """

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self.growth_mb = 0.0
        self._base_mb = 0.0

    def __enter__(self) -> PeakMemory:
        synchronize(self.device)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base_mb = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            reset_peak_rss()  # on Linux the peak is now the resident memory in use
            self._base_mb = peak_rss_mb()
        return self

    def __exit__(self, *exc: object) -> None:
        synchronize(self.device)
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            peak = peak_rss_mb()
        self.growth_mb = max(peak - self._base_mb, 0.0)


def time_calls(
    fn: Callable[[], Any], reps: int, device: torch.device | str = "cpu"
) -> tuple[float, float]:
    """Median seconds of ``fn()`` over ``reps`` calls after one warm-up call, and the
    peak memory growth (MiB) over those calls.

    The warm-up call (allocator, lazy initialisation, kernel loading) is neither timed
    nor inside the memory window. Each call is closed by :func:`synchronize`.

    Args:
        fn: the work, called ``reps + 1`` times.
        reps: timed calls, >= 1.
        device: the device ``fn`` works on.

    Returns:
        ``(median seconds, peak growth in MiB)``.
    """
    reps = positive_int(reps, "reps")
    device = torch.device(device)
    fn()
    synchronize(device)
    times = []
    with PeakMemory(device) as window:
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times), window.growth_mb


def epoch_times(estimator: Any, data: Any, key: str = "loss") -> list[float]:
    """Fit ``estimator`` on ``data``; return the seconds of each epoch after the first.

    The estimator's ``log`` (:meth:`graphclust.methods.base.BaseClusterer.log`) is
    wrapped for the fit: each call that logs ``key`` stamps the clock after
    synchronising the estimator's device. With a training loop that logs ``key`` once,
    at the end of every epoch, the interval between two consecutive stamps is exactly
    one epoch, so an estimator fitted for ``E`` epochs gives ``E - 1`` times: the first
    epoch, which pays the warm-up, is not among them. Intervals of a monotonic clock are
    never negative.

    Args:
        estimator: has ``fit(data)`` and ``log(**values)``; its ``device`` attribute,
            if any and not "auto", is the device synchronised.
        data: what ``fit`` takes.
        key: the value the training loop logs once per epoch.

    Returns:
        One interval (seconds) per epoch after the first, in order.
    """
    if not callable(getattr(estimator, "log", None)):
        raise TypeError(
            f"estimator must log its epochs through a log(**values) method, got "
            f"{type(estimator).__name__}"
        )
    device = getattr(estimator, "device", None)
    if not isinstance(device, (str, torch.device)) or str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    stamps: list[float] = []
    log = estimator.log

    def stamped_log(**values: float) -> None:
        log(**values)
        if key in values:
            synchronize(device)
            stamps.append(time.perf_counter())

    own = vars(estimator).get("log")  # an instance attribute shadows the method
    estimator.log = stamped_log
    try:
        estimator.fit(data)
    finally:
        if own is None:
            del estimator.log
        else:
            estimator.log = own
    return [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]


__all__ = ["PeakMemory", "epoch_times", "synchronize", "time_calls"]
