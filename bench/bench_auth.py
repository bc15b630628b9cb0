"""Sign-in benchmarks (issues 17 and 19): what the strong password hash costs a sign-in, what a
server-side session costs every authenticated request, and what the sign-in limits add.

``python -m bench auth``. Server time through Flask's test client (no network), SQLite store;
the limits' counts in memory and, when the machine's Redis (127.0.0.1:6379) answers, in Redis.
"""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from anxinma.issuer.services.throttle import AttemptGuard
from bench._report import rate, write_section


def _median_seconds(func: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _redis_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 6379)) == 0


def _attempts(guard: AttemptGuard) -> Callable[[], None]:
    """One failed sign-in after another, over 50 accounts and 200 addresses."""
    counter = iter(range(10**9))

    def attempt() -> None:
        n = next(counter)
        guard.check_sign_in(f"user-{n % 50}", f"192.0.2.{n % 200}")
        guard.failed_sign_in(f"user-{n % 50}", f"192.0.2.{n % 200}")

    return attempt


def main() -> None:
    from anxinma.issuer import IssuerConfig, create_app
    from anxinma.issuer.services import auth
    from anxinma.issuer.services.auth import Role

    load = os.getloadavg()[0]
    lines = [
        "| what | result |",
        "| --- | --- |",
    ]
    strong = _median_seconds(lambda: auth.hash_password("correct horse battery"), 5)
    stored = auth.hash_password("correct horse battery")
    check = _median_seconds(lambda: auth.check_password("correct horse battery", stored), 5)
    lines.append(f"| scrypt N=2^17, r=8, p=1: hash a password (median of 5) | {strong * 1000:.0f} ms |")
    lines.append(f"| the same: check a password (a sign-in) | {check * 1000:.0f} ms |")
    print(f"hash {strong:.3f} s, check {check:.3f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        app = create_app(
            IssuerConfig(
                home=home,
                database_url=f"sqlite:///{home / 'a.sqlite3'}",
                dev_bootstrap=True,
                background=False,
            )
        )
        runtime = app.extensions["anxinma"]
        accounts = runtime.service.accounts
        accounts.create_user("bench-user", "bench-password-1", Role.REGULATOR)
        session_token, _expires, _user = accounts.login("bench-user", "bench-password-1")
        _token_id, api_token = accounts.create_token(Role.REGULATOR)
        per_session = rate(lambda: accounts.authenticate(session_token, client="192.0.2.1"))
        per_token = rate(lambda: accounts.authenticate(api_token, client="192.0.2.1"))
        lines.append(
            f"| authenticate a session JWT (signature + its `user_sessions` row and user, one query) "
            f"| {per_session:,.0f}/s ({1e6 / per_session:.0f} µs) |"
        )
        lines.append(
            f"| authenticate an API token (one query), for comparison | {per_token:,.0f}/s ({1e6 / per_token:.0f} µs) |"
        )
        client = app.test_client()
        me = rate(lambda: client.get("/api/v1/me", headers={"Authorization": f"Bearer {session_token}"}))
        lines.append(f"| `GET /api/v1/me` with a session as Bearer (server time) | {me:,.0f}/s |")
        print(f"session {per_session:,.0f}/s, token {per_token:,.0f}/s, /me {me:,.0f}/s", flush=True)
        runtime.close()

    for where, url in (("memory", None), ("Redis", "redis://127.0.0.1:6379/0" if _redis_up() else None)):
        if where == "Redis" and url is None:
            lines.append("| the sign-in limits in Redis | not run: no Redis on 127.0.0.1:6379 |")
            continue
        guard = AttemptGuard(
            url,
            account_rule="1000000 per minute",
            client_rule="1000000 per minute",
            namespace=f"anxinma-bench:{os.getpid()}",
        )
        per_second = rate(_attempts(guard), repeat=5)
        lines.append(
            f"| the sign-in limits ({where}): check and count one failure | {per_second:,.0f}/s "
            f"({1e6 / per_second:.0f} µs, against {check * 1000:.0f} ms of scrypt) |"
        )
        print(f"guard {where} {per_second:,.0f}/s", flush=True)

    body = "\n".join(
        [
            "### Sign-in: the password hash, server-side sessions and the sign-in limits",
            "",
            *lines,
            "",
            f"Load average at the start: {load:.2f} (the machine is shared; scrypt's time grows with it).",
            "The hash is the whole cost of a sign-in; the session row costs an authenticated request",
            "one indexed join instead of the user read it made before.",
        ]
    )
    write_section("auth", body)


if __name__ == "__main__":
    main()
