"""Client ids at the venue: inside each venue's alphabet and length, deterministic,
mapped back, collisions refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livecore.venues.ccxt.ids import BINANCE_IDS, OKX_IDS, ClientIdCollision, VenueIds, venue_client_id

# livecore's ids: {portfolio}-{epoch}-{seq}, the portfolio id as specs allow it
portfolio_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", fullmatch=True)
livecore_ids = st.builds(
    lambda pid, epoch, seq: f"{pid}-{epoch}-{seq}",
    portfolio_ids,
    st.integers(min_value=0, max_value=2**63 - 1),
    st.integers(min_value=1, max_value=2**40),
)


@given(livecore_ids)
def test_every_livecore_id_fits_both_venues(coid: str) -> None:
    binance = venue_client_id(coid, BINANCE_IDS)
    okx = venue_client_id(coid, OKX_IDS)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,36}", binance)
    assert re.fullmatch(r"[a-z0-9]{1,32}", okx)
    assert venue_client_id(coid, OKX_IDS) == okx  # deterministic: rebuilt from the journal after a restart


def test_readable_ids_go_as_they_are_where_the_venue_takes_them() -> None:
    assert venue_client_id("momentum-3-17", BINANCE_IDS) == "momentum-3-17"
    assert venue_client_id("a.b-3-17", BINANCE_IDS).startswith("lc")  # '.' is not Binance's
    assert venue_client_id("momentum-3-17", OKX_IDS).startswith("lc")  # '-' is not OKX's
    assert len(venue_client_id("x" * 40 + "-1-1", BINANCE_IDS)) == 36


@given(st.lists(livecore_ids, min_size=2, max_size=50, unique=True))
def test_the_mapping_goes_both_ways(coids: list[str]) -> None:
    ids = VenueIds(OKX_IDS)
    venue = [ids.register(coid) for coid in coids]
    assert len(set(venue)) == len(coids)
    assert [ids.livecore_id(v) for v in venue] == coids
    ids.forget(coids[0])
    assert ids.livecore_id(venue[0]) is None and ids.venue_id(coids[0]) is None


def test_a_collision_is_refused() -> None:
    ids = VenueIds(BINANCE_IDS)
    digest = ids.register("a.b-1-1")  # a digest id...
    with pytest.raises(ClientIdCollision, match="already names"):
        ids.register(digest)  # ...which is also a valid livecore id going as it is
    assert ids.register("a.b-1-1") == digest  # the same order again is no collision
