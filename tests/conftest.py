"""Shared fixtures: where the benchmark data lives, a private processing cache, and the
device the tests run on.

Estimators default to ``device="auto"``, which picks CUDA on a GPU machine; tests that
compare against CPU references or repeat bit for bit must not move there by accident,
so the session pins ``$GRAPHCLUST_DEVICE`` to ``cpu`` (unless it is set already). Tests
of the GPU paths ask for ``device="cuda"`` and carry :data:`tests.markers.requires_cuda`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_root() -> Path | None:
    env = os.environ.get("GRAPHCLUST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GRAPHCLUST_DEVICE", "cpu")


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Processed files go to a per-session cache, never next to the read-only raw files."""
    if "GRAPHCLUST_CACHE" not in os.environ:
        os.environ["GRAPHCLUST_CACHE"] = str(tmp_path_factory.mktemp("graphclust-cache"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The benchmark data root (``$GRAPHCLUST_DATA`` or ../shared/data), else skip."""
    root = _shared_data_root()
    if root is None:
        pytest.skip(
            "benchmark data not found: set GRAPHCLUST_DATA to a folder laid out like "
            "../shared/data (see datasets/README.md)"
        )
    return root
