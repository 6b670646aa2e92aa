"""Label-free checkpoint selection: keep the best-scored state seen during training."""

from __future__ import annotations

import math
from typing import Any


class CheckpointSelector:
    """Keeps the payload offered with the highest score (the first one on ties).

    The first offer is always kept, so a run whose checkpoints all score -inf still
    returns its first evaluated partition.
    """

    def __init__(self) -> None:
        self.best_score = -math.inf
        self.best_step: int | None = None
        self.best: Any = None

    def offer(self, score: float, step: int, payload: Any) -> bool:
        """Keep ``payload`` when ``score`` beats the best so far; True when kept."""
        if self.best_step is None or score > self.best_score:
            self.best_score, self.best_step, self.best = score, step, payload
            return True
        return False


__all__ = ["CheckpointSelector"]
