"""Feature reduction for wide attribute matrices: truncated SVD, seeded.

Bag-of-words attributes are thousands of columns wide (CiteSeer 3,703), and a method
that reconstructs them (DAG's masked autoencoder) pays for every column in its decoder.
The leading singular directions keep most of what a cosine between rows sees, at a
fraction of the width. Randomised SVD (Halko et al.) through scikit-learn, on a sparse
copy when the matrix is sparse, so nothing ``N x D`` dense is built beyond the input.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.decomposition import TruncatedSVD

# below this share of non-zeros the SVD works on a sparse copy
_SPARSE_BELOW = 0.1


def svd_features(x: torch.Tensor, dim: int, seed: int = 0) -> torch.Tensor:
    """The first ``dim`` components of a truncated SVD of ``x``, ``U_dim S_dim``.

    Args:
        x: ``[N, D]`` float features (dense or sparse COO).
        dim: number of components kept, ``1 <= dim``; ``x`` is returned unchanged (as a
            dense float tensor) when ``dim >= D - 1``, where there is nothing to gain.
        seed: seed of the randomised solver (a seed gives the same components).

    Returns:
        ``[N, min(dim, D)]`` float32 tensor on ``x``'s device.
    """
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if x.dim() != 2:
        raise ValueError(f"x must be [N, D], got shape {tuple(x.shape)}")
    device = x.device
    n, d = x.shape
    if dim >= d - 1 or n < 3:
        return (x.to_dense() if x.is_sparse else x).float()
    if x.is_sparse:  # from the indices: a sparse input is never made dense
        coo = x.detach().coalesce().cpu()
        (row, col), data = coo.indices().numpy(), coo.values().double().numpy()
        matrix = sp.csr_matrix((data, (row, col)), shape=(n, d))
    else:
        values = x.detach().cpu().double().numpy()
        sparse = np.count_nonzero(values) < _SPARSE_BELOW * values.size
        matrix = sp.csr_matrix(values) if sparse else values
    svd = TruncatedSVD(n_components=min(dim, n - 1), algorithm="randomized", random_state=seed)
    reduced = svd.fit_transform(matrix)
    return torch.from_numpy(np.ascontiguousarray(reduced)).float().to(device)


__all__ = ["svd_features"]
