"""experiments/dag/k_diagnosis.py reproduces DAG's own K rule and keeps the right
embeddings: its per-K scores are those of kmeans_k_search, and the kept checkpoint's
embeddings are the ones DAG returns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "dag"))
from k_diagnosis import RULES, KeepingDAG, scores_over_k  # noqa: E402

from graphclust.methods.ksearch import kmeans_k_search  # noqa: E402


def _graph() -> Data:
    torch.manual_seed(0)
    probs = torch.full((3, 3), 0.02)
    probs.fill_diagonal_(0.3)
    edge_index = to_undirected(stochastic_blockmodel_graph([30, 30, 30], probs))
    y = torch.arange(3).repeat_interleave(30)
    gen = torch.Generator().manual_seed(0)
    x = 2.0 * torch.randn(3, 12, generator=gen)[y] + torch.randn(90, 12, generator=gen)
    return Data(x=x, edge_index=edge_index, y=y)


def test_dags_rule_matches_the_k_search() -> None:
    data = _graph()
    h = torch.randn(90, 6, generator=torch.Generator().manual_seed(1)) + data.x[:, :6]
    rows = scores_over_k(h, data, k_max=6, seed=0)
    search = kmeans_k_search(h, data.edge_index, range(2, 7), seed=0)
    rule = RULES["Q x CH(H) (DAG's k-means read-out)"]
    for row in rows:
        assert rule(row) == pytest.approx(search.scores[row["k"]], rel=1e-9)
        assert row["q"] == pytest.approx(search.modularity[row["k"]], rel=1e-9)
    assert max(rows, key=rule)["k"] == search.n_clusters
    assert all(0.0 <= row["nmi"] <= 1.0 and -1.0 <= row["ari"] <= 1.0 for row in rows)


def test_kept_embeddings_include_the_returned_checkpoint() -> None:
    data = _graph()
    model = KeepingDAG(hidden=16, heads=2, k_max=6, epochs=6, eval_every=2, seed=0,
                       detach_readout=True, k_readout="kmeans")  # fmt: skip
    model.fit(data)
    assert [epoch for epoch, _ in model.kept_] == [2, 4, 6]
    kept = dict(model.kept_)[model.selected_epoch_]
    torch.testing.assert_close(kept, model.embeddings_, rtol=0, atol=0)
