"""Demo data for the embedded default: a few enterprises of Ningbo and a few hundred workers
with realistic names, categories, certificates (some lapsed, so some 安心码 are yellow),
credentials, ratings, and one console login per role.

Generated once, on an empty database, from a fixed seed; the logins (random passwords) are
kept in ``$ANXINMA_HOME/demo-logins.json`` (mode 0600) so every start can print them.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from anxinma import credential as fmt
from anxinma.issuer.app import Runtime
from anxinma.issuer.services.auth import SYSTEM, Role
from anxinma.issuer.services.checkins import month_of
from anxinma.issuer.services.context import Unit
from anxinma.issuer.services.issuer import IssuerServices
from anxinma.issuer.services.issuing import IssueItem
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.services.validation import WorkerInput, credit_check_character, id_check_character
from anxinma.issuer.store.models import (
    CheckIn,
    Complaint,
    Credential,
    Enterprise,
    Rating,
    ScanCount,
    Visit,
    Worker,
    utcnow,
)

LOGINS_FILE = "demo-logins.json"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = [
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "桂兰",
    "秀珍",
    "凤英",
    "玉梅",
    "丽",
    "静",
    "敏",
    "艳",
    "芳",
    "娟",
    "霞",
    "红梅",
    "春花",
    "美玲",
    "小红",
    "金凤",
    "翠华",
    "淑珍",
    "海燕",
    "晓燕",
    "丽萍",
    "桂芳",
    "雪梅",
    "慧",
    "琴",
    "燕",
    "小霞",
    "爱华",
    "建英",
    "素芬",
    "月娥",
    "彩霞",
    "巧云",
    "冬梅",
    "秋菊",
    "兰芳",
    "美华",
    "玉珍",
    "学芳",
    "新民",
    "建国",
    "志强",
    "卫东",
]
ENTERPRISES = [
    ("宁波市海曙区好帮手家政服务有限公司", 5),
    ("宁波甬城阿姨家政服务有限公司", 4),
    ("宁波市鄞州安心到家家政有限公司", 4),
    ("宁波江北贴心月嫂母婴护理有限公司", 3),
]
# Divisions of Ningbo and of provinces many of its home-service workers come from.
DIVISIONS = [
    "330203",
    "330205",
    "330206",
    "330211",
    "330212",
    "340123",
    "511521",
    "411421",
    "362330",
    "522121",
]
TRAININGS = [
    "家政服务员职业技能培训（初级）",
    "育婴员（五级）",
    "养老护理员（四级）",
    "母婴护理专项培训",
    "家庭烹饪技能培训",
]


def demo_id_number(rng: random.Random) -> str:
    born = date(1966, 1, 1) + timedelta(days=rng.randrange(0, 365 * 30))
    sequence = rng.randrange(0, 500) * 2  # even: most workers in home service are women
    first17 = f"{rng.choice(DIVISIONS)}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_check_character(first17)


def demo_credit_code(rng: random.Random) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91330200" + "".join(rng.choice(chars) for _ in range(9))
    return first17 + credit_check_character(first17)


def seed(runtime: Runtime, *, workers: int = 300, seed_value: int = 61442) -> dict[str, Any] | None:
    """Create the demo data if the database has no enterprise yet; returns the logins made."""
    service = runtime.service
    with runtime.store.read() as session:
        if session.execute(select(func.count(Enterprise.id))).scalar():
            return None
    rng = random.Random(seed_value)
    today = today_in_china()
    enterprise_ids = []
    for name, stars in ENTERPRISES:
        made = service.run(
            service.enterprises.create,
            SYSTEM,
            {"name": name, "credit_code": demo_credit_code(rng), "star_level": stars},
        )
        enterprise_ids.append(made.id)
    categories = list(fmt.Category)
    weights = [30, 20, 15, 20, 10, 2, 3]
    with service.tx() as unit:
        created = []
        for index in range(workers):
            picked = {c for c in rng.choices(categories, weights=weights, k=rng.choice([1, 1, 2, 2, 3]))}
            lapse = rng.random()
            health = (
                today + timedelta(days=rng.randrange(30, 360))
                if lapse > 0.04
                else today - timedelta(days=rng.randrange(1, 60))
            )
            insurance = (
                today + timedelta(days=rng.randrange(30, 360))
                if 0.02 < lapse < 0.97
                else (None if lapse <= 0.02 else today - timedelta(days=rng.randrange(1, 30)))
            )
            data = WorkerInput(
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                id_number=demo_id_number(rng),
                phone=f"1{rng.choice('35789')}{rng.randrange(0, 10**9):09d}",
                categories=fmt.categories_to_bits(picked),
                skills=[],
                star_level=rng.choice([None, 2, 3, 3, 4, 4, 5]),
                health_valid_until=health,
                insurance_valid_until=insurance,
                trainings=[
                    (
                        rng.choice(TRAININGS),
                        today - timedelta(days=rng.randrange(60, 1500)),
                        "宁波市家政服务业协会",
                    )
                ],
                given=frozenset(),
            )
            try:
                worker = service.workers.register(
                    unit, SYSTEM, data, enterprise_ids[index % len(enterprise_ids)]
                )
            except Exception:  # a duplicate drawn by chance: skip it
                continue
            created.append(worker.id)
        holders = created[: int(len(created) * 0.9)]
        issued = _issue_over_the_months(unit, service, rng, holders, created, today)
        _service_loop(unit.session, rng, issued, today)
    for enterprise_id in enterprise_ids:
        service.run(service.issuing.issue_enterprise, SYSTEM, enterprise_id)
    _keep_the_days(service, today)
    logins: dict[str, Any] = {}
    accounts: list[tuple[str, Role, int | None]] = [
        ("admin", Role.ISSUER_ADMIN, None),
        ("regulator", Role.REGULATOR, None),
        ("enterprise", Role.ENTERPRISE_ADMIN, enterprise_ids[0]),
        ("operator", Role.CARD_OPERATOR, None),
    ]
    for username, role, enterprise in accounts:
        password = secrets.token_urlsafe(9)
        service.accounts.create_user(username, password, role, enterprise)
        logins[role.value] = {"username": username, "password": password, "enterprise_id": enterprise}
    _, token = service.accounts.create_token(Role.ISSUER_ADMIN, label="demo")
    logins["api_token"] = token
    path = runtime.config.home / LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(logins, handle, ensure_ascii=False, indent=2)
    return logins


COMPLAINTS = (
    ("no_show", "约好九点，十点才到"),
    ("quality", "打扫不够仔细，厨房没有清洁"),
    ("fee", "额外收取了材料费"),
    ("attitude", "说话不耐烦"),
)


def _demo_uid(rng: random.Random) -> bytes:
    """A 7-byte NXP-style card UID (manufacturer byte 04)."""
    return bytes([4]) + rng.randbytes(6)


#: Days of history the demo city has (the dashboard's longest window): its consoles' charts
#: show lines from the first start, not one point.
HISTORY_DAYS = 90


def _moment(rng: random.Random, day: date) -> datetime:
    """A working-hours instant of ``day`` in China (as UTC, the database's time)."""
    local = datetime.combine(day, time(8), tzinfo=fmt.CHINA_TZ) + timedelta(minutes=rng.randrange(0, 11 * 60))
    return local.astimezone(UTC)


def _issue_over_the_months(
    unit: Unit,
    service: IssuerServices,
    rng: random.Random,
    holders: list[int],
    registered: list[int],
    today: date,
) -> list[Credential]:
    """Issue the holders' codes over the last :data:`HISTORY_DAYS` days, many in the launch's
    first weeks and fewer later (so the 持证率 line rises), each day's batch through the issuing
    service's own path with that day as the issue day: the signed ``issued_at`` and the row's
    ``issued_on`` agree. Workers are registered a few days before their code (the rest of the
    registered any day); the rows' ``created_at`` say so. The audit log keeps the seed's own
    time: it records when the demo wrote these rows, not a made-up past."""
    first = today - timedelta(days=HISTORY_DAYS - 1)
    by_day: dict[date, list[IssueItem]] = {}
    joined: dict[int, date] = {}
    for worker_id in holders:
        day = first + timedelta(days=int(rng.betavariate(1.0, 1.8) * (HISTORY_DAYS - 1)))
        by_day.setdefault(day, []).append(
            IssueItem(worker_id, card_uid=_demo_uid(rng) if rng.random() < 0.7 else None)
        )
        joined[worker_id] = max(first, day - timedelta(days=rng.randrange(0, 6)))
    for worker_id in registered:
        joined.setdefault(worker_id, first + timedelta(days=rng.randrange(0, HISTORY_DAYS)))
    unit.session.execute(
        update(Worker), [{"id": w, "created_at": _moment(rng, day)} for w, day in joined.items()]
    )
    rows: list[Credential] = []
    for day in sorted(by_day):
        issued = service.issuing.issue_many(unit, SYSTEM, by_day[day], on=day)
        rows.extend(i.row for i in issued)
    unit.session.execute(
        update(Credential), [{"serial": c.serial, "created_at": _moment(rng, c.issued_on)} for c in rows]
    )
    return rows


def _keep_the_days(service: IssuerServices, today: date) -> None:
    """The daily job's figures and grades of each past day, computed by the job's own
    :meth:`~anxinma.issuer.services.daily.Daily.snapshot` and ``grade`` over the seeded rows
    (today's figure is the dashboard's live one)."""
    for back in range(HISTORY_DAYS - 1, 0, -1):
        day = today - timedelta(days=back)
        service.daily.snapshot(day)
        if service.daily.credit is not None:
            service.daily.grade(day)


def _service_loop(session: Any, rng: random.Random, credentials: list[Credential], today: date) -> None:
    """What the city's months leave behind, so every console page has something to show:
    consumers' scans of the codes (``scan_counts``, some workers show theirs often, some
    rarely), confirmed visits, consumers' ratings bound to them, a few of the enterprise's own,
    complaints (some resolved), and this month's 按月打卡 of card holders. All of it happens
    on or after the day the code was issued, up to now, as it would."""
    now = utcnow()
    month = month_of(now)
    scans: list[dict[str, Any]] = []
    for credential in credentials:
        habit = rng.choice([0.0, 0.005, 0.01, 0.02, 0.04, 0.08])
        day = credential.issued_on
        while day <= today:
            # more scans on weekends (customers at home), none on some days
            if rng.random() < habit * (1.6 if day.weekday() >= 5 else 1.0):
                scans.append({"worker_id": credential.worker_id, "day": day, "count": rng.randrange(1, 4)})
            day += timedelta(days=1)
    if scans:
        session.execute(insert(ScanCount), scans)
    for credential in credentials[::3]:
        worker_id = int(credential.worker_id or 0)
        for _ in range(rng.randrange(1, 5)):
            lived = (today - credential.issued_on).days
            at = min(now, _moment(rng, credential.issued_on + timedelta(days=rng.randrange(0, lived + 1))))
            visit_id = session.execute(
                insert(Visit)
                .values(
                    credential_serial=credential.serial,
                    worker_id=worker_id,
                    enterprise_id=credential.enterprise_id,
                    confirmed_at=at,
                    token_hash=secrets.token_hex(32),
                )
                .returning(Visit.id)
            ).scalar_one()
            common = {
                "worker_id": worker_id,
                "visit_id": visit_id,
                "enterprise_id": credential.enterprise_id,
                "credential_serial": credential.serial,
            }
            if rng.random() < 0.7:
                session.execute(
                    insert(Rating).values(
                        **common,
                        source="consumer",
                        score=rng.choice([3, 4, 4, 5, 5, 5]),
                        comment=rng.choice([None, "准时，干活仔细", "态度很好", "做得很干净"]),
                        created_at=at,
                    )
                )
            if rng.random() < 0.2:
                session.execute(
                    insert(Rating).values(
                        **common, source="enterprise", score=rng.choice([4, 5]), created_at=at
                    )
                )
            if rng.random() < 0.04:
                resolved = rng.random() < 0.4
                category, summary = rng.choice(COMPLAINTS)
                session.execute(
                    insert(Complaint).values(
                        **common,
                        category=category,
                        summary=summary,
                        filed_on=at.astimezone(fmt.CHINA_TZ).date(),
                        filed_at=at,
                        resolved=resolved,
                        resolved_at=min(now, at + timedelta(hours=rng.randrange(2, 96)))
                        if resolved
                        else None,
                        resolved_by="session:demo:enterprise_admin" if resolved else None,
                        resolution="已向客户致歉并安排回访" if resolved else None,
                    )
                )
    for credential in credentials:
        if credential.card_uid and rng.random() < 0.75:
            session.execute(
                insert(CheckIn).values(
                    worker_id=credential.worker_id,
                    enterprise_id=credential.enterprise_id,
                    month=month,
                    credential_serial=credential.serial,
                    card_uid=credential.card_uid,
                    station="演示服务站 / demo desk",
                    tapped_at=now,
                    recorded_at=now,
                    recorded_by="demo",
                )
            )


def sample_code(runtime: Runtime) -> str | None:
    """The URL form of the first live worker credential (something to scan or open)."""
    with runtime.store.read() as session:
        raw = session.execute(
            select(Credential.raw)
            .where(Credential.status == "active", Credential.subject_kind == "worker")
            .order_by(Credential.serial)
            .limit(1)
        ).scalar_one_or_none()
    return fmt.decode(raw).to_url(runtime.config.base_url) if raw is not None else None


def logins(home: Path) -> dict[str, Any] | None:
    path = home / LOGINS_FILE
    if not path.exists():
        return None
    return dict(json.loads(path.read_text("utf-8")))


__all__ = ["logins", "sample_code", "seed"]
