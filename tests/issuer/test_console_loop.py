"""The service loop in the consoles (anxinma/issuer/console/loop.py): visits, the enterprise's
rating of its worker, complaints resolved by the enterprise or the regulator, and 按月打卡 in the
worker list, on the worker's page and on the regulator's dashboard. Everything a consumer or a
desk does goes through the served API, as on the day; the consoles are driven as a browser
drives them (forms with their CSRF token)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from anxinma import credential as fmt
from anxinma.issuer.services.checkins import month_of
from anxinma.issuer.store.models import AuditEntry, Complaint, Rating
from tests.conftest import LiveIssuer, free_port
from tests.issuer.console_support import Console, text


def _csv(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _visit(issuer: LiveIssuer, code: str) -> dict[str, Any]:
    response = issuer.api("POST", "/api/v1/visits", token="", json={"code": code})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _complain(issuer: LiveIssuer, visit: dict[str, Any], category: str, summary: str) -> int:
    response = issuer.api(
        "POST",
        f"/api/v1/visits/{visit['visit_id']}/complaint",
        token="",
        json={"token": visit["rating_token"], "category": category, "summary": summary},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _two_enterprises(issuer: LiveIssuer) -> tuple[int, int, dict[str, Any]]:
    """Enterprise A with a worker holding a code, and enterprise B: (a, b, A's credential)."""
    a = int(issuer.enterprise("宁波市海曙区好帮手家政服务有限公司")["id"])  # type: ignore[call-overload]
    b = int(issuer.enterprise("宁波甬城阿姨家政服务有限公司")["id"])  # type: ignore[call-overload]
    worker = issuer.worker(a, name="李秀霞")
    return a, b, issuer.credential(int(worker["id"]))  # type: ignore[call-overload]


def _complaint(issuer: LiveIssuer, complaint_id: int) -> Complaint:
    with issuer.runtime.store.read() as session:
        found = session.get(Complaint, complaint_id)
        assert found is not None
        session.expunge(found)
        return found


def test_a_complaint_reaches_its_enterprise_and_the_regulator_and_is_resolved_once(
    issuer_on: LiveIssuer,
) -> None:
    issuer = issuer_on  # SQLite and PostgreSQL: the resolve locks the row on both
    a, b, issued = _two_enterprises(issuer)
    complaint_id = _complain(issuer, _visit(issuer, issued["code"]), "attitude", "迟到半小时，态度也不好")
    ours = Console.signed_in(issuer, "enterprise_admin", a)
    theirs = Console.signed_in(issuer, "enterprise_admin", b)
    regulator = Console.signed_in(issuer, "regulator")

    listed = text(ours.get("/console/complaints"))
    assert "迟到半小时，态度也不好" in listed and "服务态度" in listed and "李*霞" in listed
    assert "1 件未处理" in listed
    other = text(theirs.get("/console/complaints"))
    assert "迟到半小时" not in other and "没有未处理的投诉" in other
    assert theirs.get(f"/console/complaints/{complaint_id}/resolve").status_code == 404
    refused = theirs.post(f"/console/complaints/{complaint_id}/resolve", {"resolution": "已处理"})
    assert refused.status_code == 404 and not _complaint(issuer, complaint_id).resolved

    dashboard = _csv(regulator.get("/console/dashboard/enterprises.csv"))
    open_by_enterprise = {int(r["enterprise_id"]): int(r["open_complaints"]) for r in dashboard}
    assert open_by_enterprise[a] == 1 and open_by_enterprise[b] == 0

    # A resolution with a phone number is refused and what was typed stays in the form.
    typed = "已联系客户，回访电话 13800138000"
    bad = ours.post(f"/console/complaints/{complaint_id}/resolve", {"resolution": typed})
    assert bad.status_code == 400 and "请勿填写电话号码" in text(bad) and typed in text(bad)
    assert not _complaint(issuer, complaint_id).resolved
    done = ours.post(
        f"/console/complaints/{complaint_id}/resolve", {"resolution": "已向客户致歉并对服务员进行培训"}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/console/complaints?done=resolved")
    stored = _complaint(issuer, complaint_id)
    assert stored.resolved and stored.resolution == "已向客户致歉并对服务员进行培训"
    assert re.fullmatch(rf"session:\d+:enterprise_admin@{a}", stored.resolved_by or "")  # the audit actor
    again = ours.post(f"/console/complaints/{complaint_id}/resolve", {"resolution": "再次处理"})
    assert again.status_code == 200 and "已向客户致歉" in text(again)  # shown as done, not changed
    assert _complaint(issuer, complaint_id).resolution == "已向客户致歉并对服务员进行培训"
    with issuer.runtime.store.read() as session:
        audited = session.execute(
            select(func.count()).where(
                AuditEntry.action == "complaint.resolve", AuditEntry.target_id == str(complaint_id)
            )
        ).scalar_one()
    assert audited == 1

    assert "迟到半小时" not in text(ours.get("/console/complaints"))  # open by default
    resolved = text(regulator.get("/console/complaints?state=resolved"))
    assert "迟到半小时" in resolved and "已向客户致歉" in resolved and "宁波市海曙区好帮手" in resolved
    assert "由 企业管理员 处理" in resolved  # the role, not the account
    rows = _csv(regulator.get("/console/complaints.csv?state=all"))
    assert [(r["id"], r["category"], r["resolved"], r["enterprise"]) for r in rows] == [
        (str(complaint_id), "attitude", "yes", "宁波市海曙区好帮手家政服务有限公司")
    ]
    assert rows[0]["resolution"] == "已向客户致歉并对服务员进行培训" and rows[0]["worker"] == "李*霞"
    assert _csv(regulator.get("/console/complaints.csv?state=all&category=fee")) == []
    assert _csv(theirs.get("/console/complaints.csv?state=all")) == []


def test_the_enterprise_rates_its_workers_visit_once_apart_from_the_public_rating(
    live_issuer: LiveIssuer,
) -> None:
    issuer = live_issuer
    a, b, issued = _two_enterprises(issuer)
    visit = _visit(issuer, issued["code"])
    consumer = issuer.api(
        "POST",
        f"/api/v1/visits/{visit['visit_id']}/rating",
        token="",
        json={"token": visit["rating_token"], "score": 5, "comment": "干活仔细"},
    )
    assert consumer.status_code == 201, consumer.text
    ours = Console.signed_in(issuer, "enterprise_admin", a)
    theirs = Console.signed_in(issuer, "enterprise_admin", b)
    worker_page = f"/console/workers/{issued['worker_id']}"

    visits = text(ours.get("/console/visits"))
    rate_path = f"/console/visits/{visit['visit_id']}/rate"
    assert "李*霞" in visits and rate_path in visits
    assert rate_path not in text(theirs.get("/console/visits"))
    assert theirs.get(rate_path).status_code == 404
    assert theirs.post(rate_path, {"score": "1"}).status_code == 404

    missing = ours.post(rate_path, {"score": "", "comment": "很好", "next": worker_page})
    assert missing.status_code == 400 and "评分应为 1 到 5 星" in text(missing) and "很好" in text(missing)
    saved = ours.post(rate_path, {"score": "3", "comment": "准时，但需加强沟通", "next": worker_page})
    assert saved.status_code == 303 and saved.headers["Location"] == f"{worker_page}?done=rated"
    twice = ours.post(rate_path, {"score": "1", "next": worker_page})
    assert twice.status_code == 409 and "每次入户只能评价一次" in text(twice)
    with issuer.runtime.store.read() as session:
        scores = sorted(
            session.execute(
                select(Rating.source, Rating.score).where(Rating.visit_id == visit["visit_id"])
            ).all()
        )
    assert scores == [("consumer", 5), ("enterprise", 3)]

    page = text(ours.get(f"{worker_page}?done=rated"))
    assert "评价已保存" in page
    public = re.search(r"消费者评价（公开）</dt><dd>([^<]+)</dd>", page)
    employer = re.search(r"企业评价</dt><dd>([^<]+)</dd>", page)
    assert public is not None and employer is not None
    assert "1 条评价" in public.group(1) and "5.0" in public.group(1)
    assert "1 条评价" in employer.group(1) and "3.0" in employer.group(1)
    assert rate_path not in page  # rated: no second button
    # The live record a consumer sees averages consumers only.
    import jwt

    token = issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]}).json()["token"]
    assert jwt.decode(token, options={"verify_signature": False})["rating"] == {
        "count": 1,
        "average": 5.0,
        "verified_count": 0,
    }
    # The regulator reads the visits; only an enterprise rates its own.
    regulator = Console.signed_in(issuer, "regulator")
    assert "李*霞" in text(regulator.get(f"/console/visits?enterprise={a}"))
    assert "李*霞" not in text(regulator.get(f"/console/visits?enterprise={b}"))
    assert regulator.get(rate_path).status_code == 403


