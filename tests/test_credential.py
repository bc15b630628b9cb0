"""The v1 credential format against its test vectors, byte for byte, and every malformed input.

The vectors (tests/vectors/, docs/format.md "Test vectors") are data: a key seed, the claims
in the claims-file format, the exact bytes and each text form. Ed25519 is deterministic, so
signing the claims with the seed must give the very same bytes.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import cbor2
import pytest
import segno

from anxinma import credential as fmt
from anxinma import ed25519, errors
from anxinma.credential import claims as claims_set
from anxinma.credential import cose
from anxinma.errors import BadSignature, InvalidClaims, MalformedCredential
from anxinma.qr import make_qr
from tests.vectors import CREDENTIAL_VECTORS, generate

VECTORS = Path(__file__).parent / "vectors"
POSITIVE = CREDENTIAL_VECTORS  # the credential vectors, not the other formats' files beside them
NEGATIVE: list[dict[str, Any]] = json.loads((VECTORS / "negative.json").read_text("utf-8"))
NEGATIVE_TEXT: list[dict[str, Any]] = json.loads((VECTORS / "negative_text.json").read_text("utf-8"))
HOST_16 = "v.anxinma.gov.cn"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@pytest.fixture(params=POSITIVE, ids=[p.stem for p in POSITIVE])
def vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_there_is_a_vector_for_each_kind_of_credential() -> None:
    names = {p.stem for p in POSITIVE}
    assert {"typical-worker", "enterprise", "card-uid", "holder-key", "worker-limits"} <= names


# -- positive vectors -----------------------------------------------------------------------


def test_signing_the_vector_claims_with_its_seed_gives_its_exact_bytes(vector: dict[str, Any]) -> None:
    key = ed25519.SigningKey(bytes.fromhex(vector["issuer_seed"]))
    assert key.public_key.hex() == vector["issuer_public_key"]
    assert fmt.derive_kid(key.public_key).hex() == vector["kid"]
    cred = fmt.sign(fmt.Claims.from_mapping(vector["claims"]), key)
    assert cred.protected.hex() == vector["protected_hex"]
    assert cred.payload.hex() == vector["payload_hex"]
    assert cred.signed_bytes().hex() == vector["sig_structure_hex"]
    assert cred.signature.hex() == vector["signature_hex"]
    assert cred.to_hex() == vector["credential_hex"]
    assert len(cred.to_bytes()) == vector["size"]


def test_the_vector_bytes_decode_to_its_claims_and_verify(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["credential_hex"])
    cred = fmt.decode(raw)
    assert cred.claims == fmt.Claims.from_mapping(vector["claims"])
    assert generate.claims_file_form(cred.claims) == vector["claims"]
    assert cred.kid_hex == vector["kid"]
    assert cred.signature.hex() == vector["signature_hex"]
    assert cred.to_bytes() == raw
    cred.verify_signature(bytes.fromhex(vector["issuer_public_key"]))
    with pytest.raises(BadSignature):
        cred.verify_signature(ed25519.SigningKey(bytes(32)).public_key)


def test_the_reference_reader_agrees_with_the_fast_one_on_the_vector(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["credential_hex"])
    assert cose._decode_common_form(raw) == cose._decode_reference(raw) == fmt.decode(raw)
    assert claims_set._claims_reference(bytes.fromhex(vector["payload_hex"])) == fmt.decode(raw).claims


def test_the_vector_envelope_is_the_one_cbor2_writes(vector: dict[str, Any]) -> None:
    """The hand-written envelope, Sig_structure and claims equal a general encoder's output."""
    cred = fmt.decode(bytes.fromhex(vector["credential_hex"]))
    assert cred.to_bytes() == cbor2.dumps([cred.protected, {}, cred.payload, cred.signature])
    assert cred.signed_bytes() == cbor2.dumps(["Signature1", cred.protected, b"", cred.payload])
    assert cred.protected == cbor2.dumps({1: -8, 4: cred.kid}, canonical=True)
    assert cred.payload == cbor2.dumps(cbor2.loads(cred.payload), canonical=True)


