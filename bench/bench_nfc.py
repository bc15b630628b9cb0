"""NFC: NDEF encode/decode per message, and the station's own software time per card.

The station runs a real batch (real SQLite journal with fsync, real nfcpy tag classes, real
NDEF and credential code) against simulated NTAG cards behind a fake reader driver and a
local signer in place of the issuer. Time spent inside the driver (the radio and the chip)
and inside the issuer call is measured and taken out: what is left is our own work per card,
which must stay well under the reader's (~100-300 ms to write and read back a card), target
20 ms. nfcpy's tag-layer code above the driver counts as ours (a pessimistic split).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.ndef import NdefForm, decode_message, encode_message
from bench._report import rate, write_section

BASE_URL = "https://v.anxinma.cn"
CARDS = 60


class Stopwatch:
    """Accumulates the time spent inside wrapped callables."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start
                self.calls += 1

        return timed


def _claims(serial: int, card_uid: bytes | None) -> fmt.Claims:
    today = date.today()
    return fmt.Claims(
        issuer_code=330200,
        serial=serial,
        subject_kind=fmt.SubjectKind.WORKER,
        archive_id=123456 + serial,
        enterprise_id=253,
        display_name="李*霞",
        categories=frozenset({fmt.Category.INFANT_CARE, fmt.Category.ELDERLY_CARE, fmt.Category.CLEANING}),
        issued_at=fmt.parse_when(today.isoformat(), "issued_at"),
        expires_at=fmt.parse_when(date(today.year + 1, today.month, min(today.day, 28)).isoformat(), "e"),
        card_uid=card_uid,
    )


def ndef_rates() -> list[str]:
    key = ed25519.SigningKey.generate()
    credential = fmt.sign(_claims(61442, bytes.fromhex("04ab87f2ca1190")), key)
    rows = []
    for form in (NdefForm.EXTERNAL, NdefForm.BOTH):
        message = encode_message(credential, BASE_URL, form)
        encode = rate(lambda form=form: encode_message(credential, BASE_URL, form))
        decode = rate(lambda message=message: decode_message(message))
        rows.append(f"| {form.value} | {len(message)} | {1e6 / encode:.1f} | {1e6 / decode:.1f} |")
    return rows


class LocalIssuer:
    """The issuer client's interface, signing in process (its cost is timed apart)."""

    base_url = BASE_URL

    def __init__(self) -> None:
        from anxinma.nfc.issuer_client import IssuedCredential

        self._issued = IssuedCredential
        self.key = ed25519.SigningKey.generate()
        self.kid = fmt.derive_kid(self.key.public_key)
        self.serial = 61442

    def issue_card_credential(self, worker_id: str, card_uid: bytes, idempotency_key: str) -> Any:
        credential = fmt.sign(_claims(self.serial, card_uid), self.key, self.kid)
        self.serial += 1
        return self._issued(
            self.serial - 1, credential.to_url(BASE_URL), credential.to_hex(), None, card_uid.hex(), None
        )

    def signing_keys(self) -> dict[bytes, bytes]:
        return {self.kid: self.key.public_key}


@contextmanager
def _station(
    directory: Path, product: str, count: int
) -> Iterator[tuple[Any, Stopwatch, Stopwatch, Stopwatch]]:
    from anxinma.nfc.batch import load_batch
    from anxinma.nfc.journal import Journal
    from anxinma.nfc.reader import Reader
    from anxinma.nfc.station import Station, StationOptions
    from tests.nfc.ntag import FakeDevice, SimulatedNtag, frontend_with
    from tests.nfc.station_helpers import worker_names, write_batch

    batch = load_batch(write_batch(directory / "batch.csv", worker_names(count)))
    device = FakeDevice(*(SimulatedNtag.numbered(n, product) for n in range(1, count + 1)))
    radio, issuing, journaling = Stopwatch(), Stopwatch(), Stopwatch()
    for name in ("sense_tta", "send_cmd_recv_rsp", "mute"):
        setattr(device, name, radio.wrap(getattr(device, name)))
    issuer = LocalIssuer()
    issuer.issue_card_credential = issuing.wrap(issuer.issue_card_credential)  # type: ignore[method-assign]
    with Journal(directory / "journal.sqlite3") as journal:
        journal._transaction = _timed_context(journaling, journal._transaction)  # type: ignore[method-assign]
        options = StationOptions(allow_unverified_chips=True, card_timeout=2.0)
        reader = Reader(frontend_with(device), "fake", ("106A",))
        yield Station(reader, issuer, journal, batch, options), radio, issuing, journaling  # type: ignore[arg-type]


