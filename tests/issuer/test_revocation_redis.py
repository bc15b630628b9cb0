"""Revocation is never lost: Redis killed in the middle of a burst, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
import redis

from anxinma.issuer.services.propagation import redis_to_packed
from anxinma.status_list import StatusArray
from tests.conftest import LiveIssuer, RedisServer

pytestmark = pytest.mark.redis


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _issue_many(issuer: LiveIssuer, count: int) -> list[int]:
    from anxinma.issuer.services.auth import SYSTEM
    from anxinma.issuer.services.issuing import IssueItem

    enterprise = int(issuer.enterprise()["id"])  # type: ignore[call-overload]
    workers = [int(issuer.worker(enterprise)["id"]) for _ in range(count)]  # type: ignore[call-overload]
    service = issuer.runtime.service
    with service.tx() as unit:
        issued = service.issuing.issue_many(unit, SYSTEM, [IssueItem(w) for w in workers])
    return [i.row.serial for i in issued]


def test_revocations_survive_redis_dying_mid_burst(
    live_issuer_factory: Callable[..., LiveIssuer], database_url: str, redis_server: RedisServer
) -> None:
    issuer = live_issuer_factory(database_url, redis_server.url)
    serials = _issue_many(issuer, 40)
    client = redis.Redis.from_url(redis_server.url)
    _wait(lambda: client.get("anxinma:status:330200:seq") is not None)
    subscriber = client.pubsub()
    subscriber.subscribe("anxinma:status:330200")
    received: list[int] = []

    def listen() -> None:
        try:
            for message in subscriber.listen():
                if message["type"] == "message":
                    received.append(int(json.loads(message["data"])["serial"]))
        except (redis.RedisError, ValueError, OSError):
            return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.2)
    statuses = []
    for index, serial in enumerate(serials):
        if index == 15:
            redis_server.stop()  # SIGKILL in the middle of the burst
        response = issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "left"})
        statuses.append(response.status_code)
    assert statuses == [200] * len(serials), "revoking must succeed while Redis is down"
    assert set(serials[:10]) <= set(received), "revocations before the kill were published"
    # Reads fall back to the database while Redis is down.
    board = issuer.runtime.board
    assert all(board.value(serial) == 1 for serial in serials)

    redis_server.start()  # an empty Redis: the reconciler must rebuild it from the database
    fresh = redis.Redis.from_url(redis_server.url)
    _wait(lambda: fresh.get("anxinma:status:330200:seq") is not None)
    packed = redis_to_packed(fresh.get("anxinma:status:330200:0") or b"")
    array = StatusArray(max(serials) + 1, packed)
    assert [int(array.get(s)) for s in serials] == [1] * len(serials)
    # The database is the truth for every reader: nothing was lost there either.
    from sqlalchemy import select

    from anxinma.issuer.store.models import Credential

    with issuer.runtime.store.read() as session:
        rows = (
            session.execute(select(Credential.status).where(Credential.serial.in_(serials))).scalars().all()
        )
    assert rows == ["revoked"] * len(serials)
    # The published status list (what offline verifiers sync) says the same.
    from anxinma.status_list import CredentialStatus, load_status_list

    keys = issuer.runtime.keys
    published = load_status_list(issuer.status_list(0), lambda code, kid: keys.key(kid).public_key)
    assert {published.status(s) for s in serials} == {CredentialStatus.REVOKED}
    # And the next revocation goes through Redis again.
    more = _issue_many(issuer, 1)[0]
    assert (
        issuer.api("POST", f"/api/v1/credentials/{more}/revoke", json={"reason": "lost"}).status_code == 200
    )
    _wait(lambda: fresh.bitfield("anxinma:status:330200:0").get("u2", f"#{more}").execute()[0] == 1)
    subscriber.close()


def test_without_redis_in_process_subscribers_hear_revocations(live_issuer: LiveIssuer) -> None:
    heard = []
    unsubscribe = live_issuer.runtime.publisher.subscribe(
        lambda change: heard.append((change.serial, change.status))
    )
    issued = live_issuer.credential()
    live_issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/suspend", json={})
    live_issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/reinstate", json={})
    unsubscribe()
    serial = int(issued["serial"])  # type: ignore[call-overload]
    assert heard == [(serial, "valid"), (serial, "suspended"), (serial, "valid")]


def test_live_record_rate_limit_is_kept_in_redis(
    live_issuer_factory: Callable[..., LiveIssuer], redis_server: RedisServer
) -> None:
    issuer = live_issuer_factory(redis_url=redis_server.url, live_rate_limit="2 per minute")
    issued = issuer.credential()
    codes = [
        issuer.api("POST", "/api/v1/live", token="", json={"code": issued["code"]}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    keys = redis.Redis.from_url(redis_server.url).keys("LIMITS*")
    assert keys, "the limiter's counters live in Redis, shared by every worker"
