"""The live record's own per-client limiter (anxinma/issuer/web/ratelimit.py): a moving window
per client address, in process or shared through Redis, with no thread started per request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis

from anxinma.ed25519 import SigningKey
from anxinma.issuer.services.live import LIVE_TYPE, sign_live_jws
from anxinma.issuer.web import ratelimit
from anxinma.issuer.web.ratelimit import KEY_PREFIX, MovingWindowLimiter
from tests.conftest import RedisServer


class Clock:
    """time.time() for the limiter module, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit.time, "time", fake)
    return fake


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """``make(rules) -> MovingWindowLimiter`` in process, or on a redis-server of the test's own."""
    server: RedisServer | None = None
    if request.param == "redis":
        server = RedisServer(tmp_path)
        server.start()
    url = server.url if server else None
    yield lambda rules: MovingWindowLimiter(rules, url)
    if server is not None:
        server.stop()


def test_a_moving_window_not_a_fixed_one(make_limiter: Any, clock: Clock) -> None:
    """3 per minute: a burst at the end of one minute and the start of the next is still 3 in any
    60 s (a fixed window would let 6 through), and a slot frees exactly when a hit leaves it."""
    limiter = make_limiter("3 per minute")
    clock.now += 50
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, True]
    clock.now += 15  # the next calendar minute for a fixed window
    refused = limiter.hit("a")
    assert not refused.allowed and refused.headers()["Retry-After"] == str(46)
    clock.now += 45.5  # 60.5 s after the burst: all three left the window
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, True]
    assert not limiter.hit("a").allowed


def test_per_client_and_refusals_do_not_count(make_limiter: Any, clock: Clock) -> None:
    limiter = make_limiter("2 per minute")
    assert [limiter.hit("198.51.100.1").allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("198.51.100.2").allowed  # another client has its own window
    for _ in range(5):  # hammering while refused does not push the reopening back
        clock.now += 10
        assert not limiter.hit("198.51.100.1").allowed
    clock.now += 10.5
    assert limiter.hit("198.51.100.1").allowed


def test_every_rule_applies(make_limiter: Any, clock: Clock) -> None:
    limiter = make_limiter("2/second; 3 per minute")
    first = limiter.hit("c")
    assert first.allowed and first.headers()["X-RateLimit-Limit"] == "2"
    assert first.headers()["X-RateLimit-Remaining"] == "1"
    assert limiter.hit("c").allowed
    assert not limiter.hit("c").allowed  # the per-second rule
    clock.now += 1.5
    assert limiter.hit("c").allowed
    clock.now += 1.5
    refused = limiter.hit("c")  # the per-minute rule now
    assert not refused.allowed and refused.limit == 3


def test_stale_clients_are_forgotten_without_a_thread(clock: Clock) -> None:
    limiter = MovingWindowLimiter("5 per minute")
    for n in range(100):
        limiter.hit(f"10.0.0.{n}")
    clock.now += MovingWindowLimiter.SWEEP_SECONDS + 1
    limiter.hit("10.0.1.1")
    assert list(limiter._hits) == ["10.0.1.1"]


def _app(home: Path, redis_url: str | None, rule: str) -> Any:
    from anxinma.issuer import IssuerConfig, create_app

    return create_app(
        IssuerConfig(
            home=home,
            database_url=f"sqlite:///{home / 'anxinma.sqlite3'}",
            dev_bootstrap=True,
            background=False,
            redis_url=redis_url,
            live_rate_limit=rule,
        )
    )


def _lookup(app: Any, address: str) -> Any:
    client = app.test_client()
    return client.post("/api/v1/live", json={"code": "not a code"}, environ_base={"REMOTE_ADDR": address})


def test_limit_is_per_client_and_shared_by_two_apps_through_one_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Two instances (as two gunicorn workers or two hosts) on one Redis count one client's
    requests together, and another client's apart. Every request counts, refused ones too (a
    400 for text that is not a credential), as flask-limiter counted them."""
    first = _app(tmp_path, redis_server.url, "3 per minute")
    second = _app(tmp_path, redis_server.url, "3 per minute")
    try:
        codes = [_lookup(app, "203.0.113.7").status_code for app in (first, second, first, second)]
        assert codes == [400, 400, 400, 429]
        limited = _lookup(first, "203.0.113.7")
        assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert _lookup(second, "203.0.113.8").status_code == 400  # another client
        keys = {k.decode() for k in redis.Redis.from_url(redis_server.url).keys(f"{KEY_PREFIX}*")}
        assert len(keys) == 2 and all(k.endswith("/3/60") for k in keys)
    finally:
        for app in (first, second):
            app.extensions["anxinma"].close()


def test_redis_down_serves_unlimited(tmp_path: Path, redis_server: RedisServer) -> None:
    """A limiter outage must not take the live record down (flask-limiter's swallow_errors)."""
    app = _app(tmp_path, redis_server.url, "1 per minute")
    try:
        assert _lookup(app, "203.0.113.9").status_code == 400
        assert _lookup(app, "203.0.113.9").status_code == 429
        redis_server.stop()
        assert _lookup(app, "203.0.113.9").status_code == 400
    finally:
        app.extensions["anxinma"].close()


def test_a_lookup_starts_no_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flask-limiter's in-memory storage started a threading.Timer on a large share of live
    requests (663 threads for 2,000 lookups in the lead's profile); the embedded limit starts none."""
    app = _app(tmp_path, None, "1000 per minute")
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    try:
        for _ in range(30):
            assert _lookup(app, "192.0.2.1").status_code == 400
        assert started == []
    finally:
        monkeypatch.undo()
        app.extensions["anxinma"].close()


def test_the_live_jws_is_what_pyjwt_makes() -> None:
    """The record is signed directly through the Ed25519 seam; byte for byte PyJWT's token
    (verifiers and the page already accept that), non-ASCII text and nested claims included."""
    key = SigningKey(bytes(range(32)))
    kid = bytes.fromhex("0123456789abcdef")
    claims = {
        "iss": "330200",
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
        "display_name": "王师傅",
        "enterprise": {"id": 3, "name": "安心家政", "credit_code_masked": "9133****12"},
        "rating": {"count": 0, "average": None},
        "categories": ["保洁", "月嫂"],
        "attention": [],
    }
    expected = jwt.encode(
        claims, key.to_cryptography(), algorithm="EdDSA", headers={"typ": LIVE_TYPE, "kid": kid.hex()}
    )
    assert sign_live_jws(claims, kid, key) == expected
    decoded = jwt.decode(expected, key.to_cryptography().public_key(), algorithms=["EdDSA"])
    assert decoded["display_name"] == "王师傅"
