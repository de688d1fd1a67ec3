"""The package version, shown in /api/v1/health and the UI."""

__version__ = "0.1.0"
