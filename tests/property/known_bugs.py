"""Bugs the property suite found in modules other helpers own, as strict xfails.

Each entry names the owner and the case; the test marked with :func:`known_bug` fails
today, and turns into an XPASS failure (``strict=True``) the day the bug is fixed, so
whoever fixes it removes the entry here. A property that would hang on the bug keeps
the bug's inputs out (``assume``) and leaves the failing case to one small test in
``test_known_bugs.py``.
"""

from __future__ import annotations

import pytest

KNOWN_BUGS: dict[str, tuple[str, str]] = {}


def known_bug(key: str) -> pytest.MarkDecorator:
    owner, reason = KNOWN_BUGS[key]
    return pytest.mark.xfail(strict=True, reason=f"{reason} [owner: {owner}]")
