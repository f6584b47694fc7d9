"""``deploy/grafana/livecore.json``: valid, and every PromQL expression in it (panels
and template variables) names only metrics livecore exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.telemetry.catalog import all_families, sample_names

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "livecore.json"

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_VARIABLES = re.compile(r"\$\{?\w+\}?")
_IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")  # not the unit of 5m, not the e of 1e-5
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS |= {"inf", "nan"}
_LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*\w+\s*\)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers left once strings,
    label matchers, ranges, grouping clauses and dashboard variables are removed,
    other than function names (followed by ``(``), keywords and durations."""
    rest = expr
    for pattern in (_STRINGS, _MATCHERS, _RANGES, _GROUPING, _VARIABLES):
        rest = pattern.sub(" ", rest)
    names = set()
    for match in _IDENTIFIER.finditer(rest):
        word = match.group()
        follows = rest[match.end() :].lstrip()[:1]
        if follows != "(" and word.lower() not in _KEYWORDS:
            names.add(word)
    return names


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from panels(item.get("panels", []))


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return {name for _, family in all_families(tmp_path_factory.mktemp("catalog")) for name in sample_names(family)}


def test_the_parser_finds_the_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, node) (rate(livecore_tick_to_order_seconds_bucket{job=~"$job"}'
        "[$__rate_interval]))) / on (node) group_left max without (instance) (livecore_x offset 5m) > bool 0"
    )
    assert metric_names(expr) == {"livecore_tick_to_order_seconds_bucket", "livecore_x"}


def test_every_expression_names_only_exported_metrics(dashboard: dict[str, Any], exported: set[str]) -> None:
    used: dict[str, set[str]] = {}
    for panel in panels(dashboard["panels"]):
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']!r}: {target['expr']} reads no metric"
            used.setdefault(panel["title"], set()).update(names)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = _LABEL_VALUES.fullmatch(variable["definition"])
            assert match is not None, variable["definition"]
            used.setdefault(f"${variable['name']}", set()).add(match.group(1))
    unknown = {title: sorted(names - exported) for title, names in used.items() if names - exported}
    assert unknown == {}


def test_it_shows_latency_event_age_migration_gap_and_throughput(dashboard: dict[str, Any]) -> None:
    exprs = " ".join(t["expr"] for p in panels(dashboard["panels"]) for t in p.get("targets", []))
    for quantile in ("0.5", "0.99"):
        for histogram in ("livecore_tick_to_order_seconds", "livecore_event_age_seconds"):
            assert f"histogram_quantile({quantile}, sum by (le, node) (rate({histogram}_bucket" in exprs
    assert "livecore_migration_gap_seconds_bucket" in exprs
    assert "livecore_feed_events_published_total" in exprs
    titles = {p["title"] for p in panels(dashboard["panels"])}
    assert {"Read amplification", "CPU", "Resident memory"} <= titles
    assert dashboard["uid"] == "livecore"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels(dashboard["panels"]) if p["type"] != "row")