def _check_in(issuer: LiveIssuer, issued: dict[str, Any]) -> None:
    moment = datetime.now(fmt.CHINA_TZ).replace(microsecond=0)
    response = issuer.api(
        "POST",
        "/api/v1/check-ins",
        token=issuer.token("card_operator"),
        json={
            "code": issued["code"],
            "card_uid": issued["card_uid"],
            "month": moment.strftime("%Y-%m"),
            "station": "海曙区服务站 1",
            "tapped_at": moment.isoformat(),
        },
    )
    assert response.status_code == 201, response.text


def test_check_ins_show_in_the_worker_list_the_workers_page_and_the_dashboard(
    live_issuer: LiveIssuer,
) -> None:
    issuer = live_issuer
    a = int(issuer.enterprise("宁波市海曙区好帮手家政服务有限公司")["id"])  # type: ignore[call-overload]
    b = int(issuer.enterprise("宁波甬城阿姨家政服务有限公司")["id"])  # type: ignore[call-overload]
    tapped = issuer.credential(int(issuer.worker(a, name="李秀霞")["id"]), card_uid="04a1b2c3d4e5f6")  # type: ignore[call-overload]
    untapped = issuer.credential(int(issuer.worker(a, name="王桂英")["id"]), card_uid="04a1b2c3d4e5f7")  # type: ignore[call-overload]
    issuer.credential(int(issuer.worker(b)["id"]), card_uid="04a1b2c3d4e5f8")  # type: ignore[call-overload]
    _check_in(issuer, tapped)
    month = month_of(datetime.now(UTC))

    clerk = Console.signed_in(issuer, "enterprise_admin", a)
    listing = text(clerk.get("/console/workers"))
    assert f"{month} 打卡" in listing
    rows = {
        worker: row
        for row in re.findall(r"<tr>.*?</tr>", listing, flags=re.S)
        for worker in (tapped["worker_id"], untapped["worker_id"])
        if f'/console/workers/{worker}"' in row
    }
    assert "已打卡" in rows[tapped["worker_id"]] and "已打卡" not in rows[untapped["worker_id"]]

    page = text(clerk.get(f"/console/workers/{tapped['worker_id']}"))
    months = re.findall(r'<li class="(ok|none)"><span class="mono">(\d{4}-\d{2})</span>', page)
    assert len(months) == 12 and months[-1] == ("ok", month)
    assert all(state == "none" for state, _ in months[:-1])
    assert "近 12 个月中有 1 个月在服务站打卡" in page
    other = text(clerk.get(f"/console/workers/{untapped['worker_id']}"))
    assert ("ok", month) not in re.findall(
        r'<li class="(ok|none)"><span class="mono">(\d{4}-\d{2})</span>', other
    )

    regulator = Console.signed_in(issuer, "regulator")
    table = _csv(regulator.get("/console/dashboard/enterprises.csv"))
    counts = {int(r["enterprise_id"]): int(r[f"checked_in_{month}"]) for r in table}
    assert counts[a] == 1 and counts[b] == 0
    dashboard = text(regulator.get("/console/dashboard?refresh=1"))
    assert _tile(dashboard, f"{month} 已打卡服务员") == 1


