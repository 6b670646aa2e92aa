"""Normalised adjacency and multi-hop influence matrices as sparse tensors.

``Ahat = D^-1 (A + I)`` (random walk, ``kind="rw"``) or ``D^-1/2 (A + I) D^-1/2``
(``kind="sym"``) is built once from ``edge_index``; the influence matrix
``S = sum_{r=1..R} Ahat^r`` of PamC and Graph-MLP is a sum of sparse-sparse products.
Everything is a ``torch.sparse_csr`` tensor on the device of ``edge_index``, so a row
batch of ``S`` is a slice of ``crow_indices`` (see :func:`sparse_rows`) and nothing
``N x N`` is ever dense.

Growth of ``nnz(S)``: row ``i`` of ``Ahat^r`` is non-zero exactly on the nodes within
``r`` hops of ``i``, so ``nnz(S) = nnz(Ahat^R)`` = the number of (node, node within R
hops) pairs, at most ``N (d_max + 1)^R`` and about ``N (d + 1)^R`` on a random graph of
mean degree ``d`` (less on clustered graphs, where neighbourhoods overlap). Measured:
a 1e6-node SBM of mean degree 10 has 1.1e7 entries at R=1 and ~1.2e8 at R=2 (~1.5 GB
in CSR with float32 values and int64 indices). :func:`influence_matrix` bounds the next
product's ``nnz`` before computing it and refuses with ``max_nnz``.
"""

from __future__ import annotations

import warnings

import torch
from torch_geometric.utils import scatter

_KINDS = ("rw", "sym")


def _csr(row: torch.Tensor, col: torch.Tensor, value: torch.Tensor, n: int) -> torch.Tensor:
    """CSR tensor from coalesced-or-not COO triplets (duplicates are summed)."""
    with warnings.catch_warnings():
        # torch marks sparse CSR as "beta"; the operations used here are stable.
        warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
        warnings.filterwarnings("ignore", message=".*Sparse invariant checks.*")
        coo = torch.sparse_coo_tensor(torch.stack([row, col]), value, (n, n)).coalesce()
        return coo.to_sparse_csr()


def _check_inputs(edge_index: torch.Tensor, num_nodes: int) -> None:
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = list(edge_index.shape) if isinstance(edge_index, torch.Tensor) else edge_index
        raise ValueError(f"edge_index must be a LongTensor [2, E], got {shape}")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive integer, got {num_nodes!r}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index holds node ids outside 0..{num_nodes - 1}; check num_nodes")


