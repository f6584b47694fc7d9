"""Declared, typed parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.domain import Param, ParamError, Strategy


class Demo(Strategy):
    window = Param(int, 10, ge=2)
    level = Param(Decimal, Decimal("1.5"), gt=0)
    ratio = Param(float, 0.5, le=1)
    mode = Param(str, "fast", choices=("fast", "slow"))
    enabled = Param(bool, True)
    needed = Param(int)


def test_defaults_coercion_and_typed_access() -> None:
    d = Demo(symbols=["X"], needed=1, level="2.25", ratio=1)
    assert (d.window, d.level, d.ratio, d.mode, d.enabled, d.needed) == (10, Decimal("2.25"), 1.0, "fast", True, 1)
    assert d.symbols == frozenset({"X"})
    assert d.params["level"] == Decimal("2.25")
    assert Demo(symbols=["X"], needed=1, level=0.1, ratio=Decimal("0.25")).params["level"] == Decimal("0.1")
    assert Demo(symbols=["X"], needed=1, ratio=Decimal("0.25")).ratio == 0.25
    assert Demo.window.name == "window"


@pytest.mark.parametrize(
    ("kwargs", "name", "message"),
    [
        ({}, "needed", "missing"),
        ({"needed": 1, "windw": 3}, "windw", "unknown parameter of Demo"),
        ({"needed": True}, "needed", "expected int"),
        ({"needed": 1, "window": 1}, "window", ">= 2"),
        ({"needed": 1, "level": 0}, "level", "> 0"),
        ({"needed": 1, "level": "abc"}, "level", "decimal"),
        ({"needed": 1, "level": "NaN"}, "level", "expected Decimal"),
        ({"needed": 1, "level": float("nan")}, "level", "expected Decimal"),
        ({"needed": 1, "level": 2.5, "window": 3.0}, "window", "expected int"),
        ({"needed": "1"}, "needed", "expected int, got str '1'"),
        ({"needed": 1, "ratio": 2}, "ratio", "<= 1"),
        ({"needed": 1, "mode": "medium"}, "mode", "one of"),
        ({"needed": 1, "enabled": 1}, "enabled", "expected bool"),
    ],
)
def test_bad_values_name_the_parameter(kwargs: dict[str, object], name: str, message: str) -> None:
    with pytest.raises(ParamError) as err:
        Demo(**kwargs)
    assert err.value.name == name and message in err.value.message


def test_symbols_is_a_reserved_name() -> None:
    with pytest.raises(TypeError, match="reserved"):

        class Bad(Strategy):
            symbols = Param(str, "x")  # type: ignore[assignment]


def test_every_problem_is_listed_at_once() -> None:
    values, problems = Demo.param_problems({"windw": 3, "wndow": 4, "window": 1, "level": "abc", "enabled": 1})
    assert [(p.name, p.message.split(" (")[0]) for p in problems] == [
        ("windw", "unknown parameter of Demo"),
        ("wndow", "unknown parameter of Demo"),
        ("window", "must be >= 2, got 1"),
        ("level", "expected a decimal number, got 'abc'"),
        ("enabled", "expected bool, got int 1"),
        ("needed", "required parameter of Demo is missing"),
    ]
    assert values["ratio"] == 0.5  # the valid ones are still coerced


def test_cross_checks_run_once_each_value_is_valid() -> None:
    from livecore.domain.builtins.strategies import MovingAverageCross

    _, problems = MovingAverageCross.param_problems({"fast": 0, "slow": 3})
    assert [p.name for p in problems] == ["fast"] and ">= 1" in problems[0].message
    _, problems = MovingAverageCross.param_problems({"fast": 5, "slow": 3})
    assert [p.name for p in problems] == ["fast"] and "smaller than slow" in problems[0].message
    assert MovingAverageCross.param_problems({"fast": 2, "slow": 3})[1] == []
