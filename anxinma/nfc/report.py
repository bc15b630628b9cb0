"""The station's final report: one CSV row per batch row, from the journal (the one source).

The badge printer reads ``code,enterprise_name,photo`` from it, so every column of the batch
file beyond the required four (``photo``) is carried over. Only ``done`` rows carry a code.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from anxinma.nfc.batch import Batch
from anxinma.nfc.journal import Journal, Step

__all__ = ["REPORT_COLUMNS", "default_report_path", "report_rows", "write_report"]

REPORT_COLUMNS = (
    "worker_id",
    "display_name",
    "enterprise_id",
    "enterprise_name",
    "status",
    "serial",
    "card_uid",
    "code",
    "replaced_serial",
    "form",
    "message_bytes",
    "locked",
    "originality",
    "attempts",
    "reason",
    "notes",
)
_NOTED_EVENTS = ("card_removed", "attempt_replaced", "duplicate_card", "counterfeit_card", "hook_failed")


def default_report_path(journal_path: Path) -> Path:
    name = journal_path.name.removesuffix(".journal.sqlite3")
    return journal_path.with_name(f"{name}.report.csv")


def report_rows(batch: Batch, journal: Journal) -> list[dict[str, str]]:
    """The report's rows in batch order (duplicate rows: ``skipped``)."""
    records = {worker.worker_id: worker for worker in journal.workers()}
    rows: list[dict[str, str]] = []
    for row in batch.rows:
        out = dict.fromkeys(REPORT_COLUMNS, "")
        out.update(
            worker_id=row.worker_id,
            display_name=row.display_name,
            enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name,
        )
        record = records.get(row.worker_id)
        if row.duplicate_of is not None:
            out.update(
                status="skipped",
                reason=f"duplicate of line {row.duplicate_of} / 与第 {row.duplicate_of} 行重复",
            )
        elif record is None:
            out.update(status="pending")
        else:
            out.update(status=record.state, reason=record.reason or "")
            attempts = journal.attempts(row.worker_id)
            out["attempts"] = str(len(attempts))
            current = journal.current_attempt(row.worker_id)
            if current is not None and record.state == "done" and current.step is Step.DONE:
                out.update(
                    serial=str(current.serial),
                    card_uid=current.card_uid.hex(),
                    code=current.code or "",
                    form=current.form or "",
                    message_bytes=str(len(current.message or b"")),
                    locked="yes" if current.locked else "no",
                    originality=current.originality or "",
                )
            replaced = [a.replaced_serial for a in attempts if a.replaced_serial is not None]
            if replaced:
                out["replaced_serial"] = " ".join(str(serial) for serial in dict.fromkeys(replaced))
            notes = [
                f"{event['kind']}:{event['card_uid']}"
                for event in journal.events(row.worker_id)
                if event["kind"] in _NOTED_EVENTS
            ]
            out["notes"] = "; ".join(notes)
        out.update(row.extra)
        rows.append(out)
    return rows


def write_report(path: Path, batch: Batch, journal: Journal) -> Path:
    """Write the report atomically (a reader never sees half a file); returns ``path``."""
    rows = report_rows(batch, journal)
    columns = list(REPORT_COLUMNS) + [name for name in batch.extra_columns if name not in REPORT_COLUMNS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8-sig", newline="") as stream:
            stream.write(buffer.getvalue())
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
