"""Prometheus metrics that each process serves about itself.

- ``histogram``: fixed-bucket histograms cheap enough for a hot path;
- ``export``: a service's counters and histograms as Prometheus families,
  declared once per kind of service (``MetricSet``) and read at scrape time;
- ``server``: ``MetricsServer``, a process's own ``/metrics`` (``--metrics-port``);
- ``config``: ``MetricsConfig``, the port and host.

The families of each service are declared in its package (``node/telemetry.py``,
``gateway/telemetry.py``, ``scheduler/telemetry.py``, ``feed/telemetry.py``).
The API's ``/metrics`` is another thing: the cluster as the coordination store
shows it (``api/metrics.py``).
"""

from livecore.telemetry.config import MetricsConfig
from livecore.telemetry.export import Counter, Gauge, HistogramOf, MetricSet, export
from livecore.telemetry.histogram import NANOSECONDS, Histogram, HistogramSnapshot, decades, histogram_quantile
from livecore.telemetry.server import PROCESS_REGISTRY, MetricsServer

__all__ = [
    "NANOSECONDS",
    "PROCESS_REGISTRY",
    "Counter",
    "Gauge",
    "Histogram",
    "HistogramOf",
    "HistogramSnapshot",
    "MetricSet",
    "MetricsConfig",
    "MetricsServer",
    "decades",
    "export",
    "histogram_quantile",
]
