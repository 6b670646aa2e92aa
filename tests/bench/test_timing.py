"""graphclust.bench.timing: epoch times between synchronised end-of-epoch stamps of one
fit (never negative: a GPU run once reported -0.146 s when it subtracted the times of
two fits, the first paying the device warm-up), medians of timed calls, and peak memory
growth."""

from __future__ import annotations

import time
import warnings

import pytest
import torch

from graphclust.bench.memory import peak_is_per_run
from graphclust.bench.timing import PeakMemory, epoch_times, time_calls
from graphclust.data import load_dataset
from graphclust.methods import PamC


class _Sleeper:
    """Epochs of known length: epoch i sleeps ``seconds[i]``, then logs its loss (and a
    value of another key in the middle, which must not stamp)."""

    def __init__(self, seconds: list[float]) -> None:
        self.seconds = seconds
        self.logged: list[dict] = []

    def log(self, **values: float) -> None:
        self.logged.append(values)

    def fit(self, data: object) -> _Sleeper:
        for s in self.seconds:
            time.sleep(s / 2)
            self.log(grad_norm=1.0)
            time.sleep(s / 2)
            self.log(loss=1.0)
        return self


def test_epoch_times_are_the_epochs_after_the_first() -> None:
    seconds = [0.3, 0.05, 0.15, 0.1]
    model = _Sleeper(seconds)
    times = epoch_times(model, None)
    assert len(times) == 3
    for got, slept in zip(times, seconds[1:], strict=True):
        assert slept <= got < slept + 0.25  # sleep never returns early; a loaded host is late
    assert len(model.logged) == 8  # the wrapped log still logs
    assert "log" not in vars(model)  # the method is back after the fit


def test_pamc_minibatch_epochs_fit_inside_the_fit() -> None:
    torch.set_num_threads(1)
    data = load_dataset("sbm", n_nodes=240, n_clusters=3, p_in=0.1, p_out=0.01, feature_dim=16)
    model = PamC(n_clusters=3, pretrain_epochs=0, epochs=4, batch_size=64, n_init=1, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        times = epoch_times(model, data)
    assert len(times) == 3 == len(model.history_["loss"]) - 1
    assert all(t >= 0.0 for t in times)
    # the timed epochs fit inside the fit, which also pays k-means and the first epoch
    assert sum(times) <= model.fit_time_


def test_time_calls_warms_up_once_and_takes_the_median() -> None:
    calls: list[float] = []
    lengths = iter([0.0, 0.2, 0.02, 0.04])  # the warm-up, then three timed calls

    def fn() -> None:
        calls.append(1.0)
        time.sleep(next(lengths))

    seconds, peak = time_calls(fn, 3)
    assert len(calls) == 4
    assert 0.04 <= seconds < 0.2  # the median of 0.2, 0.02, 0.04 (plus the host's delay)
    assert peak >= 0.0
    with pytest.raises(ValueError, match="reps"):
        time_calls(fn, 0)


@pytest.mark.skipif(not peak_is_per_run(), reason="the peak RSS cannot be reset here")
def test_peak_memory_counts_what_the_window_allocates() -> None:
    with PeakMemory("cpu") as window:
        block = torch.ones(25_000_000)  # 100 MB, written, so resident
        del block
    assert 80.0 < window.growth_mb < 400.0
    with PeakMemory("cpu") as idle:
        pass
    assert idle.growth_mb < 50.0
