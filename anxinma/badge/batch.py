"""The batch file of ``anxinma badge --batch``: CSV with a header, or JSON lines.

Columns (JSON keys): ``code`` (any text form of the credential), ``enterprise_name``,
``photo`` (optional: a JPEG or PNG path, relative to the batch file's folder) and
``issuer_name`` (optional). Other columns are ignored, so the NFC station's report CSV
(worker_id, serial, card_uid, code, enterprise_name, …) is a batch file as it stands.

CSV is read as UTF-8 (with or without the BOM Excel writes) or, failing that, GB18030 (what
Excel on a Chinese Windows saves as "CSV").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from anxinma.badge.card import Card, prepare
from anxinma.badge.items import BadgeError, BadgeInputError, BadgeItem, Photo, RowProblem
from anxinma.badge.pdf import Progress
from anxinma.credential import base_url_of, decode_text
from anxinma.errors import AnxinmaError

REQUIRED_COLUMNS = ("code", "enterprise_name")
OPTIONAL_COLUMNS = ("photo", "issuer_name")
#: The columns of the encoding station's batch file (anxinma/nfc/batch.py): a file with these and
#: no ``code`` is a station batch, refused with what to do instead.
STATION_BATCH_COLUMNS = frozenset({"worker_id", "display_name", "enterprise_id", "enterprise_name"})
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
#: A batch file larger than this is refused before it is read (a row is ~400 bytes).
MAX_BATCH_BYTES = 64 * 1024 * 1024

#: A row as read: its fields, or why the line could not be read as a row.
Row = Mapping[str, Any] | BadgeError


def read_batch(
    path: Path | str,
    *,
    base_url: str | None = None,
    default_base_url: str | None = None,
    issuer_name: str | None = None,
    progress: Progress | None = None,
) -> list[Card]:
    """Read and check every row of a batch file; the cards, in file order, ready to draw.

    The QR of a row points at ``base_url`` if given, else at the base of the row's code when
    that is a URL, else at ``default_base_url``. ``issuer_name`` is used for rows without an
    ``issuer_name`` column. Raises :class:`BadgeError` for a file that cannot be read as a
    batch (missing columns, not text, empty) and :class:`BadgeInputError` listing every bad
    row (bad code, missing or unreadable photo, duplicate credential, ...) after reading all.
    """
    source = Path(path)
    rows = list(_rows(source))
    if not rows:
        raise BadgeError(f"the batch file has no rows: {source}", message_zh=f"批次文件中没有记录：{source}")
    cards: list[Card] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[int, int], int] = {}
    for done, (line, row) in enumerate(rows, 1):
        try:
            if isinstance(row, BadgeError):
                raise row
            card = _card(row, line, source.parent, base_url, default_base_url, issuer_name)
            key = (card.issuer_code, card.serial)
            if key in seen:
                raise BadgeError(
                    f"the same credential (serial {card.serial}) is already on line {seen[key]}",
                    message_zh=f"与第 {seen[key]} 行是同一张安心码（编号 {card.serial}），不能重复制证",
                )
            seen[key] = line
            cards.append(card)
        except AnxinmaError as exc:
            problems.append(RowProblem(line, exc.message, exc.message_zh))
        if progress is not None:
            progress("check", done, len(rows))
    if problems:
        raise BadgeInputError(problems, total=len(rows))
    return cards


def _card(
    row: Mapping[str, Any],
    line: int,
    folder: Path,
    base_url: str | None,
    default_base_url: str | None,
    issuer_name: str | None,
) -> Card:
    code = _text(row, "code")
    if not code:
        raise BadgeError("the code column is empty", message_zh="安心码（code）为空")
    credential = decode_text(code)
    base = base_url or base_url_of(code) or default_base_url
    if not base:
        raise BadgeError(
            "the code is not a URL, so the verify base URL is unknown: give --base-url",
            message_zh="安心码不是网址形式，无法得知验证网址：请指定 --base-url",
        )
    photo_name = _text(row, "photo")
    photo: Photo | None = None
    if photo_name:
        photo_path = Path(photo_name).expanduser()
        photo = Photo.load(photo_path if photo_path.is_absolute() else folder / photo_path)
    item = BadgeItem(
        credential=credential,
        enterprise_name=_text(row, "enterprise_name"),
        base_url=base,
        photo=photo,
        issuer_name=_text(row, "issuer_name") or issuer_name,
        line=line,
    )
    return prepare(item)


def _text(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadgeError(f"{column} must be text", message_zh=f"{column} 必须是文本")
    return value.strip()


# -- reading the file ----------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise BadgeError(
                f"the batch file is larger than {MAX_BATCH_BYTES // 2**20} MiB: split it",
                message_zh=f"批次文件超过 {MAX_BATCH_BYTES // 2**20} MiB，请拆分",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadgeError(f"batch file not found: {path}", message_zh=f"批次文件不存在：{path}") from None
    except IsADirectoryError:
        raise BadgeError(
            f"the batch is a folder, not a file: {path}", message_zh=f"批次不是文件：{path}"
        ) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadgeError(  # pragma: no cover - gb18030 decodes nearly any byte string
        f"the batch file is neither UTF-8 nor GB18030 text: {path}",
        message_zh=f"批次文件不是 UTF-8 或 GB18030 编码的文本：{path}",
    )


def _rows(path: Path) -> Iterator[tuple[int, Row]]:
    text = _read_text(path)
    if path.suffix.lower() in JSON_SUFFIXES or (
        path.suffix.lower() != ".csv" and text.lstrip().startswith("{")
    ):
        yield from _json_rows(text)
    else:
        yield from _csv_rows(text, path)


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, Row]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise BadgeError(f"the batch file is empty: {path}", message_zh=f"批次文件为空：{path}") from None
    except csv.Error as exc:
        raise _csv_error(reader.line_num, exc) from None
    names = [name.strip().lower() for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if "code" in missing and set(names) >= STATION_BATCH_COLUMNS:
        raise BadgeError(
            f"{path.name} is a card batch for the encoding station: its credentials are issued when the "
            "cards are encoded, so it has no code yet. Print its badges while encoding "
            f"(anxinma station encode --batch {path.name} --issuer URL --device usb --badges badges.pdf), "
            "or give anxinma badge the station's report (--report FILE), which holds each code",
            message_zh=f"{path.name} 是制卡工作站的批次文件：安心码在写卡时才签发，所以其中还没有安心码（code）。"
            f"请在写卡时一并打印工牌（anxinma station encode --batch {path.name} --issuer 网址 --device usb "
            "--badges badges.pdf），或把工作站的报告文件（--report 指定的文件，含每张安心码）交给 anxinma badge",
        )
    if missing:
        wanted = ",".join((*REQUIRED_COLUMNS, "photo"))
        raise BadgeError(
            f"the CSV header lacks {', '.join(missing)}: it must name {wanted} (photo optional; other columns are ignored)",
            message_zh=f"CSV 表头缺少 {', '.join(missing)} 列：须包含 {wanted}（photo 可选，其他列忽略）",
        )
    end = reader.line_num
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(reader.line_num, exc) from None
        end = reader.line_num
        if not any(value.strip() for value in values):
            continue  # a blank row, as spreadsheets leave at the end
        yield start, dict(zip(names, values, strict=False))


def _csv_error(line: int, exc: csv.Error) -> BadgeError:
    return BadgeError(
        f"line {line}: the CSV cannot be read ({exc})", message_zh=f"第 {line} 行：CSV 格式错误（{exc}）"
    )


def _json_rows(text: str) -> Iterator[tuple[int, Row]]:
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            yield (
                number,
                BadgeError("the line is not a JSON object ({...})", message_zh="该行不是 JSON 对象（{...}）"),
            )
            continue
        yield number, value
