"""``graphclust fit --nproc-per-node``: the torchrun command, refusals, a 2-process run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from graphclust.bench.fit import FitError, check_distributed_method, torchrun_command
from graphclust.cli import main

PAMC = [
    "--method", "pamc", "--dataset", "karate", "--set", "n_clusters=2",
    "--set", "batch_size=16", "--set", "hidden=[16,16]", "--set", "latent_dim=4",
    "--set", "pretrain_epochs=5", "--set", "epochs=5", "--set", "n_init=2",
]  # fmt: skip


def test_torchrun_command_reruns_the_same_arguments() -> None:
    argv = ["fit", "--method", "pamc", "--nproc-per-node", "2", "--seed", "1"]
    cmd = torchrun_command(argv, 2)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in cmd
    assert cmd[cmd.index("graphclust.cli") + 1 :] == ["fit", "--method", "pamc", "--seed", "1"]
    assert torchrun_command(["fit", "--nproc-per-node=2"], 2)[-1] == "fit"


def test_methods_without_data_parallel_training_are_refused(capsys) -> None:
    with pytest.raises(FitError, match="does not train data-parallel"):
        check_distributed_method("louvain", 2)
    with pytest.raises(FitError, match="positive integer"):
        check_distributed_method("pamc", 0)
    check_distributed_method("louvain", 1)  # one process: any method
    assert main(["fit", "--method", "kmeans", "--dataset", "karate", "--nproc-per-node", "2"]) == 2
    assert "does not train data-parallel" in capsys.readouterr().err


@pytest.mark.slow
def test_two_processes_write_what_one_process_writes(tmp_path) -> None:
    """Full-run check: torchrun, gloo, 2 processes; rank 0 writes the same labels as one
    process (about 15 s on an idle machine, mostly two interpreters importing torch)."""
    env_cmd = [sys.executable, "-m", "graphclust", "fit", *PAMC]
    one, two = tmp_path / "one", tmp_path / "two"
    for out, extra in ((one, []), (two, ["--nproc-per-node", "2"])):
        done = subprocess.run(
            [*env_cmd, "--out", str(out), *extra], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert np.array_equal(np.loadtxt(one / "labels.txt"), np.loadtxt(two / "labels.txt"))
    record = json.loads((two / "record.json").read_text())
    assert record["processes"] == 2 and len(record["peak_rss_mb_per_process"]) == 2
    assert record["config"]["params"]["distributed"] is True


@pytest.mark.slow
def test_two_processes_on_a_mapped_graph_write_what_one_process_writes(tmp_path) -> None:
    """Both ranks map the same folder; rank 0 writes the labels of one process fitted on
    the in-memory dataset."""
    from graphclust.data import load_dataset
    from graphclust.data.memmap import save_memmap

    folder = save_memmap(load_dataset("karate"), tmp_path / "karate-mm")
    base = [sys.executable, "-m", "graphclust", "fit", *PAMC]
    swap = {"--dataset": "--graph", "karate": str(folder)}
    mapped = [swap.get(arg, arg) for arg in base]
    one, two = tmp_path / "one", tmp_path / "two"
    for out, cmd in ((one, base), (two, [*mapped, "--nproc-per-node", "2"])):
        done = subprocess.run(
            [*cmd, "--out", str(out)], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
    labels = [np.loadtxt(out / "labels.txt", ndmin=2)[:, -1] for out in (one, two)]
    assert np.array_equal(*labels)  # the catalog graph writes "id label" lines
    assert json.loads((two / "record.json").read_text())["processes"] == 2


DAG_FULL = [
    "--method", "dag", "--dataset", "karate", "--set", "preset=cpu", "--set", "hidden=8",
    "--set", "epochs=4", "--set", "eval_every=2",
]  # fmt: skip
DAG = [*DAG_FULL, "--set", "batch_size=16", "--set", "subgraphs_per_step=2"]


@pytest.mark.slow
def test_two_processes_fit_dag_sampled_as_one_process(tmp_path) -> None:
    """DAG's sampled mode, one subgraph per rank, writes the labels of one process given
    the same two subgraphs per step; DAG full batch under two processes is refused."""
    base = [sys.executable, "-m", "graphclust", "fit", *DAG]
    one, two = tmp_path / "one", tmp_path / "two"
    for out, extra in ((one, []), (two, ["--nproc-per-node", "2"])):
        done = subprocess.run(
            [*base, "--out", str(out), *extra], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert np.array_equal(np.loadtxt(one / "labels.txt"), np.loadtxt(two / "labels.txt"))
    assert json.loads((two / "record.json").read_text())["processes"] == 2
    done = subprocess.run(
        [*base[:4], *DAG_FULL, "--out", str(tmp_path / "full"), "--nproc-per-node", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "set batch_size" in done.stderr
