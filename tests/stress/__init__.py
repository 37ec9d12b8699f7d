"""The stress harness: ``python tests/stress/run.py --db all``. See docs/reliability.md."""
