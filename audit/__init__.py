"""rai-audit: audit machine-learning models before they are deployed."""

__version__ = "0.1.0"
