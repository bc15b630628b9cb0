"""Status sync benchmarks (issue 15): what a verifier downloads to keep one issuer's status data
fresh, under the freshness protocol (versioned compact shards + a small signed freshness
document) and, side by side in the same run, under the old protocol (standard JWT shards,
re-signed every ttl window), for 1,000,000 and 10,000,000 credentials at two status mixes; and
the status-list bytes against the Shannon bound of the statuses.

``python -m bench trust`` writes the ``trust`` block of docs/benchmarks.md.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from anxinma.status_list import SHARD_SIZE, CredentialStatus, StatusArray, shard_of
from anxinma.verifier import Verifier
from anxinma.verifier.result import Status
from anxinma.verifier.sync import SyncReport, sync
from bench._report import write_section
from tests.verifier.publisher import Publisher

SIZES = (1_000_000, 10_000_000)
#: name -> (fraction revoked, fraction attention); positions drawn at random, disjoint, fixed seed
MIXES = {
    "1 % revoked": (0.01, 0.0),
    "1 % revoked + 5 % attention": (0.01, 0.05),
}
PROTOCOLS = ("freshness", "legacy")
SEED = 20261207
WINDOWS = 3  # ttl windows with nothing changed
TARGET = 1.25  # x the Shannon bound, at 1 M credentials (issue 15)
CODE = 330200
LOADS = 3  # Verifier.from_bundle timed this many times, the best kept (the machine is shared)


@dataclass
class Step:
    bytes: int
    requests: int
    shards: int  # status-list responses with a body (HTTP 200) during the sync
    seconds: float
    changed: list[str] = field(default_factory=list)  # bundle files whose bytes changed


@dataclass
class Run:
    protocol: str
    cold: Step
    windows: list[Step] = field(default_factory=list)
    revocation: Step | None = None
    status_bytes: int = 0  # sum of the shards' sizes as served (compact, or JWT text)
    load_s: float = 0.0  # best of LOADS
    freshness_bytes: int = 0  # the freshness document as served
    revoked_seen: bool = False


def make_statuses(
    total: int, revoked: float, attention: float
) -> tuple[dict[int, StatusArray], dict[int, int]]:
    """Shards of 2^20 covering serials 0..total-1, and how many serials hold each value."""
    shards = {
        shard: StatusArray(min(SHARD_SIZE, total - shard * SHARD_SIZE))
        for shard in range(math.ceil(total / SHARD_SIZE))
    }
    n_revoked, n_attention = round(total * revoked), round(total * attention)
    positions = random.Random(SEED).sample(range(total), n_revoked + n_attention)
    for number, serial in enumerate(positions):
        shard, index = shard_of(serial)
        value = CredentialStatus.REVOKED if number < n_revoked else CredentialStatus.ATTENTION
        shards[shard].set(index, value)
    counts = {0: total - n_revoked - n_attention, 1: n_revoked, 3: n_attention}
    return shards, {value: count for value, count in counts.items() if count}


def shannon_bytes(counts: dict[int, int]) -> float:
    """Entropy in bits of the value distribution x credentials / 8."""
    total = sum(counts.values())
    bits = -sum(count / total * math.log2(count / total) for count in counts.values() if count)
    return bits * total / 8


def _a_valid_serial(shards: dict[int, StatusArray], start: int) -> int:
    serial = start
    while True:
        shard, index = shard_of(serial)
        if shards[shard].get(index) is CredentialStatus.VALID:
            return serial
        serial += 1


def _step(publisher: Publisher, target: Path) -> tuple[Step, SyncReport]:
    before = len(publisher.log)
    started = time.perf_counter()
    report = sync(publisher.base_url, target)
    seconds = time.perf_counter() - started
    shards = sum(
        1
        for _method, path, code in publisher.log[before:]
        if code == 200 and path.startswith(f"/status/{CODE}/") and not path.endswith("/freshness")
    )
    return Step(report.bytes_received, report.requests, shards, seconds, report.changed), report


def _next_second() -> None:
    """Status lists and freshness documents carry iat in whole seconds: a new ttl window
    is a new second at least (otherwise a re-signed legacy shard would be byte-identical)."""
    time.sleep(1.05 - time.time() % 1)


def run(home: Path, protocol: str, shards: dict[int, StatusArray], revoke: int) -> Run:
    publisher = Publisher(home / f"issuer-{protocol}", issuer_code=CODE, protocol=protocol)
    try:
        publisher.statuses = {shard: StatusArray(a.size, a.to_bytes()) for shard, a in shards.items()}
        credential = publisher.issue(revoke)  # valid; revoked below
        _next_second()
        publisher.publish()
        target = home / f"bundles-{protocol}"
        cold, _ = _step(publisher, target)
        result = Run(protocol, cold)
        if protocol == "freshness":
            result.status_bytes = sum(len(body) for body in publisher.compact.values())
        else:
            result.status_bytes = sum(len(token.encode()) for token in publisher.status_tokens.values())
        result.freshness_bytes = len(publisher.freshness.encode())
        loads = []
        for _load in range(LOADS):
            started = time.perf_counter()
            Verifier.from_bundle(target)
            loads.append(time.perf_counter() - started)
        result.load_s = min(loads)
        for _window in range(WINDOWS):
            _next_second()
            publisher.publish(trust_list=False)  # a new ttl window, nothing changed
            result.windows.append(_step(publisher, target)[0])
        _next_second()
        # one revocation, published as the issuer service does (the trust list is not re-signed;
        # the publisher's set_status would also sign a new trust list)
        publisher.set_status(revoke, CredentialStatus.REVOKED, publish=False)
        publisher.publish(trust_list=False)
        result.revocation, _ = _step(publisher, target)
        verdict = Verifier.from_bundle(target).verify(credential.to_url(publisher.base_url))
        result.revoked_seen = verdict.status is Status.REVOKED
        return result
    finally:
        publisher.stop()


def _cell(step: Step) -> str:
    return f"{step.bytes:,} B / {step.requests} req / {step.shards} shards"


def _kb(value: float) -> str:
    return f"{value / 1000:,.1f} kB"


def main() -> None:
    load = os.getloadavg()[0]
    results: dict[tuple[int, str], tuple[dict[str, Run], float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for total in SIZES:
            for mix, (revoked, attention) in MIXES.items():
                shards, counts = make_statuses(total, revoked, attention)
                revoke = _a_valid_serial(shards, total // 2 + 123_456)
                runs = {}
                for protocol in PROTOCOLS:
                    home = Path(tmp) / f"{total}-{len(results)}"
                    runs[protocol] = run(home, protocol, shards, revoke)
                    r = runs[protocol]
                    assert r.revocation is not None
                    print(
                        f"{total:>10,} {mix:<28} {protocol:<9} cold {_cell(r.cold)}; "
                        f"windows {[w.bytes for w in r.windows]}; revocation {_cell(r.revocation)}; "
                        f"changed {[w.changed for w in r.windows]} / {r.revocation.changed}; "
                        f"status {r.status_bytes:,} B; load {r.load_s:.2f} s; revoked seen {r.revoked_seen}",
                        flush=True,
                    )
                results[(total, mix)] = runs, shannon_bytes(counts)

    oddities = []
    lines = []
    for (total, mix), (runs, _bound) in results.items():
        for protocol, r in runs.items():
            assert r.revocation is not None
            window = max(r.windows, key=lambda w: w.bytes)
            label = "freshness (new)" if protocol == "freshness" else "legacy JWT shards (old)"
            lines.append(
                f"| {total:,} | {mix} | {label} | {_cell(r.cold)} | {_cell(r.revocation)} | "
                f"{_cell(window)} | {r.load_s * 1000:,.0f} ms |"
            )
            if not r.revoked_seen:
                oddities.append(f"{total:,}, {mix}, {protocol}: the revocation was not seen after sync")
            if protocol == "freshness":
                if any(w.shards for w in r.windows):
                    oddities.append(
                        f"{total:,}, {mix}: a sync with nothing changed fetched shards "
                        f"({[w.shards for w in r.windows]} over the {WINDOWS} windows)"
                    )
                if r.revocation.shards != 1:
                    oddities.append(
                        f"{total:,}, {mix}: the sync after one revocation fetched {r.revocation.shards} shards, not 1"
                    )
    rows = []
    verdicts = []
    for (total, mix), (runs, bound) in results.items():
        new, old = runs["freshness"].status_bytes, runs["legacy"].status_bytes
        rows.append(
            f"| {total:,} | {mix} | {bound:,.0f} | {new:,} | **{new / bound:.2f}x** | {old:,} | {old / bound:.2f}x |"
        )
        if total == 1_000_000:
            verdicts.append(f"{mix}: {new / bound:.2f}x — **{'met' if new / bound <= TARGET else 'MISSED'}**")
    windows_new = [
        (
            total,
            mix,
            max(w.bytes for w in runs["freshness"].windows),
            max(w.shards for w in runs["freshness"].windows),
        )
        for (total, mix), (runs, _b) in results.items()
    ]
    quiet_ok = all(shards == 0 for *_rest, shards in windows_new)
    largest_quiet = max(b for _t, _m, b, _s in windows_new)
    slower = [
        runs["freshness"].load_s / runs["legacy"].load_s for (_total, _mix), (runs, _b) in results.items()
    ]
    documents = {total: runs["freshness"].freshness_bytes for (total, _mix), (runs, _b) in results.items()}
    per_shard = (documents[SIZES[-1]] - documents[SIZES[0]]) / (
        math.ceil(SIZES[-1] / SHARD_SIZE) - math.ceil(SIZES[0] / SHARD_SIZE)
    )
    odd = "\n".join(f"- {line}" for line in oddities) or "- none: every check above held."
    table = "\n".join(lines)
    ratios = "\n".join(rows)
    body = f"""
