"""The enterprise console: worker list and archive, registering and editing, issuing with QR
and badge downloads, revoke / suspend / reinstate with a confirmation step, and the
enterprise's own code."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from anxinma import credential as fmt
from anxinma.badge import read_batch
from anxinma.issuer.services.rules import today_in_china
from anxinma.issuer.store.models import AuditEntry, Credential, Worker
from anxinma.status_list import CredentialStatus
from tests.conftest import LiveIssuer, random_id_number
from tests.issuer.console_support import Console, published_status, text


def _enterprise(issuer: LiveIssuer) -> int:
    return int(issuer.enterprise()["id"])  # type: ignore[call-overload]


def test_register_shows_the_api_rules_messages_and_writes_nothing_until_valid(
    live_issuer: LiveIssuer,
) -> None:
    enterprise = _enterprise(live_issuer)
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    form = {"name": "王秀英", "id_number": "330203198001010011", "phone": "1380000", "categories": []}
    refused = console.post("/console/workers/new", form)
    assert refused.status_code == 400
    body = text(refused)
    assert "身份证号校验位错误（请核对）" in body
    assert "手机号应为 11 位中国大陆手机号" in body
    assert "至少选择一个服务类别" in body
    assert 'value="王秀英"' in body  # what was typed stays in the form
    assert body.count('aria-invalid="true"') >= 2
    with live_issuer.runtime.store.read() as session:
        assert session.execute(select(func.count(Worker.id))).scalar() == 0
    good = {
        **form,
        "id_number": random_id_number(),
        "phone": "13800001111",
        "categories": ["cleaning", "infant_care"],
        "health_certificate_valid_until": (today_in_china() + timedelta(days=200)).isoformat(),
        "insurance_valid_until": (today_in_china() + timedelta(days=200)).isoformat(),
        "training_name": "育婴员（五级）",
        "training_on": "2025-03-01",
        "issue": "1",
    }
    made = console.post("/console/workers/new", good)
    assert made.status_code == 303 and "/console/credentials/" in made.headers["Location"]
    page = text(console.get(made.headers["Location"]))
    assert "安心码已签发" in page and "王*英" in page
    again = console.post("/console/workers/new", good)
    assert again.status_code == 400 and "此人已在本企业登记" in text(again)


def test_worker_page_shows_the_archive_and_warns_thirty_days_before_a_lapse(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer)
    today = today_in_china()
    number = random_id_number()
    soon = live_issuer.worker(
        enterprise,
        id_number=number,
        health_certificate_valid_until=(today + timedelta(days=20)).isoformat(),
        insurance_valid_until=(today + timedelta(days=90)).isoformat(),
        trainings=[{"name": "养老护理员（四级）", "issued_on": "2024-05-01"}],
        star_level=4,
    )
    lapsed = live_issuer.worker(enterprise, insurance_valid_until=(today - timedelta(days=3)).isoformat())
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    page = text(console.get(f"/console/workers/{soon['id']}"))
    assert "健康证将在 20 天后" in page and "还剩 20 天" in page
    assert "保险将在" not in page  # 90 days left: no warning
    assert "养老护理员（四级）" in page and "★★★★☆" in page
    assert soon["id_number_masked"] in page and number not in page  # the masked ID only
    lapsed_page = text(console.get(f"/console/workers/{lapsed['id']}"))
    assert "保险已于" in lapsed_page and "黄码" in lapsed_page


def test_worker_list_searches_by_masked_name_category_and_status_and_pages(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer)
    li = live_issuer.worker(enterprise, name="李小霞", categories=["育婴"])
    live_issuer.worker(enterprise, name="李芳", categories=["保洁"])
    wang = live_issuer.worker(enterprise, name="王小霞", categories=["养老护理"])
    for n in range(55):
        live_issuer.worker(enterprise, name=f"张{'秀桂玉兰'[n % 4]}英", categories=["保洁"])
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)

    def names(query: str) -> list[str]:
        return re.findall(
            r'/console/workers/\d+">([^<]+)</a>', text(console.get(f"/console/workers?{query}"))
        )

    assert names("q=李*霞") == ["李小霞"]
    assert names("q=李") == ["李小霞", "李芳"]
    assert names("q=*霞") == ["李小霞", "王小霞"]
    assert names("category=elderly_care") == ["王小霞"]
    assert names("category=育婴") == ["李小霞"]
    first = text(console.get("/console/workers"))
    assert "共 58 条" in first and 'rel="next"' in first
    assert len(names("page=2")) == 8
    serial = int(live_issuer.credential(int(wang["id"]))["serial"])  # type: ignore[call-overload]
    live_issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "left"})
    assert names("status=left") == ["王小霞"]
    assert "王小霞" not in names("status=active")
    assert li["id"] and names(f"q={li['id']}") == ["李小霞"]


def test_issuing_shows_the_qr_and_badge_data_and_a_double_click_issues_once(
    live_issuer: LiveIssuer, tmp_path: Path
) -> None:
    enterprise = _enterprise(live_issuer)
    worker = int(live_issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    page = text(console.get(f"/console/workers/{worker}"))
    idem = re.search(r'name="idem" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    first = console.post(f"/console/workers/{worker}/issue", {"idem": idem})
    second = console.post(f"/console/workers/{worker}/issue", {"idem": idem})
    assert first.headers["Location"] == second.headers["Location"]
    with live_issuer.runtime.store.read() as session:
        serials = list(
            session.execute(select(Credential.serial).where(Credential.worker_id == worker)).scalars()
        )
    assert len(serials) == 1
    serial = serials[0]
    shown = text(console.get(first.headers["Location"]))
    code = re.search(r'id="code-text">([^<]+)<', shown).group(1)  # type: ignore[union-attr]
    assert code.startswith(live_issuer.url + "/v/")
    png = console.get(f"/console/credentials/{serial}/qr.png?scale=6")
    assert png.mimetype == "image/png"
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert fmt.parse_text(found.text) == fmt.parse_text(code)  # the QR's upper-case form of the URL
    assert console.get(f"/console/credentials/{serial}/qr.svg").mimetype == "image/svg+xml"
    badge = console.get(f"/console/credentials/{serial}/badge.csv")
    rows = list(csv.reader(io.StringIO(badge.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["code", "enterprise_name", "photo"]
    assert rows[1][0] == code
    batch = tmp_path / "badge.csv"
    batch.write_bytes(badge.data)
    (card,) = read_batch(batch)  # what `anxinma badge --batch` reads
    assert card.serial == serial and card.display_name == "李*霞"
    pdf = console.get(f"/console/credentials/{serial}/badge.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # A new click (a new form) replaces the code: one live code per worker.
    fresh = re.search(r'name="idem" value="([^"]+)"', text(console.get(f"/console/workers/{worker}"))).group(
        1
    )  # type: ignore[union-attr]
    replaced = console.post(f"/console/workers/{worker}/issue", {"idem": fresh})
    assert replaced.headers["Location"] != first.headers["Location"]
    assert published_status(live_issuer, serial) is CredentialStatus.REVOKED


def test_revoking_needs_a_confirmation_and_the_public_status_list_follows(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer)
    worker = int(live_issuer.worker(enterprise)["id"])  # type: ignore[call-overload]
    serial = int(live_issuer.credential(worker)["serial"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    confirm = console.get(f"/console/credentials/{serial}/revoke")
    assert confirm.status_code == 200 and "吊销不可撤回" in text(confirm)
    assert published_status(live_issuer, serial) is CredentialStatus.VALID
    unconfirmed = console.post(f"/console/credentials/{serial}/revoke", {"reason": "left"})
    assert unconfirmed.status_code == 200  # the form again, nothing done
    assert published_status(live_issuer, serial) is CredentialStatus.VALID
    bad = console.post(f"/console/credentials/{serial}/revoke", {"confirm": "1", "reason": "bored"})
    assert bad.status_code == 400 and "吊销原因应为" in text(bad)
    done = console.post(f"/console/credentials/{serial}/revoke", {"confirm": "1", "reason": "left"})
    assert done.headers["Location"] == f"/console/workers/{worker}?done=revoke"
    page = text(console.get(done.headers["Location"]))
    assert "安心码已吊销" in page and "已离职" in page and "离职" in page
    assert published_status(live_issuer, serial) is CredentialStatus.REVOKED
    with live_issuer.runtime.store.read() as session:
        actions = list(
            session.execute(
                select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.target_id == str(serial))
            ).all()
        )
    action, actor = actions[-1]
    assert action == "credential.revoke" and actor.startswith("session:")  # the clerk, by session
    assert console.get(f"/console/credentials/{serial}/reinstate").status_code == 200
    final = console.post(f"/console/credentials/{serial}/reinstate", {"confirm": "1"})
    assert final.status_code == 400 and "吊销不可撤回" in text(final)


def test_suspend_and_reinstate_change_the_published_status(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer)
    serial = int(live_issuer.credential(int(live_issuer.worker(enterprise)["id"]))["serial"])  # type: ignore[call-overload]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    console.get(f"/console/credentials/{serial}/suspend")
    long_reason = console.post(f"/console/credentials/{serial}/suspend", {"confirm": "1", "reason": "x" * 17})
    assert long_reason.status_code == 400 and "原因最多 16 个字符" in text(long_reason)
    assert (
        console.post(
            f"/console/credentials/{serial}/suspend", {"confirm": "1", "reason": "投诉调查"}
        ).status_code
        == 303
    )
    assert published_status(live_issuer, serial) is CredentialStatus.SUSPENDED
    assert console.post(f"/console/credentials/{serial}/reinstate", {"confirm": "1"}).status_code == 303
    assert published_status(live_issuer, serial) is CredentialStatus.VALID


def test_editing_renewed_dates_clears_the_yellow_code(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer)
    worker = live_issuer.worker(
        enterprise, health_certificate_valid_until=(today_in_china() - timedelta(days=2)).isoformat()
    )
    serial = int(live_issuer.credential(int(worker["id"]))["serial"])  # type: ignore[call-overload]
    assert published_status(live_issuer, serial) is CredentialStatus.ATTENTION
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    form = text(console.get(f"/console/workers/{worker['id']}/edit"))
    assert 'value="李小霞"' in form and 'value="cleaning" checked' in form
    renewed = (today_in_china() + timedelta(days=365)).isoformat()
    response = console.post(
        f"/console/workers/{worker['id']}/edit",
        {
            "name": "李小霞",
            "categories": ["cleaning", "infant_care"],
            "health_certificate_valid_until": renewed,
            "insurance_valid_until": worker["insurance_valid_until"],
        },
    )
    assert response.status_code == 303
    assert published_status(live_issuer, serial) is CredentialStatus.VALID
    assert "档案已更新" in text(console.get(response.headers["Location"]))


def test_the_enterprise_sees_its_own_code_with_its_qr(live_issuer: LiveIssuer) -> None:
    enterprise = _enterprise(live_issuer)
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    assert "平台尚未为贵企业签发企业安心码" in text(console.get("/console/enterprise"))
    issued = live_issuer.api("POST", f"/api/v1/enterprises/{enterprise}/credentials", json={}).json()
    page = text(console.get("/console/enterprise"))
    assert f"/console/credentials/{issued['serial']}/qr.svg" in page and issued["code"] in page
    assert console.get(f"/console/credentials/{issued['serial']}/qr.svg").status_code == 200
    assert console.get(f"/console/credentials/{issued['serial']}/badge.pdf").status_code == 404


def test_the_consoles_show_the_last_valid_day_as_the_badge_and_the_page_do(
    live_issuer: LiveIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A code issued 2026-12-06 for two years is valid through 2028-12-05: the store keeps the
    exclusive end (2028-12-06), which no console may print as the end of validity."""
    from anxinma.issuer.services import issuing

    monkeypatch.setattr(issuing, "today_in_china", lambda: date(2026, 12, 6))
    object.__setattr__(live_issuer.runtime.config, "credential_days", 731)  # 2028 is a leap year
    enterprise = _enterprise(live_issuer)
    worker = live_issuer.worker(enterprise)
    serial = int(live_issuer.credential(int(worker["id"]))["serial"])  # type: ignore[call-overload]
    live_issuer.api("POST", f"/api/v1/enterprises/{enterprise}/credentials", json={})
    with live_issuer.runtime.store.read() as session:
        assert session.get(Credential, serial).expires_on == date(2028, 12, 6)  # type: ignore[union-attr]
    console = Console.signed_in(live_issuer, "enterprise_admin", enterprise)
    for path in (f"/console/credentials/{serial}", f"/console/workers/{worker['id']}", "/console/enterprise"):
        page = text(console.get(path))
        assert "2026-12-06 – 2028-12-05" in page, path
        assert "2028-12-06" not in page, path
    history = text(console.get(f"/console/workers/{worker['id']}")).split("h-history", 1)[1]
    assert "2028-12-05" in history


def test_the_expiring_list_shows_the_last_valid_day(live_issuer: LiveIssuer) -> None:
    object.__setattr__(live_issuer.runtime.config, "credential_days", 20)
    live_issuer.credential(int(live_issuer.worker(_enterprise(live_issuer))["id"]))  # type: ignore[call-overload]
    page = text(Console.signed_in(live_issuer, "regulator").get("/console/expiring"))
    today = today_in_china()
    assert (today + timedelta(days=19)).isoformat() in page
    assert (today + timedelta(days=20)).isoformat() not in page
