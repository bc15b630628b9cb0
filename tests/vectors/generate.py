"""Generate the test vectors of the 安心码 v1 format (docs/format.md, "Test vectors").

Deterministic: keys come from fixed seeds and Ed25519 signatures are deterministic (RFC 8032),
so running this again writes byte-identical files; tests/test_credential_vectors.py checks
that the committed files are what this generator makes. Run from the repository root::

    .venv/bin/python -m tests.vectors.generate

Writes ``tests/vectors/<name>.json`` (one per positive vector), ``negative.json`` (binary
inputs that must be refused, with the error expected) and ``negative_text.json`` (text forms).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.errors import AnxinmaError

HERE = Path(__file__).resolve().parent
#: The verify host of every URL form here: 16 characters, the longest the size budget allows.
BASE_URL = "https://v.anxinma.gov.cn"

TYPICAL = {
    "issuer_code": 330200,
    "serial": 61442,
    "subject_kind": "worker",
    "archive_id": 123456,
    "enterprise_id": 253,
    "display_name": "李*霞",
    "categories": ["育婴", "养老护理", "保洁"],
    "issued_at": "2026-11-23T00:00:00+08:00",
    "expires_at": "2027-11-23T00:00:00+08:00",
}


def seed(label: str) -> bytes:
    """A fixed Ed25519 seed: SHA-256 of a label (never use such a key outside tests)."""
    return hashlib.sha256(f"anxinma test vector: {label}".encode()).digest()


ISSUER_SEED = seed("issuer key 330200")
HOLDER_SEED = seed("holder key (phone)")


def positive_specs() -> list[tuple[str, str, bytes, dict[str, Any]]]:
    """(name, description, issuer seed, claims in the claims-file format)."""
    holder_public = ed25519.SigningKey(HOLDER_SEED).public_key.hex()
    return [
        (
            "typical-worker",
            "The issue's example worker: Ningbo (330200), three categories, one year. The size budget "
            "(at most 120 bytes, URL at QR version 8-M with a 16-character host) is asserted on it.",
            ISSUER_SEED,
            dict(TYPICAL),
        ),
        (
            "enterprise",
            "An enterprise credential (一企一证一码): type 2, the enterprise's own archive id, its name "
            "unmasked, the categories it is licensed for.",
            ISSUER_SEED,
            {
                "issuer_code": 330200,
                "serial": 7,
                "subject_kind": "enterprise",
                "archive_id": 253,
                "enterprise_id": 253,
                "display_name": "宁波安心家政服务有限公司",
                "categories": ["保洁", "育婴", "母婴护理", "养老护理"],
                "issued_at": "2026-11-23",
                "expires_at": "2029-11-23",
            },
        ),
        (
            "card-uid",
            "The typical worker bound to an NFC card: the 7-byte UID of an NTAG215 (claim -10).",
            ISSUER_SEED,
            {**TYPICAL, "serial": 61443, "card_uid": "04a2245a9b6c80"},
        ),
        (
            "holder-key",
            "The typical worker with a holder key (cnf, RFC 8747) for the phone's dynamic code.",
            ISSUER_SEED,
            {**TYPICAL, "serial": 61444, "holder_key": holder_public},
        ),
        (
            "worker-limits",
            "A worker at every limit: largest issuer code, serial and ids, a 24-byte name, all seven "
            "categories, expiry 9999-12-31, a 10-byte card UID and a holder key: the largest worker "
            "credential there can be.",
            seed("issuer key 829999"),
            {
                "issuer_code": 829999,
                "serial": 2**32 - 1,
                "subject_kind": "worker",
                "archive_id": 2**53 - 1,
                "enterprise_id": 2**53 - 1,
                "display_name": "买买提·*阿卜杜拉",
                "categories": ["保洁", "育婴", "母婴护理", "养老护理", "家庭厨师", "搬家", "其他"],
                "issued_at": "1970-01-01",
                "expires_at": "9999-12-31",
                "card_uid": "0123456789abcdef0123",
                "holder_key": holder_public,
            },
        ),
        (
            "enterprise-limits",
            "An enterprise at every limit, with a 64-byte name: the largest v1 credential there can be.",
            seed("issuer key 829999"),
            {
                "issuer_code": 829999,
                "serial": 2**32 - 1,
                "subject_kind": "enterprise",
                "archive_id": 2**53 - 1,
                "enterprise_id": 2**53 - 1,
                "display_name": "乌鲁木齐天山区安心家政服务有限公司红山店No.1",
                "categories": ["保洁", "育婴", "母婴护理", "养老护理", "家庭厨师", "搬家", "其他"],
                "issued_at": "1970-01-01",
                "expires_at": "9999-12-31",
                "card_uid": "0123456789abcdef0123",
                "holder_key": holder_public,
            },
        ),
    ]


def claims_file_form(claims: fmt.Claims) -> dict[str, Any]:
    """The claims-file JSON of `anxinma credential issue`, without the absent optional fields."""
    return {k: v for k, v in claims.to_mapping().items() if v is not None}


def qr_version(cred: fmt.Credential) -> int:
    from anxinma.qr import make_qr

    return int(make_qr(cred, BASE_URL).version)


def positive_vector(name: str, description: str, issuer_seed: bytes, data: dict[str, Any]) -> dict[str, Any]:
    key = ed25519.SigningKey(issuer_seed)
    claims = fmt.Claims.from_mapping(data)
    cred = fmt.sign(claims, key)
    decimal = cred.to_decimal()
    return {
        "name": name,
        "description": description,
        "issuer_seed": issuer_seed.hex(),
        "issuer_public_key": key.public_key.hex(),
        "kid": cred.kid.hex(),
        "claims": claims_file_form(claims),
        "protected_hex": cred.protected.hex(),
        "payload_hex": cred.payload.hex(),
        "sig_structure_hex": cred.signed_bytes().hex(),
        "signature_hex": cred.signature.hex(),
        "credential_hex": cred.to_hex(),
        "size": len(cred.to_bytes()),
        "decimal": decimal,
        "url": cred.to_url(BASE_URL),
        "url_fragment": f"{BASE_URL}/v#{decimal}",
        "qr_text": cred.qr_text(BASE_URL),
        "qr_version_m": qr_version(cred),
    }


# -- negative vectors ---------------------------------------------------------------------


def _typical() -> tuple[ed25519.SigningKey, fmt.Credential]:
    key = ed25519.SigningKey(ISSUER_SEED)
    return key, fmt.sign(fmt.Claims.from_mapping(TYPICAL), key)


def _claims_map(cred: fmt.Credential) -> dict[int, Any]:
    value = cbor2.loads(cred.payload)
    assert isinstance(value, dict)
    return value


def _signed(key: ed25519.SigningKey, protected: bytes, payload: bytes) -> bytes:
    """A COSE_Sign1 over any protected header and payload, *validly signed*: the decoder must
    refuse it for its structure, whatever its signature."""
    signature = key.sign(fmt.sig_structure(protected, payload))
    return cbor2.dumps([protected, {}, payload, signature])


def _with_claims(
    key: ed25519.SigningKey, cred: fmt.Credential, change: Callable[[dict[int, Any]], None]
) -> bytes:
    claims = _claims_map(cred)
    change(claims)
    return _signed(key, cred.protected, cbor2.dumps(claims, canonical=True))


#: The words of the rule each negative vector breaks: its error message contains them.
RULES = {
    "truncated": "not valid CBOR",
    "truncated-half": "not valid CBOR",
    "oversized": "1024-byte limit",
    "not-cbor": "not valid CBOR",
    "trailing-byte": "the bytes are not written the one way a 安心码 is",
    "not-deterministic-integer": "claims: the bytes are not written the one way",
    "not-deterministic-key-order": "claims: the bytes are not written the one way",
    "indefinite-length-array": "credential: the bytes are not written the one way",
    "tagged-cose-sign1": "a COSE tag that a 安心码 never has",
    "tagged-cwt": "CBOR tag 61",
    "array-of-three": "an array of four",
    "map-not-array": "an array of four",
    "payload-not-bytes": "members have the wrong types",
    "unprotected-header-not-empty": "unprotected header must be empty",
    "protected-header-not-a-map": "protected header is not a map",
    "unknown-algorithm": "not EdDSA",
    "protected-header-extra-member": "exactly {alg: EdDSA",
    "kid-wrong-size": "exactly {alg: EdDSA",
    "signature-wrong-size": "signature is 64 bytes",
    "unknown-type": "credential type 3",
    "type-not-integer": "type must be an integer",
    "missing-type": "missing claim: type",
    "missing-serial": "missing claim: serial",
    "mistyped-serial": "serial has the wrong type",
    "negative-serial": "serial has the wrong type",
    "mistyped-display-name": "display_name has the wrong type",
    "extra-claim": "unknown claim key(s): [-11]",
    "registered-claim-not-in-v1": "unknown claim key(s): [4]",
    "undefined-category-bit": "bits this version does not define",
    "date-out-of-range": "expires_at is out of range",
    "unmasked-worker-name": "must be masked",
    "name-with-a-number": "identity or phone number",
    "expiry-before-issue": "expires_at must be after issued_at",
    "card-uid-too-short": "card_uid must be 4 to 10 bytes",
    "holder-key-not-okp": "Ed25519 OKP COSE_Key",
    "float-claim-key": "not the v1 encoding",
    "blank": "empty input",
    "not-a-code": "not a 安心码",
    "url-without-v": "not a 安心码 link",
    "url-with-query": "not a 安心码 link",
    "decimal-truncated": "length no byte string encodes to",
    "decimal-group-out-of-range": "group out of range",
    "decimal-fullwidth-digits": "not a 安心码",
    "hex-odd-length": "odd number of digits",
    "hex-not-hex": "not a 安心码",
    "far-too-long": "far longer",
    "url-empty-payload": "only the digits",
}


def negative_specs() -> list[tuple[str, str, bytes]]:
    """(name, description, input bytes)."""
    key, cred = _typical()
    raw, protected, payload, signature = cred.raw, cred.protected, cred.payload, cred.signature
    kid = cred.kid

    def set_claim(k: int, v: Any) -> Callable[[dict[int, Any]], None]:
        return lambda m: m.__setitem__(k, v)

    def drop_claim(k: int) -> Callable[[dict[int, Any]], None]:
        return lambda m: m.__delitem__(k)

    # serial 61442 = 19 f002 in the payload: the same number with an 8-byte head.
    long_serial = payload.replace(bytes.fromhex("2219f002"), bytes.fromhex("221b000000000000f002"))
    assert long_serial != payload
    claims = _claims_map(cred)
    unsorted_payload = b"".join(
        [bytes((0xA0 | len(claims),))]
        + [cbor2.dumps(k) + cbor2.dumps(v) for k, v in sorted(claims.items(), key=lambda kv: kv[0])]
    )
    float_keyed = {k: v for k, v in claims.items() if k != -1}
    float_keyed[-1.0] = claims[-1]  # type: ignore[index]
    float_key_payload = cbor2.dumps(float_keyed, canonical=True)
    indefinite_outer = (
        b"\x9f" + cbor2.dumps(protected) + b"\xa0" + cbor2.dumps(payload) + cbor2.dumps(signature) + b"\xff"
    )

    return [
        ("empty", "No bytes at all.", b""),
        ("truncated", "The typical vector without its last byte.", raw[:-1]),
        ("truncated-half", "The first half of the typical vector.", raw[: len(raw) // 2]),
        ("oversized", "1025 bytes: refused before it is parsed.", raw + bytes(1025 - len(raw))),
        ("not-cbor", "A reserved CBOR head (additional information 28).", b"\x1c"),
        ("trailing-byte", "The typical vector followed by one more byte.", raw + b"\x00"),
        (
            "not-deterministic-integer",
            "The serial written with an 8-byte head instead of the shortest (RFC 8949 §4.2.1), validly signed.",
            _signed(key, protected, long_serial),
        ),
        (
            "not-deterministic-key-order",
            "The claims map with its keys in descending order, validly signed.",
            _signed(key, protected, unsorted_payload),
        ),
        (
            "indefinite-length-array",
            "The COSE_Sign1 array written with indefinite length.",
            indefinite_outer,
        ),
        ("tagged-cose-sign1", "The typical vector behind tag 18: v1 is untagged.", b"\xd2" + raw),
        ("tagged-cwt", "The typical vector behind the CWT tag 61.", b"\xd8\x3d" + raw),
        ("array-of-three", "A COSE structure of three members.", cbor2.dumps([protected, {}, payload])),
        ("map-not-array", "A map where the COSE_Sign1 array belongs.", cbor2.dumps({1: protected})),
        (
            "payload-not-bytes",
            "The payload as a CBOR map instead of a byte string holding one.",
            cbor2.dumps([protected, {}, _claims_map(cred), signature]),
        ),
        (
            "unprotected-header-not-empty",
            "The kid moved into the unprotected header.",
            cbor2.dumps([cbor2.dumps({1: -8}), {4: kid}, payload, signature]),
        ),
        (
            "protected-header-not-a-map",
            "The protected header holds an integer.",
            _signed(key, cbor2.dumps(-8), payload),
        ),
        (
            "unknown-algorithm",
            "alg -7 (ES256) instead of EdDSA (-8).",
            _signed(key, cbor2.dumps({1: -7, 4: kid}, canonical=True), payload),
        ),
        (
            "protected-header-extra-member",
            "The protected header with a content type (3) beside alg and kid.",
            _signed(key, cbor2.dumps({1: -8, 3: 0, 4: kid}, canonical=True), payload),
        ),
        (
            "kid-wrong-size",
            "A 4-byte kid.",
            _signed(key, cbor2.dumps({1: -8, 4: kid + kid}, canonical=True), payload),
        ),
        (
            "signature-wrong-size",
            "A 63-byte signature.",
            cbor2.dumps([protected, {}, payload, signature[:-1]]),
        ),
        ("unknown-type", "type 3: no v1 credential type.", _with_claims(key, cred, set_claim(-1, 3))),
        ("type-not-integer", "type as text.", _with_claims(key, cred, set_claim(-1, "worker"))),
        ("missing-type", "No type claim.", _with_claims(key, cred, drop_claim(-1))),
        ("missing-serial", "No serial claim.", _with_claims(key, cred, drop_claim(-3))),
        ("mistyped-serial", "The serial as text.", _with_claims(key, cred, set_claim(-3, "61442"))),
        ("negative-serial", "A negative serial.", _with_claims(key, cred, set_claim(-3, -1))),
        ("mistyped-display-name", "The display name as bytes.", _with_claims(key, cred, set_claim(-6, b"x"))),
        ("extra-claim", "An unknown claim key -11.", _with_claims(key, cred, set_claim(-11, 1))),
        (
            "registered-claim-not-in-v1",
            "The CWT exp claim (4): v1 carries its own expiry claim.",
            _with_claims(key, cred, set_claim(4, 1700000000)),
        ),
        ("undefined-category-bit", "Category bit 7 set.", _with_claims(key, cred, set_claim(-7, 0x80 | 11))),
        (
            "date-out-of-range",
            "An expiry after 9999-12-31.",
            _with_claims(key, cred, set_claim(-9, fmt.MAX_DAY + 1)),
        ),
        (
            "unmasked-worker-name",
            "A worker's full name (李小霞): a worker's name is always masked.",
            _with_claims(key, cred, set_claim(-6, "李小霞")),
        ),
        (
            "name-with-a-number",
            "A display name with a run of digits, as an identity or phone number would be.",
            _with_claims(key, cred, set_claim(-6, "李*霞13800138000")),
        ),
        (
            "expiry-before-issue",
            "Expires on the day it was issued.",
            _with_claims(key, cred, set_claim(-9, _claims_map(cred)[-8])),
        ),
        (
            "card-uid-too-short",
            "A 3-byte card UID.",
            _with_claims(key, cred, set_claim(-10, b"\x04\xa2\x24")),
        ),
        (
            "holder-key-not-okp",
            "cnf holding an EC2 key instead of an Ed25519 OKP key.",
            _with_claims(key, cred, set_claim(8, {1: {1: 2, -1: 1, -2: bytes(32)}})),
        ),
        (
            "float-claim-key",
            "The type claim's key written as the float -1.0: deterministic CBOR, but not the v1 encoding.",
            _signed(key, protected, float_key_payload),
        ),
    ]


def negative_text_specs() -> list[tuple[str, str, str]]:
    _, cred = _typical()
    decimal = cred.to_decimal()
    return [
        ("empty", "No text.", ""),
        ("blank", "Only white space.", "  \n"),
        ("not-a-code", "Text that is no form of a credential.", "hello"),
        (
            "url-without-v",
            "A URL of the verify host that is not a credential link.",
            f"{BASE_URL}/x/{decimal}",
        ),
        ("url-with-query", "A credential link with a query string.", f"{BASE_URL}/v/{decimal}?a=1"),
        ("decimal-truncated", "The decimal form without its last digit.", decimal[:-1]),
        ("decimal-group-out-of-range", "A 17-digit group above 2^56 - 1.", "9" * 17 + decimal[17:]),
        ("decimal-fullwidth-digits", "Full-width digits (U+FF10 …).", "３７２３"),
        ("hex-odd-length", "Hex with an odd number of digits.", cred.to_hex()[:-1]),
        ("hex-not-hex", "84 followed by non-hex characters.", "84zz"),
        ("far-too-long", "5000 digits: refused before it is decoded.", "3" * 5000),
        ("url-empty-payload", "A credential link with nothing after /v/.", f"{BASE_URL}/v/"),
    ]


def _outcome(name: str, func: Callable[[], object]) -> dict[str, str]:
    rule = RULES.get(name, "empty input")
    try:
        func()
    except AnxinmaError as exc:
        assert rule in exc.message, f"{name}: {exc.message!r} does not say {rule!r}"
        return {"error": type(exc).__name__, "code": exc.code, "message_contains": rule}
    raise AssertionError(f"the negative vector {name} was accepted")


def build() -> dict[str, Any]:
    """Every file's content, by file name."""
    files: dict[str, Any] = {}
    for name, description, issuer_seed, data in positive_specs():
        files[f"{name}.json"] = positive_vector(name, description, issuer_seed, data)
    files["negative.json"] = [
        {
            "name": name,
            "description": description,
            "hex": data.hex(),
            **_outcome(name, lambda d=data: fmt.decode(d)),
        }
        for name, description, data in negative_specs()
    ]
    files["negative_text.json"] = [
        {
            "name": name,
            "description": description,
            "text": text,
            **_outcome(name, lambda t=text: fmt.decode_text(t)),
        }
        for name, description, text in negative_text_specs()
    ]
    return files


def render(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    for filename, content in build().items():
        (HERE / filename).write_text(render(content), "utf-8")
        print(f"wrote tests/vectors/{filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
