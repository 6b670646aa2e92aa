"""Argument checks shared by the assignment core (private)."""

from __future__ import annotations

import math
import numbers


def positive_int(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError saying it must be an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_float(value: object, name: str) -> float:
    """``value`` as a float, or a ValueError saying it must be a finite number > 0."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        result = float(value)
        if math.isfinite(result) and result > 0:
            return result
    raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
