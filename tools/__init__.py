"""Command-line tools, each `python -m tools.NAME --help`."""

import nlkeras  # noqa: F401  (an entry point's quiet start-up, nlkeras/__init__.py)
