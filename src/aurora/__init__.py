"""Aurora EDR: endpoint sensors, a Sigma-driven collector, a console, and offline hunting."""

__version__ = "0.1.0"
