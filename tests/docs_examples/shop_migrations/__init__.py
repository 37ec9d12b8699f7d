"""docs/migrating.md: the big-table recipe (PostgreSQL), run by tests/test_migrating.py."""
