"""Errors shared across layers.

Each names what failed in one line, so the CLI can print it without a traceback.
"""


class LivecoreError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(LivecoreError, ValueError):
    """A setting or URL is invalid.

    Also a ``ValueError``: a bad value given to a constructor is what Python code
    catches as one, so callers written that way keep working."""


class BackendUnavailable(LivecoreError):
    """A server named by a URL cannot be reached."""
