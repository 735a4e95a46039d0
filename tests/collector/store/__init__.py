"""The store contract: one test suite per area, run against every backend that has the area.

Each ``<area>_suite.py`` holds a mixin (not collected by itself) whose tests use a ``store``
fixture; each backend's module (``test_sqlite_areas.py``, ``test_memory_areas.py``) supplies the
fixture and runs every suite it can with one-line ``Test*`` classes. A new backend adds one module.
"""
