"""Argument checks shared by the assignment core and the estimators.

Each returns the checked value or raises a ValueError naming the argument and what it
must be, so constructors and functions validate with one line per argument instead of
if-chains.
"""

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


def optional_positive_int(value: object, name: str, minimum: int = 1) -> int | None:
    """None, or ``value`` checked as by :func:`positive_int`."""
    if value is None:
        return None
    try:
        return positive_int(value, name, minimum)
    except ValueError:
        raise ValueError(f"{name} must be None or an integer >= {minimum}, got {value!r}") from None


def flag(value: object, name: str) -> bool:
    """``value`` if it is a bool, or a ValueError saying it must be True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def one_of(value: object, name: str, choices: tuple) -> object:
    """``value`` if it is one of ``choices``, or a ValueError listing them."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value
