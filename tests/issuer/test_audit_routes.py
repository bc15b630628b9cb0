"""The audit rule, tested from the app's URL map: every state-changing route (POST, PUT,
PATCH, DELETE; API and console) driven once with a valid payload by a caller allowed to use
it, leaving exactly one new audit entry, which names that caller.

A route in the map without a case in :data:`CASES` fails the test (so a new route gets its
payload written here, and its change audited in its service); the few routes that change
nothing stored are in :data:`NO_CHANGE`, each with its reason.
"""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.issuer.services.auth import SYSTEM, Role
from anxinma.issuer.services.validation import credit_check_character
from anxinma.issuer.services.visits import worker_rating_message
from tests.conftest import LiveIssuer, random_id_number, random_phone
from tests.issuer.console_support import Console, account
from tests.issuer.routes_support import token_client

#: State-changing routes that change nothing stored, and why.
NO_CHANGE = {
    "live.live_record": "a scan is counted (亮证率), not a change of a record",
    "phone.record": "the worker's phone reads its own record (a signed read, nothing stored)",
}

#: Routes where one request makes more than one audited change by design, with the actions.
SEVERAL = {
    "console.import_run": ("import.start", "worker.create", "import.done"),  # the background job's
}


@dataclass
class Call:
    """One request: by ``who`` (a token or a console session), and the actor the log must name."""

    method: str
    path: str
    actor: str
    token: str | None = None
    console: Console | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    multipart: bool = False


class Fixture:
    """What the cases build on: one served issuer, one enterprise, helpers for fresh rows."""

    def __init__(self, issuer: LiveIssuer) -> None:
        self.issuer = issuer
        self.services = issuer.runtime.service
        self.enterprise = int(issuer.enterprise()["id"])  # type: ignore[call-overload]
        self._sessions: dict[tuple[str, int | None], tuple[Console, str]] = {}
        self._tokens: dict[tuple[str, int | None], tuple[str, str]] = {}

    def token(self, role: str, enterprise: int | None = None) -> tuple[str, str]:
        """(token, the actor it is logged as)."""
        key = (role, enterprise)
        if key not in self._tokens:
            token_id, token = self.services.accounts.create_token(Role(role), enterprise, "audit")
            scope = f"@{enterprise}" if enterprise is not None else ""
            self._tokens[key] = (token, f"token:{token_id}:{role}{scope}")
        return self._tokens[key]

    def session(self, role: str, enterprise: int | None = None) -> tuple[Console, str]:
        key = (role, enterprise)
        if key not in self._sessions:
            username, password = account(self.issuer, role, enterprise)
            console = Console(self.issuer)
            console.login(username, password)
            from anxinma.issuer.store.models import User

            with self.issuer.runtime.store.read() as session:
                from sqlalchemy import select

                user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
            scope = f"@{enterprise}" if enterprise is not None else ""
            self._sessions[key] = (console, f"session:{user_id}:{role}{scope}")
        return self._sessions[key]

    def api(self, role: str, method: str, path: str, enterprise: int | None = None, **body: Any) -> Call:
        token, actor = self.token(role, enterprise)
        return Call(method, path, actor, token=token, **body)

    def page(self, role: str, path: str, enterprise: int | None = None, **body: Any) -> Call:
        console, actor = self.session(role, enterprise)
        return Call("POST", path, actor, console=console, **body)

    # -- fresh rows ---------------------------------------------------------------------------

    def worker(self) -> int:
        return int(self.issuer.worker(self.enterprise)["id"])  # type: ignore[call-overload]

    def credential(self, **body: Any) -> dict[str, Any]:
        response = self.issuer.api("POST", f"/api/v1/workers/{self.worker()}/credentials", json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def visit(self, **credential: Any) -> dict[str, Any]:
        issued = self.credential(**credential)
        visit = self.issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]}).json()
        return {**visit, "issued": issued}

    def complaint(self) -> int:
        visit = self.visit()
        made = self.issuer.api(
            "POST",
            f"/api/v1/visits/{visit['visit_id']}/complaint",
            token="",
            json={"token": visit["rating_token"], "category": "other", "summary": "服务迟到了半小时"},
        )
        return int(made.json()["id"])

    def blacklist_entry(self) -> int:
        entry, _ = self.services.run(
            self.services.revocation.blacklist_add,
            SYSTEM,
            {"id_number": random_id_number(), "reason": "测试", "evidence_ref": "T-1"},
        )
        return int(entry.id)

    def red_entry(self) -> int:
        fresh = int(self.issuer.enterprise()["id"])  # type: ignore[call-overload]
        entry = self.services.run(
            self.services.credit.red_add,
            SYSTEM,
            {"enterprise_id": fresh, "reason": "测试", "evidence_ref": "R-1"},
        )
        return int(entry.id)

    def suspended(self) -> int:
        serial = int(self.credential()["serial"])
        assert self.issuer.api("POST", f"/api/v1/credentials/{serial}/suspend", json={}).status_code == 200
        return serial

    def batch(self) -> int:
        return int(self.services.batches.create(SYSTEM, [self.worker()], "audit") or 0)

    def import_job(self, who: Any) -> int:
        rows = [
            {"name": "王秀英", "id_number": random_id_number(), "phone": random_phone(), "categories": "保洁"}
        ]
        return self.services.import_jobs.create(
            who, self.enterprise, "w.csv", secrets.token_hex(32), rows, {}
        )


