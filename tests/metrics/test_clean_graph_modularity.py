"""clean_graph_modularity against modularity on validated graphs."""

from __future__ import annotations

import pytest
import torch

from graphclust.data import check_graph
from graphclust.data.synthetic import load_sbm
from graphclust.metrics import graph as graph_metrics
from graphclust.metrics import modularity


@pytest.mark.parametrize("scan_edges", [7, 1 << 20])
def test_equals_modularity_on_a_validated_graph(monkeypatch, scan_edges):
    monkeypatch.setattr(graph_metrics, "_SCAN_EDGES", scan_edges)  # chunk borders inside
    sbm = load_sbm(60, 3, p_in=0.2, p_out=0.02, feature_dim=2, seed=4)
    edges = check_graph(sbm).edge_index
    generator = torch.Generator().manual_seed(0)
    candidates = [sbm.y, torch.randint(5, 9, (60,), generator=generator), torch.zeros(60).long()]
    for labels in candidates:
        expected = modularity(edges, labels, num_nodes=60)
        assert graph_metrics.clean_graph_modularity(edges, labels) == expected
    assert graph_metrics.clean_graph_modularity(edges, sbm.y) > 0.3  # planted blocks


def test_a_graph_without_edges_is_refused():
    with pytest.raises(ValueError, match="undefined on a graph without edges"):
        graph_metrics.clean_graph_modularity(torch.empty(2, 0, dtype=torch.long), [0, 1])
