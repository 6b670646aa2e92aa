"""Benchmarks: one fit with its outputs (``graphclust fit``), suites of methods x
datasets x seeds with resumable records and tables (``graphclust bench``), label-free K
rules, timing and peak memory, and the time-budgeted worker pool of GPU runs.

Nothing is re-exported here: import the modules (:mod:`graphclust.bench.fit`,
:mod:`graphclust.bench.runner`, ...). This file exists so that the package is a regular
one, which documentation tools (griffe) require to find its modules.
"""
