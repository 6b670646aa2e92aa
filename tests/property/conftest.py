"""The property suite's profile (see ``profiles.py``) and its case counts: at the end of
the session the terminal summary lists, per entry point, how many cases ran and how
they ended (result, clear error, failed). Under pytest-xdist each worker counts its own.
"""

from __future__ import annotations

import pytest
import torch

from tests.property import profiles
from tests.property.cases import COUNTS, summary_lines

torch.set_num_threads(1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTS:
        return
    terminalreporter.section(f"property cases per entry point (profile {profiles.PROFILE})")
    for line in summary_lines():
        terminalreporter.write_line(line)
