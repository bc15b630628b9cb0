"""Ratings a photo cannot move (issue 17 finding 4) and verified visits (issue 18 item 6), against
the served issuer: the attack from one client and from many, the caps of the rating rule
(anxinma/issuer/services/rating_rule.py), the weight of a visit made from a dynamic code, and a
stale or forged dynamic code refused with nothing recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import func, insert, select

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.credential.presentation import present
from anxinma.issuer.store.models import Rating, Visit, utcnow
from tests.conftest import LiveIssuer

#: Prior ratings of the attacked worker: nine five-star ratings, weight 1, from before the window.
PRIOR = 9


def live_rating(issuer: LiveIssuer, code: str) -> dict[str, Any]:
    token = issuer.api("POST", "/api/v1/live", token="", json={"code": code}).json()["token"]
    return jwt.decode(token, options={"verify_signature": False})["rating"]  # type: ignore[no-any-return]


def seed_history(issuer: LiveIssuer, issued: dict[str, Any], count: int = PRIOR, score: int = 5) -> None:
    """``count`` counted consumer ratings of the worker, 40 days old (as if from other homes)."""
    rows = [
        {
            "worker_id": issued["worker_id"],
            "enterprise_id": issued["enterprise_id"],
            "credential_serial": issued["serial"],
            "source": "consumer",
            "score": score,
            "created_at": utcnow() - timedelta(days=40, minutes=n),
        }
        for n in range(count)
    ]
    with issuer.runtime.store.write() as session:
        session.execute(insert(Rating.__table__), rows)


def attack(issuer: LiveIssuer, code: str, attempts: int, headers: Callable[[int], dict[str, str]]) -> int:
    """确认入户 then a one-star rating, ``attempts`` times; how many ratings were accepted (201)."""
    accepted = 0
    for n in range(attempts):
        visit = issuer.api("POST", "/api/v1/visits", token="", json={"code": code}, headers=headers(n))
        if visit.status_code != 201:
            continue
        body = {"token": visit.json()["rating_token"], "score": 1}
        path = f"/api/v1/visits/{visit.json()['visit_id']}/rating"
        accepted += issuer.api("POST", path, token="", json=body, headers=headers(n)).status_code == 201
    return accepted


def test_a_photographed_badge_cannot_move_the_public_average(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    """The attack of issue 17: the badge's QR, 25 × (确认入户, one star) from one client. Before
    the rule: every rating counted (average 5.0 → 2.2 over 29). The bound: one client without
    the worker's phone adds at most one counted rating of weight 1, so the average held with
    weight W = 9 moves by at most 4 / (W + 1) = 0.4 stars."""
    issuer = live_issuer_factory(extra={"visit_rate_limit": "1000 per minute"})
    issued = issuer.credential()
    code = str(issued["code"])
    seed_history(issuer, issued)
    before = live_rating(issuer, code)
    assert (before["count"], before["average"]) == (PRIOR, 5.0)

    attack(issuer, code, 25, lambda n: {})
    after = live_rating(issuer, code)
    assert after["count"] <= PRIOR + 1
    assert before["average"] - after["average"] <= 4 / (PRIOR + 1) + 1e-9
    with issuer.runtime.store.read() as session:  # every rating is kept, the extra ones flagged
        stored = session.execute(
            select(func.count(Rating.id)).where(Rating.__table__.c.counted.is_(False))
        ).scalar_one()
    assert stored >= 15


def test_many_clients_add_at_most_three_counted_ratings_a_day_to_one_credential(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    """A shared photo rated from 25 addresses (behind the proxy: X-Forwarded-For) in one day:
    at most 3 counted (credential_daily), so the average moves by at most 4·3 / (W + 3) = 1.0."""
    issuer = live_issuer_factory(proxies=1, extra={"visit_rate_limit": "1000 per minute"})
    issued = issuer.credential()
    code = str(issued["code"])
    seed_history(issuer, issued)
    before = live_rating(issuer, code)
    accepted = attack(issuer, code, 25, lambda n: {"X-Forwarded-For": f"203.0.113.{n + 1}"})
    assert accepted == 20  # the visit cap of a credential (20 a day) stops the rest at the door
    after = live_rating(issuer, code)
    assert after["count"] == PRIOR + 3
    assert before["average"] - after["average"] <= 12 / (PRIOR + 3) + 1e-9
    owner = issuer.token("enterprise_admin", int(issued["enterprise_id"]))
    listed = issuer.api("GET", "/api/v1/ratings?source=consumer&per_page=200", token=owner).json()["items"]
    flags = sorted(str(r["flag"]) for r in listed if not r["counted"])
    assert flags == ["credential_daily"] * 17


def test_one_client_counts_once_per_worker_and_three_times_a_day(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    issuer = live_issuer_factory(proxies=1, extra={"visit_rate_limit": "1000 per minute"})
    home = {"X-Forwarded-For": "2001:db8:1:2::10"}
    same_home = {"X-Forwarded-For": "2001:db8:1:2::99"}  # another device of the same /64
    codes = [str(issuer.credential()["code"]) for _ in range(5)]

    def rate(code: str, headers: dict[str, str]) -> dict[str, Any]:
        visit = issuer.api("POST", "/api/v1/visits", token="", json={"code": code}, headers=headers).json()
        body = {"token": visit["rating_token"], "score": 4}
        rated = issuer.api(
            "POST", f"/api/v1/visits/{visit['visit_id']}/rating", token="", json=body, headers=headers
        )
        assert rated.status_code == 201, rated.text
        return rated.json()  # type: ignore[no-any-return]

    first = rate(codes[0], home)
    assert (first["counted"], first["flag"], first["weight"]) == (True, None, 1)
    assert first["rating"] == {"count": 1, "average": 4.0, "verified_count": 0}
    again = rate(codes[0], same_home)
    assert (again["counted"], again["flag"]) == (False, "client_repeat")
    assert again["rating"]["count"] == 1
    assert [rate(c, home)["counted"] for c in codes[1:3]] == [True, True]
    fourth = rate(codes[3], home)
    assert (fourth["counted"], fourth["flag"]) == (False, "client_daily")
    assert rate(codes[4], {"X-Forwarded-For": "198.51.100.7"})["counted"] is True  # another home


# -- verified visits (the dynamic code) -------------------------------------------------------


def phone_credential(issuer: LiveIssuer) -> tuple[dict[str, Any], fmt.Credential, ed25519.SigningKey]:
    phone = ed25519.SigningKey.generate()
    worker = issuer.worker()
    response = issuer.api(
        "POST", f"/api/v1/workers/{worker['id']}/credentials", json={"holder_key": phone.public_key.hex()}
    )
    assert response.status_code == 201, response.text
    issued = response.json()
    return issued, fmt.decode(bytes.fromhex(issued["hex"])), phone


def visits_of(issuer: LiveIssuer, serial: int) -> list[bool]:
    with issuer.runtime.store.read() as session:
        return [
            bool(v)
            for v in session.execute(
                select(Visit.__table__.c.verified).where(Visit.credential_serial == serial)
            ).scalars()
        ]


def test_entry_from_a_dynamic_code_is_a_verified_visit_and_its_rating_weighs_three(
    live_issuer_factory: Callable[..., LiveIssuer],
) -> None:
    issuer = live_issuer_factory(proxies=1)
    issued, credential, phone = phone_credential(issuer)
    shown = present(credential, phone, int(time.time()))
    visit = issuer.api("POST", "/api/v1/visits", token="", json={"code": shown.to_url(issuer.url)})
    assert visit.status_code == 201, visit.text
    assert visit.json()["verified"] is True
    plain = issuer.api("POST", "/api/v1/visits", token="", json={"code": issued["code"]})
    assert plain.status_code == 201 and plain.json()["verified"] is False  # the bare code: unverified
    assert visits_of(issuer, issued["serial"]) == [True, False]

    def rate(answer: Any, score: int, address: str) -> dict[str, Any]:
        body = {"token": answer.json()["rating_token"], "score": score}
        path = f"/api/v1/visits/{answer.json()['visit_id']}/rating"
        rated = issuer.api("POST", path, token="", json=body, headers={"X-Forwarded-For": address})
        assert rated.status_code == 201, rated.text
        return rated.json()  # type: ignore[no-any-return]

    assert rate(plain, 5, "198.51.100.1")["weight"] == 1
    verified = rate(visit, 1, "198.51.100.2")
    assert (verified["verified"], verified["weight"], verified["counted"]) == (True, 3, True)
    # (5·1 + 1·3) / (1 + 3) = 2.0: the verified visit weighs three times the unverified one.
    assert live_rating(issuer, str(issued["code"])) == {"count": 2, "average": 2.0, "verified_count": 1}


def test_a_stale_future_or_forged_dynamic_code_records_no_visit(live_issuer: LiveIssuer) -> None:
    issued, credential, phone = phone_credential(live_issuer)
    now = int(time.time())

    def confirm(code: str) -> Any:
        return live_issuer.api("POST", "/api/v1/visits", token="", json={"code": code})

    stale = confirm(present(credential, phone, now - 200).to_hex())
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "holder_proof_expired"
    assert "截图" in stale.json()["error"]["zh"] and "screenshot" in stale.json()["error"]["en"]
    ahead = confirm(present(credential, phone, now + 600).to_hex())
    assert ahead.status_code == 409 and ahead.json()["error"]["code"] == "holder_proof_expired"
    good = present(credential, phone, now)
    forged = bytearray(good.to_bytes())
    forged[-1] ^= 1  # one bit of the proof
    refused = confirm(bytes(forged).hex())
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "bad_holder_proof"
    other = ed25519.SigningKey.generate()  # a proof by another phone over this credential
    stranger = good.to_bytes()[:-64] + other.sign(good.signed_bytes())
    assert confirm(stranger.hex()).json()["error"]["code"] == "bad_holder_proof"
    truncated = confirm(good.to_hex()[:-2])
    assert truncated.status_code == 400 and "code" in truncated.json()["error"]["fields"]
    assert visits_of(live_issuer, issued["serial"]) == []
    assert confirm(good.to_hex()).status_code == 201


def test_the_dynamic_code_anxinma_present_prints_confirms_a_verified_visit_until_it_is_stale(
    live_issuer: LiveIssuer, tmp_path: Any
) -> None:
    from datetime import UTC, datetime

    from click.testing import CliRunner
    from cryptography.hazmat.primitives import serialization

    from anxinma.cli import main

    issued, _, phone = phone_credential(live_issuer)
    key_file = tmp_path / "holder.pem"
    key_file.write_bytes(
        phone.to_cryptography().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    def presented(*extra: str) -> str:
        result = CliRunner().invoke(
            main, ["present", str(issued["code"]), "--holder-key", str(key_file), *extra]
        )
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    fresh = live_issuer.api("POST", "/api/v1/visits", token="", json={"code": presented()})
    assert fresh.status_code == 201 and fresh.json()["verified"] is True, fresh.text
    old = (datetime.now(UTC) - timedelta(seconds=120)).isoformat()
    stale = live_issuer.api("POST", "/api/v1/visits", token="", json={"code": presented("--at", old)})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "holder_proof_expired"
    assert visits_of(live_issuer, issued["serial"]) == [True]


def test_concurrent_ratings_from_one_client_count_once(issuer_on: LiveIssuer) -> None:
    """Six visits of one worker rated at once from one client: the worker's row lock makes the
    rule judge them one after another, so exactly one counts (SQLite and PostgreSQL)."""
    import threading

    code = str(issuer_on.credential()["code"])
    visits = [issuer_on.api("POST", "/api/v1/visits", token="", json={"code": code}).json() for _ in range(6)]
    start = threading.Barrier(len(visits))
    answers: list[dict[str, Any]] = []

    def rate(visit: dict[str, Any]) -> None:
        start.wait()
        body = {"token": visit["rating_token"], "score": 2}
        answers.append(
            issuer_on.api("POST", f"/api/v1/visits/{visit['visit_id']}/rating", token="", json=body).json()
        )

    threads = [threading.Thread(target=rate, args=(v,)) for v in visits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(bool(a["counted"]) for a in answers) == [False] * 5 + [True]
    assert live_rating(issuer_on, code)["count"] == 1
