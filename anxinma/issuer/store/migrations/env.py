"""Alembic environment: runs on the connection the store hands over (``Store.migrate``).

PostgreSQL: an advisory lock held for the migration's transaction, so gunicorn workers that
start together migrate once. SQLite: the store's write engine begins with BEGIN IMMEDIATE,
which serialises migrating processes the same way.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from anxinma.issuer.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)  # type: ignore[arg-type]
    with context.begin_transaction():
        if conn.dialect.name == "postgresql":  # type: ignore[attr-defined]
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(config.attributes.get('lock_id', 1))})")  # type: ignore[attr-defined]
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # `alembic` run by hand with -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database with: alembic -x url=sqlite:///path ...")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
