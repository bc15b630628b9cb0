"""Reading a bulk import (CSV or XLSX) into rows of the worker API's field names.

Headers may be the API's names or the Chinese ones an enterprise's spreadsheet uses
(姓名, 身份证号, 手机号, 服务类别, 健康证有效期, 保险有效期, 星级, 技能). CSV may be UTF-8
(with or without BOM) or GB18030, which is what Excel in China saves.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from anxinma.issuer.errors import ValidationFailed

HEADERS = {
    "name": "name",
    "姓名": "name",
    "id_number": "id_number",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "phone": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "categories": "categories",
    "服务类别": "categories",
    "skills": "skills",
    "技能": "skills",
    "star_level": "star_level",
    "星级": "star_level",
    "health_certificate_valid_until": "health_certificate_valid_until",
    "健康证有效期": "health_certificate_valid_until",
    "insurance_valid_until": "insurance_valid_until",
    "保险有效期": "insurance_valid_until",
    "photo_url": "photo_url",
}
MAX_ROWS = 20000
XLSX_MAGIC = b"PK\x03\x04"


def _bad(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed({"file": (zh, en)})


def _rows(header: list[Any], records: list[list[Any]]) -> list[dict[str, Any]]:
    names = []
    for cell in header:
        key = str(cell or "").strip().lstrip("\ufeff")
        if key and key not in HEADERS:
            raise _bad(f"未知的列：{key}", f"unknown column: {key}")
        names.append(HEADERS.get(key))
    missing = {"name", "id_number", "phone", "categories"} - set(filter(None, names))
    if missing:
        raise _bad(
            "缺少列：" + "、".join(sorted(missing)), "missing column(s): " + ", ".join(sorted(missing))
        )
    if len(records) > MAX_ROWS:
        raise _bad(f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows per file")
    rows = []
    for record in records:
        row: dict[str, Any] = {}
        for name, cell in zip(names, record, strict=False):
            if name is None or cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            if isinstance(cell, datetime):
                cell = cell.date().isoformat()
            elif isinstance(cell, date):
                cell = cell.isoformat()
            elif isinstance(cell, float) and cell.is_integer():
                cell = str(int(cell))
            row[name] = cell.strip() if isinstance(cell, str) else str(cell)
        rows.append(row)
    return rows


def csv_text(data: bytes) -> str | None:
    """The text of a CSV file as Excel saves it on a Chinese Windows (UTF-8 with or without a
    BOM, or GB18030); None when it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_upload(data: bytes, filename: str = "") -> list[dict[str, Any]]:
    """Rows of an uploaded file; :class:`ValidationFailed` on ``file`` when it cannot be read."""
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    text = csv_text(data)
    if text is None:
        raise _bad("文件不是 UTF-8 或 GB18030 编码的 CSV", "the file is not CSV in UTF-8 or GB18030")
    table = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not table:
        raise _bad("文件为空", "the file is empty")
    return _rows(list(table[0]), [list(r) for r in table[1:]])


def _read_xlsx(data: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _bad("无法读取 XLSX 文件", f"cannot read the XLSX file ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True) if any(c not in (None, "") for c in r)]
    finally:
        book.close()
    if not table:
        raise _bad("文件为空", "the file is empty")
    return _rows(table[0], table[1:])
