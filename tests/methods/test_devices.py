"""Every registered method on every available device (the ``device`` fixture: CPU,
and CUDA where a GPU is present): the fitted-attribute contract holds, outputs come
back on the host. (Fits at tiny settings: agreement between devices is not asserted,
GPU kernels are not bit-for-bit those of the CPU.)"""

from __future__ import annotations

import warnings

import pytest
import torch

from graphclust.methods import METHODS
from tests.estimators import IMAGE_ONLY, check_partition, tiny_estimator
from tests.property.graphs import comfortable_graph

GRAPH_METHODS = [name for name in METHODS.names() if name not in IMAGE_ONLY]


def _fit(name: str, data, device: str, n_clusters: int | None):
    model = tiny_estimator(name, n_clusters=n_clusters, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(data)


@pytest.mark.parametrize("name", GRAPH_METHODS)
def test_graph_method_fits_on_the_device(name: str, device: str) -> None:
    case = comfortable_graph(24, 2, seed=0)
    k = None if METHODS.get(name).k_free else 2
    model = _fit(name, case.data, device, k)
    check_partition(model, case.n, None if k is None else 2)
    assert model.labels_.device.type == "cpu"
    for attribute in ("soft_assignments_", "embeddings_"):
        value = getattr(model, attribute)
        assert value is None or value.device.type == "cpu", attribute


@pytest.mark.parametrize("name", sorted(IMAGE_ONLY))
def test_image_method_fits_on_the_device(name: str, device: str) -> None:
    gen = torch.Generator().manual_seed(0)
    shape = (16, 1, 8, 8) if name == "swav" else (8, 4, 1, 8, 8)  # images / clips
    inputs = torch.rand(shape, generator=gen)
    model = _fit(name, inputs, device, 2)
    check_partition(model, shape[0], 2)
    assert model.labels_.device.type == "cpu"


def _tensors(inputs) -> dict:
    return {"inputs": inputs} if isinstance(inputs, torch.Tensor) else dict(inputs.items())


@pytest.mark.parametrize("name", GRAPH_METHODS + sorted(IMAGE_ONLY))
def test_fit_leaves_the_callers_input_untouched(name: str) -> None:
    # check_graph hands a clean graph's own tensors to the method (no copy): a method
    # that normalised features or sorted edges in place would corrupt the caller's data
    if name in IMAGE_ONLY:
        shape = (16, 1, 8, 8) if name == "swav" else (8, 4, 1, 8, 8)
        inputs = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        k = 2
    else:
        inputs = comfortable_graph(24, 2, seed=0).data
        k = None if METHODS.get(name).k_free else 2
    before = {key: value.clone() for key, value in _tensors(inputs).items()}
    _fit(name, inputs, "cpu", k)
    after = _tensors(inputs)  # also catches attributes replaced or added on the Data
    assert after.keys() == before.keys(), f"{name} added or removed attributes"
    for key, value in before.items():
        assert torch.equal(after[key], value), f"{name} changed the caller's {key} in place"
