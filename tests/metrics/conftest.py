"""Fixtures of the metric tests: small reference graphs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data


def _load_cora(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Data:
    """Cora through graphclust's loader, or PyG's Planetoid on links to the raw files
    while that loader is not available."""
    try:
        from graphclust.data import load_dataset
    except ImportError:
        load_dataset = None
    if load_dataset is not None:
        return load_dataset("cora", root=data_root)
    from torch_geometric.datasets import Planetoid

    raw = data_root / "Cora" / "raw"
    if not raw.is_dir():
        pytest.skip(f"Cora raw files not found under {raw}")
    root = tmp_path_factory.mktemp("planetoid")
    (root / "Cora" / "raw").mkdir(parents=True)
    for path in raw.iterdir():
        (root / "Cora" / "raw" / path.name).symlink_to(path)
    return Planetoid(str(root), "Cora")[0]


@pytest.fixture(scope="session")
def cora(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Data:
    """Cora: 2,708 nodes, 5,278 undirected edges (both directions listed), 7 classes."""
    data = _load_cora(data_root, tmp_path_factory)
    assert data.num_nodes == 2708
    assert isinstance(data.edge_index, torch.Tensor)
    return data
