"""Errors the node raises on purpose."""

from livecore.errors import LivecoreError


class NodeAlreadyRunning(LivecoreError):
    """Another live process holds this node id's claim."""
