"""Hypothesis profiles of the property suite (``GRAPHCLUST_HYPOTHESIS_PROFILE``).

* ``ci`` (default): derandomised (the same cases on every run), a few examples per
  property, the whole suite in about a minute and a half on one thread;
* ``long``: random, :data:`LONG_FACTOR` times the examples, for a nightly-style run.

Each property takes ``@settings(max_examples=examples(n))``: ``n`` in the ci profile,
``LONG_FACTOR * n`` in the long one. Nothing is written to ``.hypothesis/``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG_FACTOR = 25
_COMMON = dict(
    deadline=None,  # fits on a shared machine have no stable time per example
    database=None,  # nothing written into the repository (.hypothesis/)
    print_blob=True,  # a failing case prints the @reproduce_failure line
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile("ci", max_examples=10, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=10 * LONG_FACTOR, **_COMMON)

PROFILE = os.environ.get("GRAPHCLUST_HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"GRAPHCLUST_HYPOTHESIS_PROFILE={PROFILE!r}: use 'ci' (default) or 'long'")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """Examples of one property: ``n`` in the ci profile, ``LONG_FACTOR * n`` in the long one."""
    return n * (LONG_FACTOR if PROFILE == "long" else 1)
