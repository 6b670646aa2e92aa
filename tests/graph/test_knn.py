"""knn_graph against scikit-learn's exact NearestNeighbors and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from graphclust.graph import knn_graph
from tests.markers import requires_cuda


def _sklearn_knn(x: torch.Tensor, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    points = x.double().numpy()
    dist, idx = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(points).kneighbors(points)
    return idx[:, 1:], dist[:, 1:]  # continuous random data: column 0 is the point itself


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("chunk_size", [None, 1, 17])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_directed_knn_equals_sklearn(metric: str, chunk_size, dtype) -> None:
    torch.manual_seed(0)
    x = torch.randn(203, 6, dtype=dtype)
    k = 7
    edge_index, dist = knn_graph(
        x, k, metric=metric, chunk_size=chunk_size, symmetric=False, return_distances=True
    )
    ref_idx, ref_dist = _sklearn_knn(x, k, metric)
    assert edge_index.shape == (2, 203 * k)
    assert torch.equal(edge_index[0], torch.arange(203).repeat_interleave(k))
    assert np.array_equal(edge_index[1].view(203, k).numpy(), ref_idx)  # nearest first
    tol = 1e-10 if dtype == torch.float64 else 2e-5
    np.testing.assert_allclose(dist.view(203, k).double().numpy(), ref_dist, atol=tol)


def _reference_pairs(x: torch.Tensor, k: int, metric: str) -> set[tuple[int, int]]:
    idx, _ = _sklearn_knn(x, k, metric)
    return {(i, int(j)) for i in range(len(idx)) for j in idx[i]}


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_symmetric_and_mutual_variants(metric: str) -> None:
    torch.manual_seed(1)
    x = torch.randn(150, 4, dtype=torch.float64)
    directed = _reference_pairs(x, 5, metric)
    union = directed | {(j, i) for i, j in directed}
    mutual = {(i, j) for i, j in directed if (j, i) in directed}
    assert mutual and mutual != union  # the example separates the two variants
    sym = knn_graph(x, 5, metric=metric)
    assert set(map(tuple, sym.t().tolist())) == union
    assert sym.size(1) == len(union)  # coalesced: no duplicates
    mut = knn_graph(x, 5, metric=metric, mutual=True, chunk_size=11)
    assert set(map(tuple, mut.t().tolist())) == mutual


def test_hand_worked_line() -> None:
    # Points on a line at 0, 1, 3, 7: nearest neighbours 1, 0, 1, 3 (by index).
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    directed, dist = knn_graph(x, 1, metric="euclidean", symmetric=False, return_distances=True)
    assert directed.tolist() == [[0, 1, 2, 3], [1, 0, 1, 2]]
    assert dist.tolist() == [1.0, 1.0, 2.0, 4.0]
    sym, sym_dist = knn_graph(x, 1, metric="euclidean", return_distances=True)
    assert sym.tolist() == [[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]
    assert sym_dist.tolist() == [1.0, 1.0, 2.0, 2.0, 4.0, 4.0]
    assert knn_graph(x, 1, metric="euclidean", mutual=True).tolist() == [[0, 1], [1, 0]]


def test_cosine_ignores_scale_and_handles_zero_rows() -> None:
    x = torch.tensor([[1.0, 0.0], [10.0, 0.5], [0.0, 1.0], [0.0, 0.0]])
    edge_index, dist = knn_graph(x, 1, symmetric=False, return_distances=True)
    assert edge_index[1, :3].tolist() == [1, 0, 1]
    assert torch.isfinite(dist).all() and float(dist[3]) == pytest.approx(1.0)


def test_input_validation() -> None:
    x = torch.randn(5, 2)
    with pytest.raises(ValueError, match="k must be below N"):
        knn_graph(x, 5)
    with pytest.raises(ValueError, match="k >= 1"):
        knn_graph(x, 0)
    with pytest.raises(TypeError, match="k must be an integer"):
        knn_graph(x, 2.0)
    with pytest.raises(TypeError, match="floating point"):
        knn_graph(torch.ones(5, 2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match=r"shape \[N, D\]"):
        knn_graph(torch.randn(5), 2)
    with pytest.raises(ValueError, match="metric"):
        knn_graph(x, 2, metric="manhattan")
    with pytest.raises(ValueError, match="backend"):
        knn_graph(x, 2, backend="annoy")
    with pytest.raises(ValueError, match="NaN"):
        knn_graph(torch.tensor([[0.0], [float("nan")], [1.0]]), 1)


def test_faiss_backend_matches_torch_or_says_how_to_install() -> None:
    x = torch.randn(120, 5)
    try:
        import faiss  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install faiss-cpu"):
            knn_graph(x, 3, backend="faiss")
        return
    for metric in ("cosine", "euclidean"):
        ref, ref_dist = knn_graph(x, 3, metric=metric, symmetric=False, return_distances=True)
        got, dist = knn_graph(
            x, 3, metric=metric, backend="faiss", symmetric=False, return_distances=True
        )
        assert torch.equal(got, ref)
        torch.testing.assert_close(dist, ref_dist, atol=1e-4, rtol=1e-4)


@requires_cuda
def test_runs_on_the_device_of_x() -> None:
    x = torch.randn(300, 8)
    ref = knn_graph(x, 4, metric="euclidean")
    got = knn_graph(x.cuda(), 4, metric="euclidean", chunk_size=64)
    assert got.device.type == "cuda" and torch.equal(got.cpu(), ref)


def _faiss_or_skip() -> None:
    pytest.importorskip("faiss", reason="faiss is an optional extra (pip install faiss-cpu)")


def test_auto_backend_choice_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphclust.graph import knn as knn_module

    big = torch.empty(knn_module.FAISS_MIN_N, knn_module.FAISS_MIN_D)
    monkeypatch.setattr(knn_module, "faiss_available", lambda: True)
    assert knn_module.resolve_backend(big, 10, "auto") == "faiss"
    assert knn_module.resolve_backend(big, 10, "torch") == "torch"  # explicit names win
    # Too few points or dimensions, or a dtype faiss would round: the torch path.
    assert knn_module.resolve_backend(big[:-1], 10, "auto") == "torch"
    assert knn_module.resolve_backend(big[:, :-1], 10, "auto") == "torch"
    assert knn_module.resolve_backend(big.double(), 10, "auto") == "torch"
    monkeypatch.setattr(knn_module, "faiss_available", lambda: False)
    assert knn_module.resolve_backend(big, 10, "auto") == "torch"


def test_auto_runs_faiss_when_large_and_matches_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    _faiss_or_skip()
    from graphclust.graph import knn as knn_module

    calls = []
    real = knn_module._topk_faiss

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    # Shrink the size threshold so a small input counts as "large".
    monkeypatch.setattr(knn_module, "FAISS_MIN_N", 100)
    monkeypatch.setattr(knn_module, "FAISS_MIN_D", 4)
    monkeypatch.setattr(knn_module, "_topk_faiss", spy)
    torch.manual_seed(3)
    x = torch.randn(160, 6)
    got = knn_graph(x, 4, symmetric=False)
    assert calls == [(160, 6)]
    assert torch.equal(got, knn_graph(x, 4, symmetric=False, backend="torch"))
    knn_graph(x[:99], 4)  # below the threshold: the torch path
    assert len(calls) == 1


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("variant", ["directed", "symmetric", "mutual"])
def test_backends_agree_on_small_inputs(metric: str, variant: str) -> None:
    _faiss_or_skip()
    torch.manual_seed(4)
    x = torch.randn(230, 12)
    kwargs = {
        "directed": {"symmetric": False},
        "symmetric": {},
        "mutual": {"mutual": True},
    }[variant]
    ref_idx, _ = _sklearn_knn(x, 6, metric)  # float64 reference
    results = {}
    for backend, chunk in (("torch", None), ("torch", 7), ("faiss", None)):
        edges, dist = knn_graph(
            x, 6, metric=metric, backend=backend, chunk_size=chunk, return_distances=True, **kwargs
        )
        results[(backend, chunk)] = (edges, dist)
    edges, dist = results[("torch", None)]
    if variant == "directed":
        assert np.array_equal(edges[1].view(230, 6).numpy(), ref_idx)
    for other_edges, other_dist in results.values():
        assert torch.equal(other_edges, edges)
        torch.testing.assert_close(other_dist, dist, atol=1e-5, rtol=1e-5)