def test_every_text_form_of_the_vector_is_exact_and_reads_back(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["credential_hex"])
    cred = fmt.decode(raw)
    base = f"https://{HOST_16}"
    assert cred.to_decimal() == fmt.to_decimal(raw) == vector["decimal"]
    assert cred.to_url(base) == vector["url"] == f"{base}/v/{vector['decimal']}"
    assert cred.qr_text(base) == vector["qr_text"] == vector["url"].upper().replace("/V/", "/V/")
    forms = [
        vector["url"],
        vector["url_fragment"],
        vector["qr_text"],
        vector["decimal"],
        vector["credential_hex"],
        vector["credential_hex"].upper(),
        f"  {vector['url']}\n",
        vector["url"].replace("https://", "http://"),
    ]
    for form in forms:
        assert fmt.parse_text(form) == raw, form
        assert fmt.decode_text(form) == cred


def test_the_vector_url_renders_at_its_recorded_qr_version(vector: dict[str, Any]) -> None:
    cred = fmt.decode(bytes.fromhex(vector["credential_hex"]))
    qr = make_qr(cred, f"https://{HOST_16}")
    assert qr.version == vector["qr_version_m"]
    assert qr.error == "M"


def test_the_generator_reproduces_the_committed_vectors() -> None:
    """The vectors are made by tests/vectors/generate.py, deterministically: no file drifted."""
    for filename, content in generate.build().items():
        assert (VECTORS / filename).read_text("utf-8") == generate.render(content), filename


# -- the size budget (issue 3) --------------------------------------------------------------


def test_a_typical_worker_credential_is_at_most_120_bytes() -> None:
    typical = load(VECTORS / "typical-worker.json")
    assert "holder_key" not in typical["claims"]
    assert len(bytes.fromhex(typical["credential_hex"])) == typical["size"] <= 120


@pytest.mark.parametrize("host", [HOST_16, "hz-anxin.zj.cn12", "WWW.EXAMPLE.ORG1", "a" * 16])
def test_a_typical_worker_url_with_a_16_character_host_fits_qr_version_8_m(host: str) -> None:
    assert len(host) == 16
    cred = fmt.decode(bytes.fromhex(load(VECTORS / "typical-worker.json")["credential_hex"]))
    qr = segno.make(cred.qr_segments(f"https://{host}"), error="m", boost_error=False)
    assert qr.designator == "8-M" or qr.version < 8
    assert qr.version <= 8


def test_a_card_bound_worker_credential_also_fits_version_8_m() -> None:
    cred = fmt.decode(bytes.fromhex(load(VECTORS / "card-uid.json")["credential_hex"]))
    assert make_qr(cred, f"https://{HOST_16}").version <= 8


def test_the_largest_legal_credential_stays_far_below_the_1_kib_limit() -> None:
    largest = max(load(p)["size"] for p in POSITIVE)
    assert largest == load(VECTORS / "enterprise-limits.json")["size"] < fmt.MAX_CREDENTIAL_BYTES // 4


# -- negative vectors -----------------------------------------------------------------------


@pytest.mark.parametrize("case", NEGATIVE, ids=[c["name"] for c in NEGATIVE])
def test_a_malformed_credential_gives_its_specific_error(case: dict[str, Any]) -> None:
    expected = getattr(errors, case["error"])
    with pytest.raises(MalformedCredential) as caught:
        fmt.decode(bytes.fromhex(case["hex"]))
    assert type(caught.value) is expected
    assert caught.value.code == case["code"]
    assert case["message_contains"] in caught.value.message
    assert re.search(r"[\u4e00-\u9fff]", caught.value.message_zh)  # a person reads Chinese first
    assert "错误" not in caught.value.message  # the CLI adds its own prefix
    assert "RFC" not in caught.value.explain() and "§" not in caught.value.explain()  # words, not sections


