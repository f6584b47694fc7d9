"""Operator surfaces over HTTP: REST API, web dashboard and Prometheus metrics.

Every action is the ``livecore.ops`` function the CLI also calls; this package
only maps HTTP to it (routes, auth, errors) and serves the static page.
"""
