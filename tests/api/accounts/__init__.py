"""The account store contract: per-area suites (``suites.py``) and one module per backend."""
