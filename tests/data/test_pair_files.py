"""Partition and pair files: both partition formats, errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphclust.data.pair_files import read_pairs, read_partition


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_partition_one_label_per_line(tmp_path: Path) -> None:
    # a trailing comma (CSV export) leaves one field
    path = _write(tmp_path / "p.txt", "# from some tool\nc2\nc2\n\nc7\nc2,\n")
    labels, names = read_partition(path)
    assert labels.tolist() == [0, 0, 1, 0]
    assert names == ["c2", "c7"]


def test_partition_node_label_pairs_any_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.tsv", "2\t5\n0\t9\n1 5\n")
    labels, names = read_partition(path)
    assert labels.tolist() == [0, 1, 1]  # node 0 -> "9", nodes 1, 2 -> "5"
    assert names == ["9", "5"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 1\n1 1\n2\n", "line 3: 1 fields, but line 1 has 2"),
        ("0 a\n0 b\n", "line 2: node 0 was already given a label on line 1"),
        ("0 a\n2 b\n", "1 nodes in 0..2 have no label"),
        ("x a\n", "line 1: 'x' is not an integer node id"),
        ("-1 a\n", "line 1: node id -1 is negative"),
        ("0 a b\n", "expected 'label' or 'node label'"),
        ("# nothing\n\n", "no data lines"),
    ],
)
def test_partition_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_partition(_write(tmp_path / "bad.txt", text))


def test_pairs_reader_and_errors(tmp_path: Path) -> None:
    pairs = read_pairs(_write(tmp_path / "ok.txt", "# i j\n0 1\n3,2\n"))
    assert pairs.pairs.tolist() == [[0, 3], [1, 2]]
    assert pairs.lines.tolist() == [2, 3]
    with pytest.raises(ValueError, match="line 2: expected 2 fields"):
        read_pairs(_write(tmp_path / "a.txt", "0 1\n0 1 2\n"))
    with pytest.raises(ValueError, match=r"line 1: the pair \(4, 4\)"):
        read_pairs(_write(tmp_path / "b.txt", "4 4\n"))
    with pytest.raises(ValueError, match="line 1: '1.5' is not an integer"):
        read_pairs(_write(tmp_path / "c.txt", "1.5 2\n"))
    with pytest.raises(FileNotFoundError):
        read_pairs(tmp_path / "missing.txt")
    weighted = read_pairs(_write(tmp_path / "w.txt", "0 1 0.5\n"), edge_list=True)
    assert weighted.pairs.tolist() == [[0], [1]]
    with pytest.raises(ValueError, match=r"line 3: pair \(1, 9\) refers to a node >= 5"):
        read_pairs(_write(tmp_path / "r.txt", "0 1\n\n1 9\n")).check_range(5)
