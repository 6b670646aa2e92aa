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


def bounded_float(
    value: object,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """``value`` as a float, or a ValueError naming ``name`` and the allowed interval.

    Refuses bools, strings, None, NaN and infinities whatever the bounds, so a wrong
    type fails here instead of as a ``TypeError`` deep inside a model.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        result = float(value)
        above = result >= low if low_inclusive else result > low
        below = result <= high if high_inclusive else result < high
        if math.isfinite(result) and above and below:
            return result
    interval = (
        ("[" if low_inclusive else "(")
        + (f"{low:g}" if math.isfinite(low) else "-inf")
        + ", "
        + (f"{high:g}" if math.isfinite(high) else "inf")
        + ("]" if high_inclusive and math.isfinite(high) else ")")
    )
    raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")


def non_negative_float(value: object, name: str) -> float:
    """``value`` as a float, or a ValueError saying it must be a finite number >= 0."""
    return bounded_float(value, name, 0.0)


def probability(value: object, name: str, *, zero: bool = True, one: bool = True) -> float:
    """``value`` as a float in [0, 1]; ``zero``/``one`` say whether the ends are allowed."""
    return bounded_float(value, name, 0.0, 1.0, low_inclusive=zero, high_inclusive=one)
