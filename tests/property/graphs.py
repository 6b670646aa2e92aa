"""Hypothesis strategies for graph inputs (``Data``) and image / clip inputs.

A drawn case carries the input and what the suite expects of it:

* ``defects``: reasons the input is invalid (NaN features, an edge index out of range,
  a wrong dtype or shape, a mis-scaled feature matrix, a bad ``n_clusters``, ...); an
  entry point must refuse such input with a clear error, never return a result;
* ``comfortable``: valid and far from every edge case (N >= 12, edges, 2 <= K <= 3
  clusters of varied features): an entry point must return a result;
* anything between (one node, no edges, isolated nodes, constant features, K = N) may
  end either way, but only in a correct result or a clear error.

Repairable oddities (self-loops, duplicate and one-directional edges, isolated nodes)
are valid input: ``check_graph`` repairs them with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from torch_geometric.data import Data

from graphclust.data.validation import MAX_FEATURE_MAGNITUDE, MIN_FEATURE_MAGNITUDE

FEATURE_VARIANTS = (
    "plain", "plain", "plain", "float64", "scaled", "zeros", "constant", "duplicate rows",
    "nan", "inf", "int", "bool", "1-D", "3-D", "missing", "wrong rows", "list", "no columns",
)  # fmt: skip
EDGE_VARIANTS = (
    "symmetric", "symmetric", "one-directional", "self-loops", "duplicates", "isolated",
    "none", "out of range", "negative", "float", "[E, 2]", "1-D", "missing", "numpy",
)  # fmt: skip
VALID_FEATURES = ("plain", "plain", "float64", "zeros", "constant", "duplicate rows")
VALID_EDGES = ("symmetric", "one-directional", "self-loops", "duplicates", "isolated", "none")
SCALES = (1e-30, 1e-18, 1e-14, 1e-3, 1.0, 1e3, 1e12, 1e16, 1e20, 1e200)
BAD_K = (0, 1, -1, 2.5, 2.0, "2", True)  # None means "the default" to some methods


@dataclass
class GraphCase:
    """A drawn graph input: ``data``, the ``n_clusters`` to ask for, and the verdict."""

    data: Data
    n_clusters: Any
    n: int
    features: str
    edges: str
    defects: list[str] = field(default_factory=list)
    k_defect: str | None = None
    comfortable: bool = False

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        x = self.data.x
        shape = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        return (
            f"GraphCase(n={self.n}, features={self.features!r} {shape}, edges={self.edges!r}, "
            f"n_clusters={self.n_clusters!r}, defects={self.defects}, k_defect={self.k_defect}, "
            f"comfortable={self.comfortable})"
        )


def _features(variant: str, n: int, d: int, groups: torch.Tensor, gen, scale: float):
    """Features [N, D] for ``variant`` and the defect they carry (None when valid)."""
    centers = 4.0 * torch.randn(int(groups.max()) + 1 if n else 1, d, generator=gen)
    x = centers[groups] + torch.randn(n, d, generator=gen)
    if variant == "float64":
        return x.double(), None
    if variant == "scaled":
        x = x.double() * scale
        peak = float(x.abs().max()) if n else 0.0
        if peak > np.finfo(np.float32).max:
            return x, "overflows float32"
        if peak > MAX_FEATURE_MAGNITUDE or 0.0 < peak < MIN_FEATURE_MAGNITUDE:
            return x, f"feature scale {peak:.1e}"
        return x, None
    if variant == "zeros":
        return torch.zeros(n, d), None
    if variant == "constant":
        return torch.full((n, d), 3.0), None
    if variant == "duplicate rows":
        return x[torch.zeros(n, dtype=torch.long)] if n else x, None
    if variant in ("nan", "inf"):
        if n == 0:
            return x, None
        x[int(torch.randint(n, (1,), generator=gen))] = float(variant)
        return x, variant
    if variant == "int":
        return x.round().long(), "integer features"
    if variant == "bool":
        return x > 0, "bool features"
    if variant == "1-D":
        return x[:, 0], "1-D features"
    if variant == "3-D":
        return x.unsqueeze(2), "3-D features"
    if variant == "missing":
        return None, "no features"
    if variant == "wrong rows":
        return torch.randn(n + 2, d, generator=gen), "features rows != nodes"
    if variant == "list":
        return x.tolist(), "features not a tensor"
    if variant == "no columns":
        return torch.zeros(n, 0), "zero feature columns"
    return x, None


def _edges(variant: str, n: int, groups: torch.Tensor, gen) -> tuple[Any, str | None]:
    """An edge index for ``variant`` and the defect it carries (None when valid)."""
    m = 2 * n
    if n < 2 or variant == "none":
        pairs = torch.empty(2, 0, dtype=torch.long)
    else:
        # mostly inside the planted groups, so there is something to find
        src = torch.randint(n, (m,), generator=gen)
        same = groups.unsqueeze(0) == groups[src].unsqueeze(1)  # [m, N]
        dst = torch.multinomial(same.float() * 8 + 1, 1, generator=gen).flatten()
        keep = src != dst
        pairs = torch.stack([src[keep], dst[keep]])
    sym = torch.cat([pairs, pairs.flip(0)], dim=1)
    if variant in ("symmetric", "none", "numpy"):
        out = sym.numpy() if variant == "numpy" else sym
        return out, "edge_index not a tensor" if variant == "numpy" else None
    if variant == "one-directional":
        return pairs, None
    if variant == "self-loops":
        loops = torch.arange(n).repeat(2, 1)
        return torch.cat([sym, loops], dim=1), None
    if variant == "duplicates":
        return torch.cat([sym, sym[:, : max(sym.size(1) // 2, 0)]], dim=1), None
    if variant == "isolated":
        half = sym[:, (sym < n // 2).all(dim=0)] if n >= 4 else sym
        return half, None
    if variant == "out of range":
        return torch.cat([sym, torch.tensor([[0], [n + 3]])], dim=1), "edge index out of range"
    if variant == "negative":
        return torch.cat([sym, torch.tensor([[0], [-1]])], dim=1), "negative edge index"
    if variant == "float":
        return sym.float(), "float edge index"
    if variant == "[E, 2]":
        return sym.t().contiguous(), "edge index [E, 2]" if sym.size(1) != 2 else None
    if variant == "1-D":
        return sym.flatten(), "1-D edge index"
    if variant == "missing":
        return None, "no edge index"
    raise AssertionError(variant)


@st.composite
def graph_cases(draw: st.DrawFn, max_nodes: int = 24) -> GraphCase:
    """A graph input with its verdict (module docstring)."""
    n = draw(st.one_of(st.integers(4, max_nodes), st.sampled_from([0, 1, 2, 3])))
    d = draw(st.integers(1, 5))
    n_groups = draw(st.integers(1, 3))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    groups = torch.arange(n) % n_groups
    # half the cases valid by construction, so the result checks run often enough
    valid = draw(st.booleans())
    feature_variant = draw(st.sampled_from(VALID_FEATURES if valid else FEATURE_VARIANTS))
    scale = draw(st.sampled_from(SCALES))
    x, x_defect = _features(feature_variant, n, d, groups, gen, scale)
    edge_variant = draw(st.sampled_from(VALID_EDGES if valid else EDGE_VARIANTS))
    edge_index, e_defect = _edges(edge_variant, n, groups, gen)
    if edge_variant == "[E, 2]" and n < 2:
        e_defect = None  # an empty [0, 2] ... is [2, 0] transposed: still empty, accepted
    if not valid and draw(st.integers(0, 3)) == 0:
        n_clusters, k_defect = draw(st.sampled_from(BAD_K)), "bad n_clusters"
    else:
        n_clusters = draw(st.integers(2, max(2, min(4, n))))
        if draw(st.booleans()):
            n_clusters = np.int64(n_clusters)  # numpy integers are integers
        k_defect = None
    is_int = isinstance(n_clusters, (int, np.integer)) and not isinstance(n_clusters, bool)
    if is_int and n_clusters > n:
        k_defect = "n_clusters > N"
    data = Data(x=x, edge_index=edge_index, y=groups)
    if x is None or not isinstance(x, torch.Tensor):
        data.num_nodes = n
    defects = [reason for reason in (x_defect, e_defect) if reason]
    if n == 0:
        defects.append("empty graph")
    has_edges = isinstance(edge_index, torch.Tensor) and edge_index.numel() > 0
    comfortable = (
        not defects
        and k_defect is None
        and n >= 12
        and has_edges
        and feature_variant in ("plain", "float64")
        and edge_variant in ("symmetric", "one-directional", "self-loops", "duplicates")
        and 2 <= int(n_clusters) <= min(3, n_groups + 1)
    )
    return GraphCase(
        data, n_clusters, n, feature_variant, edge_variant, defects, k_defect, comfortable
    )


def comfortable_graphs(max_nodes: int = 24) -> st.SearchStrategy[GraphCase]:
    """Only comfortable cases: valid graphs every method must cluster."""
    return st.builds(
        comfortable_graph, st.integers(12, max_nodes), st.integers(2, 3), st.integers(0, 2**16)
    )


def comfortable_graph(n: int, k: int, seed: int) -> GraphCase:
    """A valid graph of ``k`` planted groups on ``n`` nodes, features included."""
    gen = torch.Generator().manual_seed(seed)
    groups = torch.arange(n) % k
    x, _ = _features("plain", n, 4, groups, gen, 1.0)
    edge_index, _ = _edges("symmetric", n, groups, gen)
    data = Data(x=x, edge_index=edge_index, y=groups)
    return GraphCase(data, k, n, "plain", "symmetric", comfortable=True)


# -- images and clips -------------------------------------------------------------------
@dataclass
class ImageCase:
    """Images [N, C, H, W] (or clips [N, T, C, H, W]) with ``n_clusters`` and verdict."""

    data: Any
    n_clusters: Any
    variant: str
    defects: list[str] = field(default_factory=list)
    comfortable: bool = False

    def __repr__(self) -> str:
        shape = list(self.data.shape) if hasattr(self.data, "shape") else type(self.data).__name__
        dtype = getattr(self.data, "dtype", None)
        return (
            f"ImageCase({self.variant!r}, shape={shape}, dtype={dtype}, "
            f"n_clusters={self.n_clusters!r}, defects={self.defects})"
        )


IMAGE_VARIANTS = (
    "plain", "plain", "plain", "uint8", "float64", "constant", "nan", "inf", "above 1",
    "negative", "int32", "flat", "graph", "list of lists",
)  # fmt: skip


@st.composite
def image_cases(draw: st.DrawFn, clips: bool = False) -> ImageCase:
    """Images for SwAV, or clips [N, T, C, H, W] for SIGMA (``clips=True``)."""
    n = draw(st.one_of(st.sampled_from([0, 1, 2]), st.integers(3, 16)))
    channels = draw(st.sampled_from([1, 3]))
    side = draw(st.sampled_from([4, 8] if clips else [4, 6, 8]))
    frames = draw(st.sampled_from([2, 4])) if clips else None
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    shape = (n, frames, channels, side, side) if clips else (n, channels, side, side)
    x = torch.rand(shape, generator=gen)
    variant = draw(st.sampled_from(IMAGE_VARIANTS))
    defects: list[str] = []
    if variant == "uint8":
        x = (x * 255).to(torch.uint8)
    elif variant == "float64":
        x = x.double()
    elif variant == "constant":
        x = torch.full(shape, 0.5)
    elif variant in ("nan", "inf") and n:
        x.view(-1)[0] = float(variant)
        defects.append(variant)
    elif variant == "above 1" and n:
        x = x * 255.0 + 1.0
        defects.append("values above 1")
    elif variant == "negative" and n:
        x = x - 0.5
        defects.append("negative values")
    elif variant == "int32":
        x = (x * 255).int()
        if n:
            defects.append("int32 images")
    elif variant == "flat":
        x = x.flatten(1)  # reshape(n, -1) cannot infer the width when n = 0
        defects.append("flattened images")
    elif variant == "graph":
        x = Data(x=x.flatten(1), edge_index=torch.empty(2, 0, dtype=torch.long))
        defects.append("a graph, not images")
    elif variant == "list of lists":
        x = x.tolist()
    if draw(st.integers(0, 4)) == 0:
        n_clusters = draw(st.sampled_from(BAD_K))
        defects.append("bad n_clusters")
    else:
        n_clusters = draw(st.integers(2, 3))
        if n_clusters > n:
            defects.append("n_clusters > N")
    if n < 2:
        defects.append("fewer than 2 images")
    comfortable = not defects and n >= 8 and variant in ("plain", "uint8", "float64")
    return ImageCase(x, n_clusters, variant, defects, comfortable)
