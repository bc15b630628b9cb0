"""The station's SQLite files (anxinma/nfc/local_store.py): created once, refused in another
schema version with a bilingual message, a failed transaction leaves nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from anxinma.errors import StationError
from anxinma.nfc.checkin_queue import CheckInQueue
from anxinma.nfc.journal import SCHEMA_VERSION as JOURNAL_VERSION
from anxinma.nfc.journal import Journal
from anxinma.nfc.local_store import LocalStore

SCHEMA = "CREATE TABLE t (x INTEGER PRIMARY KEY);"


def _set_user_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={version}")
    db.close()


def test_a_file_of_another_schema_version_is_refused_in_both_languages(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    with CheckInQueue(path):
        pass
    _set_user_version(path, 99)
    with pytest.raises(StationError) as caught:
        CheckInQueue(path)
    assert "has schema 99" in caught.value.message and "版本为 99" in caught.value.message_zh
    journal = tmp_path / "journal.sqlite3"
    Journal(journal).close()
    _set_user_version(journal, 7)
    with pytest.raises(StationError) as caught:
        Journal(journal)
    assert "写卡日志" in caught.value.message_zh and "schema 7" in caught.value.message
    _set_user_version(journal, JOURNAL_VERSION)  # the refused open released the batch lock
    Journal(journal).close()


def test_a_file_that_is_not_a_database_is_refused_and_let_go(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    path.write_bytes(b"not sqlite at all, a text file someone named .sqlite3\n" * 100)
    open_files = len(list(Path("/proc/self/fd").iterdir()))
    for _ in range(5):
        with pytest.raises(StationError) as caught:
            CheckInQueue(path)
        assert "cannot be opened" in caught.value.message and "无法打开" in caught.value.message_zh
    assert len(list(Path("/proc/self/fd").iterdir())) == open_files  # no connection left open


def test_a_failed_transaction_leaves_nothing_and_the_schema_is_made_once(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite3", SCHEMA, 1, what=("测试", "test file"))
    with store.transaction() as db:
        db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), store.transaction(durable=False) as db:
        db.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("torn")
    store.close()
    again = LocalStore(tmp_path / "s.sqlite3", SCHEMA, 1, what=("测试", "test file"))  # no second CREATE
    assert [row[0] for row in again.db.execute("SELECT x FROM t")] == [1]
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()
