"""Verify 安心码 credentials with pycose, an independent COSE implementation.

Runs in its own virtualenv (``.interop-venv``: pycose 1.1 with cbor2 < 6, which pycose 1.1
needs; scripts/test makes it), never in the project's: it imports nothing of anxinma. Reads a
JSON list of ``{"name", "hex", "public_key"}`` on stdin and writes, for each, what pycose
says: ``{"name", "verified": bool, "alg", "kid", "error"}``.

pycose's ``Sign1Message.decode`` reads only tagged messages (tag 18 tells it which COSE
structure follows), so the untagged v1 bytes get ``d2`` in front: the same COSE_Sign1 in its
tagged envelope (RFC 9052 §2), which the signature does not cover.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from typing import Any

from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

COSE_SIGN1_TAG = b"\xd2"


def check(case: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": case["name"],
        "verified": False,
        "alg": None,
        "kid": None,
        "error": None,
    }
    try:
        message = Sign1Message.decode(COSE_SIGN1_TAG + bytes.fromhex(case["hex"]))
        alg = message.phdr.get(Algorithm)
        result["alg"] = getattr(alg, "fullname", str(alg))
        result["kid"] = bytes(message.phdr.get(KID, b"")).hex()
        if alg is not EdDSA:
            raise ValueError(f"not EdDSA: {alg}")
        message.key = OKPKey(crv=Ed25519, x=bytes.fromhex(case["public_key"]))
        result["verified"] = bool(message.verify_signature())
    except Exception as exc:  # pycose raises many kinds; any of them means "not verified"
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


def main() -> int:
    cases = json.load(sys.stdin)
    json.dump(
        {
            "pycose": version("pycose"),
            "cbor2": version("cbor2"),
            "results": [check(case) for case in cases],
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
