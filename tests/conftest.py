"""Shared fixtures: where the benchmark data lives, a private processing cache, and the
device the tests run on.

Estimators default to ``device="auto"``, which picks CUDA on a GPU machine; tests that
compare against CPU references or repeat bit for bit must not move there by accident,
so the session pins ``$GRAPHCLUST_DEVICE`` to ``cpu`` (unless it is set already). Tests
of the GPU paths ask for ``device="cuda"`` and carry :data:`tests.markers.requires_cuda`.

Benchmark data (:func:`find_data_root`, shown in the report header):
``$GRAPHCLUST_DATA`` when set -- the tests using the ``data_root`` fixture *fail*,
naming the path, when it is not a folder (a variable pointing nowhere is a setup
error, never a reason to test another copy) --, else ../shared/data when present, else
those tests skip with the reason. Tests that find data through the library
(``is_available``/``load_dataset`` without ``root=``) read ``$GRAPHCLUST_DATA`` (else
./datasets) and skip with the reason when the files are not there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.markers import requires_cuda

REPO_ROOT = Path(__file__).resolve().parents[1]


class DataRootMissing(Exception):
    """``$GRAPHCLUST_DATA`` is set but names no folder."""


def find_data_root() -> Path | None:
    """Where the benchmark data is, by one rule.

    ``$GRAPHCLUST_DATA`` set (non-empty): that folder, and :class:`DataRootMissing`
    when it does not exist -- a variable pointing nowhere is a setup error, never a
    reason to read some other copy. Unset (or empty): the sibling ``../shared/data``
    when present, else None (the data-dependent tests skip).
    """
    env = os.environ.get("GRAPHCLUST_DATA")
    if env:
        if not Path(env).is_dir():
            raise DataRootMissing(
                f"GRAPHCLUST_DATA={env!r} is not a folder: fix the path, or unset the "
                "variable to use ../shared/data (or skip the data-dependent tests)"
            )
        return Path(env)
    fallback = REPO_ROOT.parent / "shared" / "data"
    return fallback if fallback.is_dir() else None


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GRAPHCLUST_DEVICE", "cpu")


def pytest_report_header(config: pytest.Config) -> str:
    try:
        root = find_data_root()
    except DataRootMissing as err:
        return f"graphclust data: {err}; the tests that need it fail"
    return f"graphclust data: {root or 'not found; the tests that need it skip'}"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Processed files go to a per-session cache, never next to the read-only raw files."""
    if "GRAPHCLUST_CACHE" not in os.environ:
        os.environ["GRAPHCLUST_CACHE"] = str(tmp_path_factory.mktemp("graphclust-cache"))


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=requires_cuda)])
def device(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on the CPU, and again on CUDA when a GPU is present
    (skipped, with the reason, where none is)."""
    return request.param


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The benchmark data root (see :func:`find_data_root`): the tests using it fail
    when ``$GRAPHCLUST_DATA`` names a missing folder, and skip when the variable is
    unset and ../shared/data is absent."""
    try:
        root, problem = find_data_root(), None
    except DataRootMissing as err:
        root, problem = None, str(err)
    if problem is not None:  # outside the except: no chained traceback in the report
        pytest.fail(problem, pytrace=False)
    if root is None:
        pytest.skip(
            "benchmark data not found: set GRAPHCLUST_DATA to a folder laid out like "
            "../shared/data (see datasets/README.md)"
        )
    return root
