"""Property tests (hypothesis) of the v1 format: every encoder/decoder pair, tamper resistance,
and that the fast readers accept exactly what the reference readers accept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.credential import claims as claims_set
from anxinma.credential import cose, values
from anxinma.errors import AnxinmaError, BadSignature, MalformedCredential

KEY = ed25519.SigningKey(bytes(range(32)))
OTHER_KEY = ed25519.SigningKey(bytes(range(1, 33)))

_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_NAME_CHAR = st.one_of(_CJK, st.sampled_from("·ABCxyz"))


@st.composite
def worker_names(draw: st.DrawFn) -> str:
    first = draw(st.text(_NAME_CHAR, min_size=1, max_size=3))
    last = draw(st.text(_NAME_CHAR, min_size=0, max_size=3))
    name = f"{first}*{last}"
    return name if len(name.encode()) <= 24 else name[:3] + "*"


_ENTERPRISE_NAME = st.text(
    st.one_of(_CJK, st.sampled_from("()AB·12有限公司")), min_size=1, max_size=21
).filter(lambda n: not values._DIGIT_RUN.search(n))


@st.composite
def claims(draw: st.DrawFn) -> fmt.Claims:
    kind = draw(st.sampled_from(fmt.SubjectKind))
    if kind is fmt.SubjectKind.WORKER:
        name = draw(worker_names())
        categories = draw(st.frozensets(st.sampled_from(fmt.Category), min_size=1))
    else:
        name = draw(_ENTERPRISE_NAME)
        categories = draw(st.frozensets(st.sampled_from(fmt.Category)))
    issued_day = draw(st.integers(0, fmt.MAX_DAY - 1))
    expires_day = draw(st.integers(issued_day + 1, min(fmt.MAX_DAY, issued_day + 40 * 366)))
    return fmt.Claims(
        issuer_code=draw(st.integers(110000, 829999)),
        serial=draw(st.integers(0, 2**32 - 1)),
        subject_kind=kind,
        archive_id=draw(st.integers(0, 2**53 - 1)),
        enterprise_id=draw(st.integers(0, 2**53 - 1)),
        display_name=name,
        categories=categories,
        issued_at=values._from_day(issued_day),
        expires_at=values._from_day(expires_day),
        card_uid=draw(st.none() | st.binary(min_size=4, max_size=10)),
        holder_key=draw(st.none() | st.binary(min_size=32, max_size=32)),
    )


def cbor2_claims_map(c: fmt.Claims) -> dict[int, Any]:
    """The claims map as a general encoder is given it (docs/format.md, "Claims")."""
    day = timedelta(days=1)
    value: dict[int, Any] = {
        -1: 1 if c.subject_kind is fmt.SubjectKind.WORKER else 2,
        -2: c.issuer_code,
        -3: c.serial,
        -4: c.archive_id,
        -5: c.enterprise_id,
        -6: c.display_name,
        -7: sum(1 << cat.bit for cat in c.categories),
        -8: (c.issued_at - values._from_day(0)) // day,
        -9: (c.expires_at - values._from_day(0)) // day,
    }
    if c.card_uid is not None:
        value[-10] = c.card_uid
    if c.holder_key is not None:
        value[8] = {1: {1: 1, -1: 6, -2: c.holder_key}}
    return value


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(claims())
def test_decoding_an_encoded_claims_set_gives_the_same_claims(c: fmt.Claims) -> None:
    assert fmt.Claims.from_cbor(c.to_cbor()) == c
    assert fmt.Claims.from_cbor(bytearray(c.to_cbor())) == c  # any bytes-like payload, as cbor2 reads


@SETTINGS
@given(claims())
def test_the_claims_bytes_are_the_deterministic_cbor_a_general_encoder_writes(c: fmt.Claims) -> None:
    """Pins the hand-written encoder to RFC 8949 §4.2.1 as cbor2 implements it."""
    assert c.to_cbor() == cbor2.dumps(cbor2_claims_map(c), canonical=True)


@SETTINGS
@given(claims())
def test_a_signed_credential_decodes_to_itself_and_verifies(c: fmt.Claims) -> None:
    cred = fmt.sign(c, KEY)
    assert cred.to_bytes() == cbor2.dumps([cred.protected, {}, cred.payload, cred.signature])
    decoded = fmt.decode(cred.to_bytes())
    assert decoded == cred == cose._decode_reference(cred.to_bytes())
    decoded.verify_signature(KEY.public_key)
    assert len(cred.to_bytes()) <= 260


@SETTINGS
@given(claims(), st.sampled_from(["https://v.anxinma.gov.cn", "http://127.0.0.1:8600", "https://A.B"]))
def test_every_text_form_reads_back_to_the_same_bytes(c: fmt.Claims, base: str) -> None:
    cred = fmt.sign(c, KEY)
    raw = cred.to_bytes()
    for form in (
        cred.to_url(base),
        f"{base}/v#{cred.to_decimal()}",
        cred.qr_text(base),
        cred.to_decimal(),
        cred.to_hex(),
    ):
        assert fmt.parse_text(form) == raw


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_the_decimal_form_round_trips_any_bytes(data: bytes) -> None:
    text = fmt.to_decimal(data)
    assert text.isascii() and text.isdigit()
    assert fmt.from_decimal(text) == data
    assert len(text) <= len(data) * 17 // 7 + 3


@SETTINGS
@given(claims(), st.data())
def test_flipping_any_single_bit_of_a_signed_credential_never_verifies(
    c: fmt.Claims, data: st.DataObject
) -> None:
    raw = fmt.sign(c, KEY).to_bytes()
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    flipped = bytearray(raw)
    flipped[bit // 8] ^= 1 << (bit % 8)
    try:
        cred = fmt.decode(bytes(flipped))
    except MalformedCredential:
        return
    try:
        cred.verify_signature(KEY.public_key)
    except BadSignature:
        return
    raise AssertionError(f"bit {bit} flipped and the credential still verified")


@SETTINGS
@given(claims())
def test_a_credential_never_verifies_under_another_key(c: fmt.Claims) -> None:
    cred = fmt.decode(fmt.sign(c, KEY).to_bytes())
    try:
        cred.verify_signature(OTHER_KEY.public_key)
    except BadSignature:
        return
    raise AssertionError("verified under the wrong key")


def _outcome(func: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", func(data)
    except AnxinmaError as exc:
        return type(exc).__name__, exc.message


@st.composite
def mutated_credentials(draw: st.DrawFn) -> bytes:
    raw = bytearray(fmt.sign(draw(claims()), KEY).to_bytes())
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        at = draw(st.integers(0, len(raw) - 1))
        if action == "replace":
            raw[at] = draw(st.integers(0, 255))
        elif action == "insert":
            raw.insert(at, draw(st.integers(0, 255)))
        elif len(raw) > 1:
            del raw[at]
    return bytes(raw)


@settings(max_examples=400, deadline=None)
@given(st.one_of(mutated_credentials(), st.binary(min_size=1, max_size=200)))
def test_any_input_gives_a_credential_or_a_malformed_error_and_both_readers_agree(data: bytes) -> None:
    """Never another exception; the fast path accepts exactly what the reference accepts."""
    fast = _outcome(fmt.decode, data)
    reference = _outcome(cose._decode_reference, data)
    assert fast == reference
    assert fast[0] in {"ok", "MalformedCredential", "UnsupportedVersion", "UnsupportedAlgorithm"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_credential_or_a_malformed_error(text: str) -> None:
    outcome = _outcome(fmt.decode_text, text)
    assert outcome[0] in {"ok", "MalformedCredential", "UnsupportedVersion", "UnsupportedAlgorithm"}


@settings(max_examples=300, deadline=None)
@given(
    claims(), st.dictionaries(st.integers(-12, 10), st.integers(-3, 2**40) | st.text(max_size=4), max_size=3)
)
def test_any_changed_claims_map_is_read_alike_by_both_claims_readers(
    c: fmt.Claims, changes: dict[int, Any]
) -> None:
    mapping = {**cbor2_claims_map(c), **changes}
    payload = cbor2.dumps(mapping, canonical=True)
    assert _outcome(fmt.Claims.from_cbor, payload) == _outcome(claims_set._claims_reference, payload)


_URL_PIECES = st.text(alphabet="abcXYZ019.-/?#:%~_vV\t\\ é", max_size=24)


@given(
    st.binary(min_size=1, max_size=200), _URL_PIECES, _URL_PIECES, st.sampled_from(["https://", "HTTP://"])
)
def test_the_fast_url_reader_and_the_general_url_parser_agree(
    data: bytes, host: str, tail: str, scheme: str
) -> None:
    from anxinma.credential import text as text_forms

    for url in (
        f"{scheme}{host}/v/{fmt.to_decimal(data)}",
        f"{scheme}v.example.cn{tail}/v/{fmt.to_decimal(data)}",
        f"{scheme}v.example.cn/V/{fmt.to_decimal(data)}{tail}",
        f"{scheme}v/{fmt.to_decimal(data)}",  # a host named v: no path /v/ at all
        f"{scheme}V{tail}/{fmt.to_decimal(data)}",
    ):
        try:
            general: bytes | str = fmt.from_decimal(
                text_forms._payload_from_url(url.strip())
            )  # parse_text strips
        except MalformedCredential as exc:
            general = type(exc).__name__
        try:
            fast: bytes | str = fmt.parse_text(url)
        except MalformedCredential as exc:
            fast = type(exc).__name__
        assert fast == general, url
