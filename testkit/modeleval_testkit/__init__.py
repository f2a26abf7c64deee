"""modeleval's test kit: API emulator, workload executor, mock model server, LocalCluster, demo.

A distribution of its own (``modeleval-testkit``): the operator's wheel and image hold none of
it. See ``testkit/README.md`` and ``docs/testing.md``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
