"""The store: migrations create exactly the models' schema, and run safely more than once."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from anxinma.issuer.store.db import MIGRATIONS, Store
from anxinma.issuer.store.models import Base


def test_the_migrations_form_one_line_of_history() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()} (chain the migrations)"


def test_migrations_match_the_models_and_are_idempotent(database_url: str) -> None:
    store = Store(database_url)
    store.migrate()
    store.migrate()  # a second process starting: nothing to do, nothing breaks
    with store.write_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    store.dispose()


def test_sqlite_store_runs_in_wal_mode(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/wal.sqlite3")
    store.migrate()
    with store.read() as session:
        assert session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()
