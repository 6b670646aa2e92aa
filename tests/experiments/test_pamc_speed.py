"""experiments/pamc/speed.py times a mini-batch epoch between synchronised end-of-epoch
stamps of one fit: never negative (a GPU run once reported -0.146 s when it subtracted
the times of two fits, the first paying the device warm-up), one interval per epoch
after the warm-up epoch, and together no longer than the fit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "pamc"))
speed = pytest.importorskip("speed", reason="experiments/pamc/speed.py needs psutil")

torch.set_num_threads(1)


def test_minibatch_epoch_times_are_positive_and_fit_inside_the_fit(monkeypatch) -> None:
    data = speed.sbm(240)
    fits: list[float] = []
    original = speed._EpochClock.fit

    def fit(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        fits.append(self.fit_time_)
        return out

    monkeypatch.setattr(speed._EpochClock, "fit", fit)
    row = speed.minibatch_epoch(data, batch_size=64, device=torch.device("cpu"), reps=3)
    assert row["epochs_timed"] == 3  # reps + 1 epochs, the first one the warm-up
    assert row["s"] > 0.0
    # three timed epochs fit inside the one fit, which also pays k-means and the warm-up
    assert 3 * row["s"] <= fits[0]
    assert row["peak_mb"] >= 0.0


def test_epoch_clock_stamps_once_per_epoch_and_never_goes_back() -> None:
    model = speed._EpochClock(
        n_clusters=3, pretrain_epochs=0, epochs=4, batch_size=32, n_init=1, device="cpu"
    )
    model.stamps = []
    model.fit(speed.sbm(120))
    assert len(model.stamps) == 4 == len(model.history_["loss"])
    assert all(b >= a for a, b in zip(model.stamps[:-1], model.stamps[1:], strict=True))
