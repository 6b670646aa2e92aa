"""Device resolution: ``"auto"``, ``$GRAPHCLUST_DEVICE`` and clear errors."""

from __future__ import annotations

import pytest
import torch

from graphclust.utils.device import DEVICE_ENV, resolve_device


def test_the_suite_pins_auto_to_the_cpu() -> None:
    # conftest sets $GRAPHCLUST_DEVICE=cpu so that no test moves to a GPU by accident
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_without_the_variable_picks_cuda_when_available(monkeypatch) -> None:
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    monkeypatch.setenv(DEVICE_ENV, "auto")
    assert resolve_device("auto").type == expected


def test_an_explicit_device_overrides_the_variable(monkeypatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_a_bad_variable_is_named_in_the_error(monkeypatch) -> None:
    monkeypatch.setenv(DEVICE_ENV, "tpu-please")
    with pytest.raises(ValueError, match=r"'tpu-please' \(from \$GRAPHCLUST_DEVICE\)"):
        resolve_device("auto")


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only machine's error")
def test_cuda_on_a_cpu_machine_says_so(monkeypatch) -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    monkeypatch.setenv(DEVICE_ENV, "cuda:0")
    with pytest.raises(ValueError, match="'cuda:0' was requested but CUDA is not available"):
        resolve_device("auto")
