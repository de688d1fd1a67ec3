"""Alembic environment of the metadata database.

At start-up :func:`app.core.migrate.upgrade` hands over an open connection (in
``config.attributes["connection"]``) and the migrations run inside its transaction. From the
command line (``alembic -c backend/app/core/migrations/alembic.ini revision --autogenerate``)
there is none, so one is made from the settings (``MP_DATABASE_URL`` or the SQLite file).
"""

from __future__ import annotations

from alembic import context

from app.core.tables import metadata


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from app.core.config import get_settings
    from app.core.db import make_engine

    engine = make_engine(get_settings().metadata_database_url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
