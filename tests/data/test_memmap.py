"""Memory-mapped graphs: round trip, zero-copy validation, damaged folders, PamC on them."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from graphclust.data import check_graph
from graphclust.data.memmap import is_memmap_folder, load_memmap, save_memmap
from graphclust.data.synthetic import load_sbm


@pytest.fixture(scope="module")
def graph():
    return load_sbm(90, 3, p_in=0.2, p_out=0.01, feature_dim=5, seed=1)


@pytest.fixture
def folder(graph, tmp_path):
    return save_memmap(graph, tmp_path / "g")


def _mapped_file(tensor: torch.Tensor) -> str | None:
    """The file whose mapping holds ``tensor``'s first byte (from /proc/self/maps)."""
    address = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        low, high = (int(v, 16) for v in fields[0].split("-"))
        if low <= address < high:
            return fields[5] if len(fields) == 6 else None
    return None


def test_round_trip_equals_the_validated_graph(graph, folder):
    clean = check_graph(graph, keep=("y",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's not-writable warning is handled
        loaded = load_memmap(folder)
    assert is_memmap_folder(folder)
    assert torch.equal(loaded.x, graph.x) and loaded.x.dtype == torch.float32
    assert torch.equal(loaded.edge_index, clean.edge_index)
    assert torch.equal(loaded.y, graph.y)
    assert loaded.num_nodes == graph.num_nodes
    assert (loaded.num_classes, loaded.name) == (3, "sbm")


def test_a_graph_without_labels_has_no_y(graph, tmp_path):
    from torch_geometric.data import Data

    loaded = load_memmap(save_memmap(Data(x=graph.x, edge_index=graph.edge_index), tmp_path))
    assert getattr(loaded, "y", None) is None
    assert torch.equal(loaded.x, graph.x)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_tensors_are_views_of_the_files_and_validation_copies_nothing(folder):
    loaded = load_memmap(folder)
    for name in ("x", "edge_index", "y"):
        assert _mapped_file(loaded[name]) == str(folder.resolve() / f"{name}.npy")
    clean = check_graph(loaded)
    assert clean.x.data_ptr() == loaded.x.data_ptr()
    private = load_memmap(folder, mmap=False)  # read into this process's memory instead
    assert torch.equal(private.x, loaded.x)
    assert _mapped_file(private.x) != str(folder.resolve() / "x.npy")
    assert clean.edge_index.data_ptr() == loaded.edge_index.data_ptr()


def test_an_existing_graph_is_not_overwritten_silently(graph, folder):
    with pytest.raises(FileExistsError, match="already holds a memory-mapped graph"):
        save_memmap(graph, folder)
    save_memmap(graph, folder, overwrite=True)
    assert torch.equal(load_memmap(folder).x, graph.x)


def test_missing_folder_and_files_are_named(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: no such folder"):
        load_memmap(tmp_path / "nowhere")
    (folder / "x.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"x\.npy: missing"):
        load_memmap(folder)
    (folder / "meta.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"meta\.json: missing"):
        load_memmap(folder)


def test_truncated_array_is_refused_naming_the_file(folder):
    path = folder / "edge_index.npy"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"edge_index\.npy: damaged"):
        load_memmap(folder)


def test_shape_disagreeing_with_meta_is_refused(folder):
    np.save(folder / "x.npy", np.zeros((90, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"x\.npy: holds float32 \[90, 4\].*\[90, 5\]"):
        load_memmap(folder)
    np.save(folder / "x.npy", np.zeros((90, 5), dtype=np.float64))
    with pytest.raises(ValueError, match=r"x\.npy: holds float64"):
        load_memmap(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 99}, "format version 99, but this graphclust reads version 1"),
        ({"format": "other"}, "not a graphclust-memmap description"),
        ({"num_nodes": -1}, "num_nodes must be a non-negative integer"),
    ],
)
def test_wrong_meta_is_refused_naming_the_file(folder, change, message):
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, **change}))
    with pytest.raises(ValueError, match=message) as err:
        load_memmap(folder)
    assert "meta.json" in str(err.value)


def test_pamc_minibatch_gives_the_same_labels_on_the_mapped_graph(graph, folder):
    from graphclust.methods.pamc import PamC

    def fit(data):
        params = dict(n_clusters=3, hidden=(16,), latent_dim=4, pretrain_epochs=2, epochs=3)
        model = PamC(**params, batch_size=32, n_init=2, seed=5, device="cpu")
        return model.fit(data)

    in_memory, mapped = fit(graph), fit(load_memmap(folder))
    assert torch.equal(in_memory.labels_, mapped.labels_)
    assert torch.equal(in_memory.embeddings_, mapped.embeddings_)
    assert in_memory.history_["loss"] == mapped.history_["loss"]
