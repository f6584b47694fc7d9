"""The one schema of the durable store, for SQLite and PostgreSQL alike.

Messages are stored whole as their msgspec JSON (exact decimals, the version
field included), next to the few columns that are queried or constrained:
portfolio id, client order id, fill id, status, sequence numbers.

These tables are what the code reads and writes; a database gets them through
the migrations in ``migrations/versions/`` (``migrate.py`` runs them), and a
test checks the two agree. A change here needs a new migration.
"""

from __future__ import annotations

import sqlalchemy as sa

# A 64-bit key on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

snapshots = sa.Table(
    "lc_snapshots",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("portfolio_id", sa.String, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("taken_ns", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("portfolio_id", "version", name="uq_lc_snapshots_version"),
)

journal_orders = sa.Table(
    "lc_journal_orders",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("client_order_id", sa.String, nullable=False, unique=True),
    sa.Column("portfolio_id", sa.String, nullable=False, index=True),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("received_ns", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)

journal_feedback = sa.Table(
    "lc_journal_feedback",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("client_order_id", sa.String, nullable=False, index=True),
    sa.Column("portfolio_id", sa.String, nullable=False, index=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("fill_id", sa.String, nullable=True, unique=True),
    sa.Column("body", sa.Text, nullable=False),
    # Sequence numbers are never reused, even after a deleted tail.
    sqlite_autoincrement=True,
)

registry = sa.Table(
    "lc_registry",
    metadata,
    sa.Column("portfolio_id", sa.String, primary_key=True),
    sa.Column("spec_toml", sa.Text, nullable=False),
    sa.Column("desired", sa.String, nullable=False),
    sa.Column("node_id", sa.String, nullable=True),
    sa.Column("epoch", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_ns", sa.BigInteger, nullable=False),
    # JSON {module: sha256} of the strategy/sizer/risk code; NULL = not recorded yet
    sa.Column("code_version", sa.Text, nullable=True),
)

audit = sa.Table(
    "lc_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("component", sa.String, nullable=False),
    sa.Column("event", sa.String, nullable=False, index=True),
    sa.Column("detail", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)

# Each portfolio's equity curve, one row per recorded point (money as exact
# decimal strings); bounded per portfolio by thinning its older points.
equity = sa.Table(
    "lc_equity",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("portfolio_id", sa.String, nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("node_id", sa.String, nullable=False),
    sa.Column("equity", sa.String, nullable=False),
    sa.Column("cash", sa.String, nullable=False),
    sa.Column("realized_pnl", sa.String, nullable=False),
    sa.Column("unrealized_pnl", sa.String, nullable=False),
    sa.Index("ix_lc_equity_portfolio_ts", "portfolio_id", "ts_ns"),
    sqlite_autoincrement=True,
)

# Which migration a database is at (alembic's table, named like ours).
VERSION_TABLE = "lc_alembic_version"

# Advisory lock keys (PostgreSQL) of writers that must not interleave.
SCHEMA_LOCK = 0x6C63_0001
FEEDBACK_LOCK = 0x6C63_0002