@pytest.mark.parametrize("case", NEGATIVE_TEXT, ids=[c["name"] for c in NEGATIVE_TEXT])
def test_a_malformed_text_form_gives_its_specific_error(case: dict[str, Any]) -> None:
    with pytest.raises(MalformedCredential) as caught:
        fmt.decode_text(case["text"])
    assert type(caught.value).__name__ == case["error"]
    assert caught.value.code == case["code"]
    assert case["message_contains"] in caught.value.message
    assert re.search(r"[\u4e00-\u9fff]", caught.value.message_zh)


def test_the_negative_vectors_cover_every_malformed_input_class_of_the_issue() -> None:
    names = {c["name"] for c in NEGATIVE}
    for required in (
        "empty",
        "truncated",
        "oversized",
        "not-cbor",
        "not-deterministic-integer",
        "tagged-cose-sign1",
        "array-of-three",
        "unknown-type",
        "unknown-algorithm",
        "missing-serial",
        "mistyped-serial",
        "extra-claim",
    ):
        assert required in names


#: Inputs that reach the readers (empty and oversized ones are refused before either runs).
PARSED = [c for c in NEGATIVE if 0 < len(c["hex"]) // 2 <= fmt.MAX_CREDENTIAL_BYTES]


@pytest.mark.parametrize("case", PARSED, ids=[c["name"] for c in PARSED])
def test_the_reference_reader_words_the_same_error(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    with pytest.raises(MalformedCredential) as fast:
        fmt.decode(data)
    with pytest.raises(MalformedCredential) as reference:
        cose._decode_reference(data)
    assert (type(fast.value), fast.value.message) == (type(reference.value), reference.value.message)


def test_decode_refuses_what_is_not_bytes() -> None:
    with pytest.raises(MalformedCredential, match="is bytes"):
        fmt.decode("8447a2")  # type: ignore[arg-type]
    with pytest.raises(MalformedCredential, match="a string"):
        fmt.parse_text(b"8447a2")  # type: ignore[arg-type]


def test_decode_accepts_bytearray_and_memoryview() -> None:
    raw = bytes.fromhex(load(VECTORS / "typical-worker.json")["credential_hex"])
    assert fmt.decode(bytearray(raw)) == fmt.decode(memoryview(raw)) == fmt.decode(raw)


def test_a_tampered_vector_decodes_but_does_not_verify() -> None:
    typical = load(VECTORS / "typical-worker.json")
    raw = bytearray.fromhex(typical["credential_hex"])
    position = raw.index("李".encode())
    raw[position : position + 3] = "王".encode()
    cred = fmt.decode(bytes(raw))
    assert cred.claims.display_name == "王*霞"
    with pytest.raises(BadSignature):
        cred.verify_signature(bytes.fromhex(typical["issuer_public_key"]))


def test_every_single_bit_flip_of_the_typical_vector_fails_to_verify() -> None:
    """Exhaustive over all 952 bits: either refused as malformed or the signature fails."""
    typical = load(VECTORS / "typical-worker.json")
    raw = bytes.fromhex(typical["credential_hex"])
    public = bytes.fromhex(typical["issuer_public_key"])
    outcomes = {"malformed": 0, "bad_signature": 0}
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            cred = fmt.decode(bytes(flipped))
        except MalformedCredential:
            outcomes["malformed"] += 1
            continue
        with pytest.raises(BadSignature):
            cred.verify_signature(public)
        outcomes["bad_signature"] += 1
    assert sum(outcomes.values()) == len(raw) * 8
    assert outcomes["malformed"] > 0 and outcomes["bad_signature"] > 0


# -- claims: what the issuer may put in -----------------------------------------------------


def typical_mapping(**changes: Any) -> dict[str, Any]:
    return {**generate.TYPICAL, **changes}


def test_english_slugs_chinese_labels_and_the_yuesao_alias_name_the_same_categories() -> None:
    chinese = fmt.Claims.from_mapping(typical_mapping(categories=["育婴", "养老护理", "保洁"]))
    english = fmt.Claims.from_mapping(typical_mapping(categories=["infant_care", "elderly_care", "cleaning"]))
    assert chinese == english
    yuesao = fmt.Claims.from_mapping(typical_mapping(categories=["月嫂"]))
    assert yuesao.categories == frozenset({fmt.Category.MATERNITY_CARE})


def test_the_category_bits_are_the_documented_ones() -> None:
    assert [(c.zh, c.bit) for c in fmt.Category] == [
        ("保洁", 0),
        ("育婴", 1),
        ("母婴护理", 2),
        ("养老护理", 3),
        ("家庭厨师", 4),
        ("搬家", 5),
        ("其他", 6),
    ]
    assert (
        fmt.categories_to_bits({fmt.Category.CLEANING, fmt.Category.INFANT_CARE, fmt.Category.ELDERLY_CARE})
        == 11
    )
    assert fmt.categories_from_bits(11) == {
        fmt.Category.CLEANING,
        fmt.Category.INFANT_CARE,
        fmt.Category.ELDERLY_CARE,
    }


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"display_name": "李小霞"}, "must be masked"),
        ({"display_name": "李*霞13800138"}, "identity or phone number"),
        ({"display_name": "买买提·*阿卜杜拉·艾力"}, "longer than 24 bytes"),
        ({"display_name": "李*\u0007霞"}, "control characters"),
        ({"categories": []}, "at least one service category"),
        ({"categories": ["洗车"]}, "unknown service category"),
        ({"categories": "保洁"}, "must be a list"),
        ({"issued_at": "2026-11-23T09:30:00+08:00"}, "whole day"),
        ({"issued_at": "2026-11-23T00:00:00"}, "UTC offset"),
        ({"issued_at": "2026-11-23T00:00:00+00:00"}, "whole day"),
        ({"issued_at": "1969-12-31"}, "between 1970-01-01"),
        ({"issued_at": "23/11/2026"}, "ISO 8601"),
        ({"expires_at": "2026-11-23"}, "after issued_at"),
        ({"issuer_code": 1000}, "issuer_code must be an integer from 110000"),
        ({"issuer_code": "浙江"}, "must be an integer"),
        ({"serial": 2**32}, "serial must be an integer from 0"),
        ({"archive_id": 2**53}, "archive_id must be an integer"),
        ({"subject_kind": "robot"}, "worker' or 'enterprise"),
        ({"card_uid": "0102"}, "4 to 10 bytes"),
        ({"card_uid": "xyz"}, "card_uid must be hex"),
        ({"holder_key": "00" * 31}, "32-byte Ed25519"),
        ({"phone": "13800138000"}, "unknown claim field(s): phone"),
        ({"id_number": "110101199003071234"}, "unknown claim field(s): id_number"),
    ],
)
def test_claims_that_break_a_rule_are_refused_before_anything_is_signed(
    changes: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidClaims) as caught:
        fmt.Claims.from_mapping(typical_mapping(**changes))
    assert words in caught.value.message


