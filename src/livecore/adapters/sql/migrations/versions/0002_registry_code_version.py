"""The registry records each portfolio's code version.

JSON ``{module: sha256}`` of the strategy/sizer/risk code; NULL (the value of
every row that existed before) means "not recorded yet".

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("lc_registry", sa.Column("code_version", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lc_registry") as batch:
        batch.drop_column("code_version")