def _credit_code() -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91330200" + "".join(secrets.choice(chars) for _ in range(9))
    return first17 + credit_check_character(first17)


def _csv(rows: int = 1) -> bytes:
    lines = ["姓名,身份证号,手机号,服务类别"] + [
        f"王芳,{random_id_number()},{random_phone()},保洁" for _ in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _check_in(f: Fixture) -> Call:
    uid = "04" + secrets.token_hex(6)
    issued = f.credential(card_uid=uid)
    moment = datetime.now(fmt.CHINA_TZ)
    body = {
        "code": issued["code"],
        "card_uid": uid,
        "month": moment.strftime("%Y-%m"),
        "station": "测试站",
        "tapped_at": moment.isoformat(),
    }
    return f.api("card_operator", "POST", "/api/v1/check-ins", json=body)


def _worker_rating(f: Fixture) -> Call:
    phone = ed25519.SigningKey.generate()
    visit = f.visit(holder_key=phone.public_key.hex())
    message = worker_rating_message(f.services.issuer_code, int(visit["visit_id"]), 4, "按时")
    signature = base64.urlsafe_b64encode(phone.sign(message)).rstrip(b"=").decode()
    path = f"/api/v1/visits/{visit['visit_id']}/rating/worker"
    return Call(
        "POST",
        path,
        f"holder:{visit['serial']}",
        json={"score": 4, "comment": "按时", "signature": signature},
    )


def _phone_check_in(f: Fixture) -> Call:
    from tests.issuer.phone_support import card_and_phone, phone_body

    who = card_and_phone(f.issuer, f.enterprise)
    body = phone_body(f.services.issuer_code, who)
    return Call("POST", "/api/v1/check-ins/phone", f"holder:{who.phone.claims.serial}", json=body)


def _enterprise_rating(f: Fixture) -> Call:
    visit = f.visit()
    path = f"/api/v1/visits/{visit['visit_id']}/rating/enterprise"
    return f.api("enterprise_admin", "POST", path, f.enterprise, json={"score": 4})


def _phone_enrol(f: Fixture) -> Call:
    made = f.services.run(f.services.enrolments.create, SYSTEM, f.worker(), 15)
    key = ed25519.SigningKey.generate().public_key.hex()
    actor = f"enrolment:{made.row.id}:card_operator@{f.enterprise}"
    return Call("POST", f"/w/{made.token}", actor, json={"holder_key": key})


def _console_import_run(f: Fixture) -> Call:
    console, actor = f.session("enterprise_admin", f.enterprise)
    who = f.services.accounts.authenticate(console.client.get_cookie("axm_session").value)  # type: ignore[union-attr]
    return Call("POST", f"/console/import/{f.import_job(who)}/run", actor, console=console, data={})


def _sign_in(f: Fixture, console: bool) -> Call:
    """Signing in stores a session (``session.start``, by the user who signed in)."""
    username, password = account(f.issuer, "regulator")
    actor = f"session:{f.services.accounts.user_id(username)}:regulator"
    if not console:
        return Call("POST", "/api/v1/sessions", actor, json={"username": username, "password": password})
    browser = Console(f.issuer)
    browser.get("/console/login")
    return Call(
        "POST", "/console/login", actor, console=browser, data={"username": username, "password": password}
    )


def _sign_out(f: Fixture) -> Call:
    """Signing out ends the stored session (``session.end``); a session of its own, as the
    shared ones are used by the other cases."""
    username, password = account(f.issuer, "regulator")
    browser = Console(f.issuer)
    browser.login(username, password)
    actor = f"session:{f.services.accounts.user_id(username)}:regulator"
    return Call("POST", "/console/logout", actor, console=browser, data={})


def _change_password(f: Fixture) -> Call:
    username, password = account(f.issuer, "regulator")
    browser = Console(f.issuer)
    browser.login(username, password)
    actor = f"session:{f.services.accounts.user_id(username)}:regulator"
    data = {"current_password": password, "password": "changed-password-1", "confirm": "changed-password-1"}
    return Call("POST", "/console/password", actor, console=browser, data=data)


def _console_edit(f: Fixture) -> Call:
    worker = f.issuer.api("GET", f"/api/v1/workers/{f.worker()}").json()
    data = {
        "name": "王芳芳",
        "categories": "cleaning",
        "health_certificate_valid_until": worker["health_certificate_valid_until"],
        "insurance_valid_until": worker["insurance_valid_until"],
    }
    return f.page("enterprise_admin", f"/console/workers/{worker['id']}/edit", f.enterprise, data=data)


CASES: dict[str, Callable[[Fixture], Call]] = {
    # -- the API --------------------------------------------------------------------------------
    "api.create_session": lambda f: _sign_in(f, console=False),
    "api.create_enterprise": lambda f: f.api(
        "issuer_admin",
        "POST",
        "/api/v1/enterprises",
        json={"name": "新开家政服务有限公司", "credit_code": _credit_code()},
    ),
    "api.issue_enterprise_credential": lambda f: f.api(
        "issuer_admin", "POST", f"/api/v1/enterprises/{f.issuer.enterprise()['id']}/credentials", json={}
    ),
    "api.register_worker": lambda f: f.api(
        "enterprise_admin",
        "POST",
        "/api/v1/workers",
        f.enterprise,
        json={
            "name": "王芳",
            "id_number": random_id_number(),
            "phone": random_phone(),
            "categories": ["保洁"],
        },
    ),
    "api.update_worker": lambda f: f.api(
        "enterprise_admin",
        "PATCH",
        f"/api/v1/workers/{f.worker()}",
        f.enterprise,
        json={"phone": random_phone()},
    ),
    "api.import_workers": lambda f: f.api(
        "enterprise_admin",
        "POST",
        "/api/v1/workers/import",
        f.enterprise,
        data={"file": (io.BytesIO(_csv()), "w.csv")},
        multipart=True,
    ),
    "api.issue_credential": lambda f: f.api(
        "enterprise_admin", "POST", f"/api/v1/workers/{f.worker()}/credentials", f.enterprise, json={}
    ),
    "api.create_enrolment": lambda f: f.api(
        "enterprise_admin", "POST", f"/api/v1/workers/{f.worker()}/enrolments", f.enterprise, json={}
    ),
    "phone.enrol": _phone_enrol,
    "api.revoke": lambda f: f.api(
        "regulator", "POST", f"/api/v1/credentials/{f.credential()['serial']}/revoke", json={"reason": "lost"}
    ),
    "api.suspend": lambda f: f.api(
        "enterprise_admin",
        "POST",
        f"/api/v1/credentials/{f.credential()['serial']}/suspend",
        f.enterprise,
        json={},
    ),
    "api.reinstate": lambda f: f.api(
        "enterprise_admin", "POST", f"/api/v1/credentials/{f.suspended()}/reinstate", f.enterprise, json={}
    ),
    "api.blacklist_add": lambda f: f.api(
        "regulator",
        "POST",
        "/api/v1/blacklist",
        json={"id_number": random_id_number(), "reason": "多次违规", "evidence_ref": "R-1"},
    ),
    "api.blacklist_remove": lambda f: f.api(
        "regulator", "POST", f"/api/v1/blacklist/{f.blacklist_entry()}/remove", json={"reason": "误列"}
    ),
    "api.create_token": lambda f: f.api("issuer_admin", "POST", "/api/v1/tokens", json={"role": "regulator"}),
    "api.revoke_token": lambda f: f.api(
        "issuer_admin",
        "POST",
        f"/api/v1/tokens/{f.services.accounts.create_token(Role.REGULATOR)[0]}/revoke",
        json={},
    ),
    "checkins.record_check_in": _check_in,
    "checkins_public.record_phone_check_in": _phone_check_in,
    "visits_public.confirm_entry": lambda f: Call(
        "POST", "/api/v1/visits", "public:consumer", json={"code": f.credential()["code"]}
    ),
    "visits_public.consumer_rating": lambda f: (
        lambda v: Call(
            "POST",
            f"/api/v1/visits/{v['visit_id']}/rating",
            "public:consumer",
            json={"token": v["rating_token"], "score": 5},
        )
    )(f.visit()),
    "visits_public.consumer_complaint": lambda f: (
        lambda v: Call(
            "POST",
            f"/api/v1/visits/{v['visit_id']}/complaint",
            "public:consumer",
            json={"token": v["rating_token"], "category": "other", "summary": "服务迟到了半小时"},
        )
    )(f.visit()),
    "visits_public.worker_rating": _worker_rating,
    "visits_public.report_code": lambda f: Call(
        "POST",
        "/api/v1/reports",
        "public:consumer",
        json={"code": f.credential()["code"], "status": "revoked", "reason": "revoked_in_use"},
    ),
    "visits.enterprise_rating": _enterprise_rating,
    "visits.resolve_complaint": lambda f: f.api(
        "regulator", "POST", f"/api/v1/complaints/{f.complaint()}/resolve", json={"resolution": "已回访处理"}
    ),
    # -- the consoles ---------------------------------------------------------------------------
    "console.login": lambda f: _sign_in(f, console=True),
    "console.logout": _sign_out,
    "console.change_password": _change_password,
    "console.admin_enterprise_create": lambda f: f.page(
        "issuer_admin",
        "/console/admin/enterprises",
        data={"name": "另一家政服务有限公司", "credit_code": _credit_code()},
    ),
    "console.admin_enterprise_issue": lambda f: f.page(
        "issuer_admin", f"/console/admin/enterprises/{f.issuer.enterprise()['id']}/credential", data={}
    ),
    "console.admin_token_create": lambda f: f.page(
        "issuer_admin", "/console/admin/tokens", data={"role": "regulator"}
    ),
    "console.admin_token_revoke": lambda f: f.page(
        "issuer_admin",
        f"/console/admin/tokens/{f.services.accounts.create_token(Role.REGULATOR)[0]}/revoke",
        data={"confirm": "1"},
    ),
    "console.admin_user_create": lambda f: f.page(
        "issuer_admin",
        "/console/admin/users",
        data={
            "username": f"u-{secrets.token_hex(3)}",
            "password": secrets.token_urlsafe(12),
            "role": "regulator",
        },
    ),
    "console.admin_user_toggle": lambda f: f.page(
        "issuer_admin",
        f"/console/admin/users/{f.services.accounts.create_user(f'v-{secrets.token_hex(3)}', 'long-enough-1', Role.REGULATOR)}/disable",
        data={},
    ),
    "console.create_batch": lambda f: f.page(
        "card_operator", "/console/batches", data={"worker": str(f.worker())}
    ),
    "console.batch_report": lambda f: f.page(
        "card_operator",
        f"/console/batches/{f.batch()}/report",
        data={"report": (io.BytesIO(b"worker_id,status\n1,failed\n"), "r.csv")},
        multipart=True,
    ),
    "console.blacklist_add": lambda f: f.page(
        "regulator",
        "/console/blacklist",
        data={"confirm": "1", "id_number": random_id_number(), "reason": "多次违规", "evidence_ref": "R-2"},
    ),
    "console.blacklist_remove": lambda f: f.page(
        "regulator",
        f"/console/blacklist/{f.blacklist_entry()}/remove",
        data={"confirm": "1", "reason": "误列"},
    ),
    "console.redlist_add": lambda f: f.page(
        "regulator",
        "/console/redlist",
        data={
            "enterprise_id": f.issuer.enterprise()["id"],
            "reason": "连续三年零投诉",
            "evidence_ref": "R-3",
        },
    ),
    "console.redlist_remove": lambda f: f.page(
        "regulator", f"/console/redlist/{f.red_entry()}/remove", data={"reason": "企业申请"}
    ),
    "console.resolve_complaint": lambda f: f.page(
        "regulator", f"/console/complaints/{f.complaint()}/resolve", data={"resolution": "已回访处理"}
    ),
    "console.change": lambda f: f.page(
        "enterprise_admin",
        f"/console/credentials/{f.credential()['serial']}/suspend",
        f.enterprise,
        data={"confirm": "1"},
    ),
    "console.imports": lambda f: f.page(
        "enterprise_admin",
        "/console/import",
        f.enterprise,
        data={"file": (io.BytesIO(_csv()), "w.csv")},
        multipart=True,
    ),
    "console.import_run": _console_import_run,
    "console.enrol_phone": lambda f: f.page(
        "enterprise_admin", f"/console/workers/{f.worker()}/enrol", f.enterprise, data={}
    ),
    "console.rate_visit": lambda f: f.page(
        "enterprise_admin", f"/console/visits/{f.visit()['visit_id']}/rate", f.enterprise, data={"score": "4"}
    ),
    "console.edit_worker": _console_edit,
    "console.issue": lambda f: f.page(
        "enterprise_admin", f"/console/workers/{f.worker()}/issue", f.enterprise, data={}
    ),
    "console.register": lambda f: f.page(
        "enterprise_admin",
        "/console/workers/new",
        f.enterprise,
        data={
            "name": "王芳",
            "id_number": random_id_number(),
            "phone": random_phone(),
            "categories": "cleaning",
        },
    ),
}


def _changing(app: Any) -> list[str]:
    return sorted(
        {
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
            and not rule.endpoint.startswith("verifier_page.")
        }
    )


def _send(f: Fixture, call: Call) -> Any:
    if call.console is not None:
        extra = {"content_type": "multipart/form-data"} if call.multipart else {}
        return call.console.post(call.path, call.data or {}, **extra)
    client = token_client(f.issuer, call.token) if call.token else f.issuer.app.test_client()
    if call.token:
        if call.multipart:
            return client.open(call.method, call.path, data=call.data, content_type="multipart/form-data")
        return client.open(call.method, call.path, json=call.json)
    return client.open(call.path, method=call.method, json=call.json)


def test_every_state_changing_route_has_a_case(live_issuer: LiveIssuer) -> None:
    missing = [e for e in _changing(live_issuer.app) if e not in CASES and e not in NO_CHANGE]
    assert not missing, f"state-changing routes without an audit case: {missing}"


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("audit-routes")
    issuer = LiveIssuer(home, f"sqlite:///{home}/anxinma.sqlite3")
    yield Fixture(issuer)
    issuer.stop()


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_state_changing_route_leaves_one_audit_entry_naming_its_caller(
    fixture: Fixture, endpoint: str
) -> None:
    from sqlalchemy import func, select

    from anxinma.issuer.store.models import AuditEntry

    call = CASES[endpoint](fixture)
    store = fixture.issuer.runtime.store
    with store.read() as session:
        before = int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
    response = _send(fixture, call)
    assert response.status_code < 400, (
        f"{endpoint}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    )
    fixture.services.jobs.wait(timeout=30)
    with store.read() as session:
        written = list(session.execute(select(AuditEntry).order_by(AuditEntry.seq).offset(before)).scalars())
    expected = SEVERAL.get(endpoint)
    if expected is None:
        assert len(written) == 1, f"{endpoint}: {[(e.actor, e.action) for e in written]}"
    else:
        assert tuple(e.action for e in written) == expected, [(e.actor, e.action) for e in written]
    assert {e.actor for e in written} == {call.actor}, f"{endpoint}: {[(e.actor, e.action) for e in written]}"
