"""The store: engines and sessions for SQLite (the embedded default) and PostgreSQL, and the
migrations that run on start.

SQLite runs in WAL mode (readers never wait for the writer) and every *write* transaction
begins with ``BEGIN IMMEDIATE``: it takes the write lock up front, so two writers queue on
``busy_timeout`` instead of both reading and then failing to upgrade (SQLite's deadlock error).
Reads use a second engine whose transactions are deferred. On PostgreSQL both are one engine.

Each engine's pool is bounded (``pool_size`` kept open, ``max_overflow`` more at a peak, then a
caller waits up to 30 s): a process never holds more than their sum, so hosts x processes x that
sum is what PostgreSQL must allow (docs/operations.md, "Database connections"). Behind PgBouncer
in transaction mode (``pooler="pgbouncer"``) nothing may outlive a transaction on the server
connection: psycopg's automatic prepared statements are turned off, the migration lock is a
transaction-level advisory lock (migrations/env.py) and no session setting is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from anxinma.errors import AnxinmaError

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x616E786D  # "anxm": PostgreSQL advisory lock held while migrating


class StoreError(AnxinmaError):
    """The database cannot be opened or migrated."""

    code = "store"


def _sqlite_engine(url: str, *, immediate: bool, pool: dict[str, int]) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves (pysqlite's is deferred)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode across crashes of the process
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """Database access for the issuer. ``write()`` and ``read()`` hand out sessions."""

    def __init__(self, url: str, *, pool_size: int = 4, max_overflow: int = 4, pooler: str = "none") -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        pool = {"pool_size": pool_size, "max_overflow": max_overflow}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, immediate=True, pool=pool)
            self.read_engine = _sqlite_engine(url, immediate=False, pool=pool)
        elif self.dialect == "postgresql":
            connect_args: dict[str, Any] = {"prepare_threshold": None} if pooler == "pgbouncer" else {}
            self.write_engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)
            self.read_engine = self.write_engine
        else:
            raise StoreError(
                f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://",
                message_zh=f"不支持的数据库 {self.dialect!r}",
            )
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def hot_query(self, statement: Any, parameter: str) -> HotQuery:
        """``statement`` (one row by one bound ``parameter``) prepared for :class:`HotQuery`, on
        the read engine's pool (no pool of its own: a process still holds at most pool + overflow)."""
        return HotQuery(self.read_engine, statement, parameter, autocommit=self.is_postgres)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes at once)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.write_engine.connect() as connection:
                config.attributes["connection"] = connection
                config.attributes["lock_id"] = _MIGRATION_LOCK
                command.upgrade(config, "head")
                connection.commit()
        except Exception as exc:
            if isinstance(exc, AnxinmaError):
                raise
            raise StoreError(
                f"cannot open or migrate the database: {type(exc).__name__}: {exc}".splitlines()[0],
                message_zh="无法打开或迁移数据库",
            ) from exc

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


class HotQuery:
    """One prebuilt SELECT of one row, run on a pooled DBAPI cursor with no SQLAlchemy
    execution machinery: for the live record, where compiling the parameters, the events, the
    transaction and the result objects cost several times the query (issue 20's profile).

    Values come back as the driver gives them (SQLite: dates and timestamps as ISO text); the
    caller converts. The one statement runs outside an explicit transaction (its own consistent
    snapshot on both databases): on PostgreSQL the connection is switched to autocommit for it
    (client-side, no round trip), which spares the BEGIN and the ROLLBACK round trips, so a
    lookup is the pool's pre-ping and the query. A connection found dropped (the database
    restarted) is discarded and the query run once more on a fresh one.
    """

    def __init__(self, engine: Engine, statement: Any, parameter: str, *, autocommit: bool = False) -> None:
        self.engine = engine
        self.autocommit = autocommit
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        defaults = compiled.construct_params({parameter: None})
        self.parameter = parameter
        self._positions: list[str] | None = None
        if engine.dialect.positional:
            self._positions = list(compiled.positiontup or ())
            self._template: list[Any] = [defaults[name] for name in self._positions]
            self._slots = [i for i, name in enumerate(self._positions) if name == parameter]
        self._defaults = defaults
        self._errors: tuple[type[BaseException], ...] = (engine.dialect.loaded_dbapi.OperationalError,)

    def first(self, value: Any) -> tuple[Any, ...] | None:
        params: Any
        if self._positions is not None:
            params = list(self._template)
            for slot in self._slots:
                params[slot] = value
        else:
            params = {**self._defaults, self.parameter: value}
        for attempt in (0, 1):
            connection = self.engine.raw_connection()
            try:
                if self.autocommit:
                    connection.driver_connection.autocommit = True  # type: ignore[union-attr]
                cursor = connection.cursor()
                try:
                    cursor.execute(self.sql, params)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                    if self.autocommit:
                        connection.driver_connection.autocommit = False  # type: ignore[union-attr]
                return tuple(row) if row is not None else None
            except self._errors as exc:
                connection.invalidate(exc)
                if attempt:
                    raise
            finally:
                connection.close()
        raise AssertionError("unreachable")  # pragma: no cover
