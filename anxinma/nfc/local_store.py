"""The SQLite file a station keeps beside it (the encoding journal, the check-in queue).

WAL, so a reader never waits for the writer; one connection shared by the station's threads
under one lock; the schema versioned by ``PRAGMA user_version``; and each transaction either
durable (``synchronous=FULL``: COMMIT returns once it is on disk, for what must survive a power
cut) or not (``NORMAL``, for bookkeeping that can be redone).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anxinma.errors import StationError

__all__ = ["LocalStore"]


class LocalStore:
    """One station file: ``db`` (rows as :class:`sqlite3.Row`), ``lock`` and :meth:`transaction`."""

    def __init__(
        self, path: Path, schema: str, version: int, *, what: tuple[str, str], foreign_keys: bool = False
    ) -> None:
        """Open (and on first use create) ``path`` holding ``schema`` at ``version``; ``what``
        names the file in errors, (中文, English)."""
        what_zh, what_en = what
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        db = None
        try:  # timeout=10: a writer waits up to 10 s for another (SQLite's busy timeout)
            self.db = db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            if foreign_keys:
                self.db.execute("PRAGMA foreign_keys=ON")
            found = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if db is not None:  # opened, but not a database (or not ours): let the file go
                db.close()
            raise StationError(
                f"the {what_en} {path} cannot be opened: {exc}",
                message_zh=f"{what_zh} {path} 无法打开：{exc}",
            ) from exc
        self._synchronous = "FULL"
        if found not in (0, version):
            self.db.close()
            raise StationError(
                f"the {what_en} {path} has schema {found}; this release reads {version}",
                message_zh=f"{what_zh} {path} 的版本为 {found}，本程序只能读取版本 {version}",
            )
        if found == 0:  # executescript commits first: the schema is its own transaction
            self.db.executescript(f"BEGIN IMMEDIATE;{schema}PRAGMA user_version={version};COMMIT;")

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``durable``: COMMIT returns only once it is on disk."""
        with self.lock:
            wanted = "FULL" if durable else "NORMAL"
            if wanted != self._synchronous:
                self.db.execute(f"PRAGMA synchronous={wanted}")
                self._synchronous = wanted
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.db.close()
