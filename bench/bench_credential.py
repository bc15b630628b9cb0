"""Credential issue and verify against raw Ed25519, both bindings; QR render time per code.

Targets (issue 3): credential verify (full decode + signature check) at >= 80 % of the
fastest binding's raw verify of the same bytes, and issue (claims to signed bytes) at >= 80 %
of its raw sign. The functions are timed interleaved, round after round, and the table gives
medians, so that a noisy neighbour on the shared machine slows all of them alike and the
ratios stay honest.

Run: ``python -m bench credential`` (writes the ``credential`` block of docs/benchmarks.md).
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.keys.jwk import public_jwk
from anxinma.verifier import Verifier
from bench._report import write_section

SEED = bytes(range(32))
BASE_URL = "https://v.anxinma.gov.cn"  # a 16-character verify host, as in tests/vectors
TARGET = 0.80
ROUNDS = 25
BATCH_SECONDS = 0.03


def typical_claims() -> fmt.Claims:
    """The issue's example worker (the typical credential of docs/format.md)."""
    return fmt.Claims.from_mapping(
        {
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
    )


def _calibrate(func: Callable[[], object]) -> int:
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            func()
        if time.perf_counter() - start >= BATCH_SECONDS:
            return batch
        batch *= 2


def interleaved_samples(funcs: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Calls per second of each function in each of ROUNDS rounds, measured round-robin, so
    that sample *i* of every function was taken at nearly the same moment."""
    batches = {name: _calibrate(func) for name, func in funcs.items()}
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(ROUNDS):
        for name, func in funcs.items():
            batch = batches[name]
            start = time.perf_counter()
            for _ in range(batch):
                func()
            samples[name].append(batch / (time.perf_counter() - start))
    return samples


def paired_ratio(samples: dict[str, list[float]], name: str, baselines: tuple[str, ...]) -> float:
    """Median over the rounds of (rate of ``name``) / (fastest baseline in the same round):
    a neighbour that slows one round slows both sides of its ratio."""
    return statistics.median(
        rate / max(samples[b][i] for b in baselines) for i, rate in enumerate(samples[name])
    )


def main() -> None:
    load = os.getloadavg()[0]
    claims = typical_claims()
    key = ed25519.SigningKey(SEED)
    kid = fmt.derive_kid(key.public_key)
    cred = fmt.sign(claims, key, kid)
    raw, signature, message = cred.to_bytes(), cred.signature, cred.signed_bytes()
    public = key.public_key
    _, nacl_secret = crypto_sign_seed_keypair(SEED)
    openssl_private = Ed25519PrivateKey.from_private_bytes(SEED)
    openssl_public = Ed25519PublicKey.from_public_bytes(public)
    signed_message = signature + message

    def credential_verify() -> None:
        fmt.decode(raw).verify_signature(public)

    url = cred.to_url(BASE_URL)

    def credential_verify_url() -> None:
        fmt.decode_text(url).verify_signature(public)

    verifier = _verifier(key, kid)

    def verifier_verify() -> None:
        verifier.verify(raw)

    samples = interleaved_samples(
        {
            "raw_sign_libsodium": lambda: crypto_sign(message, nacl_secret)[:64],
            "raw_sign_openssl": lambda: openssl_private.sign(message),
            "credential_issue": lambda: fmt.sign(claims, key, kid),
            "raw_verify_libsodium": lambda: crypto_sign_open(signed_message, public),
            "raw_verify_openssl": lambda: openssl_public.verify(signature, message),
            "credential_verify": credential_verify,
            "credential_verify_url": credential_verify_url,
            "verifier_verify": verifier_verify,
            "decode_only": lambda: fmt.decode(raw),
        }
    )
    qr_times = _qr_render_times(cred)
    rates = {name: statistics.median(values) for name, values in samples.items()}
    signs = ("raw_sign_libsodium", "raw_sign_openssl")
    verifies = ("raw_verify_libsodium", "raw_verify_openssl")
    issue_ratio = paired_ratio(samples, "credential_issue", signs)
    verify_ratio = paired_ratio(samples, "credential_verify", verifies)

    def row(label: str, name: str, baselines: tuple[str, ...] = (), target: bool = False) -> str:
        rate = rates[name]
        ratio = paired_ratio(samples, name, baselines) if baselines else None
        best = max(samples[name]) / max(max(samples[b]) for b in baselines) if baselines else None
        shown = f"{ratio:.0%}" if ratio is not None else ""
        best_shown = f"{best:.0%}" if best is not None else ""
        verdict = ("met" if ratio >= TARGET else "**missed**") if target and ratio is not None else ""
        return f"| {label} | {rate:,.0f} | {1e6 / rate:.1f} | {shown} | {best_shown} | {verdict} |"

    lines = [
        f"Typical worker credential ({len(raw)} bytes), Ed25519 seam backend: `{ed25519.BACKEND}`; "
        f"{ROUNDS} interleaved rounds; rates are medians, ratios the median of each round's ratio to the "
        f"fastest raw binding in that round. Target: >= {TARGET:.0%}. Load average at the start: "
        f"{load:.2f} on {os.cpu_count()} cores (other work on the machine slows the interpreter more than "
        "the C of the raw calls, so a loaded machine lowers the ratios; the best-round column shows "
        "the least disturbed figures).",
        "",
        "| operation | per second | µs each | of fastest raw (paired median) | best round vs best round | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        row("raw sign, libsodium (PyNaCl)", "raw_sign_libsodium", signs),
        row("raw sign, OpenSSL (cryptography)", "raw_sign_openssl", signs),
        row("**credential issue** (claims → signed COSE_Sign1)", "credential_issue", signs, True),
        row("raw verify, libsodium (PyNaCl)", "raw_verify_libsodium", verifies),
        row("raw verify, OpenSSL (cryptography)", "raw_verify_openssl", verifies),
        row("**credential verify** (decode + signature, binary)", "credential_verify", verifies, True),
        row("credential verify from the URL form", "credential_verify_url", verifies),
        row("`Verifier.verify` (trust list, key, signature, dates)", "verifier_verify", verifies),
        row("decode only (no signature)", "decode_only"),
        "",
        f"Issue at {issue_ratio:.0%} of raw sign, verify at {verify_ratio:.0%} of raw verify. libsodium "
        f"verifies {rates['raw_verify_libsodium'] / rates['raw_verify_openssl']:.2f}x as fast as OpenSSL "
        f"and signs {rates['raw_sign_libsodium'] / rates['raw_sign_openssl']:.2f}x as fast.",
        "",
        "How the hot paths stay cheap without loosening the decoder (docs/format.md §4): the claims, "
        "the Sig_structure and the envelope are written directly; a decoded credential is read by the "
        "C readers of `anxinma/credential/_speedups.c` when built (envelope and claims checked byte by "
        "byte against what the format writes), else by the Python fast readers (the envelope by its "
        "exact bytes, the claims proved deterministic by writing their values again and comparing); "
        "anything else goes through the reference reader, which words the error. With cbor2's "
        "canonical re-encoding and plain dataclass construction (profiled with cProfile) an earlier "
        "run gave about 51 % for verify and 41 % for issue.",
        "",
        f"QR render per code (segno, error correction M, version {qr_times['version']:.0f}-M, URL with a "
        f"16-character host), median of {qr_times['count']:.0f}:",
        "",
        "| output | ms per code |",
        "| --- | ---: |",
        f"| encode only (`segno.make`) | {qr_times['make'] * 1e3:.2f} |",
        f"| PNG, scale 8 (encode + write) | {qr_times['png'] * 1e3:.2f} |",
        f"| SVG, scale 8 (encode + write) | {qr_times['svg'] * 1e3:.2f} |",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("credential", body)


def _verifier(key: ed25519.SigningKey, kid: bytes) -> Verifier:
    """An offline Verifier holding a one-issuer trust list signed by a throw-away root."""
    import jwt

    from anxinma.keys.trust_list import ROOT_ISSUER, TOKEN_TYPE, TrustList

    root = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    now = int(datetime.now(UTC).timestamp())
    entry = {
        "code": 330200,
        "name": "bench",
        "base_url": BASE_URL,
        "keys": [{**public_jwk(key.public_key, kid), "status": "active", "valid_to": None}],
    }
    claims = {"iss": ROOT_ISSUER, "seq": 1, "iat": now, "exp": now + 86400, "issuers": [entry]}
    token = jwt.encode(claims, root, algorithm="EdDSA", headers={"typ": TOKEN_TYPE})
    trust = TrustList.load(token, root.public_key())
    # The example credential is issued on 2026-11-23: measure on a day it is valid.
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    return Verifier(trust, clock=lambda: moment)


def _qr_render_times(cred: fmt.Credential) -> dict[str, float]:
    segments = cred.qr_segments(BASE_URL)
    count = 25

    def median_seconds(func: Callable[[], object]) -> float:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def make() -> segno.QRCode:
        return segno.make(segments, error="m", boost_error=False)

    def png() -> None:
        make().save(io.BytesIO(), kind="png", scale=8, border=4)

    def svg() -> None:
        make().save(io.BytesIO(), kind="svg", scale=8, border=4)

    return {
        "make": median_seconds(make),
        "png": median_seconds(png),
        "svg": median_seconds(svg),
        "version": float(make().version),
        "count": float(count),
    }


if __name__ == "__main__":
    main()
