"""Measure the v1 format and write the generated blocks of docs/format.md.

Every number in docs/format.md's tables comes from here, measured on the committed test
vectors (tests/vectors/) with segno at error correction M, never typed by hand::

    .venv/bin/python scripts/format_tables.py          # rewrite the blocks
    .venv/bin/python scripts/format_tables.py --check  # exit 1 if the document is stale

A block is the text between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import segno

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anxinma import credential as fmt  # noqa: E402
from anxinma.credential import values  # noqa: E402

DOC = ROOT / "docs" / "format.md"
VECTORS = ROOT / "tests" / "vectors"
HOST = "v.anxinma.gov.cn"  # 16 characters: the longest verify host the budget allows
BASE = f"https://{HOST}"

#: ISO/IEC 18004 Table 7: data codewords at error correction M, versions 1 … 15.
DATA_CODEWORDS_M = [16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415]
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return data


def positive_vectors() -> list[dict[str, Any]]:
    order = ["typical-worker", "card-uid", "holder-key", "enterprise", "worker-limits", "enterprise-limits"]
    found = {
        p.stem
        for p in VECTORS.glob("*.json")
        if not p.stem.startswith("negative") and "credential_hex" in json.loads(p.read_text("utf-8"))
    }  # the credential's vectors, not the other formats' files beside them
    return [vector(name) for name in order + sorted(found - set(order)) if name in found]


# -- QR arithmetic ------------------------------------------------------------------------


def _mode(segment: str | bytes) -> str:
    if isinstance(segment, str) and segment.isdigit():
        return "numeric"
    if isinstance(segment, str) and all(ch in _ALPHANUMERIC for ch in segment):
        return "alphanumeric"
    return "byte"


def _count_bits(mode: str, version: int) -> int:
    small, medium, large = {"numeric": (10, 12, 14), "alphanumeric": (9, 11, 13), "byte": (8, 16, 16)}[mode]
    return small if version <= 9 else medium if version <= 26 else large


def _data_bits(mode: str, segment: str | bytes) -> int:
    n = len(segment) if isinstance(segment, str) and mode != "byte" else len(_as_bytes(segment))
    if mode == "numeric":
        return 10 * (n // 3) + (0, 4, 7)[n % 3]
    if mode == "alphanumeric":
        return 11 * (n // 2) + 6 * (n % 2)
    return 8 * n


def _as_bytes(segment: str | bytes) -> bytes:
    return segment if isinstance(segment, bytes) else segment.encode("utf-8")


def qr_fit(segments: list[str | bytes]) -> tuple[int, int, int]:
    """(version, bits used, bits available at that version) at error correction M.

    Computed from the segment modes (ISO/IEC 18004 §7.4) and checked against segno's choice.
    """
    for version, codewords in enumerate(DATA_CODEWORDS_M, start=1):
        bits = sum(4 + _count_bits(_mode(s), version) + _data_bits(_mode(s), s) for s in segments)
        if bits <= codewords * 8:
            made = segno.make(list(segments), error="m", boost_error=False)
            assert made.version == version, (made.version, version, segments)
            return version, bits, codewords * 8
    raise ValueError("larger than version 15")


# -- tables -------------------------------------------------------------------------------


def sizes_table() -> str:
    rows = [
        "| vector | claims | payload | credential | decimal digits | URL characters | QR version (URL, M) | spare bits |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in positive_vectors():
        cred = fmt.decode(bytes.fromhex(v["credential_hex"]))
        version, bits, capacity = qr_fit(list(cred.qr_segments(BASE)))
        extras = [name for name in ("card_uid", "holder_key") if name in v["claims"]]
        what = f"{v['claims']['subject_kind']}" + (f" + {' + '.join(extras)}" if extras else "")
        rows.append(
            f"| `{v['name']}` | {what} | {len(cred.payload)} B | **{len(cred.to_bytes())} B** | "
            f"{len(v['decimal'])} | {len(v['url'])} | {version}-M | {capacity - bits} |"
        )
    return "\n".join(rows)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _shc_digits(text: str) -> str:
    """SMART Health Cards' numeric encoding: each character as two digits, ord(c) - 45."""
    return "".join(f"{ord(ch) - 45:02d}" for ch in text)


def encoding_candidates(raw: bytes) -> Iterator[tuple[str, list[str | bytes], str]]:
    prefix = f"{BASE}/v/"
    upper = prefix.upper()
    decimal = fmt.to_decimal(raw)
    yield (
        "**decimal digits, numeric mode** (chosen: 7-byte groups as 17 digits)",
        [upper, decimal],
        "alnum + numeric",
    )
    yield "decimal digits, prefix kept lower-case", [prefix, decimal], "byte + numeric"
    yield (
        "base64url as digit pairs, numeric mode (SMART Health Cards' `shc:/` scheme)",
        [upper, _shc_digits(_b64url(raw))],
        "alnum + numeric",
    )
    yield "base32 (RFC 4648, upper case), alphanumeric mode", [upper + _b32(raw)], "alnum"
    yield "hex, upper case, alphanumeric mode", [upper + raw.hex().upper()], "alnum"
    yield "base64url (RFC 4648 §5), byte mode", [prefix + _b64url(raw)], "byte"
    yield "raw binary, byte mode (no URL: a phone camera cannot open it)", [raw], "byte"


