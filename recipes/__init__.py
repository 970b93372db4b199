"""One recipe per experiment: `get_config()` returns its ConfigDict.

Recipes build on each other the way the original's scripts differ (the
non-local recipe of a baseline adds the non-local blocks, and so on), so
every file states only what its script changed.
"""