def normalized_adjacency(
    edge_index: torch.Tensor,
    num_nodes: int,
    add_self_loops: bool = True,
    kind: str = "rw",
    edge_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Normalised adjacency ``D^-1 (A + I)`` or ``D^-1/2 (A + I) D^-1/2``, sparse CSR.

    Args:
        edge_index: ``[2, E]`` edges; an undirected graph lists both directions.
            Duplicate edges are summed (pass a coalesced graph for 0/1 weights).
        num_nodes: number of nodes ``N``.
        add_self_loops: add ``I`` before normalising (PamC, GCN). A self-loop already in
            ``edge_index`` is then counted twice, like ``A + I`` says.
        kind: ``"rw"``: row-stochastic ``D^-1 (A + I)`` (rows sum to 1; PamC, SDCN);
            ``"sym"``: ``D^-1/2 (A + I) D^-1/2`` (GCN).
        edge_weight: optional ``[E]`` non-negative weights (default 1).

    Returns:
        ``[N, N]`` float32 ``torch.sparse_csr`` tensor on the device of ``edge_index``.
        A node of degree 0 (only possible without self-loops) keeps an all-zero row.
    """
    _check_inputs(edge_index, num_nodes)
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    device = edge_index.device
    row, col = edge_index[0].long(), edge_index[1].long()
    if edge_weight is None:
        value = torch.ones(row.numel(), device=device)
    else:
        if edge_weight.shape != (row.numel(),) or bool((edge_weight < 0).any()):
            raise ValueError("edge_weight must be a non-negative tensor [E], one per edge")
        value = edge_weight.float().to(device)
    if add_self_loops:
        loop = torch.arange(num_nodes, device=device)
        row, col = torch.cat([row, loop]), torch.cat([col, loop])
        value = torch.cat([value, torch.ones(num_nodes, device=device)])
    degree = scatter(value, row, dim=0, dim_size=num_nodes, reduce="sum")
    if kind == "rw":
        inv = torch.where(degree > 0, 1.0 / degree, torch.zeros_like(degree))
        value = value * inv[row]
    else:
        inv_sqrt = torch.where(degree > 0, degree.rsqrt(), torch.zeros_like(degree))
        value = value * inv_sqrt[row] * inv_sqrt[col]
    return _csr(row, col, value, num_nodes)


def _next_nnz_bound(power: torch.Tensor, ahat: torch.Tensor) -> int:
    """Upper bound on ``nnz(power @ ahat)``: sum over stored (i, k) of ``nnz(row k)``."""
    row_nnz = ahat.crow_indices().diff()
    return int(row_nnz[power.col_indices()].sum())


def influence_matrix(
    edge_index: torch.Tensor,
    num_nodes: int,
    order: int,
    add_self_loops: bool = True,
    kind: str = "rw",
    max_nnz: int | None = 500_000_000,
) -> torch.Tensor:
    """PamC / Graph-MLP influence matrix ``S = sum_{r=1..order} Ahat^r``, sparse CSR.

    ``Ahat`` is :func:`normalized_adjacency` (``D^-1 (A + I)`` by default, as in PamC,
    so each ``Ahat^r`` is row-stochastic and rows of ``S`` sum to ``order``). Powers are
    sparse-sparse products; ``nnz`` grows as described in the module docstring.

    Args:
        edge_index: ``[2, E]`` undirected edges.
        num_nodes: ``N``.
        order: ``R >= 1``, the number of hops (PamC uses 1 to 4).
        add_self_loops, kind: passed to :func:`normalized_adjacency`.
        max_nnz: refuse (``MemoryError``, before computing) when the next power could
            exceed this many stored entries (~12 bytes each); ``None`` disables the check.

    Returns:
        ``[N, N]`` float32 ``torch.sparse_csr`` tensor on the device of ``edge_index``.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an integer >= 1 (number of hops), got {order!r}")
    ahat = normalized_adjacency(edge_index, num_nodes, add_self_loops=add_self_loops, kind=kind)
    power, total = ahat, ahat
    for r in range(2, order + 1):
        if max_nnz is not None:
            bound = _next_nnz_bound(power, ahat)
            if bound > max_nnz:
                raise MemoryError(
                    f"influence_matrix: Ahat^{r} could hold up to {bound:,} entries "
                    f"(> max_nnz={max_nnz:,}, ~{bound * 12 / 2**30:.1f} GiB); lower `order` "
                    "or raise max_nnz if the memory is there"
                )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
            power = power @ ahat
            total = total + power
    return total


def sparse_rows(
    matrix: torch.Tensor, index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The rows ``index`` of a sparse CSR matrix as COO triplets (for mini-batches).

    Cost and memory are ``O(len(index) + nnz of those rows)``, independent of ``N``.

    Args:
        matrix: ``[N, M]`` ``torch.sparse_csr`` tensor (e.g. :func:`influence_matrix`).
        index: ``[B]`` LongTensor of row ids (repeats allowed).

    Returns:
        ``(row, col, value)``: ``row`` ``[nnz_B]`` local positions ``0..B-1`` into
        ``index``, ``col`` ``[nnz_B]`` global column ids, ``value`` ``[nnz_B]``. Rows are in
        the order of ``index``; within a row, columns are in the matrix's stored order.
    """
    if matrix.layout != torch.sparse_csr:
        raise ValueError(f"sparse_rows needs a torch.sparse_csr matrix, got {matrix.layout}")
    index = index.to(matrix.device).long().flatten()
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= matrix.size(0)):
        raise ValueError(f"row ids must lie in 0..{matrix.size(0) - 1}")
    crow = matrix.crow_indices()
    start = crow[index]
    length = crow[index + 1] - start
    local = torch.arange(index.numel(), device=matrix.device)
    row = local.repeat_interleave(length)
    # Position inside each row: a global counter minus the offset where the row begins.
    offsets = torch.cumsum(length, 0) - length
    within = torch.arange(row.numel(), device=matrix.device) - offsets.repeat_interleave(length)
    gather = start.repeat_interleave(length) + within
    return row, matrix.col_indices()[gather], matrix.values()[gather]


def csr_to_coo(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All entries of a sparse matrix (CSR or COO) as ``(row, col, value)`` triplets."""
    if matrix.layout == torch.sparse_csr:
        crow = matrix.crow_indices()
        rows = torch.arange(matrix.size(0), device=matrix.device)
        return rows.repeat_interleave(crow.diff()), matrix.col_indices(), matrix.values()
    if matrix.layout == torch.sparse_coo:
        matrix = matrix.coalesce()
        return matrix.indices()[0], matrix.indices()[1], matrix.values()
    raise ValueError(f"expected a torch sparse CSR or COO matrix, got layout {matrix.layout}")


__all__ = ["csr_to_coo", "influence_matrix", "normalized_adjacency", "sparse_rows"]
