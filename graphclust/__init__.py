"""graphclust: deep graph clustering and community detection on attributed graphs."""

__version__ = "0.1.0"
