"""Spec loading: every error names its field; every example loads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from livecore.domain import Portfolio, SpecError, load_spec, parse_spec
from livecore.domain.catalog import RISK_RULES, SIZERS, STRATEGIES
from livecore.errors import ConfigError

EXAMPLES = sorted((Path(__file__).parents[3] / "examples" / "portfolios").glob("*.toml"))

GOOD = """
id = "ok"
initial_cash = 1000
symbols = ["AAPL"]
[strategy]
class = "ma_crossover"
params = { fast = 3, slow = 9 }
"""


def test_minimal_spec_defaults() -> None:
    s = parse_spec(GOOD, source="x.toml")
    assert (s.id, s.name, s.currency, s.initial_cash, s.symbols) == ("ok", "ok", "USD", 1000, ("AAPL",))
    assert s.sizer.name == "percent_equity" and s.risk == () and s.allow_short is False
    assert s.strategy.params["fast"] == 3
    assert s.to_toml() == GOOD and s.toml_text == GOOD
    assert s.settings.reservation_buffer == Decimal("0.05")


def test_a_crypto_portfolio_holds_its_cash_in_the_quote() -> None:
    spec = GOOD.replace('symbols = ["AAPL"]', 'currency = "USDT"\nsymbols = ["BTC/USDT", "ETH/USDT"]')
    s = parse_spec(spec)
    assert (s.currency, s.symbols) == ("USDT", ("BTC/USDT", "ETH/USDT"))


def replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BAD = [
    (replace("initial_cash = 1000", "initial_cash = -5"), "initial_cash", "positive"),
    (replace("initial_cash = 1000", 'initial_cash = "lots"'), "initial_cash", "decimal"),
    (replace("initial_cash = 1000\n", ""), "initial_cash", "missing"),
    (replace('id = "ok"', 'id = "has space"'), "id", "must match"),
    (replace('id = "ok"\n', ""), "id", "missing"),
    (GOOD.replace("[strategy]", 'currency = "usd"\n[strategy]'), "currency", "upper-case letters or digits"),
    (replace('class = "ma_crossover"', 'class = "nope"'), "strategy.class", "unknown strategy 'nope'"),
    (replace('class = "ma_crossover"', 'class = "no.such.module:X"'), "strategy.class", "cannot import"),
    (
        replace('class = "ma_crossover"', 'class = "livecore.domain.sizers:FixedQuantity"'),
        "strategy.class",
        "not a subclass of Strategy",
    ),
    (replace('class = "ma_crossover"', 'class = "livecore.domain.sizers:Nope"'), "strategy.class", "has no"),
    (replace("fast = 3", 'fast = "3"'), "strategy.params.fast", "expected int"),
    (replace("fast = 3", "fast = 3.5"), "strategy.params.fast", "expected int"),
    (replace("fast = 3", "fast = 3, speed = 1"), "strategy.params.speed", "unknown parameter"),
    (replace("fast = 3", "fast = 0"), "strategy.params.fast", ">= 1"),
    (replace('symbols = ["AAPL"]', 'symbols = ["AAPL", "AAPL"]'), "symbols[1]", "duplicate"),
    (replace('symbols = ["AAPL"]', 'symbols = ["AAPL", "BTC/USDT"]'), "symbols[1]", "quoted in USDT"),
    (replace('symbols = ["AAPL"]', 'symbols = ["AAPL", 3]'), "symbols[1]", "non-empty string"),
    (replace('symbols = ["AAPL"]', 'symbols = "AAPL"'), "symbols", "list"),
    (GOOD.replace("[strategy]", "colour = 1\n[strategy]"), "colour", "unknown field"),
    (GOOD + "colour = 1\n", "strategy.colour", "unknown field"),
    (GOOD.replace("[strategy]", "allow_short = 1\n[strategy]"), "allow_short", "true or false"),
    (GOOD + '[sizer]\nclass = "percent_equity"\nparams = { percent = 150 }\n', "sizer.params.percent", "<= 100"),
    (GOOD + '[sizer]\nclass = "fixed"\n', "sizer.params.quantity", "missing"),
    (GOOD + '[sizer]\nclass = "fixed"\nsize = 3\n', "sizer.size", "unknown field"),
    (GOOD + '[[risk]]\nclass = "no_short"\n[[risk]]\nclass = "max_loss"\n', "risk[1].class", "unknown riskrule"),
    (
        GOOD + '[[risk]]\nclass = "max_position_weight"\nparams = { max_percent = "x" }\n',
        "risk[0].params.max_percent",
        "decimal",
    ),
    (GOOD + '[[risk]]\nclass = "daily_loss_limit"\n', "risk[0].params.max_loss", "set max_loss"),
    (GOOD + "[settings]\nreservation_buffer = -1\n", "settings.reservation_buffer", "positive"),
    (GOOD + "[settings]\nfill_id_window = 0\n", "settings.fill_id_window", "positive"),
    (GOOD + "[settings]\nwindow = 3\n", "settings.window", "unknown field"),
    ("id = ", "<toml>", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "field", "message"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_errors_name_the_field(text: str, field: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="bad.toml")
    assert err.value.field == field
    assert message in err.value.message
    assert str(err.value).startswith(f"bad.toml: {field}: ")
    assert isinstance(err.value, ConfigError)  # the CLI prints it as one line


MANY_MISTAKES = """
id = "bad id!"
initial_cash = -5
symbols = ["A", "A", 3]
colour = "red"
[strategy]
class = "ma_crossover"
params = { fast = 0, slow = "x", window = 3 }
[sizer]
class = "nope"
[[risk]]
class = "max_order_value"
params = { max_value = -1 }
[[risk]]
class = "no_short"
[[risk]]
klass = "price_band"
[settings]
reservation_buffer = -1
fill_id_window = 0
"""


def test_every_mistake_is_reported_at_once() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(MANY_MISTAKES, source="my.toml")
    fields = [field for field, _ in err.value.problems]
    assert fields == [
        "colour",
        "id",
        "initial_cash",
        "symbols[1]",
        "symbols[2]",
        "strategy.params.window",
        "strategy.params.fast",
        "strategy.params.slow",
        "sizer.class",
        "risk[0].params.max_value",
        "risk[2].klass",
        "risk[2].class",
        "settings.reservation_buffer",
        "settings.fill_id_window",
    ]
    lines = str(err.value).splitlines()
    assert lines == err.value.lines and len(lines) == len(fields)
    assert all(line.startswith("my.toml: ") for line in lines)
    assert "my.toml: strategy.params.fast: must be >= 1, got 0" in lines
    assert (err.value.field, err.value.source) == ("colour", "my.toml")  # the first, as before


def test_one_mistake_is_one_line() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(replace("fast = 3", "fast = 30"), source="x.toml")
    assert err.value.lines == [str(err.value)] and "smaller than slow" in str(err.value)


def test_load_spec_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "missing.toml")
    assert "missing.toml" in str(err.value)
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace("fast = 3", "fast = true"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}: strategy.params.fast:")


def test_user_strategy_by_path() -> None:
    s = parse_spec(
        replace(
            'class = "ma_crossover"\nparams = { fast = 3, slow = 9 }', 'class = "tests.unit.domain.helpers:Scripted"'
        )
    )
    assert s.strategy.cls.__name__ == "Scripted"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_loads_and_starts(path: Path) -> None:
    s = load_spec(path)
    assert s.toml_text == path.read_text()
    p = Portfolio.create(s, 1, "n1")
    assert p.symbols == frozenset(s.symbols) and not p.faulted


def test_examples_cover_every_builtin() -> None:
    specs = [load_spec(p) for p in EXAMPLES]
    assert {s.strategy.name for s in specs} == set(STRATEGIES)
    assert {s.sizer.name for s in specs} == set(SIZERS)
    assert {r.name for s in specs for r in s.risk} == set(RISK_RULES)
    assert any(s.allow_short for s in specs)


def test_a_broken_user_module_is_a_problem_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_strategies_mod.py").write_text("def oops(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = replace('class = "ma_crossover"', 'class = "broken_strategies_mod:Thing"').replace("1000", "0")
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="u.toml")
    assert [field for field, _ in err.value.problems] == ["initial_cash", "strategy.class"]
    assert "cannot import module 'broken_strategies_mod': SyntaxError" in err.value.lines[1]
