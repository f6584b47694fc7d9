"""The ``livecore`` command line (typer + rich)."""
