"""Training helpers: checkpoints round-trip every random stream and refuse other runs."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from graphclust.training import Checkpointer, input_fingerprint, rng_state, set_rng_state


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
