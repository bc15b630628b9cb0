"""District regulators (issue 21, item 5): a regulator account confined to one district (区县)
sees the enterprises registered there only (characters 3–8 of the 统一社会信用代码).

The world of test_tenant_routes with A in 海曙区 (330203) and B in 江北区 (330205): every route of
the URL map, called by B's district regulator (API token and console session) with A's ids,
answers what it answers for no record, and no listing, figure or export shows A's data.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import update

from anxinma.issuer.services.auth import Role
from anxinma.issuer.store.models import Enterprise
from tests.conftest import LiveIssuer
from tests.issuer.console_support import Console, text
from tests.issuer.routes_support import World, build_world, token_client
from tests.issuer.test_tenant_routes import Caller, walk_as_another_tenant

HAISHU, JIANGBEI = "330203", "330205"


def _move(issuer: LiveIssuer, enterprise_id: int, district: str) -> None:
    """Register ``enterprise_id`` in ``district`` (its credit code's characters 3–8)."""
    with issuer.runtime.store.write() as session:
        row = session.get(Enterprise, enterprise_id)
        assert row is not None
        code = row.credit_code[:2] + district + row.credit_code[8:]
        session.execute(update(Enterprise).where(Enterprise.id == enterprise_id).values(credit_code=code))


@pytest.fixture
def world(live_issuer: LiveIssuer) -> World:
    built = build_world(live_issuer)
    _move(live_issuer, built.a, HAISHU)
    _move(live_issuer, built.b, JIANGBEI)
    return built


def _session(issuer: LiveIssuer, district: str | None) -> Console:
    username, password = f"reg-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    issuer.runtime.service.accounts.create_user(username, password, Role.REGULATOR, district=district)
    console = Console(issuer)
    console.login(username, password)
    return console


def _token(issuer: LiveIssuer, district: str | None) -> Any:
    _, token = issuer.runtime.service.accounts.create_token(Role.REGULATOR, district=district)
    return token_client(issuer, token)


class DistrictCaller(Caller):
    """B's district regulator (江北区): an API token or a console session."""

    def __init__(self, world: World, kind: str) -> None:
        self.kind, self.role = kind, "regulator"
        self.console = _session(world.issuer, JIANGBEI) if kind == "session" else None
        if kind == "token":
            self.client = _token(world.issuer, JIANGBEI)


@pytest.mark.parametrize("kind", ["token", "session"])
def test_a_district_regulator_never_reaches_another_districts_data(world: World, kind: str) -> None:
    caller = DistrictCaller(world, kind)
    before = world.audit_count()
    failures, checked = walk_as_another_tenant(world, caller, consoles=kind == "session")
    assert not failures, f"{caller}:\n" + "\n".join(failures)
    assert checked > 40, checked
    written = world.audit_since(before)
    assert not [e for e in written if e.action not in ("user.create", "token.create", "session.start")], [
        (e.actor, e.action, e.target_id) for e in written
    ]


def test_the_districts_own_regulator_and_the_city_see_it(world: World) -> None:
    """Haishu's regulator reaches A's records and lists A, not B; the city's sees both: the
    refusals above are the district rule's, not a regulator's."""
    haishu = _token(world.issuer, HAISHU)
    assert haishu.open("GET", f"/api/v1/workers/{world.ids['worker_id']}").status_code == 200
    assert haishu.open("GET", f"/api/v1/workers/{world.b_ids['worker_id']}").status_code == 404
    listed = {w["enterprise_id"] for w in haishu.open("GET", "/api/v1/workers").get_json()["items"]}
    assert listed == {world.a}
    city = _token(world.issuer, None)
    listed = {w["enterprise_id"] for w in city.open("GET", "/api/v1/workers").get_json()["items"]}
    assert {world.a, world.b} <= listed
    page = text(_session(world.issuer, HAISHU).get("/console/dashboard"))
    assert "甲方独有" in page and "乙方家政" not in page
    page = text(_session(world.issuer, None).get("/console/dashboard"))
    assert "甲方独有" in page and "乙方家政" in page


def test_a_district_is_a_regulators_and_a_division_code(live_issuer: LiveIssuer) -> None:
    admin = token_client(live_issuer, live_issuer.token("issuer_admin"))
    made = admin.open("POST", "/api/v1/tokens", json={"role": "regulator", "district": HAISHU})
    assert made.status_code == 201 and made.get_json()["district"] == HAISHU
    for body in (
        {"role": "regulator", "district": "33020"},
        {"role": "regulator", "district": 330203},
        {"role": "issuer_admin", "district": HAISHU},
    ):
        got = admin.open("POST", "/api/v1/tokens", json=body)
        assert got.status_code == 400, (body, got.get_json())
        assert "district" in str(got.get_json()), got.get_json()


def test_the_city_dashboard_has_a_row_per_district(world: World) -> None:
    """One row each for 海曙区 and 江北区 (one enterprise, one working worker each); a district's
    own regulator gets no district table (it is one district)."""
    import re

    page = text(_session(world.issuer, None).get("/console/dashboard"))
    assert 'id="h-district"' in page, page[:2000]
    table = page[page.index('id="h-district"') : page.index('id="h-ent"')]
    for name, code in (("海曙区", HAISHU), ("江北区", JIANGBEI)):
        row = re.search(
            rf"<tr>\s*<td>{name} <small class=\"muted\">{code}</small></td>\s*<td class=\"num\">(\d+)</td>",
            table,
        )
        assert row is not None and row.group(1) == "1", (name, table)
    own = text(_session(world.issuer, HAISHU).get("/console/dashboard"))
    assert 'id="h-district"' not in own and "江北区" not in own


def test_the_admin_console_makes_district_accounts(world: World) -> None:
    """The 用户 and 令牌 pages take a district; a wrong one is refused on the page."""
    admin = Console.signed_in(world.issuer, "issuer_admin")
    bad = admin.post(
        "/console/admin/users",
        {"username": "haishu", "password": "a long password", "role": "regulator", "district": "3302"},
    )
    assert bad.status_code == 400 and "6 位行政区划代码" in text(bad)
    made = admin.post(
        "/console/admin/users",
        {"username": "haishu", "password": "a long password", "role": "regulator", "district": HAISHU},
    )
    assert made.status_code == 303
    assert f"区县 {HAISHU}" in text(admin.get("/console/admin/users"))
    regulator = Console(world.issuer)
    regulator.login("haishu", "a long password")
    page = text(regulator.get("/console/dashboard"))
    assert "甲方独有" in page and "乙方家政" not in page
    token = admin.post("/console/admin/tokens", {"role": "regulator", "district": JIANGBEI})
    assert token.status_code == 201 and f"区县 {JIANGBEI}" in text(token)


def test_the_cli_makes_district_accounts(world: World) -> None:
    from tests.issuer.test_commands import _cli, _cli_input

    made = _cli_input(
        world.issuer,
        "a long password\na long password\n",
        *("user", "create", "--username", "beilun", "--role", "regulator", "--district", HAISHU),
    )
    assert made.returncode == 0 and f"district {HAISHU}" in made.stdout, made.stderr
    console = Console(world.issuer)
    console.login("beilun", "a long password")
    assert "乙方家政" not in text(console.get("/console/dashboard"))
    token = _cli(world.issuer, "token", "create", "--role", "regulator", "--district", JIANGBEI)
    assert token.returncode == 0, token.stderr
    client = token_client(world.issuer, token.stdout.strip())
    listed = {w["enterprise_id"] for w in client.open("GET", "/api/v1/workers").get_json()["items"]}
    assert listed == {world.b}
    wrong = _cli(world.issuer, "token", "create", "--role", "enterprise_admin", "--district", JIANGBEI)
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr


def test_a_district_account_says_its_district_and_its_jobs_keep_it(world: World) -> None:
    """/api/v1/me names the district; a durable job's actor string brings it back (a job
    resumed on another host acts for the district, not the whole city)."""
    from anxinma.issuer.services.auth import Principal

    me = _token(world.issuer, HAISHU).open("GET", "/api/v1/me").get_json()
    assert me == {"role": "regulator", "enterprise_id": None, "kind": "token", "district": HAISHU}
    who = Principal("token", "9", Role.REGULATOR, district=HAISHU)
    assert who.actor == f"token:9:regulator@d{HAISHU}"
    assert Principal.from_actor(who.actor) == who
    assert Principal.from_actor("token:9:enterprise_admin@7").enterprise_id == 7