def encodings_table() -> str:
    typical = bytes.fromhex(vector("typical-worker")["credential_hex"])
    with_uid = bytes.fromhex(vector("card-uid")["credential_hex"])
    rows = [
        f"| text form of the URL (host `{HOST}`) | QR modes | typical, {len(typical)} B: chars | bits | "
        f"version | with card UID, {len(with_uid)} B: chars | bits | version |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (label, segments, modes), (_, segments_uid, _) in zip(
        encoding_candidates(typical), encoding_candidates(with_uid), strict=True
    ):
        version, bits, _ = qr_fit(segments)
        version_uid, bits_uid, _ = qr_fit(segments_uid)
        chars = sum(len(s) for s in segments)
        chars_uid = sum(len(s) for s in segments_uid)
        rows.append(
            f"| {label} | {modes} | {chars} | {bits} | **{version}-M** | {chars_uid} | {bits_uid} | **{version_uid}-M** |"
        )
    capacity = ", ".join(f"v{v} {c * 8}" for v, c in enumerate(DATA_CODEWORDS_M[5:11], start=6))
    rows += ["", f"Data bits available at error correction M: {capacity}."]
    return "\n".join(rows)


# -- byte layout --------------------------------------------------------------------------

_MAJOR_NAMES = {0: "uint", 1: "nint", 2: "bstr", 3: "tstr", 4: "array", 5: "map", 6: "tag", 7: "simple"}
_CLAIM_NAMES = {int(k): k.name.lower() for k in fmt.ClaimKey}


def _head(data: bytes, at: int) -> tuple[int, int, int]:
    """(major type, argument, head length) of the item at ``at``."""
    first = data[at]
    major, info = first >> 5, first & 0x1F
    if info < 24:
        return major, info, 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return major, int.from_bytes(data[at + 1 : at + 1 + size], "big"), 1 + size


def _item(data: bytes, at: int) -> tuple[Any, int]:
    """A scalar item's value and total length (ints, strings)."""
    major, arg, head = _head(data, at)
    if major == 0:
        return arg, head
    if major == 1:
        return -1 - arg, head
    if major in (2, 3):
        raw = data[at + head : at + head + arg]
        return (raw if major == 2 else raw.decode()), head + arg
    raise ValueError("not a scalar")


def _claim_meaning(key: int, value: Any) -> str:
    if key == -1:
        version, kind = fmt.CREDENTIAL_TYPES[value]
        return f"format v{version}, {kind.value}"
    if key in (-8, -9):
        return f"day {value} = {values._from_day(value).date().isoformat()} (UTC+8)"
    if key == -7:
        names = "、".join(c.zh for c in sorted(fmt.categories_from_bits(value), key=lambda c: c.bit))
        return f"0b{value:07b}: {names}"
    if key == -6:
        return f"“{value}” ({len(value.encode())} bytes of UTF-8)"
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def layout_table(name: str) -> str:
    v = vector(name)
    raw = bytes.fromhex(v["credential_hex"])
    rows = ["| offset | bytes | CBOR | meaning |", "| ---: | --- | --- | --- |"]

    def add(at: int, length: int, cbor: str, meaning: str) -> None:
        chunk = raw[at : at + length].hex(" ")
        if length > 12:
            chunk = raw[at : at + 6].hex(" ") + f" … ({length} bytes)"
        rows.append(f"| {at} | `{chunk}` | {cbor} | {meaning} |")

    add(0, 1, "array(4)", "COSE_Sign1, untagged (RFC 9052 §4.2)")
    _, plen, phead = _head(raw, 1)
    add(1, phead, f"bstr({plen})", "protected header, serialized:")
    add(2, 1, "map(2)", "")
    add(3, 2, "1: -8", "alg: EdDSA (RFC 9053 §2.2)")
    kid_at = 5
    add(
        kid_at,
        2 + fmt.KID_SIZE,
        f"4: h'{v['kid']}'",
        "kid: RFC 9679 thumbprint of the issuer key, first 2 bytes",
    )
    at = 1 + phead + plen
    add(at, 1, "map(0)", "unprotected header: empty")
    at += 1
    _, length, head = _head(raw, at)
    add(at, head, f"bstr({length})", "payload: the CWT claims set (RFC 8392), serialized:")
    at += head
    end = at + length
    _, count, head = _head(raw, at)
    add(at, head, f"map({count})", "claims")
    at += head
    while at < end:
        key, key_len = _item(raw, at)
        if key == 8:  # cnf: a nested map, shown whole
            inner_end = at + key_len + 1 + 1 + 1 + 2 + 2 + 2 + 32
            add(
                at,
                inner_end - at,
                "8: {1: {1: 1, -1: 6, -2: h'…'}}",
                f"cnf: holder key (Ed25519 OKP COSE_Key) {v['claims']['holder_key'][:16]}…",
            )
            at = inner_end
            continue
        value, value_len = _item(raw, at + key_len)
        shown = (
            f'"{value}"'
            if isinstance(value, str)
            else (f"h'{value.hex()}'" if isinstance(value, bytes) else value)
        )
        add(at, key_len + value_len, f"{key}: {shown}", f"{_CLAIM_NAMES[key]}: {_claim_meaning(key, value)}")
        at += key_len + value_len
    _, length, head = _head(raw, at)
    add(at, head, f"bstr({length})", "signature:")
    add(at + head, length, "", "Ed25519 over the Sig_structure (RFC 9052 §4.4)")
    rows.append(f"| {len(raw)} | | | end: {len(raw)} bytes |")
    return "\n".join(rows)


