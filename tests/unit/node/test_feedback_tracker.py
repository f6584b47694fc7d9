from livecore.node.feedback import OffsetTracker
from livecore.ports.bus import Record


def rec(partition: int, offset: int) -> Record:
    return Record("orders.feedback", partition, offset, b"p", b"{}", 0)


def test_commits_only_the_released_prefix_per_partition() -> None:
    tracker = OffsetTracker("orders.feedback")
    a, b, c = tracker.track(rec(0, 10)), tracker.track(rec(0, 11)), tracker.track(rec(0, 12))
    other = tracker.track(rec(1, 3))
    b.done = True
    assert tracker.committable() == []  # 10 is not released: nothing after it may be committed
    a.done = True
    other.done = True
    markers = {(m.partition, m.offset) for m in tracker.committable()}
    assert markers == {(0, 11), (1, 3)}
    assert tracker.outstanding() == 1
    c.done = True
    assert [(m.partition, m.offset) for m in tracker.committable()] == [(0, 12)]
    assert tracker.committable() == []
