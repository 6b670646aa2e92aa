"""Input checks shared by the metrics: label vectors and weighted undirected graphs.

Every public metric validates its arguments here once, so a wrong input fails at the
door with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch_geometric.utils import is_undirected

from graphclust.data.validation import check_edge_index


def as_labels(labels: Any, name: str, num_nodes: int | None = None) -> torch.Tensor:
    """Return ``labels`` as a CPU LongTensor [N]; any integer values are accepted.

    Accepts a torch tensor, a numpy array or a sequence of integers (bools count as
    0/1). Raises ``TypeError`` for floating-point input and ``ValueError`` for a
    wrong shape (a scalar included), an empty vector, or a length other than
    ``num_nodes``.
    """
    if isinstance(labels, torch.Tensor):
        tensor = labels.detach().cpu()
    else:
        try:
            array = np.asarray(labels)
        except (TypeError, ValueError) as exc:  # ragged sequences and the like
            raise TypeError(f"{name} must be a 1-D array of integer labels: {exc}") from exc
        if array.ndim == 0:  # np.ascontiguousarray would silently make it [1]
            raise ValueError(
                f"{name} is a scalar ({labels!r}), not a labelling; pass one label per node "
                "as a 1-D array [N]"
            )
        if array.size == 0:
            raise ValueError(f"{name} is empty; a metric needs at least one node")
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.integer)
            or np.issubdtype(array.dtype, np.floating)
            or array.dtype == np.bool_
        ):
            raise TypeError(
                f"{name} must hold integer labels, got numpy dtype {array.dtype}; "
                "encode string labels first, e.g. np.unique(y, return_inverse=True)[1]"
            )
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_floating_point() or tensor.is_complex():
        hint = (
            "; for soft assignments [N, K] pass assignment.argmax(dim=1)"
            if tensor.dim() == 2
            else "; convert with .long() if the values are whole numbers"
        )
        raise TypeError(f"{name} must hold integer labels, got dtype {tensor.dtype}{hint}")
    if tensor.dim() == 2 and tensor.size(1) == 1:
        hint = f"; {name} has shape [N, 1]: pass {name}.view(-1)"
    elif tensor.dim() == 2:
        hint = "; for a soft or one-hot assignment [N, K] pass assignment.argmax(dim=1)"
    else:
        hint = ""
    if tensor.dim() != 1:
        raise ValueError(f"{name} must be 1-D [N], got shape {list(tensor.shape)}{hint}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty; a metric needs at least one node")
    if num_nodes is not None and tensor.numel() != num_nodes:
        raise ValueError(
            f"{name} has {tensor.numel()} entries but {num_nodes} were expected "
            "(one label per node)"
        )
    return tensor.long()


def relabel(labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Map arbitrary label values to 0..K-1 in sorted order; returns (codes [N], K)."""
    values, codes = torch.unique(labels, return_inverse=True)
    return codes, int(values.numel())


def check_pair_lengths(y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    """Both label vectors must describe the same samples."""
    if y_true.numel() != y_pred.numel():
        raise ValueError(
            f"y_true has {y_true.numel()} entries and y_pred {y_pred.numel()}; "
            "both must label the same samples in the same order"
        )


def check_undirected_graph(
    edge_index: Any,
    num_nodes: int,
    edge_weight: Any = None,
    check_symmetry: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a graph given as ``edge_index`` [2, E] and optional ``edge_weight`` [E].

    Returns ``(edge_index, edge_weight)`` on the CPU: long indices and float64 weights
    (all ones when ``edge_weight`` is None). Each undirected edge must be listed in both
    directions, as :func:`graphclust.data.check_graph` produces; a one-directional list
    raises with the fix, because every degree and volume would silently be halved.
    """
    edge_index = check_edge_index(
        edge_index.detach().cpu() if isinstance(edge_index, torch.Tensor) else edge_index,
        num_nodes,
    )
    if edge_weight is None:
        weight = torch.ones(edge_index.size(1), dtype=torch.float64)
    else:
        if not isinstance(edge_weight, torch.Tensor):
            raise TypeError(f"edge_weight must be a torch.Tensor [E], got {type(edge_weight)}")
        weight = edge_weight.detach().cpu()
        if weight.dim() != 1 or weight.numel() != edge_index.size(1):
            raise ValueError(
                f"edge_weight must have shape [E] = [{edge_index.size(1)}] (one weight per "
                f"edge_index column), got {list(weight.shape)}"
            )
        weight = weight.double()
        if not bool(torch.isfinite(weight).all()) or bool((weight < 0).any()):
            raise ValueError("edge_weight must be finite and non-negative")
    if check_symmetry and not is_undirected(edge_index, weight, num_nodes=num_nodes):
        raise ValueError(
            "edge_index must list every undirected edge in both directions (i, j) and (j, i) "
            "with equal weights; symmetrise it with torch_geometric.utils.to_undirected or "
            "validate the graph with graphclust.data.check_graph"
        )
    return edge_index, weight


def check_soft_assignment(assignment: torch.Tensor, num_nodes: int | None) -> torch.Tensor:
    """Validate a soft assignment [N, K] (finite, non-negative floats: memberships);
    returns it as float64 on CPU."""
    if not isinstance(assignment, torch.Tensor) or not assignment.is_floating_point():
        raise TypeError(
            "a soft assignment must be a floating-point torch.Tensor [N, K], got "
            f"{getattr(assignment, 'dtype', type(assignment).__name__)}"
        )
    if assignment.dim() != 2:
        raise ValueError(
            f"a soft assignment must have shape [N, K], got {list(assignment.shape)}; "
            "pass hard labels as an integer tensor [N]"
        )
    if assignment.size(0) == 0 or assignment.size(1) == 0:
        raise ValueError(f"the soft assignment is empty (shape {list(assignment.shape)})")
    if num_nodes is not None and assignment.size(0) != num_nodes:
        raise ValueError(
            f"the soft assignment has {assignment.size(0)} rows but num_nodes={num_nodes}"
        )
    out = assignment.detach().cpu().double()
    if not bool(torch.isfinite(out).all()):
        raise ValueError("the soft assignment contains NaN or inf")
    if bool((out < 0).any()):
        raise ValueError(
            f"the soft assignment has negative entries (min {float(out.min()):.3g}); it must "
            "hold non-negative memberships, e.g. torch.softmax(logits, dim=1), not raw scores"
        )
    return out


def check_resolution(resolution: Any) -> float:
    """The modularity resolution gamma as a float: a finite real number >= 0."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float, np.number)):
        raise TypeError(f"resolution must be a number >= 0, got {resolution!r}")
    value = float(resolution)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"resolution must be a finite number >= 0 (default 1.0), got {value}")
    return value
