"""The binary form: the untagged COSE_Sign1 (RFC 9052) around the claims, its kid and
signature; sign and decode (docs/format.md §2, §4).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import cbor2

from anxinma import ed25519
from anxinma.credential._cbor import (
    MAJOR_ARRAY,
    MAJOR_BYTES,
    MAJOR_MAP,
    MAJOR_TEXT,
    bstr,
    head,
    loads_canonical,
)
from anxinma.credential.claims import Claims, _claims_fields_python, _claims_of_fields
from anxinma.credential.text import _normalise_base, parse_text, to_decimal
from anxinma.errors import (
    BadSignature,
    InvalidClaims,
    MalformedCredential,
    UnsupportedAlgorithm,
)

#: Anything longer is refused before it is parsed (the largest legal v1 credential is ~260 B).
MAX_CREDENTIAL_BYTES = 1024

KID_SIZE = 2
COSE_ALG_EDDSA = -8
_HEADER_ALG = 1
_HEADER_KID = 4


def derive_kid(public_key: bytes) -> bytes:
    """The 2-byte key id: the first 16 bits of the RFC 9679 COSE Key Thumbprint.

    Anyone holding the public key computes the same kid. A kid is looked up within the
    issuer the claims name, so it need only be unique among that issuer's keys: the key
    directory refuses (and regenerates) a new key whose kid collides with one it already has.
    """
    return _derive_kid(bytes(public_key))


@functools.lru_cache(maxsize=1024)
def _derive_kid(public_key: bytes) -> bytes:
    # RFC 9679 §3: thumbprint over the deterministic encoding of the required OKP members.
    cose_key = cbor2.dumps({1: 1, -1: 6, -2: public_key}, canonical=True)
    return hashlib.sha256(cose_key).digest()[:KID_SIZE]


#: The protected header {1: -8, 4: h'<kid>'} up to the kid: map(2), alg: EdDSA, kid: bstr(2).
_PROTECTED_PREFIX = bytes.fromhex("a201270442")
#: The start of a v1 credential: array(4), bstr(7), then the protected header's prefix.
_CREDENTIAL_PREFIX = bytes((MAJOR_ARRAY | 4, MAJOR_BYTES | (len(_PROTECTED_PREFIX) + KID_SIZE)))
_CREDENTIAL_PREFIX += _PROTECTED_PREFIX
_KID_END = len(_CREDENTIAL_PREFIX) + KID_SIZE
#: RFC 9052 §4.4: array(4), "Signature1" — the start of every Sig_structure we sign.
_SIG_STRUCTURE_PREFIX = bytes((MAJOR_ARRAY | 4, MAJOR_TEXT | 10)) + b"Signature1"
_SIGNATURE_HEAD = head(MAJOR_BYTES, ed25519.SIGNATURE_SIZE)
_PROTECTED_HEAD = head(MAJOR_BYTES, len(_PROTECTED_PREFIX) + KID_SIZE)
_CREDENTIAL_HEAD = head(MAJOR_ARRAY, 4) + _PROTECTED_HEAD
_EMPTY_MAP, _PAYLOAD_SIZE_1 = MAJOR_MAP, MAJOR_BYTES | 24  # {} then a bstr with a 1-byte length
#: The bytes of a credential around its payload: everything but the n payload bytes.
_ENVELOPE_SIZE = _KID_END + 3 + len(_SIGNATURE_HEAD) + ed25519.SIGNATURE_SIZE


def _protected_header(kid: bytes) -> bytes:
    return _PROTECTED_PREFIX + kid


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4: the bytes Ed25519 signs, ["Signature1", protected, h'', payload].

    The heads are joined in one step (a verifier builds this once per scan)."""
    return b"".join(
        (
            _SIG_STRUCTURE_PREFIX,
            head(MAJOR_BYTES, len(protected)),
            protected,
            b"\x40",
            head(MAJOR_BYTES, len(payload)),
            payload,
        )
    )


