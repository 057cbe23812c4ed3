"""Accord: draft, review and ratify shared texts across borders, live."""

__version__ = "0.1.0"
