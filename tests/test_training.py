"""Training helpers: checkpoints round-trip every random stream and refuse other runs."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from graphclust.training import (
    Checkpointer,
    input_fingerprint,
    optimize,
    rng_state,
    set_rng_state,
)


def test_rng_state_round_trip() -> None:
    gen = torch.Generator().manual_seed(1)
    state = rng_state(gen)
    first = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=gen))
    set_rng_state(state, gen)
    again = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=gen))
    assert first[:3] == again[:3] and torch.equal(first[3], again[3])


def test_checkpoint_saves_when_due_and_restores(tmp_path) -> None:
    path = tmp_path / "run.pt"
    ckpt = Checkpointer(path, {"lr": 0.1, "progress": True}, every=2)
    layer = torch.nn.Linear(2, 2)
    assert not ckpt.maybe_save(1, 5, {"layer": layer}, {"loss": [1.0]})
    assert ckpt.maybe_save(2, 5, {"layer": layer}, {"loss": [1.0, 0.5]})
    assert ckpt.maybe_save(5, 5, {"layer": layer}, {"loss": [1.0] * 5})  # last epoch
    other = torch.nn.Linear(2, 2)
    # progress is a run-only parameter: a checkpoint written with it on resumes with it off
    epoch, history, _ = Checkpointer(path, {"lr": 0.1, "progress": False}).load({"layer": other})
    assert epoch == 5 and history == {"loss": [1.0] * 5}
    assert torch.equal(other.weight, layer.weight)
    assert not list(tmp_path.glob("*.tmp"))


def test_checkpoint_of_another_configuration_is_refused(tmp_path) -> None:
    path = tmp_path / "run.pt"
    layer = torch.nn.Linear(2, 2)
    Checkpointer(path, {"lr": 0.1}).maybe_save(1, 1, {"layer": layer}, {})
    with pytest.raises(ValueError, match=r"differs in \['lr'\]"):
        Checkpointer(path, {"lr": 0.2}).load({"layer": layer})


def test_parameter_added_after_the_checkpoint_matches_only_when_off(tmp_path) -> None:
    path = tmp_path / "run.pt"
    layer = torch.nn.Linear(2, 2)
    Checkpointer(path, {"lr": 0.1}).maybe_save(1, 1, {"layer": layer}, {})
    epoch, _, _ = Checkpointer(path, {"lr": 0.1, "relax": None}).load({"layer": layer})
    assert epoch == 1
    with pytest.raises(ValueError, match=r"differs in \['relax'\]"):
        Checkpointer(path, {"lr": 0.1, "relax": 0.5}).load({"layer": layer})
    with pytest.raises(ValueError, match=r"differs in \['lr'\]"):
        Checkpointer(path, {}).load({"layer": layer})  # a key the run no longer has


def test_read_out_settings_are_ignored_on_both_sides(tmp_path) -> None:
    # a run saved with one read-out (labels_from) resumes under another, including a
    # file written before the key was declared read-out-only; training keys still count
    path = tmp_path / "run.pt"
    layer = torch.nn.Linear(2, 2)
    Checkpointer(path, {"lr": 0.1, "labels_from": "kmeans"}).maybe_save(1, 1, {"layer": layer}, {})
    ignore = {"labels_from", "merge_k"}
    for config in ({"lr": 0.1, "labels_from": "merged", "merge_k": 5}, {"lr": 0.1}):
        assert Checkpointer(path, config, ignore=ignore).load({"layer": layer})[0] == 1
    with pytest.raises(ValueError, match=r"differs in \['lr'\]"):
        Checkpointer(path, {"lr": 0.2, "labels_from": "merged"}, ignore=ignore).load(
            {"layer": layer}
        )
    Checkpointer(path, {"lr": 0.1, "merge_k": 5}, ignore=ignore).maybe_save(
        2, 2, {"layer": layer}, {}
    )
    saved = torch.load(path, weights_only=False)["config"]
    assert saved == {"lr": 0.1}


def test_input_checksums_match_up_to_summation_order(tmp_path) -> None:
    # A float32 sum over millions of values differs in its last digits between thread
    # counts; the same data must still resume, other data must not.
    path = tmp_path / "run.pt"
    layer = torch.nn.Linear(2, 2)
    saved = {"shape": [10000, 784], "dtype": "torch.float32", "sum": 1038914.5, "sample": 1.2e6}
    Checkpointer(path, {"input": saved}).maybe_save(1, 1, {"layer": layer}, {})
    rounded = {**saved, "sum": 1038914.375}
    assert Checkpointer(path, {"input": rounded}).load({"layer": layer})[0] == 1
    for other in ({**saved, "sum": 1040000.0}, {**saved, "shape": [10000, 785]}):
        with pytest.raises(ValueError, match=r"differs in \['input'\]"):
            Checkpointer(path, {"input": other}).load({"layer": layer})


def test_disabled_checkpointer_does_nothing(tmp_path) -> None:
    ckpt = Checkpointer(None, {})
    assert ckpt.load({}) is None
    assert not ckpt.maybe_save(1, 1, {}, {})
    with pytest.raises(ValueError, match="checkpoint_every"):
        Checkpointer(None, {}, every=0)


def test_input_fingerprint_tells_inputs_apart() -> None:
    x = torch.rand(10, 3)
    y = x.clone()
    y[9, 2] += 0.5
    assert input_fingerprint(x) == input_fingerprint(x.clone())
    assert input_fingerprint(x) != input_fingerprint(y)


class _Loop:
    """Just the hyper-parameters and logging :func:`optimize` reads from an estimator."""

    epochs, warmup_epochs, checkpoint, checkpoint_every, progress = 3, 1, None, 1, False

    def __init__(self) -> None:
        self.history_: dict[str, list[float]] = {}

    def get_params(self) -> dict:
        return {"epochs": self.epochs}

    def log(self, **values: float) -> None:
        for key, value in values.items():
            self.history_.setdefault(key, []).append(value)


def test_optimize_follows_the_schedule_and_calls_the_hooks_in_order() -> None:
    """Reference: with loss = w (gradient 1) and plain SGD, each step moves w by -lr_t, so
    w ends at -lr * sum_t warmup_cosine(t), the factors written out by hand here."""
    w = torch.nn.Parameter(torch.zeros(()))
    net = torch.nn.Module()
    net.w = w
    batches = [0, 1]  # 2 steps per epoch, 6 in all, 2 of warm-up
    calls: list[tuple[str, int]] = []

    def step(epoch: int, batch: int) -> dict[str, torch.Tensor]:
        calls.append(("step", epoch * 2 + batch))
        return {"loss": 1.0 * w, "part": torch.tensor(float(batch))}

    est = _Loop()
    optimize(
        est,
        net,
        torch.optim.SGD(net.parameters(), lr=0.1),
        batches,
        step,
        torch.zeros(3),
        None,
        "test",
        before_update=lambda s: calls.append(("before", s)),
        after_update=lambda: calls.append(("after", -1)),
    )
    # warm-up (t + 1) / 2 for t < 2, then 0.5 (1 + cos(pi (t - 2) / 4)) for t = 2..5
    factors = [
        0.5,
        1.0,
        1.0,
        0.5 * (1 + math.cos(math.pi / 4)),
        0.5,
        0.5 * (1 + math.cos(3 * math.pi / 4)),
    ]
    assert float(w) == pytest.approx(-0.1 * sum(factors))
    assert calls[:6] == [
        ("step", 0),
        ("before", 0),
        ("after", -1),
        ("step", 1),
        ("before", 1),
        ("after", -1),
    ]
    assert [c for c in calls if c[0] == "before"] == [("before", s) for s in range(6)]
    assert est.history_["epoch"] == [0, 1, 2] and est.history_["part"] == [0.5, 0.5, 0.5]


def test_optimize_stops_on_a_non_finite_loss() -> None:
    w = torch.nn.Parameter(torch.zeros(()))
    net = torch.nn.Module()
    net.w = w
    with pytest.raises(FloatingPointError, match="test loss became NaN"):
        optimize(
            _Loop(),
            net,
            torch.optim.SGD(net.parameters(), lr=0.1),
            [0],
            lambda epoch, batch: {"loss": w * float("nan")},
            torch.zeros(3),
            None,
            "test",
        )