def test_a_claims_file_missing_a_field_names_it() -> None:
    data = typical_mapping()
    del data["expires_at"]
    with pytest.raises(InvalidClaims, match="missing claim field"):
        fmt.Claims.from_mapping(data)
    with pytest.raises(InvalidClaims, match="JSON object"):
        fmt.Claims.from_mapping(["not", "a", "map"])  # type: ignore[arg-type]


def test_a_plain_date_means_midnight_in_china_standard_time() -> None:
    claims = fmt.Claims.from_mapping(typical_mapping(issued_at="2026-11-23"))
    assert claims.issued_at.isoformat() == "2026-11-23T00:00:00+08:00"
    utc = fmt.Claims.from_mapping(typical_mapping(issued_at="2026-11-22T16:00:00Z"))
    assert utc == claims and utc.to_cbor() == claims.to_cbor()


def test_claims_built_in_code_are_validated_like_claims_from_a_file() -> None:
    good = fmt.Claims.from_mapping(typical_mapping())
    fields = {name: getattr(good, name) for name in good.__dataclass_fields__}
    with pytest.raises(InvalidClaims):
        fmt.Claims(**{**fields, "categories": frozenset({"cleaning"})})
    with pytest.raises(InvalidClaims):
        fmt.Claims(**{**fields, "subject_kind": "worker"})
    with pytest.raises(InvalidClaims):
        fmt.Claims(**{**fields, "serial": True})
    # a name already seen (good's) skips the Unicode checks, never the type checks
    for wrong in (good.issued_at.date(), "2026-11-23", None):
        with pytest.raises(InvalidClaims, match="issued_at"):
            fmt.Claims(**{**fields, "issued_at": wrong})
    with pytest.raises(InvalidClaims, match="expires_at"):
        fmt.Claims(**{**fields, "expires_at": good.expires_at.date()})
    assert fmt.Claims(**fields) == good


