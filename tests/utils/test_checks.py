"""The shared argument checks: accepted values come back converted, refused ones raise
a ValueError naming the argument and the rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphclust.utils.checks import (
    bounded_float,
    flag,
    non_negative_float,
    one_of,
    optional_positive_int,
    positive_float,
    positive_int,
    probability,
)


def test_positive_int_accepts_integers_at_or_above_the_minimum():
    assert positive_int(3, "n") == 3
    assert positive_int(np.int64(0), "n", minimum=0) == 0
    assert type(positive_int(np.int32(5), "n")) is int
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"n must be an integer >= 1"):
            positive_int(bad, "n")


def test_optional_positive_int_passes_none_and_names_both_options():
    assert optional_positive_int(None, "batch_size") is None
    assert optional_positive_int(4, "batch_size", minimum=2) == 4
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer >= 2, got 1"):
        optional_positive_int(1, "batch_size", minimum=2)


def test_floats_refuse_non_finite_bools_and_out_of_range():
    assert positive_float(1e-9, "lr") == 1e-9
    assert non_negative_float(0, "alpha") == 0.0
    for bad in (0.0, -1.0, math.nan, math.inf, True, "1"):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            positive_float(bad, "lr")
    with pytest.raises(ValueError, match=r"alpha must be a finite number in \[0, inf\)"):
        non_negative_float(-0.1, "alpha")


def test_bounded_float_ends_follow_the_inclusive_flags():
    assert bounded_float(1.0, "x", 0.0, 1.0) == 1.0
    with pytest.raises(ValueError, match=r"x must be a finite number in \(0, 1\)"):
        bounded_float(1.0, "x", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    assert probability(0.0, "p") == 0.0
    with pytest.raises(ValueError, match=r"p must be a finite number in \(0, 1\]"):
        probability(0.0, "p", zero=False)


def test_flag_and_one_of_name_the_argument_and_the_choices():
    assert flag(False, "progress") is False
    for bad in (0, 1, "yes", None):
        with pytest.raises(ValueError, match="progress must be True or False"):
            flag(bad, "progress")
    assert one_of("mlp", "encoder", ("mlp", "gcn")) == "mlp"
    with pytest.raises(ValueError, match=r"encoder must be one of 'mlp', 'gcn', got 'gat'"):
        one_of("gat", "encoder", ("mlp", "gcn"))
