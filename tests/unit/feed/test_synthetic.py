"""Synthetic GBM feed and replay schedules (pure)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from livecore.feed.readers import load_replay
from livecore.feed.runner import replay_schedule
from livecore.feed.synthetic import SyntheticFeed, SyntheticSettings, symbol_names


def sequence(seed: int, n: int = 500) -> list[tuple[str, D, D]]:
    feed = SyntheticFeed(SyntheticSettings(symbols=5, rate=1000, duration_s=n / 1000, seed=seed))
    return [(t.symbol, t.price, t.size) for _, t in feed.events()]


def test_same_seed_same_sequence_other_seed_other_sequence() -> None:
    assert sequence(42) == sequence(42)
    assert sequence(42) != sequence(43)
    assert len(sequence(1, 500)) == 500


def test_prices_are_quantised_positive_decimals_on_all_symbols() -> None:
    events = sequence(3, 2000)
    assert {s for s, _, _ in events} == set(symbol_names(5))
    assert all(p > 0 and p == p.quantize(D("0.01")) for _, p, _ in events)
    assert all(1 <= s <= 1000 for _, _, s in events)


def test_schedule_is_absolute() -> None:
    feed = SyntheticFeed(SyntheticSettings(symbols=1, rate=4, duration_s=2, seed=0))
    assert [offset for offset, _ in feed.events()] == [i / 4 for i in range(8)]


def test_symbol_names() -> None:
    assert symbol_names(3) == ["SYM0001", "SYM0002", "SYM0003"]
    assert symbol_names(10_000)[-1] == "SYM10000"


@pytest.mark.parametrize("bad", [{"symbols": 0}, {"rate": 0}, {"duration_s": -1}, {"start_min": 0}])
def test_bad_settings(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SyntheticSettings(**bad)  # type: ignore[arg-type]


def test_replay_schedule_speed_and_loop(tmp_path: Path) -> None:
    (tmp_path / "A.csv").write_text("date,price\n2020-01-01,1\n2020-01-02,2\n2020-01-04,3\n")
    data = load_replay(tmp_path)
    assert [o for o, _ in replay_schedule(data, speed=0)] == [0.0, 0.0, 0.0]
    assert [o for o, _ in replay_schedule(data, speed=86_400)] == [0.0, 1.0, 3.0]
    looped = replay_schedule(data, speed=86_400, loop=True)
    first_six = [next(looped) for _ in range(6)]
    assert [o for o, _ in first_six] == [0.0, 1.0, 3.0, 4.0, 5.0, 7.0]
    assert [e.price for _, e in first_six] == [D(1), D(2), D(3), D(1), D(2), D(3)]
    with pytest.raises(ValueError):
        list(replay_schedule(data, speed=-1))
