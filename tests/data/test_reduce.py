import numpy as np
import pytest
import torch

from graphclust.data.reduce import svd_features


def _low_rank(n: int = 60, d: int = 40, rank: int = 5, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, rank, generator=gen) @ torch.randn(rank, d, generator=gen)


def test_svd_features_match_numpy_svd_up_to_signs():
    x = _low_rank()
    reduced = svd_features(x, 5, seed=0)
    u, s, _ = np.linalg.svd(x.double().numpy(), full_matrices=False)
    reference = u[:, :5] * s[:5]
    assert reduced.shape == (60, 5)
    for j in range(5):  # each component equals the reference one up to its sign
        a, b = reduced[:, j].double().numpy(), reference[:, j]
        assert min(np.abs(a - b).max(), np.abs(a + b).max()) < 1e-4 * np.abs(b).max()


def test_svd_features_keep_the_gram_matrix_of_a_low_rank_input():
    x = _low_rank(rank=4)
    reduced = svd_features(x, 4, seed=1).double()
    assert torch.allclose(reduced @ reduced.T, x.double() @ x.double().T, atol=1e-3, rtol=1e-4)


def test_svd_features_sparse_input_seeded_and_small_inputs_unchanged():
    x = (torch.rand(50, 30, generator=torch.Generator().manual_seed(2)) > 0.95).float()
    a = svd_features(x.to_sparse(), 8, seed=3)
    b = svd_features(x, 8, seed=3)
    assert torch.equal(a, b)
    assert torch.equal(svd_features(x, 29), x)  # dim >= D - 1: nothing to reduce
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        svd_features(x, 0)
