"""Performance benchmarks: ``python tests/benchmarks/run.py`` (see docs/benchmarks.md).

Not collected by pytest (``norecursedirs``); timings never live in the test suite.
"""
