"""Plexus: machine learning on graphs that carry text."""

__version__ = "0.1.0"