Status sync of one issuer (330200) over HTTP on 127.0.0.1 (`tests/verifier/publisher.py`, real
signed material; `anxinma.verifier.sync.sync`), shards of 2^20 serials (1 M: one shard; 10 M: 10),
statuses at random positions (seed {SEED}). "Bytes" = `SyncReport.bytes_received` (response
headers and bodies), "req" = `SyncReport.requests`, "shards" = status-list responses with a body
(HTTP 200) the publisher served during that sync. The **freshness** protocol (issue 15): discovery,
trust list, JWKS, the freshness document, then only the compact (Rice-coded) shards it lists at
another version than the one held. The **legacy** protocol, same data in the same run: the standard
JWT shards, which the old issuer re-signs every ttl window. "Nothing changed" = the largest of
{WINDOWS} syncs, each after a new ttl window (`publish(trust_list=False)`). `from_bundle` = time to
`Verifier.from_bundle` the cold-synced bundle (every signature checked, shards decoded; best of
{LOADS}). Load average at the start: {load:.2f} on 2 shared cores, so times are indicative; bytes
and requests are exact.

| credentials | mix | protocol | cold | after one revocation | nothing changed (per ttl window) | `from_bundle` |
| --- | --- | --- | ---: | ---: | ---: | ---: |
{table}

