"""Generate the status data vectors: compact status lists and freshness documents (docs/interfaces.md).

Deterministic: the key comes from a fixed seed, Ed25519 signatures are deterministic (RFC 8032),
the statuses come from seeded generators and every time is fixed, so running this again writes
a byte-identical file; tests/status_list/test_vectors.py checks that the committed file is what
this generator makes, and that the Python loaders read (or refuse) each vector as it says.
Run from the repository root::

    .venv/bin/python -m tests.vectors.generate_status

Writes ``tests/vectors/status-compact.json``: ``compact`` (valid compact forms with their
statuses), ``freshness`` (valid freshness documents with their claims), ``invalid_compact`` and
``invalid_freshness`` (inputs every reader must refuse, with the reason).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import jwt

from anxinma.ed25519 import SigningKey
from anxinma.errors import StatusListError
from anxinma.status_list import (
    COMPACT_TYPE,
    CWT_TYPE,
    SHARD_SIZE,
    ShardVersion,
    StatusArray,
    compact_digest,
    load_compact_status_list,
    load_freshness,
    sign_compact_status_list,
    sign_freshness,
)
from tests.status_list.support import forge_compact
from tests.vectors.generate import seed

HERE = Path(__file__).resolve().parent
FILENAME = "status-compact.json"
ISSUER = 330200
SHARD = 0
KID = bytes.fromhex("5a17")
KEY = SigningKey(seed("status list issuer key 330200")).to_cryptography()
PUBLIC = KEY.public_key().public_bytes_raw()
OTHER_KEY = SigningKey(seed("status list: a key the trust list does not name")).to_cryptography()
#: Every vector's iat: 2026-12-07 08:00:00 UTC.
SIGNED_AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
BASE = "https://v.ningbo.example.cn/status/330200"


def _random_array(size: int, mix: dict[int, float], rng_seed: int) -> StatusArray:
    rng = random.Random(rng_seed)
    array = StatusArray(size)
    for index in range(size):
        draw = rng.random()
        for value, share in mix.items():
            if draw < share:
                array.set(index, value)
                break
            draw -= share
    return array


def _array(size: int, statuses: dict[int, int]) -> StatusArray:
    array = StatusArray(size)
    for index, value in statuses.items():
        array.set(index, value)
    return array


def compact_specs() -> list[tuple[str, str, StatusArray, int]]:
    """(name, description, statuses, version)."""
    every_value = _random_array(300, {1: 0.1, 2: 0.1, 3: 0.2}, 15)
    return [
        ("empty-shard", "A shard of 4096 serials, all valid: no streams at all.", StatusArray(4096), 1),
        ("zero-size", "A shard that covers no serials yet (size 0).", StatusArray(0), 1),
        (
            "only-revoked",
            "10,000 serials, 1 % revoked at random: one stream (value 1).",
            _random_array(10_000, {1: 0.01}, 1),
            7,
        ),
        (
            "mixed-1-5",
            "20,000 serials, 1 % revoked and 5 % attention at random: streams of values 1 and 3.",
            _random_array(20_000, {1: 0.01, 3: 0.05}, 2),
            42,
        ),
        (
            "size-not-multiple-of-4",
            "1001 serials with the last one (index 1000) revoked and a few others set.",
            _array(1001, {0: 3, 1: 3, 2: 2, 500: 1, 999: 3, 1000: 1}),
            3,
        ),
        (
            "every-value",
            "300 serials holding every value (10 % revoked, 10 % suspended, 20 % attention).",
            every_value,
            2,
        ),
        (
            "all-attention",
            "64 serials all in attention: every gap 0, k 0.",
            _array(64, dict.fromkeys(range(64), 3)),
            5,
        ),
        (
            "full-shard-two-ends",
            "A full shard (2^20 serials) with only the first and the last revoked: a large k.",
            _array(SHARD_SIZE, {0: 1, SHARD_SIZE - 1: 1}),
            9,
        ),
    ]


def compact_vector(name: str, description: str, array: StatusArray, version: int) -> dict[str, Any]:
    data = sign_compact_status_list(
        array, issuer_code=ISSUER, shard=SHARD, version=version, key=KEY, kid=KID, now=SIGNED_AT
    )
    loaded = load_compact_status_list(data, _lookup, now=SIGNED_AT)
    statuses = [[index, int(array.get(index))] for index in range(array.size) if array.get(index)]
    assert [[i, int(loaded.array.get(i))] for i in range(loaded.size) if loaded.array.get(i)] == statuses
    payload = cbor2.loads(cbor2.loads(data).value[2])
    return {
        "name": name,
        "description": description,
        "hex": data.hex(),
        "digest": compact_digest(data),
        "public_key": PUBLIC.hex(),
        "kid": KID.hex(),
        "issuer_code": ISSUER,
        "shard": SHARD,
        "size": array.size,
        "version": version,
        "iat": int(SIGNED_AT.timestamp()),
        "streams": [{"value": s[0], "k": s[1], "count": s[2], "bytes": len(s[3])} for s in payload[6]],
        "statuses": statuses,
    }


def _lookup(code: int, kid: bytes) -> bytes | None:
    return PUBLIC if (code, kid) == (ISSUER, KID) else None


def _payload(size: int, streams: list[list[Any]], **changes: Any) -> dict[int, Any]:
    payload: dict[int, Any] = {1: ISSUER, 2: SHARD, 3: size, 4: 1, 5: int(SIGNED_AT.timestamp()), 6: streams}
    payload.update({int(key.removeprefix("k")): value for key, value in changes.items()})
    return payload


HEADER = {1: -8, 4: KID, 16: COMPACT_TYPE}
#: Indices 3 and 7 revoked in a shard of 100 (k 0: ``1110`` ``1110``).
GOOD_STREAMS = [[1, 0, 2, bytes([0b11101110])]]


def _forge(payload: dict[int, Any] | bytes, **options: Any) -> bytes:
    options.setdefault("header", HEADER)
    options.setdefault("key", KEY)
    return forge_compact(payload, **options)


def invalid_compact_specs() -> list[tuple[str, str, str, bytes]]:
    """(name, description, what the refusal says, bytes). Every one is signed by the vector key
    unless the case is about the signature, so a reader's own checks must refuse it."""
    good = _forge(_payload(100, GOOD_STREAMS))
    flipped = bytearray(good)
    flipped[-1] ^= 1
    canonical = cbor2.dumps(_payload(100, GOOD_STREAMS), canonical=True)
    return [
        ("truncated", "The valid form of GOOD_STREAMS without its last byte.", "truncated", good[:-1]),
        ("truncated-half", "Its first half.", "truncated", good[: len(good) // 2]),
        ("trailing-byte", "One zero byte after the COSE_Sign1.", "bytes after the envelope", good + b"\x00"),
        (
            "untagged",
            "The COSE_Sign1 array without tag 18.",
            "tag 18",
            _forge(_payload(100, GOOD_STREAMS), tag=None),
        ),
        (
            "wrong-tag",
            "Tag 17 (COSE_Mac0) instead of 18.",
            "tag 18",
            _forge(_payload(100, GOOD_STREAMS), tag=17),
        ),
        (
            "wrong-alg",
            "Algorithm -7 (ES256) in the protected header.",
            "not EdDSA",
            _forge(_payload(100, GOOD_STREAMS), header={1: -7, 4: KID, 16: COMPACT_TYPE}),
        ),
        (
            "wrong-typ",
            "The CWT status list's type instead of the compact one.",
            "not a compact status list",
            _forge(_payload(100, GOOD_STREAMS), header={1: -8, 4: KID, 16: CWT_TYPE}),
        ),
        (
            "unprotected-not-empty",
            "The kid repeated in the unprotected header.",
            "unprotected header is not empty",
            _forge(_payload(100, GOOD_STREAMS), unprotected={4: KID}),
        ),
        (
            "stream-value-0",
            "A stream of value 0 (valid is never listed).",
            "value",
            _forge(_payload(100, [[0, 0, 1, b"\x00"]])),
        ),
        ("stream-value-4", "A stream of value 4.", "value", _forge(_payload(100, [[4, 0, 1, b"\x00"]]))),
        (
            "stream-repeated",
            "Two streams of value 1.",
            "ascending, once each",
            _forge(_payload(100, [[1, 0, 1, b"\x00"], [1, 0, 1, b"\x80"]])),
        ),
        (
            "streams-out-of-order",
            "A stream of value 3 before one of value 1.",
            "ascending, once each",
            _forge(_payload(100, [[3, 0, 1, b"\x00"], [1, 0, 1, b"\x80"]])),
        ),
        (
            "index-at-size",
            "Indices 3 and 7 in a shard of size 7.",
            "not below the size",
            _forge(_payload(7, GOOD_STREAMS)),
        ),
        (
            "index-beyond-size-large-k",
            "One gap of 103 (k 3: 12 ones, 0, 111) in a shard of 100.",
            "gap of 103",
            _forge(_payload(100, [[1, 3, 1, bytes([0xFF, 0xF7])]])),
        ),
        ("size-above-shard", "Size 2^20 + 1.", "above 1048576", _forge(_payload(SHARD_SIZE + 1, []))),
        (
            "count-too-high",
            "Count 3 for the two codes of GOOD_STREAMS.",
            "ends before its count",
            _forge(_payload(100, [[1, 0, 3, bytes([0b11101110])]])),
        ),
        (
            "count-too-low",
            "Count 1 for GOOD_STREAMS: the second code reads as set padding bits.",
            "padding bits that are not zero",
            _forge(_payload(100, [[1, 0, 1, bytes([0b11101110])]])),
        ),
        (
            "stream-trailing-byte",
            "GOOD_STREAMS followed by a byte of padding more than the codes need.",
            "bytes after a stream",
            _forge(_payload(100, [[1, 0, 2, bytes([0b11101110, 0])]])),
        ),
        ("k-above-24", "A stream with k 25.", "above 24", _forge(_payload(100, [[1, 25, 1, bytes(4)]]))),
        (
            "padding-bits-set",
            "Indices 0 and 1 (codes 0, 0) followed by padding 100000.",
            "padding bits that are not zero",
            _forge(_payload(100, [[1, 0, 2, bytes([0b00100000])]])),
        ),
        (
            "count-zero",
            "A stream with count 0 and no bytes.",
            "int >= 1",
            _forge(_payload(100, [[1, 0, 0, b""]])),
        ),
        (
            "index-in-two-streams",
            "Index 3 both revoked and in attention.",
            "two streams",
            _forge(_payload(100, [[1, 0, 1, bytes([0b11100000])], [3, 0, 1, bytes([0b11100000])]])),
        ),
        (
            "version-0",
            "Version 0 (versions start at 1).",
            "version",
            _forge(_payload(100, GOOD_STREAMS, k4=0)),
        ),
        (
            "extra-payload-key",
            "A payload key 7 beside 1 to 6.",
            "keys are not 1 to 6",
            _forge(_payload(100, GOOD_STREAMS, k7=0)),
        ),
        (
            "non-deterministic-cbor",
            "The payload map's length in a two-byte head (b8 06): not deterministic CBOR.",
            "not in deterministic CBOR",
            _forge(b"\xb8\x06" + canonical[1:]),
        ),
        (
            "bad-signature",
            "The valid form with the last signature bit flipped.",
            "signature does not verify",
            bytes(flipped),
        ),
        (
            "wrong-key",
            "Signed by a key the trust list does not give for this kid.",
            "signature does not verify",
            _forge(_payload(100, GOOD_STREAMS), key=OTHER_KEY),
        ),
        (
            "unknown-kid",
            "A kid (0001) the issuer's keys do not include.",
            "does not hold",
            _forge(_payload(100, GOOD_STREAMS), header={1: -8, 4: b"\x00\x01", 16: COMPACT_TYPE}),
        ),
    ]


def freshness_specs() -> list[tuple[str, str, int, list[ShardVersion], int]]:
    """(name, description, seq, shards, ttl seconds)."""
    listed = []
    for name, _description, array, version in compact_specs()[2:4]:
        data = sign_compact_status_list(
            array, issuer_code=ISSUER, shard=SHARD, version=version, key=KEY, kid=KID, now=SIGNED_AT
        )
        listed.append((name, version, array.size, compact_digest(data)))
    shards = [
        ShardVersion(number, version, size, digest, f"{BASE}/{number}/compact")
        for number, (_name, version, size, digest) in enumerate(listed)
    ]
    return [
        (
            "two-shards",
            "Shards 0 and 1 (the only-revoked and mixed-1-5 compact vectors' digests).",
            1042,
            shards,
            300,
        ),
        ("no-shards", "An issuer with no credentials yet: an empty list of shards.", 1, [], 300),
    ]


def freshness_vector(
    name: str, description: str, seq: int, shards: list[ShardVersion], ttl: int
) -> dict[str, Any]:
    from datetime import timedelta

    token = sign_freshness(
        issuer_code=ISSUER,
        seq=seq,
        shards=shards,
        key=KEY,
        kid=KID,
        now=SIGNED_AT,
        ttl=timedelta(seconds=ttl),
    )
    loaded = load_freshness(token, _lookup)
    assert loaded.seq == seq and list(loaded.shards.values()) == shards
    return {
        "name": name,
        "description": description,
        "token": token,
        "digest": loaded.digest,
        "public_key": PUBLIC.hex(),
        "kid": KID.hex(),
        "header": jwt.get_unverified_header(token),
        "claims": jwt.decode(token, options={"verify_signature": False}),
    }


def invalid_freshness_specs() -> list[tuple[str, str, str, str]]:
    """(name, description, what the refusal says, token)."""
    good = sign_freshness(issuer_code=ISSUER, seq=5, shards=[], key=KEY, kid=KID, now=SIGNED_AT)
    claims = jwt.decode(good, options={"verify_signature": False})

    def forged(changed: dict[str, Any], *, typ: str = "anxinma-status-freshness+jwt", key: Any = KEY) -> str:
        body = {name: value for name, value in {**claims, **changed}.items() if value is not None}
        return jwt.api_jws.encode(
            json.dumps(body).encode(), key, algorithm="EdDSA", headers={"typ": typ, "kid": KID.hex()}
        )

    header, _payload_part, signature = good.split(".")
    other = jwt.api_jws.encode(
        json.dumps({**claims, "seq": 6}).encode(),
        KEY,
        algorithm="EdDSA",
        headers={"typ": "anxinma-status-freshness+jwt", "kid": KID.hex()},
    )
    return [
        ("wrong-typ", "typ statuslist+jwt.", "not a freshness document", forged({}, typ="statuslist+jwt")),
        (
            "tampered",
            "The payload of a document with seq 6 under the signature of seq 5.",
            "signature does not verify",
            f"{header}.{other.split('.')[1]}.{signature}",
        ),
        (
            "wrong-key",
            "Signed by a key the trust list does not give for this kid.",
            "signature does not verify",
            forged({}, key=OTHER_KEY),
        ),
        ("missing-seq", "No seq claim.", "malformed", forged({"seq": None})),
        ("missing-shards", "No shards claim.", "malformed", forged({"shards": None})),
        ("seq-not-int", "seq as a string.", "malformed", forged({"seq": "5"})),
        (
            "iss-not-code",
            "iss as a number, not the issuer code's text.",
            "not an issuer code",
            forged({"iss": ISSUER}),
        ),
        (
            "bad-digest",
            "A shard whose digest is upper-case hex.",
            "digest",
            forged(
                {
                    "shards": [
                        {"shard": 0, "version": 1, "size": 1, "digest": "AB" * 32, "url": f"{BASE}/0/compact"}
                    ]
                }
            ),
        ),
    ]


def _refusal(name: str, expected: str, func: Callable[[], object]) -> dict[str, str]:
    try:
        func()
    except StatusListError as exc:
        assert expected in exc.message, f"{name}: {exc.message!r} does not say {expected!r}"
        return {
            "error": type(exc).__name__,
            "message_contains": expected,
        }
    raise AssertionError(f"the invalid vector {name} was accepted")


def build() -> dict[str, Any]:
    """The file's content."""
    return {
        "description": (
            "Compact status lists (application/vnd.anxinma.status+cose) and freshness documents "
            "(anxinma-status-freshness+jwt) of docs/interfaces.md, made by tests/vectors/generate_status.py. "
            "Statuses: [index, value] for every non-zero serial (1 revoked, 2 suspended, 3 attention); "
            "every other index below size is 0. iat of every vector: 2026-12-07T08:00:00Z."
        ),
        "compact": [compact_vector(*spec) for spec in compact_specs()],
        "freshness": [freshness_vector(*spec) for spec in freshness_specs()],
        "invalid_compact": [
            {
                "name": name,
                "description": description,
                "hex": data.hex(),
                "public_key": PUBLIC.hex(),
                "kid": KID.hex(),
                **_refusal(
                    name, expected, lambda d=data: load_compact_status_list(d, _lookup, now=SIGNED_AT)
                ),
            }
            for name, description, expected, data in invalid_compact_specs()
        ],
        "invalid_freshness": [
            {
                "name": name,
                "description": description,
                "token": token,
                "public_key": PUBLIC.hex(),
                "kid": KID.hex(),
                **_refusal(name, expected, lambda t=token: load_freshness(t, _lookup)),
            }
            for name, description, expected, token in invalid_freshness_specs()
        ],
    }


def render(content: dict[str, Any]) -> str:
    """One vector a line (the status lists run to thousands of pairs), the rest indented."""
    lines = ["{"]
    for position, (name, value) in enumerate(content.items()):
        comma = "," if position < len(content) - 1 else ""
        if isinstance(value, list):
            items = [json.dumps(item, ensure_ascii=False) for item in value]
            body = ",\n".join(f"  {item}" for item in items)
            lines.append(f"{json.dumps(name)}: [\n{body}\n]{comma}")
        else:
            lines.append(f"{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines) + "\n}\n"


def main() -> int:
    (HERE / FILENAME).write_text(render(build()), "utf-8")
    print(f"wrote tests/vectors/{FILENAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
