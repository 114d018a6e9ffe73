"""Benchmarks and harnesses that print their figures. Each runs as a script (``python bench/x.py``) or as a module
(``python -m bench.x``) from the repository root, and the tests import the harnesses they reuse
(``from bench import crash_harness``). Siblings are imported as ``bench._benchutil``: every script puts the
repository root on ``sys.path`` first, so that works both ways."""
