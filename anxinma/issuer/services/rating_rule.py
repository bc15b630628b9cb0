"""The rating rule: which consumer ratings count toward a worker's public average, and how much
(docs/page.md, "Ratings a photo cannot move"; issue 17 finding 4).

A QR on a badge is public: anyone with a photo of it can confirm a "visit" and rate. So a rating
is always stored (the enterprise and the regulator see every one), but it counts toward the
live record's average only within these caps, checked in this order:

1. ``client_repeat`` — one counted rating per client per worker in :data:`CLIENT_WORKER_DAYS`
   days: a household's opinion of a worker counts once a month, however often it rates.
2. ``client_daily`` — at most :data:`COUNTED_PER_CLIENT_PER_DAY` counted ratings per client per
   day (China Standard Time), across all workers: no household meets more workers than that.
3. ``credential_daily`` — at most :data:`UNVERIFIED_COUNTED_PER_CREDENTIAL_PER_DAY` counted
   ratings per credential per day from visits that were *not* verified: many clients (a
   botnet, a shared photo) add at most that many a day to one worker.

A rating from a **verified visit** (确认入户 from the worker's dynamic code: the phone was at the
door, issue 18 item 6) weighs :data:`VERIFIED_WEIGHT`, any other :data:`UNVERIFIED_WEIGHT`; the
average is ``Σ weight·score / Σ weight`` over the counted ratings. Caps 1 and 2 hold for
verified visits too (a worker confirming their own visits from their own phone is one client).

The bound this gives (tested with the attack, ``test_a_photographed_badge_cannot_move_the_public_average``):
25 (or any number of) attempts from one client without the worker's phone add at most one
counted rating of weight 1, so they move an average held with total weight ``W`` by at most
``4 / (W + 1)`` stars; from many clients in one day, at most ``4·3 / (W + 3)``.

A "client" is the caller's network address as the service sees it (behind the proxies named by
``ANXINMA_PROXIES``), an IPv6 address by its /64 (one subscriber's prefix), kept only as a
64-bit keyed hash (:func:`client_key`): it groups ratings, it cannot be turned back into an
address without the service's identity key, and it is never shown.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from anxinma import credential as fmt
from anxinma.issuer.store.loop_rows import ratings_t

VERIFIED_WEIGHT = 3
UNVERIFIED_WEIGHT = 1
CLIENT_WORKER_DAYS = 30
COUNTED_PER_CLIENT_PER_DAY = 3
UNVERIFIED_COUNTED_PER_CREDENTIAL_PER_DAY = 3
#: Why a stored rating does not count (the ``flag`` of a rating; None: it counts).
FLAGS = ("client_repeat", "client_daily", "credential_daily")


@dataclass(frozen=True)
class Judgement:
    """What the rule says of one new consumer rating."""

    counted: bool
    weight: int
    flag: str | None


def client_key(identity_key: bytes, address: str | None) -> str:
    """The 64-bit keyed hash that stands for a client (IPv6: its /64; unparsable: as given)."""
    text = (address or "").strip()
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
            text = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
        elif isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            text = str(parsed.ipv4_mapped)
    return hmac.new(identity_key, f"client:{text}".encode(), hashlib.sha256).hexdigest()[:16]


def china_day_start(now: datetime) -> datetime:
    """The start (an aware datetime) of ``now``'s day in China Standard Time."""
    local = now.astimezone(fmt.CHINA_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def judge(
    session: Any, *, worker_id: int, serial: int, client: str, verified: bool, now: datetime
) -> Judgement:
    """Whether a new consumer rating of ``worker_id`` (credential ``serial``) from ``client``
    counts, and its weight. Reads only counted consumer ratings (indexed by client and time,
    and by credential and time); the caller holds the worker's row locked so that two ratings
    of one worker are judged one after the other."""
    weight = VERIFIED_WEIGHT if verified else UNVERIFIED_WEIGHT
    c = ratings_t.c
    counted = (c.source == "consumer", c.counted.is_(True))

    def how_many(*conditions: Any) -> int:
        return int(session.execute(select(func.count(c.id)).where(*counted, *conditions)).scalar_one())

    since = now - timedelta(days=CLIENT_WORKER_DAYS)
    if how_many(c.client_hash == client, c.created_at >= since, c.worker_id == worker_id):
        return Judgement(False, weight, "client_repeat")
    day_start = china_day_start(now)
    if how_many(c.client_hash == client, c.created_at >= day_start) >= COUNTED_PER_CLIENT_PER_DAY:
        return Judgement(False, weight, "client_daily")
    if not verified and (
        how_many(c.credential_serial == serial, c.created_at >= day_start, c.verified.is_(False))
        >= UNVERIFIED_COUNTED_PER_CREDENTIAL_PER_DAY
    ):
        return Judgement(False, weight, "credential_daily")
    return Judgement(True, weight, None)


__all__ = [
    "CLIENT_WORKER_DAYS",
    "COUNTED_PER_CLIENT_PER_DAY",
    "FLAGS",
    "UNVERIFIED_COUNTED_PER_CREDENTIAL_PER_DAY",
    "UNVERIFIED_WEIGHT",
    "VERIFIED_WEIGHT",
    "Judgement",
    "china_day_start",
    "client_key",
    "judge",
]
