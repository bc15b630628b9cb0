"""The regulator's dashboard: 持证率 / 亮证率 as defined (docs/consoles.md), their change after
issuing and scanning, the daily history, the lists, CSV exports, the blacklist; and the
issuer admin's tokens and users."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from anxinma import ed25519
from anxinma.issuer.services import stats
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.store.models import AuditEntry, ScanCount
from tests.conftest import LiveIssuer, random_id_number
from tests.issuer.console_support import Console, text


def _csv(response: object) -> list[list[str]]:
    data = response.get_data(as_text=True).lstrip("\ufeff")  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(data)))


def _kpis(page: str) -> tuple[str, str]:
    values = re.findall(r'<div class="value">([^<]+)</div>', page)
    return values[0], values[1]


def test_the_rates_follow_their_definitions(issuer_on: LiveIssuer) -> None:
    live_issuer = issuer_on  # on SQLite and on PostgreSQL: the figures are plain SQL on both
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    ids = [int(live_issuer.worker(enterprise)["id"]) for _ in range(6)]  # type: ignore[call-overload]
    issued = [live_issuer.credential(w) for w in ids[:5]]
    serials = [int(c["serial"]) for c in issued]  # type: ignore[call-overload]
    phone = live_issuer.api(  # a phone credential beside the card: the worker still counts once
        "POST",
        f"/api/v1/workers/{ids[0]}/credentials",
        json={"holder_key": ed25519.SigningKey.generate().public_key.hex()},
    )
    assert phone.status_code == 201, phone.text
    live_issuer.api("POST", f"/api/v1/credentials/{serials[1]}/suspend", json={})  # not holding
    live_issuer.api(
        "POST", f"/api/v1/credentials/{serials[2]}/revoke", json={"reason": "left"}
    )  # not registered
    today = today_in_china()
    store = live_issuer.runtime.store
    with store.write() as session:
        session.add(ScanCount(worker_id=ids[0], day=today - timedelta(days=29), count=3))  # inside 30 days
        session.add(ScanCount(worker_id=ids[3], day=today - timedelta(days=30), count=1))  # just outside
    # 确认入户 through the consumer page's own API (anxinma/issuer/services/visits.py).
    confirmed = live_issuer.api("POST", "/api/v1/visits", token="", json={"code": issued[4]["code"]})
    assert confirmed.status_code == 201, confirmed.text
    issuer_id = live_issuer.runtime.service.issuer_id
    figures = stats.compute(store, issuer_id, today)[enterprise]
    assert (figures.registered, figures.holding, figures.displayed) == (5, 3, 2)
    assert figures.holding_rate == 3 / 5 and figures.display_rate == 2 / 5
    week = stats.compute(store, issuer_id, today, period_days=7)[enterprise]
    assert week.displayed == 1  # only the confirmed visit
    # A credential issued tomorrow or expired yesterday does not count.
    later = stats.compute(store, issuer_id, today + timedelta(days=731))[enterprise]
    assert later.holding == 0


def test_the_regulator_sees_the_rates_change_after_issuing_and_scanning(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    workers = [int(live_issuer.worker(enterprise)["id"]) for _ in range(4)]  # type: ignore[call-overload]
    regulator = Console.signed_in(live_issuer, "regulator")
    assert _kpis(text(regulator.get("/console/dashboard"))) == ("0.0%", "0.0%")
    clerk = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    assert clerk.post(f"/console/workers/{workers[0]}/issue").status_code == 303
    code = live_issuer.credential(workers[1])["code"]
    cached = text(regulator.get("/console/dashboard"))
    assert _kpis(cached) == ("0.0%", "0.0%")  # the minute's cached figure ...
    fresh = text(regulator.get("/console/dashboard?refresh=1"))
    assert _kpis(fresh) == ("50.0%", "0.0%")  # ... until refreshed
    assert live_issuer.api("POST", "/api/v1/live", token="", json={"code": code}).status_code == 200
    scanned = text(regulator.get("/console/dashboard?refresh=1"))
    assert _kpis(scanned) == ("50.0%", "25.0%")
    assert "在岗 4 人中 2 人持有效安心码" in scanned
    table = _csv(regulator.get("/console/dashboard/enterprises.csv"))
    assert table[0][:7] == [
        "enterprise_id",
        "enterprise",
        "registered",
        "holding",
        "holding_rate",
        "displayed_30d",
        "display_rate",
    ]
    assert table[1][2:7] == ["4", "2", "0.5000", "1", "0.2500"]


def test_the_daily_job_keeps_the_history_the_chart_draws(live_issuer: LiveIssuer) -> None:
    from click.testing import CliRunner

    from anxinma.issuer.commands import jobs

    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    workers = [int(live_issuer.worker(enterprise)["id"]) for _ in range(4)]  # type: ignore[call-overload]
    for worker in workers[:3]:
        live_issuer.credential(worker)
    today = today_in_china()
    store, issuer_id = live_issuer.runtime.store, live_issuer.runtime.service.issuer_id
    with store.write() as session:
        session.add(ScanCount(worker_id=workers[0], day=today - timedelta(days=2), count=1))
    for back in (3, 2, 1):
        stats.snapshot(store, issuer_id, today - timedelta(days=back))
    env = {"ANXINMA_HOME": str(live_issuer.home), "DATABASE_URL": live_issuer.database_url}
    result = CliRunner().invoke(jobs, ["daily"], env=env)
    assert result.exit_code == 0, result.output
    assert "kept for 1 enterprise(s)" in result.output
    points = stats.history(store, today - timedelta(days=10), today)
    assert [p.day for p in points] == [today - timedelta(days=d) for d in (3, 2, 1, 0)]
    assert [p.figures.displayed for p in points] == [0, 1, 1, 1]
    # Credentials issued today were not held on the earlier days (issued_on <= day).
    assert [(p.figures.registered, p.figures.holding) for p in points] == [(4, 0), (4, 0), (4, 0), (4, 3)]
    regulator = Console.signed_in(live_issuer, "regulator")
    page = text(regulator.get("/console/dashboard?days=30"))
    wide, narrow = page.split('<svg class="chart wide"', 1)[1].split('<svg class="chart narrow"', 1)
    assert wide.count('class="line holding"') == 1  # one run of consecutive days
    assert wide.count('<circle class="dot holding"') == 4  # three snapshots and today's live figure
    assert narrow.count('<circle class="dot holding"') == 4 and '<title id="cn-title">' in narrow
    history = _csv(regulator.get("/console/dashboard/history.csv?days=30"))
    assert history[0] == ["day", "registered", "holding", "holding_rate", "displayed", "display_rate"]
    assert [row[4] for row in history[1:]] == ["0", "1", "1", "1"]
    drill = text(regulator.get(f"/console/dashboard?enterprise={enterprise}"))
    assert "返回全市" in drill
    assert regulator.get("/console/dashboard?enterprise=999999").status_code == 404


def test_expiring_and_lapsed_lists_with_their_csv(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    lapsed = live_issuer.worker(
        enterprise,
        name="孙丽",
        health_certificate_valid_until=(today_in_china() - timedelta(days=5)).isoformat(),
    )
    live_issuer.worker(enterprise, name="周敏")
    live_issuer.runtime.service.daily.run()  # the job sets attention
    serial = int(live_issuer.credential(int(lapsed["id"]))["serial"])  # type: ignore[call-overload]
    regulator = Console.signed_in(live_issuer, "regulator")
    page = text(regulator.get("/console/lapsed"))
    assert "孙丽" in page and "周敏" not in page and "已过期 5 天" in page
    rows = _csv(regulator.get("/console/lapsed.csv"))
    assert [r[1] for r in rows[1:]] == ["孙丽"]
    assert "没有到期的安心码" in text(regulator.get("/console/expiring"))
    later = text(regulator.get("/console/expiring?days=90"))
    assert "孙丽" not in later  # expires in 730 days
    object.__setattr__(live_issuer.runtime.config, "credential_days", 20)
    short = int(live_issuer.credential(int(live_issuer.worker(enterprise, name="吴芳")["id"]))["serial"])  # type: ignore[call-overload]
    soon = text(regulator.get("/console/expiring"))
    assert "吴芳" in soon and f'/console/credentials/{short}"' in soon
    assert f'/console/credentials/{serial}"' not in soon
    assert [r[0] for r in _csv(regulator.get("/console/expiring.csv"))[1:]] == [str(short)]


def test_blacklist_add_asks_first_revokes_everywhere_is_audited_and_can_be_removed(
    live_issuer: LiveIssuer,
) -> None:
    number = random_id_number()
    first = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    second = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    serials = [
        int(live_issuer.credential(int(live_issuer.worker(e, id_number=number)["id"]))["serial"])  # type: ignore[call-overload]
        for e in (first, second)
    ]
    regulator = Console.signed_in(live_issuer, "regulator")
    form = {"id_number": number, "reason": "伪造健康证", "evidence_ref": "甬商务〔2026〕12 号"}
    missing = regulator.post("/console/blacklist", {"id_number": number})
    assert missing.status_code == 400 and "必填" in text(missing)
    confirm = regulator.post("/console/blacklist", form)
    assert confirm.status_code == 200 and "确定列入失信名单" in text(confirm)
    assert number not in text(confirm).split("<form", 1)[0]  # masked on the page, kept in the form
    for serial in serials:
        assert live_issuer.api("GET", f"/api/v1/credentials/{serial}").json()["status"] == "active"
    done = regulator.post("/console/blacklist", {**form, "confirm": "1"})
    assert done.status_code == 303
    page = text(regulator.get(done.headers["Location"]))
    assert "吊销了 2 个有效安心码" in page and "伪造健康证" in page
    for serial in serials:
        assert live_issuer.api("GET", f"/api/v1/credentials/{serial}").json()["status"] == "revoked"
    twice = regulator.post("/console/blacklist", {**form, "confirm": "1"})
    assert twice.status_code == 409 and "此人已在失信名单中" in text(twice)
    entry = int(re.search(r"/console/blacklist/(\d+)/remove", page).group(1))  # type: ignore[union-attr]
    assert regulator.post(f"/console/blacklist/{entry}/remove", {"reason": " "}).status_code == 400
    removed = regulator.post(f"/console/blacklist/{entry}/remove", {"reason": "复议撤销"})
    assert removed.status_code == 303
    rows = _csv(regulator.get("/console/blacklist.csv"))
    assert rows[1][1] != number and rows[1][1].endswith(number[-4:]) and rows[1][-1] == "复议撤销"
    with live_issuer.runtime.store.read() as session:
        actions = [
            a
            for (a,) in session.execute(
                select(AuditEntry.action).where(AuditEntry.target_type == "blacklist")
            )
        ]
    assert actions == ["blacklist.add", "blacklist.remove"]
    audit = text(regulator.get("/console/blacklist")).split("最近变更（审计日志）", 1)[1]
    assert f"第 {entry} 条记录列入名单" in audit and f"第 {entry} 条记录移出名单" in audit


def test_the_issuer_admin_issues_a_token_shown_once_and_revokes_it(live_issuer: LiveIssuer) -> None:
    enterprise = int(live_issuer.enterprise()["id"])  # type: ignore[call-overload]
    admin = Console.signed_in(live_issuer, "issuer_admin")
    refused = admin.post("/console/admin/tokens", {"role": "enterprise_admin", "enterprise_id": ""})
    assert refused.status_code == 400 and "企业管理员令牌必须指定企业" in text(refused)
    made = admin.post(
        "/console/admin/tokens",
        {"role": "enterprise_admin", "enterprise_id": str(enterprise), "label": "ERP"},
    )
    assert made.status_code == 201
    token = re.search(r'id="new-token">(axm_[^<]+)<', text(made)).group(1)  # type: ignore[union-attr]
    assert live_issuer.api("GET", "/api/v1/workers", token=token).status_code == 200
    assert token not in text(admin.get("/console/admin/tokens"))  # shown once only
    token_id = int(re.search(r"令牌 (\d+) 已签发", text(made)).group(1))  # type: ignore[union-attr]
    assert (
        admin.post(f"/console/admin/tokens/{token_id}/revoke").status_code == 303
    )  # no confirmation: nothing
    assert live_issuer.api("GET", "/api/v1/workers", token=token).status_code == 200
    assert admin.post(f"/console/admin/tokens/{token_id}/revoke", {"confirm": "1"}).status_code == 303
    assert live_issuer.api("GET", "/api/v1/workers", token=token).status_code == 401


def test_the_issuer_admin_creates_enterprises_users_and_the_enterprise_code(live_issuer: LiveIssuer) -> None:
    from anxinma.issuer.services.validation import credit_check_character

    admin = Console.signed_in(live_issuer, "issuer_admin")
    bad = admin.post("/console/admin/enterprises", {"name": "甬城家政", "credit_code": "91330200MA2AAAAA0X"})
    assert bad.status_code == 400 and "统一社会信用代码校验位错误" in text(bad)
    first17 = "91330200MA2H12345"
    made = admin.post(
        "/console/admin/enterprises",
        {
            "name": "甬城家政服务有限公司",
            "credit_code": first17 + credit_check_character(first17),
            "star_level": "4",
        },
    )
    assert made.status_code == 303
    page = text(admin.get("/console/admin/enterprises"))
    enterprise = int(re.search(r"甬城家政服务有限公司</a> <small class=\"muted\">#(\d+)", page).group(1))  # type: ignore[union-attr]
    issued = admin.post(f"/console/admin/enterprises/{enterprise}/credential")
    assert issued.status_code == 303 and "/console/credentials/" in issued.headers["Location"]
    short = admin.post(
        "/console/admin/users",
        {
            "username": "zhang",
            "password": "short",
            "role": "enterprise_admin",
            "enterprise_id": str(enterprise),
        },
    )
    assert short.status_code == 400 and "密码至少 10 个字符" in text(short)
    created = admin.post(
        "/console/admin/users",
        {
            "username": "zhang",
            "password": "a long password",
            "role": "enterprise_admin",
            "enterprise_id": str(enterprise),
        },
    )
    assert created.status_code == 303
    taken = admin.post(
        "/console/admin/users", {"username": "zhang", "password": "a long password", "role": "regulator"}
    )
    assert taken.status_code == 409 and "该用户名已被使用" in text(taken)
    clerk = Console(live_issuer)
    clerk.login("zhang", "a long password")
    assert "甬城家政服务有限公司" in text(clerk.get("/console/enterprise"))
