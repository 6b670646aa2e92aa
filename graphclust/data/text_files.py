"""Text files of :func:`~graphclust.data.readers.from_edge_list`: lines, exact node ids,
and per-node labels or features.

Node-id rule (exact, decided once per edge file, never per token):

* ``id_type="auto"`` (default): ids are integers when *every* id token is a canonical
  decimal integer -- ``0`` or ``[-]`` then digits without a leading zero, no ``+`` --
  of any size (Python ints: 2**64 is exact, never an overflow). Otherwise every id is
  the token itself, a string, so ``1`` and ``01`` (or ``1.0``) are different nodes. When
  a file falls back to strings although some tokens look numeric, a ``GraphWarning``
  names the first offending token and its line: the switch is never silent.
* ``id_type="int"``: every id must be a canonical integer (an error names the file and
  line otherwise); ``id_type="str"``: every id is its token, without a warning.

Numbering: string ids are numbered 0..N-1 in order of first appearance; integer ids
``0..N-1`` (all present) keep node ``i`` = id ``i``; any other set of integer ids (gaps,
negative or huge ids) is numbered 0..N-1 in increasing order, N = the number of distinct
ids, so memory never follows the largest id. ``num_nodes`` numbers nodes by id instead
(every id in ``0..num_nodes-1``; isolated nodes allowed). Whenever node ``i`` is not id
``i``, ``data.node_ids[i]`` holds the original id.

Every error names the file and, for a problem on a line, the line (``path:line: ...``).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphclust.data.validation import GraphWarning

PathLike = str | os.PathLike
ID_TYPES = ("auto", "int", "str")
#: Canonical decimal integer: one spelling per value, so distinct tokens stay distinct.
CANONICAL_INT = re.compile(r"-?[1-9][0-9]*|0")
_NUMERIC = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
#: Longer integer tokens are refused (Python's int/str conversion limit is 4300 digits).
MAX_ID_DIGITS = 4000
Row = tuple[int, list[str]]  # (1-based line number, tokens)


def read_rows(path: PathLike, delimiter: str | None, comments: str, what: str) -> list[Row]:
    """Non-empty, non-comment lines split on ``delimiter`` (default: commas or blanks).

    Raises:
        ValueError: the file is not UTF-8 text (naming the line) or has no data line.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ValueError(
            f"{path}:{line}: not UTF-8 text (byte {raw[err.start]:#04x}); the {what} file "
            "must be a text file"
        ) from err
    splitter = re.compile(r"[,\s]+") if delimiter is None else None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split(comments, 1)[0].strip() if comments else line.strip()
        if line:
            tokens = splitter.split(line) if splitter else line.split(delimiter)
            rows.append((number, [t.strip() for t in tokens]))
    if not rows:
        raise ValueError(
            f"{path}: the {what} file is empty (no lines besides blanks and {comments!r} comments)"
        )
    return rows


def _to_int(token: str, path: PathLike, line: int) -> int:
    if len(token) > MAX_ID_DIGITS:
        raise ValueError(f"{path}:{line}: integer id of {len(token)} digits is too long")
    return int(token)


def edge_ids(
    rows: Sequence[Row], path: PathLike, id_type: str
) -> tuple[list[Hashable], list[int], bool]:
    """The first two tokens of every row as ids by the module's rule.

    Returns:
        (ids [2 * E] in row order, the line of each id, whether they are integers).
    """
    if id_type not in ID_TYPES:
        raise ValueError(f"id_type={id_type!r} is unknown; use one of {ID_TYPES}")
    tokens: list[str] = []
    lines: list[int] = []
    for line, row in rows:
        if len(row) < 2 or not row[0] or not row[1]:
            raise ValueError(f"{path}:{line}: an edge line needs two node ids, got {row!r}")
        tokens += row[:2]
        lines += (line, line)
    if id_type == "str":
        return list(tokens), lines, False
    bad = next((i for i, t in enumerate(tokens) if not CANONICAL_INT.fullmatch(t)), None)
    if bad is None:
        return [_to_int(t, path, line) for t, line in zip(tokens, lines, strict=True)], lines, True
    if id_type == "int":
        raise ValueError(
            f"{path}:{lines[bad]}: node id {tokens[bad]!r} is not a canonical integer "
            "(digits, an optional '-', no leading zero or '+'), as id_type='int' requires; "
            "pass id_type='str' to read ids as text"
        )
    numeric = next((i for i, t in enumerate(tokens) if _NUMERIC.fullmatch(t)), None)
    if numeric is not None:
        warnings.warn(
            f"{path}: node ids are read as strings because line {lines[bad]} has "
            f"{tokens[bad]!r}, not a canonical integer; numeric-looking ids such as "
            f"{tokens[numeric]!r} (line {lines[numeric]}) stay text, so '1' and '01' are "
            "different nodes. Pass id_type='str' to accept this, or fix the file.",
            GraphWarning,
            stacklevel=3,
        )
    return list(tokens), lines, False


