"""The 安心码 credential format, version 1 — the one place the format lives.

Binary form: an untagged COSE_Sign1 (RFC 9052 §4.2) in deterministic CBOR (RFC 8949 §4.2.1)
whose payload is a CWT claims set (RFC 8392), signed with EdDSA / Ed25519. Text forms (URL,
decimal digits, hex) are encodings of that one binary form. docs/format.md is the
specification; tests/vectors/ holds its test vectors.

Modules (imports point one way): ``_cbor`` (deterministic CBOR heads) and ``values`` (kinds,
categories, dates, names) know nothing of each other; ``text`` (decimal, URL, hex forms);
``claims`` (the claims set and its CBOR map); ``cose`` (the COSE_Sign1: sign, decode);
``presentation`` (the dynamic code: a holder-bound credential with the holder key's proof).
Every public name is here.

Layout decisions, each paid for in bytes (the budget: a typical worker credential at most
120 bytes, its URL in a QR of version 8 or lower at error correction M):

* protected header ``{1: -8, 4: kid}``: alg EdDSA and a 2-byte kid, both covered by the
  signature; the unprotected header is the empty map. The kid only has to be unique among
  one issuer's keys, because the issuer code in the claims (covered by the same signature)
  picks the issuer first; 2 bytes instead of 4 keep the example credential at 119 bytes.
* claims use one-byte keys (-1 … -10) from a table below; the holder key uses the registered
  ``cnf`` claim (RFC 8747) because its meaning is exactly that.
* one ``type`` claim names both the format version and the subject kind (1 = v1 worker,
  2 = v1 enterprise), so the version costs no byte of its own.
* dates are whole days in China Standard Time (UTC+8, no daylight saving), counted from
  1970-01-01: three bytes a date instead of five for seconds.
* the URL form carries the bytes as decimal digits, which a QR holds in numeric mode at 3.33
  bits a digit; the URL prefix goes in alphanumeric mode (upper case) beside it.
"""

from anxinma.credential.claims import ClaimKey, Claims, last_valid_day
from anxinma.credential.cose import (
    COSE_ALG_EDDSA,
    KID_SIZE,
    MAX_CREDENTIAL_BYTES,
    Credential,
    decode,
    decode_text,
    derive_kid,
    sig_structure,
    sign,
)
from anxinma.credential.presentation import (
    PRESENTATION_CONTEXT,
    PRESENTATION_OVERHEAD,
    Presentation,
    decode_presentation,
    is_presentation,
    present,
    proof_input,
)
from anxinma.credential.text import (
    DEFAULT_BASE_URL,
    MAX_TEXT_LENGTH,
    base_url_of,
    from_decimal,
    parse_text,
    to_decimal,
)
from anxinma.credential.values import (
    CHINA_TZ,
    CREDENTIAL_TYPES,
    FORMAT_VERSION,
    MAX_DAY,
    MAX_DIVISION_CODE,
    MAX_SERIAL,
    MIN_DIVISION_CODE,
    Category,
    SubjectKind,
    categories_from_bits,
    categories_to_bits,
    mask_name,
    parse_when,
)

__all__ = [
    "CHINA_TZ",
    "COSE_ALG_EDDSA",
    "CREDENTIAL_TYPES",
    "DEFAULT_BASE_URL",
    "FORMAT_VERSION",
    "KID_SIZE",
    "MAX_CREDENTIAL_BYTES",
    "MAX_DAY",
    "MAX_DIVISION_CODE",
    "MAX_SERIAL",
    "MAX_TEXT_LENGTH",
    "MIN_DIVISION_CODE",
    "PRESENTATION_CONTEXT",
    "PRESENTATION_OVERHEAD",
    "Category",
    "ClaimKey",
    "Claims",
    "Credential",
    "Presentation",
    "SubjectKind",
    "base_url_of",
    "categories_from_bits",
    "categories_to_bits",
    "decode",
    "decode_presentation",
    "decode_text",
    "derive_kid",
    "from_decimal",
    "is_presentation",
    "last_valid_day",
    "mask_name",
    "parse_text",
    "parse_when",
    "present",
    "proof_input",
    "sig_structure",
    "sign",
    "to_decimal",
]
