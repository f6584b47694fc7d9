"""Alembic migrations of the store's schema, shipped with the package and run by
``livecore.adapters.sql.migrate`` on the connection the store opens."""
