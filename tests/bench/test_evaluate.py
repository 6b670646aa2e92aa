"""``graphclust evaluate`` end to end (its readers: tests/data/test_pair_files.py; the
inter-pair sampling: tests/metrics/test_pair_sampling.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from graphclust.cli import main
from graphclust.data.pair_files import read_pairs
from graphclust.metrics import edge_score
from graphclust.metrics.pair_sampling import sample_inter_pairs


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- the command ------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    # two triangles joined by the edge 2-3; partition {0,1,2} {3,4,5}
    return {
        "graph": _write(tmp_path / "g.txt", "0 1\n1 2\n0 2\n2 3\n3 4\n4 5\n3 5\n"),
        "part": _write(tmp_path / "part.txt", "a\na\na\nb\nb\nb\n"),
        "intra": _write(tmp_path / "intra.txt", "0 1\n0 2\n3 4\n2 3\n"),
        "inter": _write(tmp_path / "inter.txt", "0 5\n1 4\n"),
    }


def test_command_with_pair_files(files: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    status = main(
        [
            "evaluate",
            "--graph",
            str(files["graph"]),
            "--partition",
            str(files["part"]),
            "--intra",
            str(files["intra"]),
            "--inter",
            str(files["inter"]),
            "--json",
        ]
    )
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    expected = edge_score(
        torch.tensor([0, 0, 0, 1, 1, 1]),
        intra_pairs=torch.tensor([[0, 0, 3, 2], [1, 2, 4, 3]]),
        inter_pairs=torch.tensor([[0, 1], [5, 4]]),
    )
    assert report["edge"] == pytest.approx(expected.edge)  # P = 1, R = 3/4
    assert report["edge"] == pytest.approx(6 / 7)
    assert report["trivial_edge"] == pytest.approx(2 * (4 / 6) / (1 + 4 / 6))
    assert report["edge_minus_trivial"] == pytest.approx(6 / 7 - 0.8)
    assert report["inter_sample"] is None


def test_command_sample_inter_text(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    saved = tmp_path / "sampled.txt"
    args = [
        "evaluate",
        "--graph",
        str(files["graph"]),
        "--partition",
        str(files["part"]),
        "--intra",
        str(files["intra"]),
        "--sample-inter",
        "5",
        "--seed",
        "1",
        "--save-inter",
        str(saved),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    # 15 pairs, 7 edges, intra pairs all edges here: 8 candidates
    assert (
        "4 intra" in out and "5 inter sampled uniformly: 5 of 8 non-adjacent pairs, seed 1" in out
    )
    for line in (
        "EDGE ",
        "precision",
        "recall",
        "inter F1",
        "K (clusters)    2",
        "trivial EDGE",
        "EDGE - trivial",
    ):
        assert line in out
    sampled = np.loadtxt(saved, dtype=np.int64)
    assert sampled.shape == (5, 2)
    assert main(args) == 0
    assert capsys.readouterr().out == out  # seeded: the same report again


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"part": "a\na\n"}, "refers to node 5 but"),
        ({"intra": "0 1\n0 9\n"}, r"intra.txt, line 2: pair \(0, 9\) refers to a node >= 6"),
        ({"inter": "0 5 1\n"}, "inter.txt, line 1: expected 2 fields"),
        ({"inter": "0 1\n"}, "listed as both intra and inter"),
    ],
)
def test_command_reports_bad_files(
    files: dict[str, Path], change: dict[str, str], message: str, capsys: pytest.CaptureFixture
) -> None:
    for key, text in change.items():
        files[key].write_text(text)
    status = main(
        [
            "evaluate",
            "--graph",
            str(files["graph"]),
            "--partition",
            str(files["part"]),
            "--intra",
            str(files["intra"]),
            "--inter",
            str(files["inter"]),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "graphclust evaluate: error:" in err
    assert re.search(message, err), err


def test_command_argument_combinations(
    files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    base = ["evaluate", "--graph", str(files["graph"]), "--partition", str(files["part"])]
    cases = [
        (["--intra", str(files["intra"])], "give --inter FILE or --sample-inter N"),
        (["--inter", str(files["inter"])], "need --intra"),
        (
            ["--intra", str(files["intra"]), "--inter", str(files["inter"]), "--sample-inter", "3"],
            "not both",
        ),
        ([], "has no ground-truth labels"),
    ]
    for extra, message in cases:
        assert main(base + extra) == 2
        assert message in capsys.readouterr().err


# -- sampled inter pairs: default mix and caveats ------------------------------------------
def _sample_args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "evaluate",
        "--graph",
        str(files["graph"]),
        "--partition",
        str(files["part"]),
        "--intra",
        str(files["intra"]),
        "--sample-inter",
        *extra,
    ]


def test_sample_inter_default_mix_is_one_inter_per_intra(
    files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    from graphclust.bench.evaluate import SAMPLED_INTER_NOTE

    assert main([*_sample_args(files), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 4 distinct intra pairs -> 4 sampled inter pairs at the default ratio 1.0
    assert report["n_intra"] == 4 and report["n_inter"] == 4
    assert report["inter_sample"]["size"] == 4
    assert report["inter_sample"]["inter_per_intra"] == pytest.approx(1.0)
    assert report["inter_sample"]["note"] == SAMPLED_INTER_NOTE
    # The same pairs scored directly give the same EDGE (seed 0 by default).
    pairs, _ = sample_inter_pairs(
        read_pairs(files["graph"], edge_list=True).pairs,
        6,
        4,
        exclude=read_pairs(files["intra"]).pairs,
        seed=0,
    )
    expected = edge_score(
        torch.tensor([0, 0, 0, 1, 1, 1]),
        intra_pairs=read_pairs(files["intra"]).pairs,
        inter_pairs=pairs,
    )
    assert report["edge"] == pytest.approx(expected.edge)
    assert report["trivial_edge"] == pytest.approx(expected.trivial_edge)
    # trivial EDGE at a 1:1 mix: precision 1/2, recall 1 -> 2/3
    assert report["trivial_edge"] == pytest.approx(2 / 3)


def test_sample_inter_ratio_and_text_caveat(
    files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    assert main([*_sample_args(files), "--inter-ratio", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "6 inter sampled uniformly: 6 of 8 non-adjacent pairs, seed 0" in out
    assert "not pairs known to be apart" in out and "one intra/inter mix" in out
    # An explicit count still works and reports its ratio.
    assert main([*_sample_args(files, "2")]) == 0
    assert "0.5 inter per intra pair" in capsys.readouterr().out


def test_sample_inter_argument_errors(
    files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    base = _sample_args(files)
    cases = [
        ([*_sample_args(files, "3"), "--inter-ratio", "2"], "not both"),
        ([*base, "--inter-ratio", "0"], "--inter-ratio must be positive"),
        (
            [
                "evaluate",
                "--graph",
                str(files["graph"]),
                "--partition",
                str(files["part"]),
                "--intra",
                str(files["intra"]),
                "--inter",
                str(files["inter"]),
                "--inter-ratio",
                "2",
            ],
            "only applies with --sample-inter",
        ),
        ([*base, "--inter-ratio", "5"], "cannot sample 20 inter pairs"),
    ]
    for args, message in cases:
        assert main(args) == 2
        assert message in capsys.readouterr().err


def test_help_states_the_caveats(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "not known to be apart" in text
    assert "--inter-ratio" in text and "default: 1.0" in text


def test_sample_inter_zero_is_refused(
    files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    assert main(_sample_args(files, "0")) == 2
    assert "--sample-inter must be at least 1, got 0" in capsys.readouterr().err
