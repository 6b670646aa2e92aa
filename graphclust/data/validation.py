"""Input validation at the door: every public entry point that takes a graph calls
:func:`check_graph` once, so bad input fails early with a message that says what is
wrong and how to fix it, instead of a shape error deep inside a model."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator

import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, is_undirected, remove_self_loops, to_undirected

from graphclust.data.features import PLACEHOLDER_KINDS


class GraphWarning(UserWarning):
    """Input was accepted after a repair (edges symmetrised, duplicates merged, ...)."""


def check_n_clusters(n_clusters: object, num_nodes: int, name: str = "n_clusters") -> int:
    """Validate a requested number of clusters: an integer in [2, num_nodes]."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int):
        try:
            as_int = int(n_clusters)  # numpy integers and the like
        except (TypeError, ValueError):
            as_int = None
        if as_int is None or as_int != n_clusters or isinstance(n_clusters, (bool, float)):
            raise TypeError(f"{name} must be an integer, got {n_clusters!r}")
        n_clusters = as_int
    if n_clusters < 2:
        raise ValueError(f"{name}={n_clusters}: at least 2 clusters are needed")
    if n_clusters > num_nodes:
        raise ValueError(
            f"{name}={n_clusters} exceeds the number of nodes ({num_nodes}); "
            f"ask for at most {num_nodes} clusters"
        )
    return n_clusters


def check_edge_index(edge_index: object, num_nodes: int) -> torch.Tensor:
    """Validate dtype, shape and range of an ``edge_index``; return it as a LongTensor."""
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(
            f"edge_index must be a torch.Tensor of shape [2, E], got {type(edge_index).__name__}"
        )
    if edge_index.is_floating_point() or edge_index.dtype in (torch.bool, torch.complex64):
        raise TypeError(
            f"edge_index must hold integer node indices, got dtype {edge_index.dtype}; "
            "convert it with edge_index.long()"
        )
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        hint = (
            " (it looks like [E, 2]: pass edge_index.t().contiguous())"
            if edge_index.dim() == 2 and edge_index.size(1) == 2
            else ""
        )
        raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}{hint}")
    edge_index = edge_index.long()
    if edge_index.numel() > 0:
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0:
            raise ValueError(f"edge_index holds a negative node index ({low}); indices start at 0")
        if high >= num_nodes:
            raise ValueError(
                f"edge_index refers to node {high} but the graph has {num_nodes} nodes "
                f"(valid indices 0..{num_nodes - 1}); check x or num_nodes"
            )
    return edge_index


def check_features(x: object, num_nodes: int | None = None) -> torch.Tensor:
    """Validate node features: a finite floating-point tensor [N, D]; returns float32.

    Finite but extreme scales are refused too (:func:`check_feature_scale`): beyond
    1e15 or below 1e-15 in magnitude, float32 distances overflow or vanish.
    """
    if x is None:
        raise ValueError(
            "data.x is missing, but this method clusters node features; add features "
            "(for a plain graph, e.g. data.x = torch.eye(N) or degree features) or use a "
            "structure-only method (Louvain, SpectralClustering)"
        )
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"data.x must be a torch.Tensor [N, D], got {type(x).__name__}")
    if x.is_sparse:
        x = x.to_dense()
    if not x.is_floating_point():
        raise TypeError(
            f"data.x must be floating point, got dtype {x.dtype}; convert it with data.x.float()"
        )
    if x.dim() != 2:
        raise ValueError(
            f"data.x must have shape [N, D], got {list(x.shape)}"
            + ("; for one feature per node use x.unsqueeze(1)" if x.dim() == 1 else "")
        )
    if num_nodes is not None and x.size(0) != num_nodes:
        raise ValueError(f"data.x has {x.size(0)} rows but the graph has {num_nodes} nodes")
    if x.size(1) == 0:
        raise ValueError("data.x has zero feature columns")
    bad_rows = _non_finite_rows(x)
    if bad_rows.numel():
        raise ValueError(
            f"data.x contains NaN or inf in {bad_rows.numel()} rows (first: "
            f"{bad_rows[:5].tolist()}); impute or drop them before clustering"
        )
    check_feature_scale(x)
    return x.float()


#: Entries of ``x`` a read-only scan touches at a time: the scans allocate per chunk,
#: never ``[N, D]``, so a memory-mapped ``x`` is read but not copied.
_SCAN_ENTRIES = 1 << 22


