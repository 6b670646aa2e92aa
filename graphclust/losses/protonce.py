"""The prototype term of ProtoNCE (Li et al., PCL, ICLR 2021), as GPC's M-step uses it.

Each embedding is pulled towards the prototype of its cluster and pushed from the
others, with a temperature per prototype (its concentration):

    L = - 1/N sum_i ln [ exp(z_i . c_{y_i} / phi_{y_i}) / sum_k exp(z_i . c_k / phi_k) ],

    phi_k = sum_{i in k} ||z_i - c_k|| / (n_k ln(n_k + a)),   a = 10,

a loose cluster getting a high temperature. As in PCL's code, the concentrations are
clipped to their 10th-90th percentiles (a singleton's distance sum of 0 would give
phi = 0) and rescaled so that their mean is ``temperature``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from graphclust.utils.checks import positive_float


def prototype_concentration(
    z: torch.Tensor, prototypes: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """phi [K] of the clusters ``labels`` [N] of ``z`` [N, d] around ``prototypes`` [K, d].

    A cluster with fewer than 2 members takes the largest concentration of the others
    (PCL's rule); with no cluster of 2 or more, every phi is ``temperature``.
    """
    temperature = positive_float(temperature, "temperature")
    k = prototypes.size(0)
    dist = (z - prototypes[labels]).norm(dim=1)
    sums = torch.zeros(k, dtype=z.dtype, device=z.device).index_add_(0, labels, dist)
    counts = torch.bincount(labels, minlength=k).to(z.dtype)
    big = counts > 1
    if not bool(big.any()):
        return torch.full((k,), temperature, dtype=z.dtype, device=z.device)
    phi = torch.empty(k, dtype=z.dtype, device=z.device)
    phi[big] = sums[big] / (counts[big] * torch.log(counts[big] + 10.0))
    phi[~big] = phi[big].max()
    low, high = torch.quantile(phi, 0.1), torch.quantile(phi, 0.9)
    phi = phi.clamp(low, high).clamp_min(torch.finfo(z.dtype).tiny)
    return temperature * phi / phi.mean()


def protonce_loss(
    z: torch.Tensor, prototypes: torch.Tensor, labels: torch.Tensor, concentration: torch.Tensor
) -> torch.Tensor:
    """The ProtoNCE prototype term (scalar) of ``z`` [N, d] against ``prototypes``
    [K, d] for the cluster ``labels`` [N], temperatures ``concentration`` [K].

    ``z`` and the prototypes are used as given; PCL L2-normalises both first.
    """
    if z.dim() != 2 or prototypes.dim() != 2 or z.size(1) != prototypes.size(1):
        raise ValueError(
            f"z [N, d] and prototypes [K, d] must share d, got {list(z.shape)}, "
            f"{list(prototypes.shape)}"
        )
    if concentration.shape != (prototypes.size(0),) or not bool((concentration > 0).all()):
        raise ValueError("concentration must be [K] and positive")
    logits = (z @ prototypes.T) / concentration
    return F.cross_entropy(logits, labels)


__all__ = ["prototype_concentration", "protonce_loss"]
