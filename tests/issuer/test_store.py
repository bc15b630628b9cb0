"""The store: migrations create exactly the models' schema, and run safely more than once."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from anxinma.issuer.db import MIGRATIONS, Store
from anxinma.issuer.models import Base


def _heads() -> tuple[str, ...]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(ScriptDirectory.from_config(config).get_heads())


def test_migrations_match_the_models_and_are_idempotent(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    store.migrate()  # a second process starting: nothing to do, nothing breaks
    with store.write_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_heads() == _heads()  # every migration ran
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    store.dispose()


def test_sqlite_store_runs_in_wal_mode(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/wal.sqlite3")
    store.migrate()
    with store.read() as session:
        assert session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()
