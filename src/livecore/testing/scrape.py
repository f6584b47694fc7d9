"""Reading a ``/metrics`` endpoint back, as Prometheus would parse it."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Scrape:
    """One scrape: every sample by (name, sorted labels), and each family's type."""

    samples: dict[tuple[str, Labels], float]
    types: dict[str, str]

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def names(self) -> set[str]:
        """Every sample name (``x_total``, ``x_bucket``, ``x_count`` ...)."""
        return {name for name, _ in self.samples}


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, Labels], float] = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return Scrape(samples, types)


def scrape(url: str, timeout: float = 10.0) -> Scrape:
    """GET ``url`` (a ``/metrics``) and parse it; raises on a non-200 answer."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return parse(response.read().decode())
