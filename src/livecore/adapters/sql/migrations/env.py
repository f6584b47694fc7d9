"""Alembic's entry point: migrate on the connection the store hands over.

The caller (``livecore.adapters.sql.migrate``) opens a write transaction and
takes the schema lock first, so the migrations run inside that transaction and
two processes never migrate at once. There is no URL and no ``alembic.ini``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from livecore.adapters.sql.schema import VERSION_TABLE, metadata


def run_on_connection() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, sa.Connection):
        raise RuntimeError("livecore migrations run through livecore.adapters.sql.migrate, on a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite alters most columns by copying the table
    )
    with context.begin_transaction():
        context.run_migrations()


run_on_connection()