def _timed_context(watch: Stopwatch, factory: Callable[[], Any]) -> Callable[[], Any]:
    @contextmanager
    def timed(**options: Any) -> Iterator[Any]:
        start = time.perf_counter()
        try:
            with factory(**options) as value:
                yield value
        finally:
            watch.total += time.perf_counter() - start
            watch.calls += 1

    return timed


def station_rows() -> list[str]:
    rows = []
    for product in ("NTAG215", "NTAG213"):
        samples = []
        for _ in range(3):
            with (
                tempfile.TemporaryDirectory() as tmp,
                _station(Path(tmp), product, CARDS) as (station, radio, issuing, journal),
            ):
                start = time.perf_counter()
                summary = station.run()
                wall = time.perf_counter() - start
                assert summary.done == CARDS, summary
                own = wall - radio.total - issuing.total
                samples.append((own, journal.total, issuing.total, radio.total, journal.calls, wall))
        own, journal_time, issue_time, radio_time, _, _ = min(samples)  # the least disturbed run
        per = 1e3 / CARDS
        rows.append(
            f"| {product} | {own * per:.2f} | {journal_time * per:.2f} | "
            f"{(own - journal_time) * per:.2f} | {issue_time * per:.2f} | {radio_time * per:.2f} |"
        )
    return rows


def issuer_round_trip() -> str:
    """Median time of one UID-bound issue through IssuerClient against the real issuer app on
    127.0.0.1 (SQLite): the issuer's share of a card, for comparison only."""
    from anxinma.nfc.issuer_client import IssuerClient
    from tests.conftest import LiveIssuer

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        issuer = LiveIssuer(home, f"sqlite:///{home / 'anxinma.sqlite3'}", None)
        try:
            enterprise = issuer.enterprise()
            client = IssuerClient(issuer.url, issuer.token("card_operator"))
            times = []
            for n in range(30):
                worker = issuer.worker(int(enterprise["id"]))  # type: ignore[call-overload]
                uid = bytes.fromhex("04000000") + n.to_bytes(3, "big")
                start = time.perf_counter()
                client.issue_card_credential(str(worker["id"]), uid, f"bench-{n}")
                times.append(time.perf_counter() - start)
        finally:
            issuer.stop()
    return f"{statistics.median(times) * 1e3:.1f} ms (median of {len(times)}, SQLite, werkzeug server)"


def main() -> None:
    ndef_table = "\n".join(
        ["| form | message bytes | encode µs | decode µs |", "| --- | ---: | ---: | ---: |", *ndef_rates()]
    )
    station_table = "\n".join(
        [
            "| card | own work ms/card | of which journal | of which the rest | issuer signing ms | simulated radio ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *station_rows(),
        ]
    )
    body = f"""NDEF per message (a UID-bound 128-byte credential, median of `bench._report.rate`):

{ndef_table}

Station software time per card over a batch of {CARDS} (best of 3 runs): wall time of
`Station.run` minus the time inside the reader driver (simulated chip) and the issuer call.
"Own work" includes nfcpy's tag classes above the driver, the SQLite journal (WAL; six
commits a card, of which the three a resume depends on are fsynced: anxinma/nfc/journal.py),
NDEF encoding, the read-back decode and checks. Target: under 20 ms per card, so the reader
is always the bottleneck.

{station_table}

One issue request against the real issuer (`anxinma.issuer`, served on 127.0.0.1 in process)
through the station's client: {issuer_round_trip()}.
"""
    write_section("nfc", body)
    print(body)


if __name__ == "__main__":
    main()
