from livecore.node.interest import InterestMap


def test_routes_only_to_interested_portfolios() -> None:
    interest = InterestMap()
    interest.set("p1", {"AAA", "BBB"})
    interest.set("p2", {"BBB"})
    assert interest.lookup("AAA") == ("p1",)
    assert sorted(interest.lookup("BBB")) == ["p1", "p2"]
    assert interest.lookup("ZZZ") == ()  # nobody trades it: nobody gets it


def test_set_replaces_the_whole_interest() -> None:
    interest = InterestMap()
    interest.set("p1", {"AAA", "BBB"})
    interest.set("p1", {"BBB", "CCC"})
    assert interest.lookup("AAA") == ()
    assert interest.lookup("CCC") == ("p1",)
    assert interest.symbols_of("p1") == frozenset({"BBB", "CCC"})
    assert interest.symbols() == frozenset({"BBB", "CCC"})


def test_remove_forgets_every_symbol() -> None:
    interest = InterestMap()
    interest.set("p1", {"AAA"})
    interest.set("p2", {"AAA", "BBB"})
    interest.remove("p2")
    assert interest.lookup("AAA") == ("p1",)
    assert interest.lookup("BBB") == ()
    assert len(interest) == 1
    interest.remove("p1")
    interest.remove("unknown")
    assert len(interest) == 0


def test_empty_universe_is_no_interest() -> None:
    interest = InterestMap()
    interest.set("p1", {"AAA"})
    interest.set("p1", set())
    assert interest.lookup("AAA") == ()
    assert interest.symbols_of("p1") == frozenset()


def test_a_reservation_is_read_but_routed_to_nobody() -> None:
    interest = InterestMap()
    interest.set("p1", {"AAA"})
    interest.reserve("p2", {"BBB", "AAA"})
    assert interest.symbols() == frozenset({"AAA", "BBB"})  # partitions to read
    assert interest.lookup("BBB") == () and interest.lookup("AAA") == ("p1",)  # routes unchanged
    assert len(interest) == 1
    assert interest.release("p2") and not interest.release("p2")
    assert interest.symbols() == frozenset({"AAA"})
    interest.reserve("p3", {"CCC"})
    interest.clear()
    assert interest.symbols() == frozenset()
