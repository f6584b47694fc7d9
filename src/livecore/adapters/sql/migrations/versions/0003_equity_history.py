"""Each portfolio's equity curve (``lc_equity``), written by its node with a snapshot.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lc_equity",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("portfolio_id", sa.String, nullable=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("node_id", sa.String, nullable=False),
        sa.Column("equity", sa.String, nullable=False),
        sa.Column("cash", sa.String, nullable=False),
        sa.Column("realized_pnl", sa.String, nullable=False),
        sa.Column("unrealized_pnl", sa.String, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_lc_equity_portfolio_ts", "lc_equity", ["portfolio_id", "ts_ns"])


def downgrade() -> None:
    op.drop_table("lc_equity")
