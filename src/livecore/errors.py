"""Errors shared across layers.

Each names what failed in one line, so the CLI can print it without a traceback.
"""


class LivecoreError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(LivecoreError):
    """A setting or URL is invalid."""


class BackendUnavailable(LivecoreError):
    """A server named by a URL cannot be reached."""
