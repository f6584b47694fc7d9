from livecore.node.latency import LatencyRecorder


def test_percentiles_of_the_kept_samples() -> None:
    recorder = LatencyRecorder(size=100)
    assert recorder.percentile(0.5) is None
    for nanos in range(1, 11):
        recorder.record(nanos * 1000)
    assert recorder.count == 10
    assert recorder.percentile(0.0) == 1000
    assert recorder.percentile(0.5) == 6000
    assert recorder.percentile(1.0) == 10_000


def test_the_ring_keeps_only_the_newest_samples() -> None:
    recorder = LatencyRecorder(size=4)
    for nanos in (900, 800, 1, 2, 3, 4):  # the two large ones are overwritten
        recorder.record(nanos)
    assert recorder.count == 6
    assert recorder.percentile(1.0) == 4
    assert recorder.percentile(0.0) == 1


def test_reset_forgets_everything() -> None:
    recorder = LatencyRecorder(size=4)
    recorder.record(5)
    recorder.reset()
    assert recorder.count == 0
    assert recorder.percentile(0.5) is None
    recorder.record(7)
    assert recorder.percentile(0.5) == 7
