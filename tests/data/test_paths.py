"""Cache helpers: fingerprints track file changes; cache entries are written once."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest
import torch

from graphclust.data.paths import build_lock, cache_root, cached, fingerprint, sha256


def test_fingerprint_changes_with_content_and_parameters(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("a")
    first = fingerprint([path], 3)
    assert fingerprint([path], 3) == first and fingerprint([path], 4) != first
    path.write_text("bb")
    assert fingerprint([path], 3) != first


def test_cached_builds_once(tmp_path: Path) -> None:
    calls = []

    def build() -> torch.Tensor:
        calls.append(1)
        return torch.arange(3)

    target = tmp_path / "sub" / "x.pt"
    assert torch.equal(cached(target, build), torch.arange(3))
    assert torch.equal(cached(target, build), torch.arange(3))
    assert len(calls) == 1 and [p.name for p in target.parent.iterdir()] == ["x.pt"]


def test_cache_root_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GRAPHCLUST_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_sha256_of_a_known_string(tmp_path: Path) -> None:
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert os.path.getsize(path) == 3


def _try_lock(path: str) -> bool:
    """In another process: can the build lock of ``path`` be taken right now?"""
    from filelock import FileLock, Timeout

    try:
        with FileLock(f"{path}.lock", timeout=0):
            return True
    except Timeout:
        return False


def test_build_lock_excludes_other_processes(tmp_path: Path) -> None:
    target = tmp_path / "kind" / "folder-key" / "processed"
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        with build_lock(target):
            assert target.parent.is_dir()  # created for the lock file
            assert pool.apply(_try_lock, (str(target),)) is False
        assert pool.apply(_try_lock, (str(target),)) is True


def _load_cora(root: str, cache: str) -> list[int]:
    os.environ["GRAPHCLUST_CACHE"] = cache
    from graphclust.data import load_dataset

    data = load_dataset("cora", root=root)
    return [data.num_nodes, data.edge_index.size(1), int(data.x.sum())]


def test_concurrent_first_loads_share_one_build(data_root: Path, tmp_path: Path) -> None:
    # two processes load a dataset into an empty cache at once: both get the whole graph
    # (without the lock, one could read PyG's half-written processed file)
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_load_cora, [(str(data_root), str(tmp_path))] * 2)
    assert results[0] == results[1] and results[0][0] == 2708


def test_planetoid_loader_processes_inside_the_build_lock(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # graphclust.data.pyg_datasets wraps PyG's processing in build_lock: while the lock
    # is held the processed folder is being written, and after it the files are complete
    import contextlib

    from graphclust.data import load_dataset, pyg_datasets

    monkeypatch.setenv("GRAPHCLUST_CACHE", str(tmp_path))
    held: list[Path] = []

    @contextlib.contextmanager
    def recording_lock(directory: Path):
        with build_lock(directory):
            held.append(directory)
            assert not directory.exists() or not any(directory.iterdir())
            yield
        assert any(directory.iterdir())  # processed files written inside the lock

    monkeypatch.setattr(pyg_datasets, "build_lock", recording_lock)
    data = load_dataset("cora", root=data_root)
    assert data.num_nodes == 2708 and len(held) == 1
    assert held[0].name == "processed" and tmp_path in held[0].parents