def number_nodes(
    ids: list[Hashable], lines: list[int], is_int: bool, num_nodes: int | None, path: PathLike
) -> tuple[np.ndarray, int, list[Hashable] | None]:
    """Node indices for ``ids`` by the module's rule.

    Returns:
        (indices int64 [len(ids)], N, node_ids or None when node i is id i).
    """
    if num_nodes is not None:
        if not is_int:
            raise ValueError(
                f"{path}: num_nodes numbers nodes by integer id, but the ids are strings"
            )
        bad = next((i for i, v in enumerate(ids) if not 0 <= v < num_nodes), None)  # type: ignore[operator]
        if bad is not None:
            raise ValueError(
                f"{path}:{lines[bad]}: node id {ids[bad]} is outside 0..{num_nodes - 1} "
                f"(num_nodes={num_nodes})"
            )
        return np.asarray(ids, dtype=np.int64), num_nodes, None
    distinct = sorted(set(ids)) if is_int else list(dict.fromkeys(ids))  # type: ignore[type-var]
    n = len(distinct)
    if is_int and distinct[0] == 0 and distinct[-1] == n - 1:
        return np.asarray(ids, dtype=np.int64), n, None
    index = {v: i for i, v in enumerate(distinct)}
    return np.fromiter((index[v] for v in ids), dtype=np.int64, count=len(ids)), n, distinct


def _label_values(tokens: list[str]) -> list[Any]:
    """Labels are ints when every token is a canonical integer, else the tokens; a
    negative integer (the usual -1) marks an unlabelled node either way."""
    if all(CANONICAL_INT.fullmatch(t) and len(t) <= MAX_ID_DIGITS for t in tokens):
        return [int(t) for t in tokens]
    return [None if CANONICAL_INT.fullmatch(t) and t.startswith("-") else t for t in tokens]


def _feature_row(tokens: list[str], path: PathLike, line: int) -> list[float]:
    try:
        row = [float(t) for t in tokens]
    except ValueError as err:
        raise ValueError(f"{path}:{line}: features must be numbers ({err})") from err
    if not np.isfinite(row).all():
        raise ValueError(f"{path}:{line}: features must be finite, got {tokens!r}")
    return row


def values_from_file(
    path: PathLike,
    what: str,
    n: int,
    lookup: Callable[[str, int], int],
    keyed: bool | None,
    delimiter: str | None,
    comments: str,
    node_ids: Sequence[Hashable] | None = None,
) -> list[Any]:
    """Labels (``what="labels"``) or features, one per node, from a text file.

    Rows are ``id value(s)`` when ``keyed`` (``lookup``: token, line -> node, raising
    for an unknown id), else one row per node in node order; ``keyed=None`` (labels of
    integer ids) decides by width: two columns are ``id label``. Every row must have
    the width of the first.
    """
    rows = read_rows(path, delimiter, comments, what)
    width = len(rows[0][1])
    for line, row in rows:
        if len(row) != width:
            raise ValueError(
                f"{path}:{line}: {len(row)} columns, but line {rows[0][0]} has {width}; "
                f"every {what} row needs the same columns"
            )
    keyed = width == 2 if keyed is None else keyed
    per_row = width - 1 if keyed else width
    if what == "labels" and per_row != 1:
        form = "'id label'" if keyed else "one label, or 'id label'"
        raise ValueError(f"{path}:{rows[0][0]}: {width} columns; a labels row is {form}")
    if per_row < 1:
        raise ValueError(f"{path}:{rows[0][0]}: a row holds only a node id, no {what}")
    if what == "labels":
        parsed: list[Any] = _label_values([row[-1] for _, row in rows])
    else:
        parsed = [_feature_row(row[width - per_row :], path, line) for line, row in rows]
    if not keyed:
        if len(rows) != n:
            raise ValueError(f"{path}: {len(rows)} {what} rows for {n} nodes (one per node)")
        return parsed
    out: list[Any] = [None] * n
    seen = np.zeros(n, dtype=np.int64)  # line of each node's row, 0 = none yet
    for (line, row), value in zip(rows, parsed, strict=True):
        node = lookup(row[0], line)
        if seen[node]:
            raise ValueError(
                f"{path}:{line}: a second {what} row for node {row[0]!r} (first on line "
                f"{seen[node]})"
            )
        seen[node], out[node] = line, value
    if not seen.all():
        missing = np.flatnonzero(seen == 0)[:5].tolist()
        first = missing if node_ids is None else [node_ids[i] for i in missing]
        raise ValueError(
            f"{path}: {what} missing for {int((seen == 0).sum())} of {n} nodes (first: {first})"
        )
    return out


def id_lookup(
    path: PathLike, edge_path: PathLike, is_int: bool, n: int, node_ids: list[Hashable] | None
) -> Callable[[str, int], int]:
    """Map an id token of a labels/features file to its node, by the edge file's rule."""
    index = None if node_ids is None else {v: i for i, v in enumerate(node_ids)}

    def lookup(token: str, line: int) -> int:
        key: Hashable = token
        if is_int:
            if not CANONICAL_INT.fullmatch(token):
                raise ValueError(
                    f"{path}:{line}: node id {token!r} is not a canonical integer, as the "
                    f"ids of {edge_path} are"
                )
            key = _to_int(token, path, line)
        node = (key if 0 <= key < n else None) if index is None else index.get(key)  # type: ignore[operator]
        if node is None:
            raise ValueError(f"{path}:{line}: node {token!r} is not a node of {edge_path}")
        return node

    return lookup
