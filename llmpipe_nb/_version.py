"""The package version, in the core so any layer can read it without the top module."""

__version__ = "0.1.0"
