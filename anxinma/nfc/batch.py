"""The batch file an operator encodes: one worker a row (the operator console writes it).

Columns ``worker_id,display_name,enterprise_id,enterprise_name`` are required; any others
(``photo`` for the badge printer) are kept and copied into the report. UTF-8, with or without
the byte-order mark Excel writes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from anxinma.errors import StationError

__all__ = ["REQUIRED_COLUMNS", "Batch", "BatchRow", "load_batch"]

REQUIRED_COLUMNS = ("worker_id", "display_name", "enterprise_id", "enterprise_name")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class BatchRow:
    worker_id: str
    display_name: str
    enterprise_id: str
    enterprise_name: str
    line: int
    extra: dict[str, str] = field(default_factory=dict)
    duplicate_of: int | None = None  # line of the first row with this worker_id


@dataclass(frozen=True)
class Batch:
    path: Path
    sha256: str
    rows: tuple[BatchRow, ...]
    extra_columns: tuple[str, ...]

    @property
    def workers(self) -> tuple[BatchRow, ...]:
        """The rows to encode: each worker once, in file order."""
        return tuple(row for row in self.rows if row.duplicate_of is None)


def load_batch(path: Path) -> Batch:
    """Read and check a batch file; raises :class:`StationError` naming the lines at fault."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StationError(
            f"cannot read the batch file {path}: {exc.strerror}", message_zh=f"无法读取批次文件 {path}"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StationError(
            f"the batch file {path} is not UTF-8 text (save it as CSV UTF-8)",
            message_zh=f"批次文件 {path} 不是 UTF-8 文本（请另存为 CSV UTF-8）",
        ) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise StationError(
            f"the batch file {path} lacks the column(s) {', '.join(missing)}; it needs {','.join(REQUIRED_COLUMNS)}",
            message_zh=f"批次文件 {path} 缺少列 {', '.join(missing)}；需要 {','.join(REQUIRED_COLUMNS)}",
        )
    reader.fieldnames = header
    extra_columns = tuple(name for name in header if name not in REQUIRED_COLUMNS and name)
    rows: list[BatchRow] = []
    first_line: dict[str, int] = {}
    problems: list[str] = []
    for record in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in record.items() if key}
        if not any(values.values()):
            continue  # blank line
        worker_id = values.get("worker_id", "")
        if not worker_id:
            problems.append(f"line {line}: empty worker_id")
            continue
        if len(rows) >= MAX_ROWS:
            raise StationError(
                f"a batch holds at most {MAX_ROWS} rows", message_zh=f"一个批次最多 {MAX_ROWS} 行"
            )
        rows.append(
            BatchRow(
                worker_id=worker_id,
                display_name=values.get("display_name", ""),
                enterprise_id=values.get("enterprise_id", ""),
                enterprise_name=values.get("enterprise_name", ""),
                line=line,
                extra={name: values.get(name, "") for name in extra_columns},
                duplicate_of=first_line.get(worker_id),
            )
        )
        first_line.setdefault(worker_id, line)
    if problems:
        raise StationError(
            f"the batch file {path} has rows without a worker: {'; '.join(problems[:10])}",
            message_zh=f"批次文件 {path} 有缺少 worker_id 的行：{'; '.join(problems[:10])}",
        )
    if not rows:
        raise StationError(f"the batch file {path} has no workers", message_zh=f"批次文件 {path} 没有服务员")
    return Batch(path, hashlib.sha256(raw).hexdigest(), tuple(rows), extra_columns)
