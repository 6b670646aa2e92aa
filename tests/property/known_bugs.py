"""Bugs the property suite found in modules other helpers own, as strict xfails.

Each entry names the owner and the case; the test marked with :func:`known_bug` fails
today, and turns into an XPASS failure (``strict=True``) the day the bug is fixed, so
whoever fixes it removes the entry here. A property that would hang on the bug keeps
the bug's inputs out (``assume``) and leaves the failing case to one small test in
``test_known_bugs.py``.
"""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

KNOWN_BUGS = {
    "dag-hub-hangs": (
        "graphclust/methods/dag.py (helpers A/E)",
        "DAG.fit never returns on a graph where a node is adjacent to every other node "
        "(a star, a complete graph): torch_geometric's structured_negative_sampling("
        "contains_neg_self_loops=False) resamples forever when a node has no non-neighbour",
    ),
}


def known_bug(key: str) -> pytest.MarkDecorator:
    owner, reason = KNOWN_BUGS[key]
    return pytest.mark.xfail(strict=True, reason=f"{reason} [owner: {owner}]")


def has_hub(data: Data) -> bool:
    """Whether some node is adjacent to every other node (ignoring self-loops)."""
    n = int(data.num_nodes)
    edge_index = data.edge_index
    if (
        n < 2
        or not isinstance(edge_index, torch.Tensor)
        or edge_index.dtype != torch.long
        or edge_index.dim() != 2
        or edge_index.size(0) != 2
        or edge_index.numel() == 0
        or int(edge_index.min()) < 0
        or int(edge_index.max()) >= n
    ):
        return False  # not a well-formed graph: refused at the door, no hang possible
    keep = edge_index[0] != edge_index[1]
    pairs = torch.cat([edge_index[:, keep], edge_index[:, keep].flip(0)], dim=1)
    keys = torch.unique(pairs[0] * n + pairs[1])
    degree = torch.bincount(keys // n, minlength=n)
    return bool((degree >= n - 1).any())
