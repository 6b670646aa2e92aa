import pytest

from graphclust.methods import METHODS, KMeans
from graphclust.registry import Registry


def test_lookup_is_case_and_separator_insensitive() -> None:
    assert METHODS.get("KMeans") is KMeans
    reg: Registry[int] = Registry("thing")
    reg.register("mnist_test", 1)
    assert reg.get("MNIST-test") == 1 and "mnist-test" in reg


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="known methods: .*kmeans"):
        METHODS.get("kmeanz")


def test_double_registration_is_refused() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("A", 2)
