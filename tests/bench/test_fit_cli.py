"""``graphclust fit`` and ``--version``: files, record fields, scores, one-line errors."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import torch

import graphclust
from graphclust.bench.fit import FitError, parse_assignments
from graphclust.cli import main
from graphclust.data import load_dataset
from graphclust.methods import METHODS
from graphclust.methods.baselines import KMeans
from graphclust.metrics import evaluate_partition

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _fit(*extra: str) -> int:
    return main(["fit", *extra])


def _one_error_line(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("graphclust fit: warning")]
    assert len(lines) == 1, err
    assert lines[0].startswith("graphclust fit: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_fit_kmeans_karate_writes_files_and_record(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        _fit(
            "--method", "kmeans", "--dataset", "karate", "--set", "n_clusters=2", "--out", str(out)
        )
        == 0
    )
    labels = np.loadtxt(out / "labels.txt", dtype=np.int64)
    assert labels.shape == (34,) and set(labels.tolist()) <= {0, 1}
    assert not (out / "embeddings.npy").exists()  # k-means has no embeddings
    record = json.loads((out / "record.json").read_text())
    assert record["method"] == "kmeans" and record["dataset"] == "karate"
    assert record["config"]["method"] == "KMeans"
    assert record["config"]["params"]["n_clusters"] == 2
    assert record["seed"] == 0 and record["n_nodes"] == 34 and record["n_edges"] == 78
    assert record["versions"]["graphclust"] == graphclust.__version__
    assert record["wall_time_s"] > 0 and record["peak_rss_mb"] > 0
    assert record["files"] == ["labels.txt", "record.json"]
    # the scores are those of the written labels, recomputed independently here
    data = load_dataset("karate")
    expected = evaluate_partition(torch.from_numpy(labels), data)
    free, labelled = record["scores"]["label_free"], record["scores"]["labelled"]
    assert free["k"] == len(set(labels.tolist()))
    graph = nx.karate_club_graph()
    parts = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]
    assert free["modularity"] == pytest.approx(nx.community.modularity(graph, parts, weight=None))
    assert free["conductance"] == pytest.approx(expected["conductance"])
    assert labelled["nmi"] == pytest.approx(expected["nmi"])
    assert labelled["acc"] == pytest.approx(expected["acc"])
    out_text = capsys.readouterr().out
    assert "kmeans on karate" in out_text and "K = 2" in out_text


def test_fit_is_seeded(tmp_path):
    for name in ("a", "b"):
        args = ["--method", "kmeans", "--dataset", "karate", "--set", "n_clusters=3"]
        assert _fit(*args, "--seed", "3", "--out", str(tmp_path / name)) == 0
    a = (tmp_path / "a" / "labels.txt").read_text()
    assert a == (tmp_path / "b" / "labels.txt").read_text()
    record = json.loads((tmp_path / "a" / "record.json").read_text())
    assert record["seed"] == 3 and record["config"]["params"]["seed"] == 3


def test_fit_embeddings_and_plots(tmp_path):
    out = tmp_path / "spectral"
    assert (
        _fit(
            "--method",
            "spectral",
            "--dataset",
            "karate",
            "--out",
            str(out),
            "--plot",
            "--device",
            "cpu",
        )
        == 0
    )
    z = np.load(out / "embeddings.npy")
    assert z.shape[0] == 34 and z.dtype == np.float32
    record = json.loads((out / "record.json").read_text())
    assert record["config"]["params"]["n_clusters"] == 2  # K from the dataset's classes
    assert record["device"] == "cpu" and record["config"]["params"]["device"] == "cpu"
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["contingency.png", "embedding.png"]
    assert set(pngs) <= set(record["files"])
    for name in pngs:
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_fit_dataset_params(tmp_path):
    out = tmp_path / "sbm"
    args = [
        "--method",
        "kmeans",
        "--dataset",
        "sbm",
        "--dataset-set",
        "n_nodes=60",
        "--dataset-set",
        "n_clusters=3",
        "--set",
        "n_init=2",
        "--out",
        str(out),
    ]
    assert _fit(*args) == 0
    record = json.loads((out / "record.json").read_text())
    assert record["n_nodes"] == 60
    assert record["dataset_params"] == {"n_nodes": 60, "n_clusters": 3}
    assert (
        record["config"]["params"]["n_clusters"] == 3 and record["config"]["params"]["n_init"] == 2
    )


def _two_triangles(tmp_path):
    path = tmp_path / "graph.txt"
    path.write_text("# two triangles joined by one edge\n0 1\n1 2\n0 2\n3 4\n4 5\n3 5\n2 3\n")
    return path


def test_fit_graph_file(tmp_path):
    graph = _two_triangles(tmp_path)
    out = tmp_path / "out"
    assert _fit("--method", "louvain", "--graph", str(graph), "--out", str(out)) == 0
    labels = np.loadtxt(out / "labels.txt", dtype=np.int64)
    assert labels.shape == (6,)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]
    record = json.loads((out / "record.json").read_text())
    assert record["graph"] == str(graph) and record["n_edges"] == 7
    assert record["scores"]["labelled"] is None  # no labels: label-free scores only
    # hand-worked: 2 clusters of 3 intra edges each, m = 7, degrees 7 per side
    assert record["scores"]["label_free"]["modularity"] == pytest.approx(2 * (3 / 7 - 0.25))
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("a\na\na\nb\nb\nb\n")
    out2 = tmp_path / "out2"
    assert (
        _fit(
            "--method",
            "kmeans",
            "--graph",
            str(graph),
            "--labels",
            str(labels_file),
            "--out",
            str(out2),
        )
        == 0
    )  # K = 2 from the labels file
    record = json.loads((out2 / "record.json").read_text())
    assert record["config"]["params"]["n_clusters"] == 2
    assert set(record["scores"]["labelled"]) >= {"acc", "nmi", "ari", "f1"}


def test_labels_keep_the_files_own_ids(tmp_path):
    """Sparse or string ids are renumbered for the fit; labels.txt maps them back."""
    graph = tmp_path / "graph.txt"
    graph.write_text("alice bob\nbob carol\nalice carol\n9000000000 77\n77 12\n12 9000000000\n")
    graph.write_text(graph.read_text() + "carol 12\n")
    out = tmp_path / "out"
    assert _fit("--method", "louvain", "--graph", str(graph), "--out", str(out)) == 0
    rows = [line.split() for line in (out / "labels.txt").read_text().splitlines()]
    ids = [row[0] for row in rows]
    assert sorted(ids) == sorted(["alice", "bob", "carol", "9000000000", "77", "12"])
    label = {node: int(value) for node, value in rows}
    assert label["alice"] == label["bob"] == label["carol"]
    assert label["9000000000"] == label["77"] == label["12"] != label["alice"]


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--method", "kmeans", "--dataset", "karate", "--set", "bogus=1"], ["bogus", "valid"]),
        (["--method", "nosuch", "--dataset", "karate"], ["unknown method 'nosuch'", "kmeans"]),
        (["--method", "kmeans", "--dataset", "nosuch"], ["unknown dataset 'nosuch'"]),
        (["--method", "kmeans", "--dataset", "karate", "--set", "n_clusters=[2,"], ["YAML"]),
        (["--method", "kmeans", "--dataset", "karate", "--set", "n_clusters"], ["NAME=VALUE"]),
        (
            ["--method", "kmeans", "--dataset", "sbm", "--dataset-set", "nope=1"],
            ["nope", "--dataset-set"],
        ),
        (["--method", "kmeans", "--dataset", "karate", "--device", "tpu"], ["--device", "tpu"]),
        (["--method", "kmeans", "--dataset", "karate", "--set", "n_clusters=-1"], ["n_clusters"]),
    ],
)
def test_fit_bad_arguments_are_one_line(tmp_path, capsys, extra, fragments):
    assert _fit(*extra, "--out", str(tmp_path / "o")) == 2
    _one_error_line(capsys, *fragments)


def test_fit_output_in_the_way(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["--method", "kmeans", "--dataset", "karate", "--set", "n_clusters=2"]
    assert _fit(*args, "--out", str(blocker)) == 2
    _one_error_line(capsys, "in the way")
    assert _fit(*args, "--out", str(blocker / "sub")) == 2  # a file where a parent must be
    _one_error_line(capsys, "--out")
    (tmp_path / "o" / "labels.txt").mkdir(parents=True)  # a folder where a file must be
    assert _fit(*args, "--out", str(tmp_path / "o")) == 2
    _one_error_line(capsys, "labels.txt")


def test_fit_graph_errors(tmp_path, capsys):
    assert _fit("--method", "kmeans", "--graph", str(tmp_path / "missing.txt")) == 2
    _one_error_line(capsys, "no such file")
    graph = _two_triangles(tmp_path)
    assert _fit("--method", "kmeans", "--graph", str(graph), "--out", str(tmp_path / "o")) == 2
    _one_error_line(capsys, "--set n_clusters=K")


def test_fit_method_failure_is_one_line(tmp_path, capsys, monkeypatch):
    def broken(self, data, device):
        raise RuntimeError("boom")

    monkeypatch.setattr(KMeans, "_fit", broken)
    args = ["--method", "kmeans", "--dataset", "karate", "--out", str(tmp_path / "o")]
    assert _fit(*args) == 2
    _one_error_line(capsys, "RuntimeError: boom", "--traceback")
    with pytest.raises(RuntimeError, match="boom"):
        _fit(*args, "--traceback")


def test_parse_assignments():
    parsed = parse_assignments(
        ["a=1e-3", "b=[64, 32]", "c=null", "d=auto", "e=2", "f=true"], "--set"
    )
    assert parsed == {"a": 1e-3, "b": [64, 32], "c": None, "d": "auto", "e": 2, "f": True}
    with pytest.raises(FitError, match="mapping"):
        parse_assignments(["a={x: 1}"], "--set")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"graphclust {graphclust.__version__}"


def test_fit_gml_and_npz_by_extension(tmp_path):
    graph = nx.karate_club_graph()
    for node in graph:
        graph.nodes[node]["faction"] = graph.nodes[node].pop("club")
    for u, v in graph.edges:
        graph.edges[u, v].pop("weight", None)
    gml = tmp_path / "karate.gml"
    nx.write_gml(graph, gml)
    out = tmp_path / "gml"
    args = ["--method", "louvain", "--graph", str(gml), "--label-attr", "faction"]
    assert _fit(*args, "--feature-kind", "degree", "--out", str(out)) == 0
    record = json.loads((out / "record.json").read_text())
    assert record["n_nodes"] == 34 and record["n_edges"] == 78
    assert record["scores"]["labelled"]["nmi"] > 0.3  # louvain finds the factions loosely
    adjacency = nx.to_scipy_sparse_array(graph, format="csr", dtype=np.float32)
    npz = tmp_path / "karate.npz"
    np.savez(
        npz,
        adj_data=adjacency.data,
        adj_indices=adjacency.indices,
        adj_indptr=adjacency.indptr,
        adj_shape=adjacency.shape,
        labels=np.array([graph.nodes[n]["faction"] == "Mr. Hi" for n in graph], dtype=int),
    )
    out = tmp_path / "npz"
    assert _fit("--method", "kmeans", "--graph", str(npz), "--out", str(out)) == 0
    record = json.loads((out / "record.json").read_text())
    assert record["n_edges"] == 78 and record["config"]["params"]["n_clusters"] == 2


def test_graph_only_options_refused_with_dataset(tmp_path, capsys):
    args = ["--method", "kmeans", "--dataset", "karate", "--feature-kind", "degree"]
    assert _fit(*args, "--out", str(tmp_path / "o")) == 2
    _one_error_line(capsys, "--graph only")


def test_fit_memory_mapped_folder_gives_the_labels_of_the_dataset(tmp_path):
    from graphclust.data.memmap import save_memmap

    folder = save_memmap(load_dataset("karate"), tmp_path / "karate-mm")
    args = ["--method", "kmeans", "--set", "n_clusters=2", "--seed", "3"]
    assert _fit(*args, "--dataset", "karate", "--out", str(tmp_path / "a")) == 0
    assert _fit(*args, "--graph", str(folder), "--out", str(tmp_path / "b")) == 0
    # The catalog graph writes "id label" lines (its node_ids), the folder one label a line.
    labels = [np.loadtxt(tmp_path / out / "labels.txt", ndmin=2)[:, -1] for out in "ab"]
    assert np.array_equal(*labels)
    record = json.loads((tmp_path / "b" / "record.json").read_text())
    assert record["graph"] == str(folder) and record["n_nodes"] == 34


def test_fit_folder_errors_are_one_line(tmp_path, capsys):
    from graphclust.data.memmap import save_memmap

    assert _fit("--method", "kmeans", "--graph", str(tmp_path)) == 2
    _one_error_line(capsys, "a folder without meta.json")
    folder = save_memmap(load_dataset("karate"), tmp_path / "mm")
    labels = tmp_path / "labels.txt"
    labels.write_text("0\n")
    assert _fit("--method", "kmeans", "--graph", str(folder), "--labels", str(labels)) == 2
    _one_error_line(capsys, "do not apply to the memory-mapped graph")
    (folder / "x.npy").unlink()
    assert _fit("--method", "kmeans", "--graph", str(folder)) == 2
    _one_error_line(capsys, "x.npy: missing")


def test_image_method_fits_the_images_of_an_image_dataset(tmp_path, capsys):
    """SwAV trains on the digit images and is scored on the digits kNN graph, whose
    node i is image i; methods whose input the dataset lacks are refused by name."""
    out = tmp_path / "swav"
    tiny = ["width=4", "hidden_dim=16", "embedding_dim=8", "n_local=0", "epochs=1"]
    args = ["--method", "swav", "--dataset", "digits", "--out", str(out)]
    assert _fit(*args, *[x for s in tiny for x in ("--set", s)]) == 0
    labels = np.loadtxt(out / "labels.txt", dtype=np.int64)
    data = load_dataset("digits")
    record = json.loads((out / "record.json").read_text())
    expected = evaluate_partition(torch.from_numpy(labels), data)
    assert record["scores"]["labelled"]["nmi"] == pytest.approx(expected["nmi"])
    assert _fit("--method", "swav", "--dataset", "karate") == 2
    _one_error_line(capsys, "SwAV trains on images", "not karate")
    assert _fit("--method", "sigma", "--dataset", "digits") == 2
    _one_error_line(capsys, "SIGMA trains on video clips", "moving_digits")


@pytest.mark.parametrize(
    ("method", "switch", "tiny"),
    [
        ("depict", "input=images", ["pretrain_epochs=1", "init_epochs=1", "epochs=1"]),
        ("mlcd", "encoder=cnn", ["width=4", "rounds=1", "epochs=1", "n_centres=20"]),
    ],
)
def test_methods_that_take_images_or_graphs_get_images_when_asked(
    method, switch, tiny, tmp_path, capsys
):
    """DEPICT(input="images") and MLCD(encoder="cnn") get the dataset's images (as SwAV
    does); on a graph-only dataset the switch is refused by name, not fed a graph."""
    sets = [x for s in [switch, *tiny] for x in ("--set", s)]
    args = ["--method", method, "--dataset", "digits", "--out", str(tmp_path)]
    assert _fit(*args, *sets) == 0
    assert np.loadtxt(tmp_path / "labels.txt").shape == (1797,)
    assert _fit("--method", method, "--dataset", "karate", *sets) == 2
    _one_error_line(capsys, "trains on images", "not karate")
    assert METHODS.get(method)().input_kind == "graph"  # the default
