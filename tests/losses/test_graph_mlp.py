"""The dense Graph-MLP loss against its formula written out with plain loops."""

from __future__ import annotations

import math

import pytest

from graphclust.graph.adjacency import influence_matrix
from graphclust.losses import graph_mlp_loss
from tests.losses.test_pamc import N, _cos, _dense_s, _graph, _inputs


def test_graph_mlp_loss_matches_dense_formula():
    z, _ = _inputs(9)
    s = influence_matrix(_graph(), N, 2)
    dense, zn = _dense_s(2), z.numpy()
    expected = 0.0
    for i in range(N):
        num = sum(dense[i, j] * math.exp(1.5 * _cos(zn[i], zn[j])) for j in range(N))
        den = sum(math.exp(1.5 * _cos(zn[i], zn[j])) for j in range(N))
        expected -= math.log(num / den) / N
    assert float(graph_mlp_loss(z, s, tau=1.5)) == pytest.approx(expected, rel=1e-6)