def _cose_sign1(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    """RFC 9052 §4.2: [protected, unprotected = {}, payload, signature], untagged."""
    return b"".join((b"\x84", bstr(protected), b"\xa0", bstr(payload), bstr(signature)))


@dataclass(frozen=True, slots=True)
class Credential:
    """Claims with the kid, the signature and the exact bytes that were signed."""

    claims: Claims
    kid: bytes
    signature: bytes
    protected: bytes = field(repr=False)
    payload: bytes = field(repr=False)
    raw: bytes = field(repr=False)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    def to_bytes(self) -> bytes:
        return self.raw

    def to_hex(self) -> str:
        return self.raw.hex()

    def to_decimal(self) -> str:
        return to_decimal(self.raw)

    def to_url(self, base_url: str) -> str:
        """``https://<verify host>/v/<decimal>``: the form a phone camera opens."""
        return f"{_normalise_base(base_url)}/v/{self.to_decimal()}"

    def qr_segments(self, base_url: str) -> list[str]:
        """The URL as two QR segments: the prefix upper-cased (alphanumeric mode), the digits
        (numeric mode); the QR encoder picks each segment's mode from its characters.

        Scheme and host are case-insensitive and the service answers ``/V/`` as ``/v/``, so
        the upper-case prefix opens the same page while costing 5.5 instead of 8 bits a character.
        """
        return [f"{_normalise_base(base_url)}/v/".upper(), self.to_decimal()]

    def qr_text(self, base_url: str) -> str:
        """What a QR reader returns for :meth:`qr_segments`."""
        return "".join(self.qr_segments(base_url))

    def signed_bytes(self) -> bytes:
        return sig_structure(self.protected, self.payload)

    def verify_signature(self, public_key: bytes) -> None:
        """Raise :class:`BadSignature` unless the signature verifies under ``public_key``."""
        if not ed25519.verify(public_key, self.signature, self.signed_bytes()):
            raise BadSignature("the signature does not verify", message_zh="签名验证失败")


# Fast constructors for the hot paths: object.__new__ and the slots' own descriptors, which
# cost half of a frozen dataclass's __init__ (it goes through object.__setattr__ per field).
# They build exactly what the dataclass __init__ builds: Claims runs the same __post_init__.
_SET_CLAIMS, _SET_KID, _SET_SIGNATURE, _SET_PROTECTED, _SET_PAYLOAD, _SET_RAW = (
    Credential.__dict__[name].__set__
    for name in ("claims", "kid", "signature", "protected", "payload", "raw")
)
_new_object = object.__new__


def _new_credential(
    claims: Claims, kid: bytes, signature: bytes, protected: bytes, payload: bytes, raw: bytes
) -> Credential:
    credential: Credential = _new_object(Credential)
    _SET_CLAIMS(credential, claims)
    _SET_KID(credential, kid)
    _SET_SIGNATURE(credential, signature)
    _SET_PROTECTED(credential, protected)
    _SET_PAYLOAD(credential, payload)
    _SET_RAW(credential, raw)
    return credential


def sign(claims: Claims, key: ed25519.SigningKey, kid: bytes | None = None) -> Credential:
    """Sign ``claims`` with an issuer key; the kid defaults to :func:`derive_kid` of its public key."""
    kid = derive_kid(key.public_key) if kid is None else kid
    if len(kid) != KID_SIZE:
        raise ValueError(f"a kid is {KID_SIZE} bytes")
    protected = _PROTECTED_PREFIX + kid
    payload = claims.to_cbor()
    payload_head = head(MAJOR_BYTES, len(payload))
    # The Sig_structure and the COSE_Sign1 share the protected header and the payload: their
    # bytes are joined directly (the same as sig_structure() and _cose_sign1(), which the tests
    # check against cbor2), because issuing is a hot path.
    signature = key.sign(
        b"".join((_SIG_STRUCTURE_PREFIX, _PROTECTED_HEAD, protected, b"\x40", payload_head, payload))
    )
    raw = b"".join((_CREDENTIAL_HEAD, protected, b"\xa0", payload_head, payload, _SIGNATURE_HEAD, signature))
    if len(raw) > MAX_CREDENTIAL_BYTES:  # pragma: no cover - claims limits keep it near 260 B
        raise InvalidClaims(
            "the credential would exceed the 1 KiB limit", message_zh="安心码将超过 1 KiB 上限"
        )
    return _new_credential(claims, kid, signature, protected, payload, raw)


def decode(data: bytes) -> Credential:
    """Parse the binary form without trusting it (the signature is *not* checked here).

    Raises :class:`MalformedCredential` (or its subclasses :class:`UnsupportedVersion`,
    :class:`UnsupportedAlgorithm`) with a specific reason for every input that is not a
    well-formed v1 credential in deterministic CBOR.
    """
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedCredential("a credential is bytes", message_zh="安心码的二进制形式必须是字节")
        data = bytes(data)
    if not data:
        raise MalformedCredential("empty input", message_zh="输入为空")
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise MalformedCredential(
            f"{len(data)} bytes is more than the {MAX_CREDENTIAL_BYTES}-byte limit", message_zh="数据过长"
        )
    fast = _decode_common_form(data)
    if fast is not None:
        return fast
    return _decode_reference(data)


def _decode_reference(data: bytes) -> Credential:
    """The reference reader of the envelope: decode, re-encode canonically, compare, then check
    each member in the spec's order. It words every error :func:`decode` raises."""
    if data[0] == 0xD2:  # tag 18
        # RFC 9052 §4.2: COSE_Sign1_Tagged. The v1 form is the untagged array (docs/format.md §2).
        raise MalformedCredential(
            "the code carries a COSE tag that a 安心码 never has (written by other software): "
            "use the code exactly as it was issued",
            message_zh="此码带有安心码从不使用的 COSE 标签（由其他软件生成）：请使用原样签发的安心码",
        )
    if data[0] == 0x83:  # an array of three: the dynamic code (docs/format.md §12)
        raise MalformedCredential(
            "this is a worker's dynamic code, not a credential on its own (a credential is an array of "
            "four): verify it as a dynamic code (anxinma verify reads both)",
            message_zh="这是服务员手机上的动态码，不是单独的安心码：请按动态码核验（anxinma verify 两者都能读）",
        )
    outer = loads_canonical(data, "credential")
    if isinstance(outer, cbor2.CBORTag):
        raise MalformedCredential(
            f"a credential behind CBOR tag {outer.tag} is not the v1 form (untagged COSE_Sign1)",
            message_zh=f"带 CBOR 标签 {outer.tag} 的数据不是 v1 形式（应为不带标签的 COSE_Sign1）",
        )
    if not isinstance(outer, list | tuple) or len(outer) != 4:
        raise MalformedCredential(
            "not a COSE_Sign1 structure (an array of four)", message_zh="不是 COSE_Sign1 结构"
        )
    protected, unprotected, payload, signature = outer
    if not isinstance(protected, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise MalformedCredential(
            "COSE_Sign1 members have the wrong types", message_zh="COSE_Sign1 成员类型错误"
        )
    if unprotected != {}:
        raise MalformedCredential(
            "the unprotected header must be empty in v1", message_zh="v1 的非保护头必须为空"
        )
    if len(signature) != ed25519.SIGNATURE_SIZE:
        raise MalformedCredential("an Ed25519 signature is 64 bytes", message_zh="Ed25519 签名必须是 64 字节")
    header = loads_canonical(protected, "protected header")
    if not isinstance(header, dict):
        raise MalformedCredential("the protected header is not a map", message_zh="保护头不是映射")
    alg = header.get(_HEADER_ALG)
    if alg != COSE_ALG_EDDSA:
        raise UnsupportedAlgorithm(
            f"algorithm {alg!r} is not EdDSA (-8)", message_zh=f"不支持的签名算法 {alg!r}"
        )
    kid = header.get(_HEADER_KID)
    if set(header) != {_HEADER_ALG, _HEADER_KID} or not isinstance(kid, bytes) or len(kid) != KID_SIZE:
        raise MalformedCredential(
            f"the protected header must be exactly {{alg: EdDSA, kid: {KID_SIZE} bytes}}",
            message_zh=f"保护头必须恰为 {{alg: EdDSA, kid: {KID_SIZE} 字节}}",
        )
    claims = Claims.from_cbor(payload)
    return Credential(claims, kid, signature, protected, payload, data)


def _decode_common_form(data: bytes) -> Credential | None:
    """The envelope of a well-formed credential checked by its exact bytes, or None.

    Every v1 credential is ``84 47 a2 01 27 04 42 <kid:2> a0 58 <n> <payload:n> 58 40 <sig:64>``
    (an array of 4; the 7-byte protected header {1: -8, 4: kid}; the empty map; the payload,
    whose length the claims' limits keep within 24 … 255 bytes, so its head is ``58 n``; the
    signature). When ``data`` is exactly that, every head is in its shortest form and the
    reference path of :func:`decode` could only go on to :meth:`Claims.from_cbor`, so this does
    the same without decoding and re-encoding the envelope, reading envelope and claims in one
    step (:func:`_read_credential`: the C reader, or :func:`_credential_fields_python`).
    Anything else returns None, and the reference path reads it and words the error.
    """
    fields = _read_credential(data)
    if fields is None:
        return None
    kid, signature, protected, payload = fields[:4]
    claims = _claims_of_fields(*fields[4:])
    if claims is None:  # a rule on values: Claims.from_cbor words it
        claims = Claims.from_cbor(payload)
    return _new_credential(claims, kid, signature, protected, payload, data)


def _credential_fields_python(data: bytes) -> CredentialFields | None:
    """(kid, signature, protected, payload, *claims fields) of a credential in the common
    envelope (above) whose payload :func:`~anxinma.credential.claims._claims_fields_python`
    reads, else None. The C accelerator's ``credential_fields`` is the same rule."""
    size = len(data) - _ENVELOPE_SIZE
    if not (
        24 <= size <= 255
        and data.startswith(_CREDENTIAL_PREFIX)
        and data[_KID_END] == _EMPTY_MAP
        and data[_KID_END + 1] == _PAYLOAD_SIZE_1
        and data[_KID_END + 2] == size
        and data[-66] == _SIGNATURE_HEAD[0]
        and data[-65] == _SIGNATURE_HEAD[1]
    ):
        return None
    payload = data[_KID_END + 3 : -66]
    claims = _claims_fields_python(payload)
    if claims is None:
        return None
    return (data[_KID_END - KID_SIZE : _KID_END], data[-64:], data[2:_KID_END], payload, *claims)


#: What :func:`_credential_fields_python` returns: kid, signature, protected, payload, then ClaimFields.
CredentialFields = tuple[
    bytes, bytes, bytes, bytes, int, int, int, int, int, str, int, int, int, bytes | None, bytes | None
]

_read_credential: Callable[[bytes], CredentialFields | None]
try:  # the C reader (optional, built where a compiler was present)
    from anxinma.credential._speedups import credential_fields as _read_credential
except ImportError:  # pragma: no cover - the Python reader is the same rule
    _read_credential = _credential_fields_python


def decode_text(text: str) -> Credential:
    """:func:`decode` of :func:`parse_text`: any text form to an (unverified) credential."""
    return decode(parse_text(text))
