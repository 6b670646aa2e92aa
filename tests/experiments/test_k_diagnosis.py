"""experiments/dag/k_diagnosis.py reproduces DAG's own K rule and keeps the right
embeddings: its per-K scores are those of kmeans_k_search, and the kept checkpoint's
embeddings are the ones DAG returns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "dag"))
from k_diagnosis import RULES, KeepingDAG, propagate, scores_over_k, summary  # noqa: E402

from graphclust.assign import fit_kmeans  # noqa: E402
from graphclust.methods.ksearch import kmeans_k_search  # noqa: E402
from graphclust.metrics import edge_score  # noqa: E402
from graphclust.nn.readout import gcn_adjacency  # noqa: E402


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
    space, rule = RULES["Q x CH(H) (DAG's k-means read-out)"]
    assert space == "per_k"
    for row in rows:
        assert rule(row) == pytest.approx(search.scores[row["k"]], rel=1e-9)
        assert row["q"] == pytest.approx(search.modularity[row["k"]], rel=1e-9)
    assert max(rows, key=rule)["k"] == search.n_clusters
    assert all(0.0 <= row["nmi"] <= 1.0 and -1.0 <= row["ari"] <= 1.0 for row in rows)
    for row in rows:  # EDGE of each partition, with the one-cluster score of the graph
        labels = fit_kmeans(h.double(), row["k"], n_init=5, seed=0, backend="sklearn").labels
        assert row["edge"] == edge_score(labels, edge_index=data.edge_index, y=data.y).edge
    assert {row["edge_trivial"] for row in rows} == {
        edge_score(torch.zeros(90, dtype=torch.long), edge_index=data.edge_index, y=data.y).edge
    }


def test_propagation_is_the_dense_gcn_operator_twice() -> None:
    data = _graph()
    h = torch.randn(90, 5, generator=torch.Generator().manual_seed(2))
    dense = torch.zeros(90, 90)
    dense[data.edge_index[0], data.edge_index[1]] = 1.0
    dense += torch.eye(90)
    d = dense.sum(1).rsqrt()
    a_hat = d[:, None] * dense * d[None, :]
    torch.testing.assert_close(
        propagate(h, gcn_adjacency(data.edge_index, 90)), a_hat @ (a_hat @ h)
    )


def test_summary_tables_every_rule_on_records_of_both_spaces(tmp_path: Path) -> None:
    data = _graph()
    h = data.x[:, :6]
    record = {
        "dataset": "toy",
        "settings": "reduced",
        "true_k": 3,
        "seed": 0,
        "epoch": 2,
        "selected": True,
        "per_k": scores_over_k(h, data, k_max=6, seed=0),
        "per_k_smoothed": scores_over_k(
            propagate(h, gcn_adjacency(data.edge_index, 90)), data, k_max=6, seed=0
        ),
        "params": {"hidden": 16, "heads": 2, "epochs": 2, "k_max": 6},
        "context": {
            "date": "2026-11-29T00:00:00Z",
            "versions": {"torch": torch.__version__},
            "machine": {"cpu_count": 2, "torch_threads": 1},
        },
    }
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(record) + "\n")
    text = "\n".join(summary(path))
    for name in RULES:
        assert f"| {name} |" in text
    assert "EDGE - trivial" in text and "ARI at its K" in text
    assert "k-means of A_hat^2 H at the true K" in text


def test_kept_embeddings_include_the_returned_checkpoint() -> None:
    data = _graph()
    model = KeepingDAG(hidden=16, heads=2, k_max=6, epochs=6, eval_every=2, seed=0,
                       detach_readout=True, k_readout="kmeans")  # fmt: skip
    model.fit(data)
    assert [epoch for epoch, _ in model.kept_] == [2, 4, 6]
    kept = dict(model.kept_)[model.selected_epoch_]
    torch.testing.assert_close(kept, model.embeddings_, rtol=0, atol=0)
