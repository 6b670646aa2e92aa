"""Readers of partition and node-pair files (what ``graphclust evaluate`` takes).

Blank lines and lines starting with ``#`` are ignored; fields are separated by
whitespace or commas; node ids are 0-based integers. Every error names the file and
the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

_SPLIT = re.compile(r"[\s,]+")


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank, non-comment line of a text file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if text and not text.startswith("#"):
                rows.append((number, [f for f in _SPLIT.split(text) if f]))
    if not rows:
        raise ValueError(f"{path}: the file holds no data lines")
    return rows


def _node_id(token: str, path: Path, number: int) -> int:
    try:
        value = int(token)
    except ValueError:
        raise ValueError(f"{path}, line {number}: {token!r} is not an integer node id") from None
    if value < 0:
        raise ValueError(f"{path}, line {number}: node id {value} is negative; ids start at 0")
    return value


@dataclass(frozen=True)
class PairFile:
    """Pairs read from a file: ``pairs`` LongTensor [2, M] and the line of each pair."""

    pairs: torch.Tensor
    lines: np.ndarray
    path: Path

    def check_range(self, num_nodes: int) -> None:
        """Raise, naming the first offending line, when a node id is >= ``num_nodes``."""
        if self.pairs.numel() == 0:
            return
        bad = (self.pairs >= num_nodes).any(dim=0).nonzero().flatten()
        if bad.numel() > 0:
            first = int(bad[0])
            i, j = self.pairs[:, first].tolist()
            raise ValueError(
                f"{self.path}, line {int(self.lines[first])}: pair ({i}, {j}) refers to a "
                f"node >= {num_nodes}, but the graph has {num_nodes} nodes (ids 0.."
                f"{num_nodes - 1})"
            )


def read_pairs(path: str | Path, edge_list: bool = False) -> PairFile:
    """Read ``i j`` per line. With ``edge_list``, a third column (a weight, ignored) and
    self-loops are accepted, as edge-list files carry them.

    Raises:
        ValueError: naming the file and line of a malformed row or a pair (i, i).
    """
    path = Path(path)
    rows = _rows(path)
    expected = "2 or 3" if edge_list else "2"
    pairs = np.empty((2, len(rows)), dtype=np.int64)
    lines = np.empty(len(rows), dtype=np.int64)
    for index, (number, fields) in enumerate(rows):
        if len(fields) != 2 and not (edge_list and len(fields) == 3):
            raise ValueError(
                f"{path}, line {number}: expected {expected} fields (i j), got "
                f"{len(fields)}: {' '.join(fields)!r}"
            )
        i, j = _node_id(fields[0], path, number), _node_id(fields[1], path, number)
        if i == j and not edge_list:
            raise ValueError(
                f"{path}, line {number}: the pair ({i}, {i}) pairs a node with itself; remove it"
            )
        pairs[:, index] = (i, j)
        lines[index] = number
    return PairFile(torch.from_numpy(pairs), lines, path)


def read_partition(path: str | Path) -> tuple[torch.Tensor, list[str]]:
    """Read a partition file (see the module notes for the two formats).

    Returns:
        labels: LongTensor [N], codes 0..K-1 in order of first appearance.
        names: the K original label tokens, ``names[code]``.

    Raises:
        ValueError: mixed formats, a node listed twice or missing, a bad node id; the
            message names the line.
    """
    path = Path(path)
    rows = _rows(path)
    width = len(rows[0][1])
    if width not in (1, 2):
        raise ValueError(
            f"{path}, line {rows[0][0]}: expected 'label' or 'node label', got {width} fields"
        )
    for number, fields in rows:
        if len(fields) != width:
            raise ValueError(
                f"{path}, line {number}: {len(fields)} fields, but line {rows[0][0]} has "
                f"{width}; use one format for the whole file ('label' or 'node label')"
            )
    if width == 1:
        tokens = [fields[0] for _, fields in rows]
    else:
        by_node: dict[int, tuple[str, int]] = {}
        for number, (node_token, label) in rows:
            node = _node_id(node_token, path, number)
            if node in by_node:
                raise ValueError(
                    f"{path}, line {number}: node {node} was already given a label on "
                    f"line {by_node[node][1]}"
                )
            by_node[node] = (label, number)
        n = max(by_node) + 1
        if len(by_node) != n:
            missing = sorted(set(range(n)) - set(by_node))
            raise ValueError(
                f"{path}: {len(missing)} nodes in 0..{n - 1} have no label (first: "
                f"{missing[:5]}); every node needs one"
            )
        tokens = [by_node[node][0] for node in range(n)]
    codes: dict[str, int] = {}
    labels = torch.tensor([codes.setdefault(token, len(codes)) for token in tokens])
    return labels, list(codes)


__all__ = ["PairFile", "read_pairs", "read_partition"]
