"""The test suite's data root: a ``$GRAPHCLUST_DATA`` pointing nowhere fails loudly.

Before, a missing ``$GRAPHCLUST_DATA`` folder fell back silently to ../shared/data, so
a misconfigured run tested some other copy of the data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, DataRootMissing, find_data_root


def test_a_missing_data_folder_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("GRAPHCLUST_DATA", str(missing))
    with pytest.raises(DataRootMissing, match=f"GRAPHCLUST_DATA='{missing}' is not a folder"):
        find_data_root()


def test_the_variable_wins_and_unset_falls_back_to_the_sibling_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHCLUST_DATA", str(tmp_path))
    assert find_data_root() == tmp_path
    sibling = REPO_ROOT.parent / "shared" / "data"
    for unset in (
        lambda: monkeypatch.delenv("GRAPHCLUST_DATA"),
        lambda: monkeypatch.setenv("GRAPHCLUST_DATA", ""),
    ):
        unset()
        assert find_data_root() == (sibling if sibling.is_dir() else None)