def test_mask_name_keeps_the_first_and_last_character() -> None:
    assert fmt.mask_name("李小霞") == "李*霞"
    assert fmt.mask_name("王芳") == "王*"
    assert fmt.mask_name("欧阳娜娜") == "欧*娜"
    assert fmt.mask_name(" 李 小 霞 ") == "李*霞"
    with pytest.raises(InvalidClaims):
        fmt.mask_name("李")


def test_a_kid_other_than_two_bytes_is_refused_when_signing() -> None:
    claims = fmt.Claims.from_mapping(typical_mapping())
    with pytest.raises(ValueError, match="2 bytes"):
        fmt.sign(claims, ed25519.SigningKey(bytes(32)), kid=b"\x01\x02\x03\x04")


def test_the_verify_url_needs_a_scheme_and_host() -> None:
    cred = fmt.decode(bytes.fromhex(load(VECTORS / "typical-worker.json")["credential_hex"]))
    with pytest.raises(ValueError, match="https://"):
        cred.to_url("v.anxinma.gov.cn")
    assert cred.to_url("https://v.anxinma.gov.cn/") == cred.to_url("https://v.anxinma.gov.cn")


@pytest.mark.parametrize(
    ("text", "base"),
    [
        ("https://v.example.cn/v/37", "https://v.example.cn"),
        ("HTTPS://V.EXAMPLE.CN/V/37", "HTTPS://V.EXAMPLE.CN"),  # a QR's upper case, kept as written
        ("https://a.cn/v#37", "https://a.cn"),
        ("  https://a.cn/city/v/9 \n", "https://a.cn/city"),
        ("https://v/123", None),  # a host named v: no /v/ path
        ("https://v.example.cn", None),  # no path at all
        ("http://x", None),
        ("37123", None),
        ("84a1", None),
    ],
)
def test_the_base_url_a_code_points_at(text: str, base: str | None) -> None:
    assert fmt.base_url_of(text) == base


def test_each_category_has_one_label_per_language_used_by_every_surface() -> None:
    assert [c.en for c in fmt.Category][:2] == ["Cleaning", "Infant care"]
    assert all(c.en and c.zh for c in fmt.Category)
    assert len({c.en for c in fmt.Category}) == len({c.zh for c in fmt.Category}) == len(fmt.Category)


def test_the_last_valid_day_is_the_day_before_the_exclusive_end_in_china_time() -> None:
    claims = fmt.Claims.from_mapping(
        {
            "issuer_code": 330200, "serial": 1, "subject_kind": "worker", "archive_id": 1, "enterprise_id": 4,
            "display_name": "李*霞", "categories": ["保洁"], "issued_at": "2026-12-06", "expires_at": "2028-12-06",
        }
    )  # fmt: skip
    assert claims.last_valid_day == date(2028, 12, 5)
    assert claims.expires_at.date() == date(2028, 12, 6)  # the exclusive end stays what is signed