Status-list bytes downloaded cold (sum of the shards as served) against the Shannon bound
(entropy of the value distribution × credentials / 8):

| credentials | mix | Shannon bound (bytes) | compact shards (bytes) | compact / bound | JWT shards (bytes) | JWT / bound |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
{ratios}

Target (issue 15, 1 M credentials): at most {TARGET}x the Shannon bound — {"; ".join(verdicts)}.
A sync with nothing changed moves the freshness document and three 304s, not the shards:
**{"met" if quiet_ok else "MISSED"}** (at most {largest_quiet:,} bytes per ttl window under
the freshness protocol, against every shard again under the old one). After one revocation the new
protocol fetches the one shard that changed; the old one fetches every shard. The freshness document itself
is {" and ".join(f"{size:,} bytes at {total:,}" for total, size in documents.items())} credentials ({per_shard:,.0f} bytes more per shard listed).

Cost of the compact form: loading a bundle of compact shards (Rice decoding in Python) takes
{min(slower):.1f}–{max(slower):.1f}x as long as loading the same statuses as JWT shards (zlib
inflate in C): see the `from_bundle` column.

Checks in this run (a credential revoked between syncs reads `revoked` from the synced bundle; no
shard fetched with nothing changed; exactly one shard after one revocation):
{odd}

Not measured here: the page's first visit (issue 15 asks for it too; bench/bench_page.py).
"""
    write_section("trust", body)
    print(body)


if __name__ == "__main__":
    main()
