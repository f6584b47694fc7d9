"""Schema migrations on a SQLite file and on PostgreSQL: a new database is
created by them, a database made before them is stamped and upgraded with its
rows kept, concurrent opens migrate once, and head equals ``schema.py``.

Each case gets databases of its own (tables are created, altered and dropped).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from livecore.adapters.sql import migrate
from livecore.adapters.sql.audit import SqlAuditLog
from livecore.adapters.sql.database import Database, SqlSettings
from livecore.adapters.sql.journal import SqlJournal
from livecore.adapters.sql.schema import VERSION_TABLE, metadata
from livecore.adapters.sql.snapshots import SqlSnapshotStore
from livecore.adapters.sql_store import SqlStore
from livecore.ports.store import StoreError
from livecore.wire.messages import NewOrder, Side
from tests.concurrency import race
from tests.servers import postgres_database

PID = "p-migrated"
# The tables the releases before migrations made (later tables came with migrations).
LEGACY_TABLES = ("lc_snapshots", "lc_journal_orders", "lc_journal_feedback", "lc_registry", "lc_audit")


@pytest.fixture(params=["sqlite", "postgres"])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes fresh empty databases on one backend, as many as the test asks for."""
    with contextlib.ExitStack() as stack:
        count = iter(range(100))

        def make() -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path / f'db{next(count)}.db'}"
            return stack.enter_context(postgres_database())

        yield make


@pytest.fixture
def url(new_db: Callable[[], str]) -> str:
    return new_db()


@contextlib.contextmanager
def connected(url: str) -> Iterator[sa.Connection]:
    """A plain connection in a transaction, committed at exit (no migration)."""
    parsed = sa.make_url(url)
    engine = sa.create_engine(
        parsed.set(drivername="postgresql+psycopg2") if parsed.drivername == "postgresql" else parsed
    )
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


@contextlib.contextmanager
def database(url: str) -> Iterator[Database]:
    db = Database(url, SqlSettings())
    try:
        yield db
    finally:
        db.dispose()


def diff_from_models(url: str) -> list[Any]:
    with connected(url) as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return list(compare_metadata(context, metadata))


def shape(url: str) -> dict[str, Any]:
    """Every table's columns, key, indexes and unique constraints as the database reports them."""
    with connected(url) as conn:
        inspector = sa.inspect(conn)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)],
                inspector.get_pk_constraint(table)["constrained_columns"],
                sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)),
                sorted((u["name"] or "", tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            )
            for table in sorted(inspector.get_table_names())
            if table != VERSION_TABLE
        }


def revision(url: str) -> str | None:
    with database(url) as db:
        return migrate.current(db)


def order(seq: int) -> NewOrder:
    return NewOrder(
        client_order_id=f"{PID}-1-{seq}",
        portfolio_id=PID,
        epoch=1,
        node_id="n1",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal("10.000001"),
        created_ns=1_000 + seq,
    )


def make_pre_migration_database(url: str, *, with_code_version: bool) -> None:
    """A database as a release before migrations left it: ``create_all``, no
    version table, no ``code_version`` column unless asked; with rows."""
    with connected(url) as conn:
        metadata.create_all(conn, tables=[metadata.tables[name] for name in LEGACY_TABLES])
        if not with_code_version:
            conn.execute(sa.text("ALTER TABLE lc_registry DROP COLUMN code_version"))
        conn.execute(
            sa.text(
                "INSERT INTO lc_registry (portfolio_id, spec_toml, desired, node_id, epoch, updated_ns)"
                " VALUES (:p, 'spec', 'running', 'n1', 3, 7)"
            ),
            {"p": PID},
        )
    with database(url) as db:
        SqlJournal(db).record_order(order(1), received_ns=11)
        SqlSnapshotStore(db).save(PID, 3, b"books", taken_ns=12)
        SqlAuditLog(db).record("scheduler", "failover", {"pid": PID}, ts_ns=13)


def test_a_new_database_is_created_by_the_migrations_at_head(url: str) -> None:
    with database(url) as db:
        assert migrate.current(db) is None
        assert migrate.upgrade(db) == (None, migrate.head())
        assert migrate.upgrade(db) == (migrate.head(), migrate.head())  # a second open changes nothing
    assert revision(url) == migrate.head()
    assert diff_from_models(url) == []


def test_migrations_give_the_schema_create_all_gives(new_db: Callable[[], str]) -> None:
    migrated, created = new_db(), new_db()
    SqlStore(migrated).close()
    with connected(created) as conn:
        metadata.create_all(conn)
    assert shape(migrated) == shape(created)
    assert set(shape(migrated)) == set(metadata.tables)


@pytest.mark.parametrize(("with_code_version", "stamped"), [(False, migrate.BASELINE), (True, migrate.CODE_VERSION)])
def test_a_pre_migration_database_is_stamped_upgraded_and_keeps_its_rows(
    url: str, with_code_version: bool, stamped: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_pre_migration_database(url, with_code_version=with_code_version)
    assert revision(url) is None
    caplog.set_level(logging.INFO, logger="alembic")
    store = SqlStore(url)
    try:
        entry = store.registry.get(PID)
        assert entry is not None
        assert (entry.spec_toml, entry.node_id, entry.epoch, entry.updated_ns, entry.code_version) == (
            "spec",
            "n1",
            3,
            7,
            None,
        )
        assert store.registry.set_code_version(PID, '{"m": "aa"}', now_ns=8) is True
        assert [(o.order, o.received_ns) for o in store.journal.orders(PID)] == [(order(1), 11)]
        latest = store.snapshots.latest(PID)
        assert latest is not None and latest.data == b"books"
        assert [e.event for e in store.audit.recent(limit=10)] == ["failover"]
    finally:
        store.close()
    assert f"Running stamp_revision  -> {stamped}" in caplog.text
    assert revision(url) == migrate.head()
    assert diff_from_models(url) == []


def test_concurrent_opens_of_a_new_database_migrate_once(url: str) -> None:
    stores = race(4, lambda _: SqlStore(url))
    for store in stores:
        store.close()
    assert revision(url) == migrate.head()
    assert diff_from_models(url) == []


def test_concurrent_opens_of_a_pre_migration_database_upgrade_once(url: str) -> None:
    make_pre_migration_database(url, with_code_version=False)
    stores = race(4, lambda _: SqlStore(url))
    try:
        entry = stores[0].registry.get(PID)
        assert entry is not None and entry.code_version is None
    finally:
        for store in stores:
            store.close()
    assert revision(url) == migrate.head()


def test_downgrade_to_nothing_and_back(url: str) -> None:
    SqlStore(url).close()
    with connected(url) as conn:
        command.downgrade(migrate.config(conn), "base")
    assert shape(url) == {}
    SqlStore(url).close()
    assert diff_from_models(url) == []


def test_a_database_from_a_newer_release_is_used_as_it_is(url: str, caplog: pytest.LogCaptureFixture) -> None:
    SqlStore(url).close()
    with connected(url) as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with database(url) as db:
        assert migrate.upgrade(db) == ("9999", "9999")
    assert "newer than this release" in caplog.text
    store = SqlStore(url)
    store.registry.upsert(PID, "spec", "running", now_ns=1)
    store.close()


def test_a_database_with_only_some_of_the_tables_is_refused(url: str) -> None:
    with connected(url) as conn:
        metadata.tables["lc_registry"].create(conn)
    with pytest.raises(StoreError, match="not a known schema"):
        SqlStore(url)
