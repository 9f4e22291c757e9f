"""Alembic environment: runs on the connection the service hands it, or on alembic.ini's URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from pixelpress.adapters.sql.tables import metadata

config = context.config


def run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        run(conn)