def _row_chunks(x: torch.Tensor) -> Iterator[torch.Tensor]:
    """Views of consecutive rows of ``x`` holding about ``_SCAN_ENTRIES`` entries each."""
    x = x.reshape(1) if x.dim() == 0 else x
    rows = max(1, _SCAN_ENTRIES // max(1, x[0].numel())) if x.size(0) else 1
    for start in range(0, x.size(0), rows):
        yield x[start : start + rows]


def _non_finite_rows(x: torch.Tensor) -> torch.Tensor:
    """Indices of the rows of ``x`` [N, D] holding a NaN or inf, scanned in chunks."""
    found, start = [], 0
    for chunk in _row_chunks(x):
        bad = ~torch.isfinite(chunk).all(dim=1)
        found.append(bad.nonzero().flatten() + start)
        start += chunk.size(0)
    return torch.cat(found) if found else torch.empty(0, dtype=torch.long)


def _abs_max(x: torch.Tensor) -> float:
    """``x.abs().max()`` scanned in chunks (0.0 for an empty ``x``)."""
    peak = 0.0
    for chunk in _row_chunks(x.detach()):
        if chunk.numel():
            peak = max(peak, float(chunk.abs().max()))
    return peak


# Beyond these magnitudes float32 arithmetic breaks: squared values overflow to inf
# above ~1.8e19 (k-means then reports inertia inf and one cluster) and underflow to 0
# below ~1e-19 (every point is equidistant). At 1e15 a squared value is 1e30, so sums
# of up to ~3e8 of them (squared norms, distances over D columns) stay finite.
MAX_FEATURE_MAGNITUDE = 1e15
MIN_FEATURE_MAGNITUDE = 1e-15


def check_feature_scale(x: torch.Tensor, name: str = "data.x") -> None:
    """Refuse finite features whose scale float32 arithmetic cannot handle.

    Raises ``ValueError`` when the largest absolute value exceeds
    :data:`MAX_FEATURE_MAGNITUDE` (squared distances overflow float32), or when the
    features are nonzero but all below :data:`MIN_FEATURE_MAGNITUDE` (their squared
    distances underflow to 0). All-zero features pass: they are constant, not mis-scaled.
    """
    peak = _abs_max(x)
    fix = (
        "standardise the features first, e.g. x = (x - x.mean(0)) / x.std(0).clamp_min(1e-12), "
        "or divide by x.abs().max()"
    )
    if peak > MAX_FEATURE_MAGNITUDE:
        raise ValueError(
            f"{name} holds values up to {peak:.3g} in magnitude (limit "
            f"{MAX_FEATURE_MAGNITUDE:.0e}): squared distances overflow float32; {fix}"
        )
    if 0.0 < peak < MIN_FEATURE_MAGNITUDE:
        raise ValueError(
            f"{name} holds values of at most {peak:.3g} in magnitude (limit "
            f"{MIN_FEATURE_MAGNITUDE:.0e}): squared distances underflow to 0 in float32 and "
            f"every node looks alike; {fix}"
        )


def warn_if_placeholder_features(data: Data, stacklevel: int = 2) -> bool:
    """Warn when ``data.x`` is marked as placeholder features; return whether it is.

    Readers mark the features they invent (``data.feature_kind``, see
    :mod:`graphclust.data.features`); identity and one-hot degree features carry no
    information a feature-based method (k-means, a clustering head on ``x``) can use.
    """
    kind = getattr(data, "feature_kind", None)
    if kind not in PLACEHOLDER_KINDS:
        return False
    warnings.warn(
        f"data.x holds placeholder {kind} features (data.feature_kind={kind!r}): the graph "
        "came without features, so clustering them directly is meaningless and an encoder "
        "learns from the edges alone. Pass real features, or structural ones, e.g. "
        "load_dataset(name, features='laplacian') / feature_kind='laplacian' in a reader, "
        "or graphclust.data.structural_features(edge_index, N, 'laplacian').",
        GraphWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def _num_nodes(data: Data) -> int:
    explicit = data.num_nodes
    x = getattr(data, "x", None)
    if isinstance(x, torch.Tensor) and x.dim() >= 1 and explicit not in (None, x.size(0)):
        raise ValueError(f"data.num_nodes is {explicit} but data.x has {x.size(0)} rows")
    if explicit is None:
        raise ValueError("cannot tell the number of nodes: set data.x or data.num_nodes")
    return int(explicit)


def check_graph(
    data: object,
    *,
    n_clusters: object = None,
    require_features: bool = True,
    keep: Iterable[str] = (),
) -> Data:
    """Validate a graph and return a clean copy; the caller's ``Data`` is never changed.

    The copy holds ``x`` (float32 [N, D], or None when features are not required and
    absent), ``edge_index`` ([2, E] long, undirected, coalesced, no self-loops) and
    ``num_nodes``. Other attributes, labels included, are dropped unless named in
    ``keep``, so a method cannot read ``data.y`` by accident. Isolated nodes are kept.

    Repairs that change the graph warn with :class:`GraphWarning`: directed edges are
    symmetrised, duplicates merged, self-loops removed. When features are required and
    ``data.feature_kind`` marks them as placeholders (identity, degree), a
    ``GraphWarning`` says so (:func:`warn_if_placeholder_features`); the marker is
    carried to the copy.

    Args:
        data: a ``torch_geometric.data.Data``.
        n_clusters: when given, checked to be an integer in [2, N].
        require_features: raise when ``data.x`` is missing.
        keep: names of extra attributes to carry over (e.g. ``("y", "train_mask")``
            for a semi-supervised method).
    """
    if not isinstance(data, Data):
        raise TypeError(
            f"expected a torch_geometric.data.Data, got {type(data).__name__}; "
            "build one with Data(x=..., edge_index=...) or graphclust.data.from_networkx"
        )
    num_nodes = _num_nodes(data)
    if num_nodes == 0:
        raise ValueError("the graph is empty (0 nodes); nothing to cluster")

    x = getattr(data, "x", None)
    if require_features or x is not None:
        x = check_features(x, num_nodes)
    if require_features:
        warn_if_placeholder_features(data, stacklevel=3)

    edge_index = getattr(data, "edge_index", None)
    if edge_index is None:
        raise ValueError(
            "data.edge_index is missing; for feature-only data build a kNN graph with "
            "graphclust.graph.knn_graph(x, k)"
        )
    edge_index = check_edge_index(edge_index, num_nodes)
    edge_index = _clean_edges(edge_index, num_nodes)
    if edge_index.size(1) == 0:
        warnings.warn(
            "the graph has no edges; graph terms will be uninformative", GraphWarning, stacklevel=2
        )

    out = Data(x=x, edge_index=edge_index, num_nodes=num_nodes)
    if x is not None and getattr(data, "feature_kind", None) is not None:
        out.feature_kind = data.feature_kind
    for name in keep:
        value = getattr(data, name, None)
        if value is not None:
            out[name] = value
    if n_clusters is not None:
        check_n_clusters(n_clusters, num_nodes)
    return out


def _clean_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Remove self-loops, merge duplicates and symmetrise, warning about each repair.

    A graph that needs none of them is returned as is (:func:`_is_clean`): the repairs
    copy the edges several times over, the read-only check does not.
    """
    if _is_clean(edge_index, num_nodes):
        return edge_index
    n_in = edge_index.size(1)
    edge_index, _ = remove_self_loops(edge_index)
    if edge_index.size(1) < n_in:
        warnings.warn(
            f"removed {n_in - edge_index.size(1)} self-loops; methods add their own where needed",
            GraphWarning,
            stacklevel=3,
        )
    n_loopless = edge_index.size(1)
    merged = coalesce(edge_index, num_nodes=num_nodes)
    if merged.size(1) < n_loopless:
        warnings.warn(
            f"merged {n_loopless - merged.size(1)} duplicate edges", GraphWarning, stacklevel=3
        )
    if not is_undirected(merged, num_nodes=num_nodes):
        warnings.warn(
            "edge_index is directed; added the reverse edges (clustering treats the graph as "
            "undirected)",
            GraphWarning,
            stacklevel=3,
        )
        merged = to_undirected(merged, num_nodes=num_nodes)
    return merged


#: Edges a read-only scan of ``edge_index`` touches at a time.
_SCAN_EDGES = 1 << 20


def _is_clean(edge_index: torch.Tensor, num_nodes: int) -> bool:
    """Whether ``edge_index`` [2, E] is what :func:`_clean_edges` would return: no
    self-loop, sorted by (row, column) without duplicates (coalesced), and every
    ``(i, j)`` matched by a stored ``(j, i)``. Scans in chunks: memory ``O(chunk + N)``.
    """
    n_edges = edge_index.size(1)
    if n_edges == 0:
        return True
    row, col = edge_index[0].contiguous(), edge_index[1].contiguous()
    previous = -1
    for start in range(0, n_edges, _SCAN_EDGES):
        r, c = row[start : start + _SCAN_EDGES], col[start : start + _SCAN_EDGES]
        key = r * num_nodes + c
        if bool((r == c).any()) or int(key[0]) <= previous or bool((key.diff() <= 0).any()):
            return False
        previous = int(key[-1])
    indptr = torch.searchsorted(row, torch.arange(num_nodes + 1, device=row.device))
    for start in range(0, n_edges, _SCAN_EDGES):
        r, c = row[start : start + _SCAN_EDGES], col[start : start + _SCAN_EDGES]
        if not bool(_stored(indptr, col, c, r).all()):
            return False
    return True


def _stored(indptr: torch.Tensor, col: torch.Tensor, i: torch.Tensor, j: torch.Tensor):
    """Whether each edge ``(i, j)`` is stored: a binary search for ``j`` among the
    sorted columns ``col[indptr[i]:indptr[i + 1]]`` of row ``i``, all edges at once."""
    low, high = indptr[i], indptr[i + 1]
    end, last = high.clone(), col.numel() - 1
    while True:
        active = low < high
        if not bool(active.any()):
            break
        middle = (low + high) // 2
        right = active & (col[middle.clamp(max=last)] < j)
        low = torch.where(right, middle + 1, low)
        high = torch.where(active & ~right, middle, high)
    return (low < end) & (col[low.clamp(max=last)] == j)