def worked_example(name: str) -> str:
    v = vector(name)
    claims_json = json.dumps(v["claims"], ensure_ascii=False, indent=2)
    return "\n".join(
        [
            f"Issuer seed (test only): `{v['issuer_seed']}`  ",
            f"Issuer public key: `{v['issuer_public_key']}`; kid `{v['kid']}`",
            "",
            "Claims file (`anxinma credential issue --claims`):",
            "",
            "```json",
            claims_json,
            "```",
            "",
            f"Protected header ({len(v['protected_hex']) // 2} B): `{v['protected_hex']}`  ",
            f"Payload ({len(v['payload_hex']) // 2} B): `{v['payload_hex']}`  ",
            f"Sig_structure ({len(v['sig_structure_hex']) // 2} B): `{v['sig_structure_hex']}`  ",
            f"Signature: `{v['signature_hex']}`",
            "",
            f"Credential ({v['size']} B, hex):",
            "",
            "```",
            v["credential_hex"],
            "```",
            "",
            f"URL form ({len(v['url'])} characters; QR version {v['qr_version_m']}-M):",
            "",
            "```",
            v["url"],
            "```",
        ]
    )


def presentation_table() -> str:
    """The dynamic code of the holder-key vector (tests/vectors/presentation.json): its bytes
    item by item, its size and its QR version, measured."""
    v = json.loads((VECTORS / "presentation.json").read_text("utf-8"))
    shown = fmt.decode_presentation(bytes.fromhex(v["presentation_hex"]))
    raw, cred = shown.raw, shown.credential.raw
    version, bits, capacity = qr_fit(list(shown.qr_segments(BASE)))
    end = 1 + len(cred)
    rows = [
        "| offset | bytes | CBOR | meaning |",
        "| ---: | --- | --- | --- |",
        "| 0 | `83` | array(3) | the dynamic code: an array of three (a credential is an array of four, `84`) |",
        f"| 1 | `{cred[:2].hex(' ')} … ({len(cred)} bytes)` | the credential | the holder-key vector's credential, "
        "its exact bytes nested as the CBOR item they are |",
        f"| {end} | `1a {raw[end + 1 : end + 5].hex(' ')}` | uint | time: {shown.time} = {v['time_iso']} |",
        f"| {end + 5} | `58 40` | bstr(64) | proof: |",
        f"| {end + 7} | `{shown.proof[:6].hex(' ')} … (64 bytes)` |  | Ed25519 by the holder key over the proof input |",
        f"| {len(raw)} | | | end: {len(raw)} bytes |",
        "",
        f"Holder seed (test only): `{v['holder_seed']}`  ",
        f"Holder public key (the credential's `cnf`): `{v['holder_public_key']}`  ",
        f"Time: `{shown.time}` ({v['time_iso']}, 09:30 in China)  ",
        f"Proof input ({len(bytes.fromhex(v['proof_input_hex']))} B): `{v['proof_input_hex']}`  ",
        f"Proof: `{v['proof_hex']}`",
        "",
        f"Dynamic code ({len(raw)} B = {len(cred)} + 72, hex):",
        "",
        "```",
        v["presentation_hex"],
        "```",
        "",
        f"URL form ({len(v['url'])} characters, {len(v['decimal'])} digits; QR version **{version}-M**, "
        f"{bits} of {capacity} data bits, {capacity - bits} spare):",
        "",
        "```",
        v["url"],
        "```",
    ]
    return "\n".join(rows)


def blocks() -> dict[str, str]:
    return {
        "presentation": presentation_table(),
        "sizes": sizes_table(),
        "encodings": encodings_table(),
        "layout-typical": layout_table("typical-worker"),
        "example-typical": worked_example("typical-worker"),
        "example-card-uid": worked_example("card-uid"),
    }


def render(text: str) -> str:
    for name, body in blocks().items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"docs/format.md has no block generated:{name}")
        text = pattern.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    current = DOC.read_text("utf-8")
    updated = render(current)
    if "--check" in argv:
        if updated != current:
            print("docs/format.md is stale: run scripts/format_tables.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(updated, "utf-8")
    print("docs/format.md: generated blocks rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
