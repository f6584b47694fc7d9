"""The bus's watchdog: is the broker there, and are the topics as laid out?

One daemon thread per ``KafkaBus`` (started with its first client) asks the
broker for its topic list every ``health_interval_s``:

- no answer: the bus is unhealthy ("broker ... unreachable");
- a topic this process created (with the layout's partition count) is
  missing: the broker lost its data (a restart with memory storage). It is
  created again with the same count **before** anything is produced to it
  (clients never auto-create topics, so the broker's default cannot win), and
  logged as an error;
- a topic with another partition count than the one it was created with is
  logged as critical and keeps the bus unhealthy (keys would map to other
  partitions than the gateway expects): an operator must fix it;
- a topic this process only uses (a producer's, created by another process)
  that comes back with a new broker id was recreated: its data is gone, so
  the outage is recorded even when no probe fell inside it (it was shorter
  than a probe's timeout), and producers rebuild and replay;
- an answer after an outage ends it: ``BrokerState.generation`` grows, so
  producers rebuild and consumers check their positions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from livecore.adapters.kafka_config import LOG, KafkaSettings
from livecore.adapters.kafka_health import TOPICS, BrokerState

PROBE_TIMEOUT_S = 2.0


class TopicWatchdog:
    def __init__(self, settings: KafkaSettings, state: BrokerState, admin: Callable[[], AdminClient]) -> None:
        self._settings = settings
        self._state = state
        self._admin = admin
        self._lock = threading.Lock()
        self._layout: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: str = ""
        self._ids: dict[str, str] = {}  # topic -> broker topic id: a new id means it was recreated
        self._watched: set[str] = set()  # used here but created elsewhere: only their ids are checked
        self._wake = threading.Event()

    def expect(self, topics: Mapping[str, int]) -> None:
        """Guard ``topics`` with these partition counts (the first count asked wins)."""
        with self._lock:
            for name, count in topics.items():
                known = self._layout.setdefault(name, count)
                if known != count:
                    LOG.warning("topic %s asked with %d partitions, already expected with %d", name, count, known)

    def watch(self, topic: str) -> None:
        """Check ``topic``'s broker id from now on (a producer's topic that another
        process created): a new id means the broker lost it, so this bus's producers
        rebuild and replay even if no probe fell inside the outage. The next probe runs
        at once, so that the id is known before an outage can come."""
        with self._lock:
            if topic in self._watched or topic in self._layout:
                return
            self._watched.add(topic)
        self._wake.set()

    def layout(self) -> dict[str, int]:
        with self._lock:
            return dict(self._layout)

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="kafka-watchdog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(PROBE_TIMEOUT_S * 2)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._settings.health_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.probe()
            except Exception:  # the watchdog must outlive any surprise
                LOG.exception("bus watchdog probe failed")

    def probe(self) -> None:
        """One round: reachability, missing topics restored, partition counts checked."""
        timeout = min(PROBE_TIMEOUT_S, self._settings.request_timeout_s)
        try:
            found = self._admin().list_topics(timeout=timeout).topics
        except KafkaException as exc:
            self._state.broker_down(f"broker {self._settings.bootstrap} unreachable: {exc.args[0].str()}")
            return
        layout = self.layout()
        missing = {name: count for name, count in layout.items() if name not in found}
        if missing and not self._restore(missing):
            return
        wrong = {
            name: (len(found[name].partitions), count)
            for name, count in layout.items()
            if name in found and len(found[name].partitions) != count
        }
        self._report_counts(wrong)
        with self._lock:
            watched = [name for name in self._watched if name in found]
        replaced = self._replaced_topics([name for name in layout if name in found or name in missing] + watched)
        if replaced:
            self._state.broker_down(f"topics {replaced} were recreated")
        if self._state.broker_up():
            LOG.warning("broker %s is back: producers rebuild, consumers check positions", self._settings.bootstrap)

    def _restore(self, missing: dict[str, int]) -> bool:
        self._state.broker_down(f"broker lost topics {sorted(missing)}; restoring them")
        LOG.error(
            "broker %s lost topics %s: creating them again with %s", self._settings.bootstrap, sorted(missing), missing
        )
        timeout = self._settings.request_timeout_s
        wanted = [NewTopic(name, count, self._settings.replication_factor) for name, count in missing.items()]
        ok = True
        for name, future in self._admin().create_topics(wanted, request_timeout=timeout).items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    LOG.error("cannot create topic %s again: %s", name, exc.args[0].str())
                    ok = False
                    continue
            except Exception as exc:
                LOG.error("cannot create topic %s again: %s", name, exc)
                ok = False
                continue
        return ok

    def _replaced_topics(self, names: list[str]) -> list[str]:
        """Topics whose broker id changed since the last probe (recreated: their data
        and committed offsets are gone), marked in the shared state."""
        if not names:
            return []
        timeout = self._settings.request_timeout_s
        replaced = []
        for name, future in self._admin().describe_topics(TopicCollection(names), request_timeout=timeout).items():
            try:
                topic_id = str(future.result(timeout=timeout).topic_id)
            except Exception as exc:
                LOG.debug("cannot describe topic %s: %s", name, exc)
                continue
            known = self._ids.get(name)
            self._ids[name] = topic_id
            if known is not None and known != topic_id:
                replaced.append(name)
                self._state.mark_recreated(name)
        if replaced:
            LOG.error("topics %s were recreated on the broker: their data and committed offsets are lost", replaced)
        return replaced

    def _report_counts(self, wrong: dict[str, tuple[int, int]]) -> None:
        text = "; ".join(
            f"topic {n} has {has} partitions, the layout says {want}" for n, (has, want) in sorted(wrong.items())
        )
        if text != self._reported:
            self._reported = text
            if text:
                LOG.critical("partition layout broken: %s (keys map to other partitions: fix the topics)", text)
            else:
                LOG.warning("partition layout as expected again")
        if text:
            self._state.problem(TOPICS, text)
        else:
            self._state.clear(TOPICS)
