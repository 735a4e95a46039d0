"""Aurora EDR: endpoint sensors, a collector with Sigma detection, a console, and offline hunting."""

__version__ = "0.1.0"
