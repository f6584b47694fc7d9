"""Baseline: the schema as the releases before migrations created it.

A database those releases made (``create_all``, no version table) is stamped
at this revision when first opened, then upgraded. Frozen: the types and names
here are written out, not imported from ``schema.py``, which moves on.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lc_snapshots",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("portfolio_id", sa.String, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("taken_ns", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("portfolio_id", "version", name="uq_lc_snapshots_version"),
    )
    op.create_table(
        "lc_journal_orders",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("client_order_id", sa.String, nullable=False, unique=True),
        sa.Column("portfolio_id", sa.String, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("received_ns", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lc_journal_orders_portfolio_id", "lc_journal_orders", ["portfolio_id"])
    op.create_table(
        "lc_journal_feedback",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("client_order_id", sa.String, nullable=False),
        sa.Column("portfolio_id", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("fill_id", sa.String, nullable=True, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lc_journal_feedback_client_order_id", "lc_journal_feedback", ["client_order_id"])
    op.create_index("ix_lc_journal_feedback_portfolio_id", "lc_journal_feedback", ["portfolio_id"])
    op.create_table(
        "lc_registry",
        sa.Column("portfolio_id", sa.String, primary_key=True),
        sa.Column("spec_toml", sa.Text, nullable=False),
        sa.Column("desired", sa.String, nullable=False),
        sa.Column("node_id", sa.String, nullable=True),
        sa.Column("epoch", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "lc_audit",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("component", sa.String, nullable=False),
        sa.Column("event", sa.String, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lc_audit_event", "lc_audit", ["event"])


def downgrade() -> None:
    for table in ("lc_audit", "lc_registry", "lc_journal_feedback", "lc_journal_orders", "lc_snapshots"):
        op.drop_table(table)
