"""Bulk import in the console: a preview with every bad row marked before anything is
written, the import in the background in chunks with progress, the error report, and a
second import of the same (or a corrected) file creating nothing twice. CSV and XLSX."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from anxinma.issuer.services import import_jobs
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.store.models import ImportJob, Worker
from anxinma.issuer.web.console import imports
from tests.conftest import LiveIssuer, random_id_number
from tests.issuer.console_support import Console, text

HEADER = ["姓名", "身份证号", "手机号", "服务类别", "健康证有效期", "保险有效期"]


def _rows(count: int) -> list[list[str]]:
    later = (today_in_china() + timedelta(days=300)).isoformat()
    seen: set[str] = set()
    rows = []
    while len(rows) < count:
        number = random_id_number()
        if number in seen:
            continue
        seen.add(number)
        rows.append(
            [f"王{'秀桂玉兰'[len(rows) % 4]}英", number, f"139{len(rows):08d}", "保洁、育婴", later, later]
        )
    return rows


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def _upload(console: Console, data: bytes, name: str) -> tuple[int, str]:
    response = console.post(
        "/console/import", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )
    assert response.status_code == 303, text(response)[:800]
    job = int(response.headers["Location"].rsplit("/", 1)[1])
    return job, text(console.get(response.headers["Location"]))


def _run(console: Console, job: int, **form: str) -> dict[str, Any]:
    assert console.post(f"/console/import/{job}/run", form).status_code == 303
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = console.get(f"/console/import/{job}/status").json
        assert status is not None
        if status["state"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def _workers(issuer: LiveIssuer) -> int:
    with issuer.runtime.store.read() as session:
        return int(session.execute(select(func.count(Worker.id))).scalar_one())


def test_csv_with_two_bad_rows_is_previewed_marked_then_fixed_and_reimported(issuer_on: LiveIssuer) -> None:
    live_issuer = issuer_on  # SQLite and PostgreSQL: the job runs in a thread, in chunks, on both
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    rows = _rows(8)
    good_id, good_phone = rows[2][1], rows[5][2]
    rows[2][1] = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")  # a typo in the check character
    rows[5][2] = "1380000"  # too short
    job, preview = _upload(console, _csv(rows), "workers.csv")
    assert _workers(live_issuer) == 0  # nothing written by the preview
    assert "文件行数" in preview and "有问题的行" in preview
    assert preview.count('class="error-row"') == 2
    assert "身份证号校验位错误（请核对）" in preview and "手机号应为 11 位中国大陆手机号" in preview
    assert preview.count("bad-cell") == 2
    assert "导入 6 名新服务员" in preview
    assert good_id not in preview  # identity numbers are masked in the preview
    report = console.get(f"/console/import/{job}/errors.csv")
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["row", "name", "field", "error_zh", "error_en"]
    assert [(line[0], line[2]) for line in lines[1:]] == [("4", "id_number"), ("7", "phone")]
    status = _run(console, job)
    assert status == {
        "state": "done",
        "total": 8,
        "processed": 8,
        "created": 6,
        "existing": 0,
        "failed": 2,
        "percent": 100,
    }
    summary = text(console.get(f"/console/import/{job}"))
    assert "导入完成" in summary and "未导入的行" in summary
    with live_issuer.runtime.store.read() as session:
        assert session.get(ImportJob, job).payload is None  # type: ignore[union-attr]
    assert _workers(live_issuer) == 6
    # The clerk fixes the two rows and imports the whole file again: only those two are new.
    rows[2][1], rows[5][2] = good_id, good_phone
    again, preview = _upload(console, _csv(rows), "workers-fixed.csv")
    assert "导入 2 名新服务员" in preview and 'class="error-row"' not in preview
    assert _run(console, again)["created"] == 2
    assert _workers(live_issuer) == 8
    # The same file a third time creates nothing (and says it was imported before).
    third, preview = _upload(console, _csv(rows), "workers-fixed.csv")
    assert "这个文件已于" in preview and "没有需要导入的新记录" in preview
    assert _run(console, third)["created"] == 0
    assert _workers(live_issuer) == 8


def test_xlsx_with_date_cells_is_imported(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADER, "星级"])
    later = today_in_china() + timedelta(days=200)
    for name, number in (("赵敏", random_id_number()), ("钱丽", random_id_number()), ("孙芳", "12345")):
        sheet.append([name, number, 13912345678 + len(name), "养老护理", later, later, 4])
    out = io.BytesIO()
    book.save(out)
    job, preview = _upload(console, out.getvalue(), "workers.xlsx")
    assert "导入 2 名新服务员" in preview and preview.count('class="error-row"') == 1
    assert "身份证号应为 18 位" in preview
    status = _run(console, job, issue="1")
    assert status["created"] == 2 and status["failed"] == 1
    assert "已签发安心码" in text(console.get(f"/console/import/{job}"))
    with live_issuer.runtime.store.read() as session:
        stored = session.execute(select(Worker.health_valid_until, Worker.star_level)).all()
    assert stored == [(later, 4), (later, 4)]


def test_a_large_import_runs_in_chunks_and_reports_progress(
    live_issuer: LiveIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    monkeypatch.setattr(import_jobs, "CHUNK", 40)
    seen: list[int] = []
    service = live_issuer.runtime.service.imports
    original = service.import_valid_rows

    def spy(*args: Any, **kwargs: Any) -> Any:
        with live_issuer.runtime.store.read() as session:
            seen.append(int(session.execute(select(ImportJob.processed)).scalar_one()))
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "import_valid_rows", spy)
    job, _ = _upload(console, _csv(_rows(150)), "big.csv")
    assert _run(console, job)["created"] == 150
    assert seen == [0, 40, 80, 120]  # four transactions, the progress written after each


def test_a_job_runs_once_even_if_the_button_is_pressed_twice(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    job, _ = _upload(console, _csv(_rows(3)), "w.csv")
    principal = live_issuer.runtime.service.accounts.authenticate(
        console.client.get_cookie("axm_session").value
    )  # type: ignore[union-attr]
    assert imports.start(live_issuer.runtime.service, job, principal, issue=False) is True
    assert imports.start(live_issuer.runtime.service, job, principal, issue=False) is False
    deadline = time.monotonic() + 20
    while console.get(f"/console/import/{job}/status").json["state"] == "running":  # type: ignore[index]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _workers(live_issuer) == 3


def test_another_enterprise_cannot_see_an_import_and_bad_files_say_why(live_issuer: LiveIssuer) -> None:
    ours = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    theirs = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", ours)
    job, _ = _upload(console, _csv(_rows(2)), "w.csv")
    other = Console.signed_in(live_issuer, "enterprise_admin", theirs)
    for path in (
        f"/console/import/{job}",
        f"/console/import/{job}/status",
        f"/console/import/{job}/errors.csv",
    ):
        assert other.get(path).status_code == 404
    assert other.post(f"/console/import/{job}/run").status_code == 404
    assert _workers(live_issuer) == 0
    for data, message in (
        (b"name,id_number\n", "缺少列"),
        (b"\xff\xfe\x00garbage", "文件不是 UTF-8 或 GB18030 编码的 CSV"),
        (b"", "请选择 CSV 或 XLSX 文件"),
        (b"PK\x03\x04broken", "无法读取 XLSX 文件"),
    ):
        response = console.post(
            "/console/import", {"file": (io.BytesIO(data), "x.csv")}, content_type="multipart/form-data"
        )
        assert response.status_code == 400 and message in text(response), message


def test_the_template_imports_as_it_stands(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    template = console.get("/console/import/template.csv")
    assert template.data.startswith("\ufeff姓名,身份证号".encode())
    _, preview = _upload(console, template.data, "import-template.csv")
    assert "导入 1 名新服务员" in preview and 'class="error-row"' not in preview


def test_a_preview_nobody_imports_loses_its_rows_after_a_day(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    job, _ = _upload(console, _csv(_rows(2)), "w.csv")
    with live_issuer.runtime.store.write() as session:
        stored = session.get(ImportJob, job)
        assert stored is not None and stored.payload is not None
        stored.created_at = stored.created_at - timedelta(hours=25)
    assert imports.expire(live_issuer.runtime.service) == 1
    with live_issuer.runtime.store.read() as session:
        assert session.get(ImportJob, job).payload is None  # type: ignore[union-attr]
    page = text(console.get(f"/console/import/{job}"))
    assert "预览超过 24 小时未导入" in page
    assert console.post(f"/console/import/{job}/run").status_code == 303
    assert _workers(live_issuer) == 0
