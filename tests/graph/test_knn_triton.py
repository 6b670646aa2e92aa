"""The Triton kNN kernel against the plain torch path.

The kernel tests run compiled on a CUDA device, or in Triton's CPU interpreter when
``TRITON_INTERPRET=1`` was set before triton was imported. In a plain CPU session
(torch_geometric imports triton early, so the interpreter cannot be switched on
in-process), ``test_kernel_in_the_interpreter`` reruns this file in a subprocess with
``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from graphclust.graph import knn_graph
from graphclust.graph import knn_triton as kt
from graphclust.graph.knn import _topk_torch, resolve_backend

needs_triton = pytest.mark.skipif(
    not kt.triton_available(), reason="triton is not installed (pip install triton)"
)
runs_kernel = pytest.mark.skipif(
    not kt.triton_available() or not (kt.interpreting() or torch.cuda.is_available()),
    reason="needs triton with a CUDA device or TRITON_INTERPRET=1 "
    "(test_kernel_in_the_interpreter runs these in a subprocess)",
)
DEVICE = "cuda" if torch.cuda.is_available() and not kt.interpreting() else "cpu"


def _points(n: int, d: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen).to(DEVICE)


@runs_kernel
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize(("n", "d"), [(83, 8), (70, 150)])  # N % 16 != 0; d > 128: chunks
def test_kernel_equals_plain_path(metric: str, n: int, d: int) -> None:
    x = _points(n, d)
    k = 7
    got, got_dist = knn_graph(
        x, k, metric=metric, backend="triton", symmetric=False, return_distances=True
    )
    ref, ref_dist = knn_graph(x, k, metric=metric, symmetric=False, return_distances=True)
    assert torch.equal(got, ref)  # same neighbours, nearest first, self excluded
    torch.testing.assert_close(got_dist, ref_dist, atol=1e-5, rtol=1e-5)


@runs_kernel
def test_largest_k_and_all_other_points() -> None:
    x = _points(40, 5, seed=1)
    idx, dist = kt.topk_triton(x, kt.MAX_K, "euclidean")
    ref_idx, ref_dist = _topk_torch(x, kt.MAX_K, "euclidean", None)
    assert torch.equal(idx, ref_idx)
    # k = N - 1: every other point, each exactly once, never the point itself.
    small = x[:20]
    idx, _ = kt.topk_triton(small, 19, "cosine")
    rows = torch.arange(20, device=small.device)[:, None]
    assert not (idx == rows).any()
    assert torch.equal(idx.sort(dim=1).values.cpu(), _all_others(20))


def _all_others(n: int) -> torch.Tensor:
    full = torch.arange(n).repeat(n, 1)
    return full[~torch.eye(n, dtype=torch.bool)].view(n, n - 1)


@runs_kernel
def test_query_range_and_sixteen_bit_inputs() -> None:
    x = _points(75, 12, seed=2)
    full, full_dist = kt.topk_triton(x, 5, "euclidean")
    part, part_dist = kt.topk_triton(x, 5, "euclidean", queries=(17, 50))
    assert torch.equal(part, full[17:50])
    torch.testing.assert_close(part_dist, full_dist[17:50])
    for dtype in (torch.bfloat16, torch.float16):
        low = x.to(dtype)
        idx, dist = kt.topk_triton(low, 5, "euclidean")
        # Products of 16-bit numbers are exact in float32: the reference is float32
        # arithmetic on the rounded data (the plain path in 16 bits rounds scores, ties).
        ref_idx, ref_dist = _topk_torch(low.float(), 5, "euclidean", None)
        assert dist.dtype == dtype and torch.equal(idx, ref_idx)
        torch.testing.assert_close(dist.float(), ref_dist, atol=2e-2, rtol=1e-2)
        # Cosine rounds the normalised rows to 16 bits: distances agree to that rounding.
        dist = kt.topk_triton(low, 5, "cosine")[1]
        ref_dist = _topk_torch(low.float(), 5, "cosine", None)[1]
        torch.testing.assert_close(dist.float(), ref_dist, atol=2e-2, rtol=1e-2)


@runs_kernel
def test_duplicates_tie_only_among_equals_and_tf32_options() -> None:
    x = _points(30, 6, seed=3)
    x = torch.cat([x, x[:10]])  # points 30..39 duplicate 0..9: distance 0 ties
    idx, dist = kt.topk_triton(x, 4, "euclidean")
    ref_idx, ref_dist = _topk_torch(x, 4, "euclidean", None)
    rows = torch.arange(40, device=x.device)[:, None]
    assert not (idx == rows).any()
    assert torch.equal(idx[:10, 0].cpu(), torch.arange(30, 40))  # its twin comes first
    # sqrt(|q|^2 + |d|^2 - 2 q.d) of twins is sqrt(rounding error): about 1e-3, not 0.
    torch.testing.assert_close(dist, ref_dist, atol=2e-3, rtol=1e-5)
    for precision in ("tf32x3", "tf32"):
        got = kt.topk_triton(x, 4, "euclidean", precision=precision)[1]
        # TF32 rounds |q|^2 + |d|^2 - 2 q.d (about 20 here) at 2^-9: compare squares.
        torch.testing.assert_close(got**2, ref_dist**2, atol=0.1, rtol=1e-2)


@needs_triton
def test_kernel_in_the_interpreter() -> None:
    if kt.interpreting() or torch.cuda.is_available():
        pytest.skip("the kernel tests above run in this session")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
    cmd += [__file__, "-k", "not interpreter and not errors and not auto"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "skipped" not in summary, summary  # all ran, none skipped


def test_errors_say_what_to_do() -> None:
    x = torch.randn(50, 4)
    with pytest.raises(ValueError, match="k must be below N"):
        knn_graph(x, 50, backend="triton")
    with pytest.raises(ValueError, match="precision"):
        knn_graph(x, 3, backend="triton", precision="fp8")
    if not kt.triton_available():
        with pytest.raises(ImportError, match="pip install triton"):
            knn_graph(x, 3, backend="triton")
        return
    with pytest.raises(ValueError, match="k <= 32.*backend='torch'"):
        knn_graph(x, 33, backend="triton")
    with pytest.raises(TypeError, match="backend='torch'"):
        knn_graph(x.double(), 3, backend="triton")
    if not kt.interpreting():
        with pytest.raises(ValueError, match="CUDA device.*TRITON_INTERPRET"):
            knn_graph(x, 3, backend="triton")


def test_auto_backend_choice() -> None:
    x = torch.randn(50, 4)
    assert resolve_backend(x, 5, "auto") == "torch"  # CPU: the plain path
    assert resolve_backend(x, 5, "faiss") == "faiss"
    assert torch.equal(knn_graph(x, 5, backend="auto"), knn_graph(x, 5))
    if torch.cuda.is_available():
        gpu = x.cuda()
        expected = "triton" if kt.triton_available() else "torch"
        assert resolve_backend(gpu, 5, "auto") == expected
        assert resolve_backend(gpu, 40, "auto") == "torch"  # k above the kernel's limit
        assert resolve_backend(gpu.double(), 5, "auto") == "torch"


def _honest_candidates(x, k, metric, precision, queries, prepared):
    """Stand-in for the kernel: exact float32 candidates from the torch path."""
    base, sq_norms = prepared
    start, stop = queries
    score = base[start:stop] @ base.T
    if metric == "euclidean":
        score = 2 * score - sq_norms[None, :]
    rows = torch.arange(stop - start)
    score[rows, rows + start] = -torch.inf
    top, idx = score.topk(k, dim=1)
    return idx, top


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_mode_reranks_and_redoes_uncertified_rows(monkeypatch, metric: str) -> None:
    # No triton needed: the kernel's candidate pass is replaced by exact candidates
    # whose scores, on even rows, are too optimistic as a bad TF32 pass could make
    # them: the certificate must fail there, and only there, and those rows be redone.
    import graphclust.graph.knn as knn_module

    x = torch.randn(120, 6, generator=torch.Generator().manual_seed(4))
    redone = []

    def optimistic(x, k, metric, precision, queries, prepared):
        idx, top = _honest_candidates(x, k, metric, precision, queries, prepared)
        top[::2] += 100.0
        # The redo must not reuse these candidates: scramble the even rows' order.
        idx[::2] = idx[::2].flip(1)
        return idx, top

    exact_rows = knn_module._exact_rows

    def counting(base, sq_norms, rows, k, metric):
        redone.append(rows.clone())
        return exact_rows(base, sq_norms, rows, k, metric)

    monkeypatch.setattr(kt, "check_triton_inputs", lambda x, k, precision: None)  # CPU
    monkeypatch.setattr(kt, "candidates", optimistic)
    monkeypatch.setattr(knn_module, "_exact_rows", counting)
    idx, dist = knn_module._topk_triton(x, 5, metric, "exact")
    ref_idx, ref_dist = _topk_torch(x, 5, metric, None)
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(dist, ref_dist, atol=1e-5, rtol=1e-5)
    assert torch.equal(torch.cat(redone), torch.arange(0, 120, 2))  # exactly the bad rows

    redone.clear()
    monkeypatch.setattr(kt, "candidates", _honest_candidates)
    idx, _ = knn_module._topk_triton(x, 5, metric, "exact", queries=(30, 90))
    assert torch.equal(idx, ref_idx[30:90])
    assert not redone  # honest candidates with clear gaps are all certified
