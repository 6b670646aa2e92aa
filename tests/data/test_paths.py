"""Cache helpers: fingerprints track file changes; cache entries are written once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from graphclust.data.paths import cache_root, cached, fingerprint, sha256


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
