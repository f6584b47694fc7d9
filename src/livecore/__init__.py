"""livecore: a distributed live-trading runtime."""

__version__ = "0.1.0"
