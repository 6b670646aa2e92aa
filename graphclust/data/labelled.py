"""The labelled rows a semi-supervised method is given, checked at its door.

Semi-supervised estimators (GPC, TransductiveClustering) take their labelled rows as
explicit fit arguments, ``fit(data, y=..., labeled_mask=...)``, or, for runners that
call ``fit(data)`` alone, draw them from ``data.y`` by a constructor option. Both paths
end here, in one place that says what is wrong with the rows and how to fix it:

- ``labeled_mask``: a BoolTensor [N], or a LongTensor [L] of distinct row indices;
- ``y``: an integer tensor [N] (only the labelled rows are read) or [L] (the labels of
  the labelled rows, in the order of the mask's rows), class ids >= 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def labelled_rows(
    data: Any,
    num_nodes: int,
    y: Any,
    labeled_mask: Any,
    *,
    method: str,
    option: str,
    draw: Callable[[torch.Tensor], torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The labelled rows of a fit: given to ``fit``, or drawn from ``data.y``.

    Args:
        data: the graph (its ``y`` is read only when the rows are drawn).
        num_nodes: N, the number of rows of ``data``.
        y, labeled_mask: the fit's arguments (both None: draw them).
        method: the estimator's name, for the messages.
        option: the constructor option that draws labelled rows, for the messages.
        draw: ``y [N] -> labeled_mask`` when ``option`` is set, else None.

    Returns:
        ``(index [L], labels [L])`` on the CPU: distinct row indices in the mask's
        order, and their class ids (LongTensor, >= 0).

    Raises:
        ValueError / TypeError: naming the argument that is wrong and the fix.
    """
    if y is None and labeled_mask is None:
        if draw is None:
            raise ValueError(
                f"{method} is semi-supervised: pass fit(data, y=labels, labeled_mask=mask), "
                f"or set {option} to draw labelled rows from data.y "
                f"(on the command line: --set {option}=VALUE)"
            )
        y = getattr(data, "y", None)
        if not isinstance(y, torch.Tensor):
            raise ValueError(f"{option} draws labelled rows from data.y, but data has no y")
        labeled_mask = draw(y.cpu())
    elif y is None or labeled_mask is None:
        raise ValueError("pass both y and labeled_mask (the labelled rows and their labels)")
    elif draw is not None:
        raise ValueError(f"give labelled rows either to fit or by {option}, not both")
    index = as_row_index(labeled_mask, num_nodes)
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.is_floating_point():
        raise TypeError(
            f"y must be an integer tensor [N] = [{num_nodes}] or [L] of class ids, got "
            f"{type(y).__name__ if not isinstance(y, torch.Tensor) else y.dtype}"
        )
    if y.dtype == torch.bool:
        raise TypeError("y must hold integer class ids, not booleans")
    if y.numel() == num_nodes:
        labels = y.cpu()[index]
    elif y.numel() == index.numel():
        labels = y.cpu()
    else:
        raise ValueError(
            f"y has {y.numel()} entries; give one per node ({num_nodes}) or one per "
            f"labelled row ({index.numel()})"
        )
    if index.numel() == 0:
        raise ValueError(f"labeled_mask marks no row; {method} needs at least one labelled row")
    if int(labels.min()) < 0:
        raise ValueError("labelled rows must have class ids >= 0 in y (0, 1, ...)")
    return index, labels.long()


def as_row_index(mask: Any, num_nodes: int) -> torch.Tensor:
    """A labelled-row mask (bool [N]) or index (integer [L]) as distinct indices [L]."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 1:
        raise TypeError(
            "labeled_mask must be a BoolTensor [N] or a LongTensor [L] of row indices; "
            "build it with torch.zeros(N, dtype=torch.bool)"
        )
    if mask.dtype == torch.bool:
        if mask.numel() != num_nodes:
            raise ValueError(f"labeled_mask has {mask.numel()} entries, the graph {num_nodes}")
        return mask.cpu().nonzero().flatten()
    if mask.is_floating_point():
        raise TypeError("labeled_mask must be boolean or integer, not floating point")
    index = mask.cpu().long()
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_nodes):
        raise ValueError(f"labeled_mask holds row indices outside 0..{num_nodes - 1}")
    if index.unique().numel() != index.numel():
        raise ValueError("labeled_mask lists a row twice")
    return index


__all__ = ["as_row_index", "labelled_rows"]
