"""PamC deep graph clustering (Kulatilleke et al.), one module per part.

- :mod:`~graphclust.methods.pamc.estimator`: :class:`PamC`, the method, its
  parameters, the fit (pre-training candidates, checkpoints) and ``transform`` /
  ``predict`` on new graphs.
- :mod:`~graphclust.methods.pamc.training`: the full-batch and mini-batch training loops.
- :mod:`~graphclust.methods.pamc.selection`: the label-free choice of the returned state.
"""

from graphclust.methods.pamc.estimator import PamC

__all__ = ["PamC"]
