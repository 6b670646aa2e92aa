"""Every registered estimator, on drawn graphs (or images / clips): a correct partition
or a clear error; invalid input always refused, comfortable input always clustered; the
same seed gives the same labels; an unavailable device is refused by name."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphclust.methods import METHODS
from tests.estimators import IMAGE_ONLY, check_partition, tiny_estimator
from tests.property.cases import attempt
from tests.property.graphs import comfortable_graph, comfortable_graphs, graph_cases, image_cases
from tests.property.profiles import examples

GRAPH_METHODS = [name for name in METHODS.names() if name not in IMAGE_ONLY]
#: Examples per method in the ci profile: the slower fits get fewer.
BUDGET = {"dag": 12, "depict": 12, "swav": 10, "sigma": 10}


def _estimator(name: str, n_clusters):
    """The tiny estimator; ``n_clusters`` set even when it is a bad value."""
    if METHODS.get(name).k_free:
        return tiny_estimator(name, n_clusters=None)
    return tiny_estimator(name, n_clusters=n_clusters)


def _fit(name: str, case) -> None:
    estimator = _estimator(name, case.n_clusters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = attempt(f"{name}.fit", estimator.fit, case.data)
    k_applies = not METHODS.get(name).k_free
    defects = case.defects + ([case.k_defect] if k_applies and case.k_defect else [])
    if defects:
        assert not outcome.ok, f"{name} returned a result for invalid input: {defects}"
        return
    if case.comfortable:
        assert outcome.ok, f"{name} refused a comfortable graph: {outcome.error}"
    if outcome.ok:
        check_partition(estimator, case.n, None if not k_applies else case.n_clusters)


@pytest.mark.parametrize("name", GRAPH_METHODS)
def test_fit_ends_in_a_partition_or_a_clear_error(name: str) -> None:
    @settings(max_examples=examples(BUDGET.get(name, 20)))
    @given(case=graph_cases())
    def prop(case) -> None:
        _fit(name, case)

    prop()


def _one_spatial_position(estimator, case) -> bool:
    """SIGMA's tube as wide as the drawn frame: nothing to mask (a parameter mismatch,
    refused naming tube_size)."""
    side = torch.as_tensor(case.data).shape[-1]
    return getattr(estimator, "tube_size", (0, 0))[1] == side


@pytest.mark.parametrize("name", ["swav", "sigma"])
def test_image_methods_end_in_a_partition_or_a_clear_error(name: str) -> None:
    @settings(max_examples=examples(BUDGET[name]))
    @given(case=image_cases(clips=name == "sigma"))
    def prop(case) -> None:
        estimator = tiny_estimator(name, n_clusters=case.n_clusters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = attempt(f"{name}.fit", estimator.fit, case.data)
        if case.defects:
            assert not outcome.ok, f"{name} returned a result for invalid input: {case.defects}"
            return
        if _one_spatial_position(estimator, case):
            assert not outcome.ok and "tube_size" in str(outcome.error), outcome
            return
        if case.comfortable:
            assert outcome.ok, f"{name} refused comfortable input: {outcome.error}"
        if outcome.ok:
            check_partition(estimator, len(case.data), case.n_clusters)

    prop()


@pytest.mark.parametrize("name", GRAPH_METHODS)
def test_the_same_seed_gives_the_same_labels(name: str) -> None:
    @settings(max_examples=examples(2))
    @given(case=comfortable_graphs(), seed=st.integers(0, 2**31 - 1))
    def prop(case, seed: int) -> None:
        runs = []
        for _ in range(2):
            estimator = _estimator(name, case.n_clusters).set_params(seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                runs.append(attempt(f"{name}.fit (seeded twice)", estimator.fit, case.data))
        assert runs[0].ok and runs[1].ok, runs
        assert torch.equal(runs[0].value.labels_, runs[1].value.labels_)

    prop()


@pytest.mark.parametrize("name", METHODS.names())
@pytest.mark.parametrize("device", ["cuda:7", "tpu", "gpu0"])
def test_an_unavailable_device_is_refused_by_name(name: str, device: str) -> None:
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    estimator = tiny_estimator(name, device=device, merge_k=3)  # SwAV: merge_k < N
    data = {"swav": torch.rand(16, 1, 4, 4), "sigma": torch.rand(8, 2, 1, 4, 4)}.get(name)
    if data is None:
        data = comfortable_graph(12, 2, 0).data
    outcome = attempt(f"{name}.fit (device)", estimator.fit, data)
    assert not outcome.ok
    assert "device" in str(outcome.error) or device in str(outcome.error)