@pytest.mark.parametrize(
    ("role", "menu", "allowed"),
    [
        ("enterprise_admin", ("入户记录", "投诉"), True),
        ("regulator", ("投诉",), True),
        ("issuer_admin", ("投诉",), True),
        ("card_operator", (), False),
    ],
)
def test_each_role_finds_the_loop_in_its_menu_or_is_refused(
    live_issuer: LiveIssuer, role: str, menu: tuple[str, ...], allowed: bool
) -> None:
    enterprise = int(live_issuer.enterprise()["id"]) if role == "enterprise_admin" else None  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, role, enterprise)
    response = console.get("/console/complaints")
    assert response.status_code == (200 if allowed else 403)
    nav = re.search(
        r'<nav class="menu".*?</nav>', text(console.get("/console/", follow_redirects=True)), flags=re.S
    )
    assert nav is not None or not allowed
    for label in menu:
        assert nav is not None and f">{label}</a>" in nav.group(0)


def _tile(page: str, label: str) -> int:
    """The figure of the dashboard tile whose caption starts with ``label``."""
    found = re.search(
        r'<div class="value">(\d+)</div><div class="what">(?:<a [^>]*>)?' + re.escape(label), page
    )
    assert found is not None, label
    return int(found.group(1))


def test_two_issuers_on_one_database_see_only_their_own_loop(tmp_path: Path) -> None:
    """A province's database may hold several cities (issuers); a city's regulator lists,
    counts and resolves only its own enterprises' visits, complaints and check-ins."""
    from anxinma.keys import KeyDirectory

    database = f"sqlite:///{tmp_path / 'province.sqlite3'}"
    homes = [tmp_path / "ningbo", tmp_path / "chongqing"]
    ports = [free_port(), free_port()]
    for home, code, port in zip(homes, (330200, 500000), ports, strict=True):
        home.mkdir()
        KeyDirectory.init(
            home / "keys", issuer_code=code, insecure_dev=True, base_url=f"http://127.0.0.1:{port}"
        )
    ningbo, chongqing = (
        LiveIssuer(home, database, port=port) for home, port in zip(homes, ports, strict=True)
    )
    try:
        assert ningbo.runtime.service.issuer_id != chongqing.runtime.service.issuer_id
        theirs = chongqing.credential(card_uid="04a1b2c3d4e5f6")
        complaint = _complain(chongqing, _visit(chongqing, theirs["code"]), "fee", "额外收取了材料费")
        _check_in(chongqing, theirs)
        ours = ningbo.credential()
        own = _complain(ningbo, _visit(ningbo, ours["code"]), "attitude", "说话不耐烦")
        regulator = Console.signed_in(ningbo, "regulator")
        page = text(regulator.get("/console/complaints?state=all"))
        assert "说话不耐烦" in page and "额外收取了材料费" not in page
        assert [r["id"] for r in _csv(regulator.get("/console/complaints.csv?state=all"))] == [str(own)]
        assert regulator.get(f"/console/complaints/{complaint}/resolve").status_code == 404
        refused = regulator.post(f"/console/complaints/{complaint}/resolve", {"resolution": "已处理完毕"})
        assert refused.status_code == 404 and not _complaint(chongqing, complaint).resolved
        month = month_of(datetime.now(UTC))
        counts = _csv(regulator.get("/console/dashboard/enterprises.csv"))
        assert sum(int(r[f"checked_in_{month}"]) for r in counts) == 0
        assert sum(int(r["open_complaints"]) for r in counts) == 1
        # The city tiles add up every count the services return, not only the listed enterprises:
        dashboard = text(regulator.get("/console/dashboard?refresh=1"))
        assert _tile(dashboard, f"{month} 已打卡服务员") == 0 and _tile(dashboard, "未处理投诉") == 1
        listed = ningbo.api("GET", "/api/v1/visits", token=ningbo.token("regulator")).json()["items"]
        assert [v["credential_serial"] for v in listed] == [ours["serial"]]
        # Nor can a token or an account of one city be bound to the other city's enterprise.
        from anxinma.issuer.errors import ApiError
        from anxinma.issuer.services.auth import Role

        for make in (
            lambda: ningbo.runtime.service.accounts.create_token(
                Role.ENTERPRISE_ADMIN, theirs["enterprise_id"]
            ),
            lambda: ningbo.runtime.service.accounts.create_user(
                "邻市管理员", "x" * 12, Role.ENTERPRISE_ADMIN, theirs["enterprise_id"]
            ),
        ):
            with pytest.raises(ApiError) as refused_binding:
                make()
            assert refused_binding.value.http_status == 404
    finally:
        ningbo.stop()
        chongqing.stop()
