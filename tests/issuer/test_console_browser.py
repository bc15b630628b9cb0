"""The consoles in a real headless Chromium: each role's daily work, start to end, with a
screenshot of every page at phone and desktop width (artifacts/screenshots/console-*.png)."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select, update

from anxinma.issuer.services import stats
from anxinma.issuer.services.auth import Role, issue_session
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.store.models import Credential, ScanCount, User
from anxinma.status_list import CredentialStatus
from tests.conftest import DESKTOP, PHONE, LiveIssuer, random_id_number, screenshot
from tests.issuer.console_support import account, published_status

pytestmark = pytest.mark.browser


def shots(page: Any, name: str) -> None:
    """The page at phone width, then at desktop width."""
    page.set_viewport_size(PHONE)
    screenshot(page, f"console-{name}-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"console-{name}-desktop")


def sign_in(page: Any, issuer: LiveIssuer, username: str, password: str) -> None:
    page.goto(issuer.url + "/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(
        [["姓名", "身份证号", "手机号", "服务类别", "健康证有效期", "保险有效期"], *rows]
    )
    return out.getvalue().encode("utf-8-sig")


def test_an_enterprise_clerk_imports_issues_and_revokes_in_chromium(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any], tmp_path: Path
) -> None:
    issuer = live_issuer
    ours = int(issuer.enterprise("宁波市海曙区好帮手家政服务有限公司")["id"])  # type: ignore[call-overload]
    theirs = int(issuer.enterprise("宁波甬城阿姨家政服务有限公司")["id"])  # type: ignore[call-overload]
    today = today_in_china()
    issuer.worker(
        ours, name="陈秀英", health_certificate_valid_until=(today + timedelta(days=12)).isoformat()
    )
    issuer.worker(ours, name="周玉兰", insurance_valid_until=(today - timedelta(days=4)).isoformat())
    context = browser_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(issuer.url + "/console/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shots(page, "login")
    sign_in(page, issuer, *account(issuer, "enterprise_admin", ours))
    assert page.url.endswith("/console/workers")
    shots(page, "workers")

    # Bulk import: two bad rows are marked, the clerk imports the rest, fixes, re-imports.
    later = (today + timedelta(days=300)).isoformat()
    rows = [
        [f"王{c}英", random_id_number(), f"1390000{n:04d}", "保洁、育婴", later, later]
        for n, c in enumerate("秀桂玉兰金")
    ]
    good = rows[1][1]
    rows[1][1] = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows[3][3] = "修脚"
    upload = tmp_path / "workers.csv"
    upload.write_bytes(_csv(rows))
    page.get_by_role("link", name="批量导入").first.click()
    shots(page, "import")
    page.get_by_label("CSV 或 XLSX 文件").set_input_files(str(upload))
    page.get_by_role("button", name="上传并检查").click()
    assert page.locator("tr.error-row").count() == 2
    assert page.locator("td.bad-cell").count() == 2
    assert "身份证号校验位错误" in page.inner_text("main") and "未知的服务类别" in page.inner_text("main")
    shots(page, "import-preview")
    page.get_by_role("button", name="导入 3 名新服务员").click()
    page.get_by_text("导入完成").wait_for(timeout=20000)
    shots(page, "import-done")
    rows[1][1], rows[3][3] = good, "养老护理"
    upload.write_bytes(_csv(rows))
    page.goto(issuer.url + "/console/import")
    page.get_by_label("CSV 或 XLSX 文件").set_input_files(str(upload))
    page.get_by_role("button", name="上传并检查").click()
    assert page.locator("tr.error-row").count() == 0
    page.get_by_role("button", name="导入 2 名新服务员").click()
    page.get_by_text("导入完成").wait_for(timeout=20000)
    # ... and an XLSX file from Excel.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "手机号", "服务类别", "健康证有效期"])
    sheet.append(["刘春花", random_id_number(), "13912340000", "月嫂", today + timedelta(days=100)])
    book.save(tmp_path / "more.xlsx")
    page.goto(issuer.url + "/console/import")
    page.get_by_label("CSV 或 XLSX 文件").set_input_files(str(tmp_path / "more.xlsx"))
    page.get_by_role("button", name="上传并检查").click()
    page.get_by_role("button", name="导入 1 名新服务员").click()
    page.get_by_text("导入完成").wait_for(timeout=20000)
    page.goto(issuer.url + "/console/workers")
    assert page.get_by_text("共 8 条").count() == 1

    # Register with a mistake, then issue a code, see its QR, revoke it after confirming.
    page.get_by_role("link", name="登记服务员").first.click()
    page.get_by_label("姓名").fill("李小霞")
    page.get_by_label("身份证号（18 位）").fill("330203198001010011")
    page.get_by_label("手机号").fill("13800001111")
    page.get_by_label("育婴").check()
    page.get_by_role("button", name="登记").click()
    assert "身份证号校验位错误" in page.inner_text("main")
    shots(page, "register-errors")
    page.get_by_label("身份证号（18 位）").fill(random_id_number())
    page.get_by_label("健康证有效期至").fill((today + timedelta(days=200)).isoformat())
    page.get_by_label("保险有效期至").fill((today + timedelta(days=200)).isoformat())
    page.get_by_role("button", name="登记").click()
    assert "服务员已登记" in page.inner_text("main")
    shots(page, "worker")
    page.get_by_role("button", name="签发安心码").click()
    assert "安心码已签发" in page.inner_text("main")
    qr = page.get_by_role("img", name=re.compile("李\\*霞 的安心码二维码"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    serial = int(re.search(r"/console/credentials/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    shots(page, "credential")
    with page.expect_download() as download:
        page.get_by_role("link", name="制证数据（CSV）").click()
    badge = Path(download.value.path()).read_text("utf-8-sig").splitlines()
    assert badge[0] == "code,enterprise_name,photo" and "宁波市海曙区好帮手家政服务有限公司" in badge[1]
    page.get_by_role("link", name="吊销").click()
    assert "吊销不可撤回" in page.inner_text("main")
    page.get_by_label("遗失").check()
    shots(page, "revoke-confirm")
    assert published_status(issuer, serial) is CredentialStatus.VALID
    page.get_by_role("button", name="确定吊销").click()
    assert "安心码已吊销" in page.inner_text("main")
    assert published_status(issuer, serial) is CredentialStatus.REVOKED
    worker_url = page.url.split("?")[0]
    page.get_by_role("link", name="企业安心码").click()
    shots(page, "enterprise")

    # English on the same pages.
    page.goto(worker_url)
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Code history" in page.inner_text("main")
    shots(page, "worker-en")

    # Another enterprise's clerk cannot reach the worker by its URL.
    other = browser_context(viewport=DESKTOP).new_page()
    sign_in(other, issuer, *account(issuer, "enterprise_admin", theirs))
    response = other.goto(worker_url)
    assert response is not None and response.status == 404
    assert "页面或记录不存在，或您无权查看" in other.inner_text("main")
    shots(other, "not-found")


def test_operator_regulator_and_admin_do_their_work_in_chromium(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    issuer = live_issuer
    today = today_in_china()
    names = [
        "宁波市海曙区好帮手家政服务有限公司",
        "宁波甬城阿姨家政服务有限公司",
        "宁波市鄞州安心到家家政有限公司",
    ]
    enterprises = [int(issuer.enterprise(n)["id"]) for n in names]  # type: ignore[call-overload]
    workers: list[int] = []
    for index, given in enumerate(["秀英", "桂兰", "玉梅", "春花", "美玲", "海燕", "丽萍", "雪梅", "小红"]):
        health = today + timedelta(days=200 if index % 4 else -3)
        made = issuer.worker(
            enterprises[index % 3], name="张" + given, health_certificate_valid_until=health.isoformat()
        )
        workers.append(int(made["id"]))  # type: ignore[call-overload]
    serials = [int(issuer.credential(worker)["serial"]) for worker in workers[:6]]  # type: ignore[call-overload]
    issuer.runtime.service.daily.run()
    store, issuer_id = issuer.runtime.store, issuer.runtime.service.issuer_id
    with store.write() as session:  # two weeks of history: codes handed out, codes scanned ...
        for n, serial in enumerate(serials):
            session.execute(
                update(Credential)
                .where(Credential.serial == serial)
                .values(issued_on=today - timedelta(days=13 - 2 * n))
            )
        for back in range(1, 15):
            for worker in workers[: (15 - back) // 3]:
                session.add(ScanCount(worker_id=worker, day=today - timedelta(days=back), count=1))
    for back in range(14, 0, -1):  # ... and the daily job's snapshots of each day
        stats.snapshot(store, issuer_id, today - timedelta(days=back))

    # The card operator picks workers into a batch.
    operator = browser_context(viewport=DESKTOP).new_page()
    sign_in(operator, issuer, *account(issuer, "card_operator"))
    assert operator.url.endswith("/console/batches")
    operator.get_by_role("link", name="新建批次").first.click()
    operator.get_by_label("企业").select_option(label=names[0])
    operator.get_by_role("button", name="显示").click()
    boxes = operator.locator("input[name=worker]")
    assert boxes.count() == 3
    boxes.nth(0).check()
    boxes.nth(1).check()
    operator.get_by_label("批次名称").fill("海曙区三月制证")
    shots(operator, "batch-new")
    operator.get_by_role("button", name="生成批次").click()
    assert operator.locator("tbody tr").count() == 2
    shots(operator, "batch")
    operator.get_by_role("link", name="全部批次").click()
    shots(operator, "batches")

    # The regulator watches the rates move after an issue and a scan.
    regulator = browser_context(viewport=DESKTOP).new_page()
    sign_in(regulator, issuer, *account(issuer, "regulator"))
    kpis = regulator.locator(".kpi .value")
    assert kpis.nth(0).inner_text() == "66.7%"  # 6 of 9 hold a code
    before = kpis.nth(1).inner_text()
    assert regulator.locator("svg.chart.wide polyline").count() == 2
    shots(regulator, "dashboard")
    issued = issuer.credential(workers[6])
    assert issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]}).status_code == 200
    regulator.get_by_role("link", name="立即刷新").click()
    assert kpis.nth(0).inner_text() == "77.8%"
    assert kpis.nth(1).inner_text() != before
    regulator.get_by_role("link", name=names[1]).click()
    assert "返回全市" in regulator.inner_text("main")
    shots(regulator, "dashboard-enterprise")
    regulator.get_by_role("link", name="证件过期").click()
    assert regulator.locator("tbody tr").count() == 3
    shots(regulator, "lapsed")
    regulator.get_by_role("link", name="即将到期").click()
    shots(regulator, "expiring")
    regulator.get_by_role("link", name="失信名单").click()
    number = random_id_number()
    regulator.get_by_label("身份证号").fill(number)
    regulator.get_by_label("原因").fill("伪造健康证明")
    regulator.get_by_label("依据文号（决定书或案件编号）").fill("甬商务〔2026〕12 号")
    regulator.get_by_role("button", name="下一步…").click()
    shots(regulator, "blacklist-confirm")
    regulator.get_by_role("button", name="确定列入并吊销").click()
    assert "已列入失信名单" in regulator.inner_text("main")
    shots(regulator, "blacklist")

    # The issuer admin's pages.
    admin = browser_context(viewport=DESKTOP).new_page()
    sign_in(admin, issuer, *account(issuer, "issuer_admin"))
    admin.get_by_role("link", name="企业", exact=True).click()
    shots(admin, "admin-enterprises")
    admin.get_by_role("link", name="API 令牌").click()
    admin.get_by_label("角色").select_option("card_operator")
    admin.get_by_label("备注（用途）").fill("制卡点 1")
    admin.get_by_role("button", name="签发令牌").click()
    assert admin.locator("#new-token").inner_text().startswith("axm_")
    shots(admin, "admin-tokens")
    admin.get_by_role("link", name="用户").click()
    shots(admin, "admin-users")

    # A session that ran out: a clear page, then back where the person was.
    username, password = account(issuer, "regulator")
    with store.read() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
    expired = issue_session(
        issuer.runtime.vault.session_key,
        user_id=user_id,
        role=Role.REGULATOR,
        enterprise_id=None,
        session_id=secrets.token_hex(16),  # an expired token is refused before its session is read
        expires=datetime.now(UTC) - timedelta(seconds=1),
    )
    late = browser_context(viewport=DESKTOP)
    late.add_cookies([{"name": "axm_session", "value": expired, "url": issuer.url}])
    tab = late.new_page()
    response = tab.goto(issuer.url + "/console/lapsed")
    assert response is not None and response.status == 401
    assert "登录已过期" in tab.inner_text("main")
    shots(tab, "expired")
    tab.get_by_label("用户名").fill(username)
    tab.get_by_label("密码").fill(password)
    tab.get_by_role("button", name="登录").click()
    assert tab.url.endswith("/console/lapsed")
    # A form posted from elsewhere (no CSRF token) is refused.
    refused = tab.evaluate(
        "fetch('/console/blacklist', {method: 'POST', body: new URLSearchParams({id_number: 'x'})}).then(r => r.status)"
    )
    assert refused == 400


def test_the_service_loop_and_check_ins_in_chromium(
    live_issuer: LiveIssuer, browser_context: Callable[..., Any]
) -> None:
    """A clerk sees a worker's check-ins, visits and ratings, rates a visit and resolves a
    complaint with the keyboard and mouse; the regulator sees it resolved."""
    from datetime import datetime

    from anxinma import credential as fmt

    issuer = live_issuer
    ours = int(issuer.enterprise("宁波市海曙区好帮手家政服务有限公司")["id"])  # type: ignore[call-overload]
    worker = int(issuer.worker(ours, name="李秀霞")["id"])  # type: ignore[call-overload]
    issued = issuer.credential(worker, card_uid="04a1b2c3d4e5f6")
    moment = datetime.now(fmt.CHINA_TZ).replace(microsecond=0)
    tap = {
        "code": issued["code"],
        "card_uid": issued["card_uid"],
        "month": moment.strftime("%Y-%m"),
        "station": "海曙区服务站 1",
        "tapped_at": moment.isoformat(),
    }
    assert issuer.api("POST", "/api/v1/check-ins", json=tap).status_code == 201
    visits = []
    for _ in range(2):
        made = issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]})
        assert made.status_code == 201, made.text
        visits.append(made.json())
    rated = issuer.api(
        "POST",
        f"/api/v1/visits/{visits[0]['visit_id']}/rating",
        token="",
        json={"token": visits[0]["rating_token"], "score": 5, "comment": "干活仔细，很准时"},
    )
    assert rated.status_code == 201
    complained = issuer.api(
        "POST",
        f"/api/v1/visits/{visits[1]['visit_id']}/complaint",
        token="",
        json={"token": visits[1]["rating_token"], "category": "no_show", "summary": "约好九点，十点才到"},
    )
    assert complained.status_code == 201

    context = browser_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, issuer, *account(issuer, "enterprise_admin", ours))
    assert page.get_by_role("cell", name="已打卡").count() == 1  # the worker list's column
    page.get_by_role("link", name="李秀霞").click()
    page.wait_for_load_state()
    assert page.locator("ul.months li.ok").count() == 1 and page.locator("ul.months li").count() == 12
    assert "1 条评价，平均 5.0" in page.locator("#h-ratings + dl").inner_text()
    shots(page, "worker-loop")

    page.get_by_role("link", name="评价").first.click()
    page.wait_for_load_state()
    shots(page, "visit-rate")
    page.get_by_label("4 星").check()
    page.get_by_label("评语").fill("准时，沟通也好")
    with page.expect_navigation():
        page.get_by_role("button", name="提交评价").click()
    assert "评价已保存" in page.locator("main").inner_text()
    assert "企业评价" in page.content() and "1 条评价，平均 4.0" in page.content()

    page.goto(issuer.url + "/console/complaints")
    assert "约好九点，十点才到" in page.locator("main").inner_text()
    shots(page, "complaints")
    page.get_by_role("link", name="处理").click()
    page.wait_for_load_state()
    page.get_by_label("处理结果").fill("已向客户致歉，并调整了该服务员的排班")
    page.keyboard.press("Tab")  # "标记为已处理", reached with the keyboard
    assert page.evaluate("document.activeElement.textContent.trim()") == "标记为已处理"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "投诉已标记为已处理" in page.locator("main").inner_text()

    regulator = browser_context(viewport=DESKTOP).new_page()
    sign_in(regulator, issuer, *account(issuer, "regulator"))
    regulator.goto(issuer.url + "/console/complaints?state=resolved")
    assert "已向客户致歉" in regulator.locator("main").inner_text()
    shots(regulator, "complaints-resolved")
    regulator.goto(issuer.url + "/console/dashboard")
    assert "已打卡服务员" in regulator.locator(".kpis").inner_text()
    shots(regulator, "dashboard-loop")
