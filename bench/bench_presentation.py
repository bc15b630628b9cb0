"""The dynamic code (docs/format.md §12): verification rate of a presentation against two raw
Ed25519 verifications (the issuer's signature and the holder's proof), and its size and QR
version for the test vectors.

``python -m bench presentation`` writes the ``presentation`` block of docs/benchmarks.md.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.keys import KeyDirectory, TrustList, build_trust_list
from anxinma.qr import make_qr
from anxinma.status_list import StatusArray, load_status_list, sign_status_list
from anxinma.verifier import Status, Verifier
from bench._report import write_section
from tests.vectors import DIRECTORY
from tests.vectors.generate import BASE_URL
from tests.verifier.publisher import worker_claims

CODES = 2000  # distinct phones and credentials, cycled: nothing is verified twice in a row
ROUNDS = 21
BATCH = 600


def verification_rate(home: Path) -> dict[str, float]:
    keys = KeyDirectory.init(home / "keys", insecure_dev=True)
    kid, key = keys.signing_key()
    phones = [ed25519.SigningKey((serial + 1).to_bytes(32, "big")) for serial in range(CODES)]
    creds = [fmt.sign(_bound(serial, phones[serial].public_key), key, kid) for serial in range(CODES)]
    now = int(time.time())
    shown = [fmt.present(cred, phones[i], now) for i, cred in enumerate(creds)]
    trust_list = TrustList.load(build_trust_list(keys), keys.root_public_key)
    token = sign_status_list(
        StatusArray(CODES),
        issuer_code=330200,
        shard=0,
        uri=f"{BASE_URL}/status/330200/0",
        key=key.to_cryptography(),
        kid=kid,
    )
    status_list = load_status_list(token, lambda code, k: keys.key(k).public_key)
    verifier = Verifier(trust_list, {(330200, 0): status_list}, require_status=True)
    urls = itertools.cycle([p.to_url(BASE_URL) for p in shown])
    binary = itertools.cycle([p.raw for p in shown])
    bare = itertools.cycle([c.to_url(BASE_URL) for c in creds])
    pairs = itertools.cycle(
        [
            (c.claims.holder_key, c.signature, c.signed_bytes(), p.proof, p.signed_bytes())
            for c, p in zip(creds, shown, strict=True)
        ]
    )
    issuer_public = key.public_key
    assert verifier.verify(next(urls)).status is Status.VALID

    def two_raw() -> None:
        holder, signature, signed, proof, proved = next(pairs)
        ed25519.verify(issuer_public, signature, signed)
        ed25519.verify(holder, proof, proved)  # type: ignore[arg-type]

    def one_raw() -> None:
        _holder, signature, signed, _proof, _proved = next(pairs)
        ed25519.verify(issuer_public, signature, signed)

    runs = {
        "one_raw": one_raw,
        "two_raw": two_raw,
        "url": lambda: verifier.verify(next(urls)),
        "binary": lambda: verifier.verify(next(binary)),
        "bare": lambda: verifier.verify(next(bare)),  # holder_proof_missing: one verification
    }
    figures: dict[str, list[float]] = {name: [] for name in runs}
    for _round in range(ROUNDS):
        for name, func in runs.items():
            started = time.perf_counter()
            for _ in range(BATCH):
                func()
            figures[name].append(BATCH / (time.perf_counter() - started))
    result = {name: statistics.median(values) for name, values in figures.items()}
    for name in ("url", "binary"):
        result[f"{name}_ratio"] = statistics.median(
            a / b for a, b in zip(figures[name], figures["two_raw"], strict=True)
        )
    result["bare_ratio"] = statistics.median(
        a / b for a, b in zip(figures["bare"], figures["one_raw"], strict=True)
    )
    return result


def _bound(serial: int, holder_key: bytes) -> fmt.Claims:
    import dataclasses

    return dataclasses.replace(worker_claims(330200, serial, valid_days=730), holder_key=holder_key)


def sizes() -> list[tuple[str, int, int, int, int, int]]:
    """(vector, credential bytes, presentation bytes, URL characters, QR version of the
    credential's URL, of the presentation's URL) for the holder-bound vectors."""
    holder = ed25519.SigningKey(
        bytes.fromhex(json.loads((DIRECTORY / "presentation.json").read_text())["holder_seed"])
    )
    rows = []
    for name in ("holder-key", "worker-limits", "enterprise-limits"):
        cred = fmt.decode(
            bytes.fromhex(json.loads((DIRECTORY / f"{name}.json").read_text())["credential_hex"])
        )
        shown = fmt.present(cred, holder, int(datetime(2026, 12, 1, 1, 30, tzinfo=UTC).timestamp()))
        rows.append(
            (
                name,
                len(cred.raw),
                len(shown.raw),
                len(shown.to_url(BASE_URL)),
                int(make_qr(cred, BASE_URL).version),
                int(make_qr(shown, BASE_URL).version),
            )
        )
    return rows


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as home:
        figures = verification_rate(Path(home))
    size_rows = sizes()
    lines = [
        f"A dynamic code of a holder-bound worker credential (the holder-key vector's shape), verified by "
        f"`Verifier.verify` with a trust list and a status list: the issuer's signature, then the holder's proof. "
        f"{CODES} distinct phones cycled; {ROUNDS} interleaved rounds of {BATCH} calls; rates are medians, ratios "
        f"the median of each round's ratio. Load average at the start: {load:.2f} on {os.cpu_count()} cores.",
        "",
        "| operation | per second | µs each | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| raw Ed25519 verify, once | {figures['one_raw']:,.0f} | {1e6 / figures['one_raw']:.1f} |  |",
        f"| raw Ed25519 verify, twice (issuer signature + holder proof) | {figures['two_raw']:,.0f} | "
        f"{1e6 / figures['two_raw']:.1f} | 100% |",
        f"| **dynamic code verify**, URL form (parse, decode, trust list, key, 2 signatures, dates, status) | "
        f"{figures['url']:,.0f} | {1e6 / figures['url']:.1f} | **{figures['url_ratio']:.0%}** of two raw |",
        f"| dynamic code verify, binary form | {figures['binary']:,.0f} | {1e6 / figures['binary']:.1f} | "
        f"{figures['binary_ratio']:.0%} of two raw |",
        f"| the bare holder-bound credential (→ `holder_proof_missing`, one signature) | {figures['bare']:,.0f} | "
        f"{1e6 / figures['bare']:.1f} | {figures['bare_ratio']:.0%} of one raw |",
        "",
        "Sizes and QR versions (URL form, host `v.anxinma.gov.cn`, error correction M, segno):",
        "",
        "| credential vector | credential | dynamic code | URL characters | QR of the credential | QR of the dynamic code |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, cred_size, size, url, cred_version, version in size_rows:
        lines.append(f"| `{name}` | {cred_size} B | {size} B | {url} | {cred_version}-M | **{version}-M** |")
    lines.append("")
    lines.append(
        "The phone credential the enrolment issues has the holder-key vector's shape (no card UID): its dynamic "
        "code is version 12-M, the limit issue 18 sets. A credential at every limit (the `-limits` vectors, with "
        "a card UID and the longest name) would not fit 12-M as a dynamic code: a phone credential should carry "
        "no card UID (its card has its own card credential)."
    )
    write_section("presentation", "\n".join(lines))


if __name__ == "__main__":
    main()
