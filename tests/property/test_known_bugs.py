"""The small cases of known_bugs.py: strict xfails while a bug is open, plain regression
tests once it is fixed."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch_geometric.data import Data

from tests.estimators import tiny_estimator
from tests.property.cases import Hang, hang_guard


def test_dag_finishes_on_a_star_graph() -> None:
    """Was known bug "dag-hub-hangs" (issue 24): PyG's negative sampler drew again
    forever for the hub, which has no non-neighbour."""
    n = 10
    hub = torch.zeros(n - 1, dtype=torch.long)
    leaves = torch.arange(1, n)
    edge_index = torch.cat([torch.stack([hub, leaves]), torch.stack([leaves, hub])], dim=1)
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(0))
    estimator = tiny_estimator("dag")
    try:
        with hang_guard("dag.fit (star)", seconds=8), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(Data(x=x, edge_index=edge_index))
    except Hang as hang:
        pytest.fail(str(hang))
    assert estimator.labels_.shape == (n,)
