"""Linear-probe accuracy: how linearly separable frozen embeddings are by class.

The standard read-out of a self-supervised representation (SwAV, SIGMA and MLCD report
it): a logistic regression is fitted on the embeddings of a labelled training split and
scored on the held-out rest. Like the other supervised scores it needs labels and is
for benchmark reports only, never for training or model selection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from graphclust.metrics._inputs import as_labels


def linear_probe_accuracy(
    embeddings: torch.Tensor | np.ndarray,
    y: Any,
    train_fraction: float = 0.5,
    seed: int = 0,
    max_iter: int = 2000,
    standardize: bool = True,
) -> float:
    """Test accuracy of a logistic regression on a stratified train/test split.

    Args:
        embeddings: ``[N, d]`` frozen features.
        y: ``[N]`` class labels (any integers).
        train_fraction: share of the rows used to fit, in ``(0, 1)``; the split is
            stratified by class and drawn with ``seed``.
        seed: seed of the split (the regression itself is deterministic).
        max_iter: L-BFGS iterations of scikit-learn's ``LogisticRegression`` (C = 1).
        standardize: scale every feature to zero mean and unit variance, fitted on the
            training split only.

    Returns:
        Accuracy on the test rows, in ``[0, 1]``.

    Raises:
        ValueError: ``embeddings`` not a finite ``[N, d]`` array, a length mismatch, a
            ``train_fraction`` outside ``(0, 1)``, or a class too small to appear on
            both sides of the split.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x = embeddings.detach().cpu().numpy() if isinstance(embeddings, torch.Tensor) else embeddings
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"embeddings must be a finite [N, d] array, got shape {x.shape}")
    labels = as_labels(y, "y").numpy()
    if labels.shape[0] != x.shape[0]:
        raise ValueError(
            f"y has {labels.shape[0]} labels but embeddings has {x.shape[0]} rows; "
            "pass one label per row"
        )
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, labels, train_size=train_fraction, random_state=seed, stratify=labels
        )
    except ValueError as exc:
        raise ValueError(
            f"cannot split the rows into train and test stratified by class ({exc}); "
            "every class needs at least 2 rows, and each side at least one row per class"
        ) from exc
    if standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    probe = LogisticRegression(max_iter=max_iter).fit(x_train, y_train)
    return float(probe.score(x_test, y_test))


__all__ = ["linear_probe_accuracy"]
