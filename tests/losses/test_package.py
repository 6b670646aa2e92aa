"""graphclust.losses exports every loss; graphclust.assign re-exports the same objects;
neither import order creates a cycle."""

from __future__ import annotations

import subprocess
import sys

import pytest

import graphclust.assign
import graphclust.losses

ASSIGN_REEXPORTS = [
    "kl_clustering_loss",
    "multilabel_cluster_loss",
    "positive_centres",
    "prototype_uniformity_loss",
    "sample_negatives",
    "swapped_prediction_loss",
    "symmetric_prediction_loss",
]


def test_every_exported_loss_is_defined_in_a_loss_module() -> None:
    for name in graphclust.losses.__all__:
        obj = getattr(graphclust.losses, name)
        assert obj.__module__.startswith("graphclust.losses."), name


@pytest.mark.parametrize("name", ASSIGN_REEXPORTS)
def test_assign_reexports_the_loss_itself(name: str) -> None:
    assert name in graphclust.assign.__all__
    assert getattr(graphclust.assign, name) is getattr(graphclust.losses, name)


@pytest.mark.parametrize(
    "first", ["graphclust", "graphclust.losses", "graphclust.assign", "graphclust.assign.targets"]
)
def test_fresh_interpreter_imports_without_a_cycle(first: str) -> None:
    code = (
        f"import {first}; import graphclust.losses as l; import graphclust.assign as a; "
        "assert a.kl_clustering_loss is l.kl_clustering_loss"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
