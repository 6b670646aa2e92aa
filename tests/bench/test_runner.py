"""The benchmark runner: records, resume, YAML suites, tables, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphclust.bench.runner import RESULTS_FILE, build_estimator, read_records, run_suite
from graphclust.bench.suite import QUICK_DATASETS, load_suite, make_suite, quick_suite
from graphclust.bench.table import format_table, summarize
from graphclust.cli import main
from graphclust.data import load_dataset


def test_records_hold_config_versions_time_memory_and_metrics(tmp_path: Path) -> None:
    suite = make_suite(["kmeans", "louvain"], ["karate"], 2)
    records = run_suite(suite, tmp_path, progress=False)
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    record = records[0]
    for field in (
        "key",
        "method",
        "dataset",
        "seed",
        "params",
        "metrics",
        "wall_time_s",
        "fit_time_s",
        "peak_rss_mb",
        "versions",
        "machine",
        "date",
        "command",
    ):
        assert field in record, field
    assert record["params"]["n_clusters"] == 2  # karate has two factions
    assert record["params"]["seed"] == record["seed"]
    assert {"acc", "nmi", "ari", "f1", "modularity", "edge", "k"} <= set(record["metrics"])
    assert record["versions"]["torch"] != "absent" and record["peak_rss_mb"] > 0
    assert len(read_records(tmp_path / RESULTS_FILE)) == 4


def test_rerun_skips_finished_runs_and_survives_a_truncated_line(tmp_path: Path) -> None:
    suite = make_suite(["kmeans"], ["karate"], 3)
    run_suite(make_suite(["kmeans"], ["karate"], 1), tmp_path, progress=False)
    with (tmp_path / RESULTS_FILE).open("a") as handle:
        handle.write('{"key": "trunc')  # a run killed mid-write
    records = run_suite(suite, tmp_path, progress=False)
    assert [r["seed"] for r in records] == [0, 1, 2]
    lines = read_records(tmp_path / RESULTS_FILE)
    assert sorted(r["seed"] for r in lines) == [0, 1, 2]  # seed 0 was not run again
    run_suite(suite, tmp_path, progress=False)
    assert len(read_records(tmp_path / RESULTS_FILE)) == 3


def test_failures_are_recorded_and_retried(tmp_path: Path) -> None:
    suite = make_suite(["kmeans"], ["karate"], 1)

    def broken_loader(name, root=None, **params):
        data = load_dataset(name, root=root, **params)
        data.x[0, 0] = float("nan")
        return data

    records = run_suite(suite, tmp_path, progress=False, loader=broken_loader)
    assert records[0]["status"] == "error" and "NaN" in records[0]["error"]
    records = run_suite(suite, tmp_path, progress=False)
    assert records[0]["status"] == "ok"


def test_yaml_suite_with_params(tmp_path: Path) -> None:
    config = tmp_path / "suite.yaml"
    config.write_text(
        "name: tiny\nseeds: [0, 5]\nmethods:\n  - kmeans\n  - name: louvain\n"
        "    params: {resolution: 2.0}\ndatasets:\n  - name: sbm\n"
        "    params: {n_nodes: 200, n_clusters: 4}\n"
    )
    suite = load_suite(config)
    assert suite.name == "tiny" and suite.seeds == [0, 5] and len(suite.runs()) == 4
    records = run_suite(suite, tmp_path / "out", progress=False)
    louvain = [r for r in records if r["method"].startswith("louvain")]
    assert louvain[0]["params"]["resolution"] == 2.0
    kmeans = [r for r in records if r["method"] == "kmeans"]
    assert kmeans[0]["params"]["n_clusters"] == 4


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("methods: [kmeanz]\ndatasets: [karate]\n", "unknown method 'kmeanz'"),
        ("methods: [kmeans]\ndatasets: [karat]\n", "unknown dataset 'karat'"),
        ("methods: [kmeans]\n", "missing keys"),
        ("methods: [kmeans]\ndatasets: [karate]\nseeds: 0\n", "at least 1"),
        ("methods: [{name: kmeans, extra: 1}]\ndatasets: [karate]\n", "takes 'name'"),
    ],
)
def test_bad_suite_files(tmp_path: Path, text: str, match: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_suite(config)


def test_summary_is_mean_and_sample_std() -> None:
    records = [
        {
            "dataset": "d",
            "method": "m",
            "status": "ok",
            "wall_time_s": 1.0,
            "peak_rss_mb": 10,
            "metrics": {"acc": v},
        }
        for v in (0.5, 0.7)
    ] + [{"dataset": "d", "method": "m", "status": "error"}]
    (row,) = summarize(records, ["acc"])
    assert row["runs"] == 2 and row["failed"] == 1
    assert row["acc"][0] == pytest.approx(0.6) and row["acc"][1] == pytest.approx(0.1414213, 1e-5)
    text = format_table([row], ["acc"])
    assert "0.600 ± 0.141" in text and "(1 failed)" in text
    assert format_table([row], ["acc"], markdown=True).startswith("| dataset | method")


def test_cli_bench_and_datasets(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "res"
    code = main(
        [
            "bench",
            "--methods",
            "kmeans,spectral",
            "--datasets",
            "karate",
            "--seeds",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "karate" in printed and "spectral" in printed and "4 runs ok, 0 failed" in printed
    assert (out / "summary.md").is_file()
    assert len([json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]) == 4

    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "karate" in listing and "available" in listing

    assert main(["bench", "--methods", "nope", "--datasets", "karate"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err


def test_deep_methods_run_through_the_registry(tmp_path: Path) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text(
        "seeds: 1\nmethods:\n"
        "  - name: pamc\n    params: {epochs: 3, pretrain_epochs: 2, hidden: [32, 32]}\n"
        "  - name: dag\n    params: {k_max: 6, hidden: 16, heads: 2, epochs: 4, eval_every: 2}\n"
        "datasets:\n  - name: sbm\n    params: {n_nodes: 150, n_clusters: 3}\n"
    )
    records = run_suite(load_suite(config), tmp_path / "out", progress=False)
    assert [r["status"] for r in records] == ["ok", "ok"], [r.get("error") for r in records]
    pamc, dag = records
    assert pamc["params"]["n_clusters"] == 3 and "n_clusters" not in dag["params"]
    assert 1 <= dag["metrics"]["k"] <= 6


def test_bench_without_methods_runs_the_quick_suite_with_the_toolkits_methods(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    suite = quick_suite(2)
    names = [m.name for m in suite.methods]
    assert {"pamc", "dag"} <= set(names) and {"kmeans", "louvain"} <= set(names)
    assert [d.name for d in suite.datasets] == list(QUICK_DATASETS) and suite.seeds == [0, 1]
    data = load_dataset("karate")
    for spec in suite.runs():
        if spec.dataset.name == "karate":
            estimator = build_estimator(spec, data)
            assert estimator.get_params().get("progress", False) is False
    out = tmp_path / "quick"
    code = main(["bench", "--datasets", "karate", "--seeds", "1", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "5 runs ok, 0 failed" in printed.out and "dag(" in printed.out
    assert "DAG:" not in printed.err  # estimators' own bars are off inside a suite
