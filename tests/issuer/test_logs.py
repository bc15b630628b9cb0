"""Logs (issue 19, item 1): one JSON object a line with ANXINMA_LOG_FORMAT=json, and a whole run
of the service (console log-in, workers with the demo's kind of ID numbers and phones, a
credential, its verification, a bulk import) leaves no ID number, phone, password or token in
them."""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from anxinma.issuer.demo import demo_id_number
from anxinma.issuer.observability import logging_setup
from anxinma.issuer.services.auth import Role
from anxinma.issuer.services.rules import today_in_china
from tests.conftest import LiveIssuer
from tests.issuer.console_support import Console, account

HEADER = ["姓名", "身份证号", "手机号", "服务类别", "健康证有效期", "保险有效期"]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger as ``anxinma serve`` and gunicorn configure it, JSON, into a buffer."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logging_setup("json", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(0, 10**9):09d}"  # as anxinma/issuer/demo.py makes them


def test_a_full_run_logs_json_lines_with_no_personal_data_or_secret(
    live_issuer: LiveIssuer, json_log: io.StringIO
) -> None:
    issuer = live_issuer
    rng = random.Random(20261208)
    secrets_seen: list[str] = [issuer.admin_token]

    # The console: a failed and a good log-in, a worker made by hand, a search by ID number.
    enterprise = int(issuer.enterprise()["id"])  # type: ignore[call-overload]
    username, password = account(issuer, Role.ENTERPRISE_ADMIN.value, enterprise)
    secrets_seen.append(password)
    console = Console(issuer)
    console.get("/console/login")
    assert (
        console.post("/console/login", {"username": username, "password": password + "x"}).status_code != 303
    )
    console.login(username, password)
    secrets_seen += [c.value for c in console.client._cookies.values()]  # type: ignore[attr-defined]
    by_hand_id, by_hand_phone = demo_id_number(rng), _phone(rng)
    later = (today_in_china() + timedelta(days=300)).isoformat()
    made = console.post(
        "/console/workers/new",
        {
            "name": "陈秀英",
            "id_number": by_hand_id,
            "phone": by_hand_phone,
            "categories": "cleaning",
            "health_certificate_valid_until": later,
            "insurance_valid_until": later,
            "issue": "1",
        },
    )
    assert made.status_code == 303, made.get_data(as_text=True)[:800]
    assert console.get(f"/console/workers?q={by_hand_id}").status_code == 200

    # The API: a worker with an ID number and phone, a credential, an enterprise token.
    api_id, api_phone = demo_id_number(rng), _phone(rng)
    worker = issuer.worker(enterprise, id_number=api_id, phone=api_phone)
    issued = issuer.credential(int(worker["id"]))  # type: ignore[call-overload]
    code = str(issued["code"])
    enterprise_token = issuer.token(Role.ENTERPRISE_ADMIN.value, enterprise)
    secrets_seen.append(enterprise_token)
    listed = issuer.api("GET", f"/api/v1/workers?q={api_id}", token=enterprise_token)
    assert listed.status_code == 200
    assert issuer.api("GET", "/api/v1/workers", token="not-a-token").status_code == 401

    # The consumer: the page of the credential's URL and the live record.
    path = code.split(issuer.url, 1)[1] if code.startswith(issuer.url) else f"/v/{code}"
    assert issuer.api("GET", path, token="").status_code == 200
    live = issuer.api("POST", "/api/v1/live", token="", json={"code": code})
    assert live.status_code == 200
    secrets_seen.append(live.json()["token"])

    # A bulk import: five rows, one of them bad, run to the end.
    rows = [["王秀英", demo_id_number(rng), _phone(rng), "保洁、育婴", later, later] for _ in range(5)]
    rows[3][1] = rows[3][1][:-1] + ("0" if rows[3][1][-1] != "0" else "1")  # a wrong check character
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    upload = console.post(
        "/console/import",
        {"file": (io.BytesIO(out.getvalue().encode("utf-8-sig")), "workers.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 303, upload.get_data(as_text=True)[:500]
    job = int(upload.headers["Location"].rsplit("/", 1)[1])
    assert console.post(f"/console/import/{job}/run", {}).status_code == 303
    deadline = time.monotonic() + 30
    while (console.get(f"/console/import/{job}/status").json or {}).get("state") == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    # Every line is one JSON object with the fields; access lines name the route, not the path.
    lines = [line for line in json_log.getvalue().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "anxinma.access"]
    assert len(access) >= 15
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record)
    for record in access:
        assert {"route", "method", "status", "duration_ms"} <= set(record) and record["request_id"]
        assert "?" not in record["message"] and "?" not in record["route"]
    routes = {r["route"] for r in access}
    assert "/console/login" in routes and "/api/v1/live" in routes and "/console/import" in routes

    # Nothing personal or secret anywhere in the whole log.
    whole = json_log.getvalue()
    personal = [by_hand_id, by_hand_phone, api_id, api_phone] + [v for row in rows for v in (row[1], row[2])]
    for value in personal + secrets_seen + [code, code.rsplit("/", 1)[-1]]:
        assert value and value not in whole, f"{value[:12]}… is in the log"
    for number in personal:  # nor the tail of one (a masked form would show the last digits only)
        assert number[:14] not in whole
