"""``anxinma station encode`` end to end: a batch of 20 on emulated cards, the station process
killed (SIGKILL, a power cut) in the middle of writing a card, and the same command resumed.

Afterwards every worker has exactly one live credential at the issuer, bound to exactly one
card, and that card carries it; the report says so, row by row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.nfc.emulator import CardEmulator, EmulatedCard
from tests.nfc.station_helpers import (
    assert_one_live_credential_per_worker_on_one_card,
    read_report,
    write_batch,
)

BATCH_SIZE = 20
KILLED_ON_CARD = 8  # the station dies while writing the 8th card


def station_command(batch: Path, issuer_url: str, device: str) -> list[str]:
    return [
        sys.executable, "-m", "anxinma.cli", "station", "encode",
        "--batch", str(batch), "--issuer", issuer_url, "--device", device,
        "--card-timeout", "10", "--json",
    ]  # fmt: skip


@dataclass(frozen=True)
class Live:
    serial: int
    card_uid: str


class IssuerDatabase:
    """What the issuer's own database says about a worker's credentials."""

    def __init__(self, issuer: Any) -> None:
        self.issuer = issuer

    def live(self, worker_id: str) -> list[Live]:
        from sqlalchemy import select

        from anxinma.issuer.store.models import Credential

        with self.issuer.runtime.store.read() as session:
            rows = session.execute(
                select(Credential.serial, Credential.card_uid, Credential.status).where(
                    Credential.worker_id == int(worker_id)
                )
            ).all()
        return [Live(serial, card_uid) for serial, card_uid, status in rows if status != "revoked"]

    def count(self) -> int:
        from sqlalchemy import func, select

        from anxinma.issuer.store.models import Credential

        with self.issuer.runtime.store.read() as session:
            return int(session.execute(select(func.count()).select_from(Credential)).scalar_one())


@pytest.mark.slow
def test_a_killed_station_resumes_the_batch_with_one_live_credential_per_worker(
    tmp_path: Path, live_issuer: Any
) -> None:
    enterprise = live_issuer.enterprise()
    names = ["李小霞", "王芳", "张秀英", "刘敏", "陈静"]
    workers = {
        str(live_issuer.worker(enterprise["id"], name=names[i % len(names)])["id"]): names[i % len(names)]
        for i in range(BATCH_SIZE)
    }
    batch = write_batch(tmp_path / "batch.csv", workers, enterprise=(enterprise["id"], enterprise["name"]))
    cards = [EmulatedCard.blank(n) for n in range(1, BATCH_SIZE + 1)]
    token = live_issuer.token("card_operator")
    env = {**os.environ, "ANXINMA_HOME": str(tmp_path / "home"), "ANXINMA_TOKEN": token}
    killed = threading.Event()
    database = IssuerDatabase(live_issuer)
    with CardEmulator(cards) as emulator:
        command = station_command(batch, live_issuer.url, emulator.path)
        station = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        victim = cards[KILLED_ON_CARD - 1]

        def power_cut(card: EmulatedCard) -> None:
            if card is victim and card.block_writes == 2 and not killed.is_set():
                station.send_signal(signal.SIGKILL)
                killed.set()

        emulator.on_write = power_cut
        first_out, first_err = station.communicate(timeout=120)
        assert station.returncode == -signal.SIGKILL, first_err
        assert victim.write_pending  # the card was torn mid-write
        done_before = [json.loads(line) for line in first_out.splitlines() if '"card_done"' in line]
        assert len(done_before) == KILLED_ON_CARD - 1

        # The operator restarts the station and puts the half-written card back on the reader.
        emulator.present(victim, first=True)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        events = [json.loads(line) for line in second.stdout.splitlines()]
        summary = events[-1]
        assert summary["event"] == "summary" and summary["done"] == BATCH_SIZE and summary["pending"] == 0
        resumed = [e for e in events if e["event"] == "card_done" and e["resumed"]]
        assert [e["worker_id"] for e in resumed] == [list(workers)[KILLED_ON_CARD - 1]]

        bound = assert_one_live_credential_per_worker_on_one_card(
            database, workers, [(card.idm, card.message()) for card in cards]
        )
        assert database.count() == BATCH_SIZE  # the torn card kept its credential: nothing re-issued
        rows = read_report(Path(summary["report"]))
    assert set(rows) == set(workers)
    for worker_id, (serial, uid) in bound.items():
        row = rows[worker_id]
        assert (row["status"], row["serial"], row["card_uid"]) == ("done", str(serial), uid.hex())
        assert row["code"].startswith(live_issuer.url + "/v/") and row["photo"] == f"photos/{worker_id}.jpg"
        assert row["display_name"] == workers[worker_id] and row["enterprise_name"]


def test_the_live_issuer_revokes_the_credential_of_a_card_that_was_replaced(
    tmp_path: Path, live_issuer: Any
) -> None:
    from sqlalchemy import select

    from anxinma.issuer.store.models import Credential
    from anxinma.nfc.batch import load_batch
    from anxinma.nfc.issuer_client import IssuerClient
    from anxinma.nfc.journal import Journal
    from anxinma.nfc.reader import Reader
    from anxinma.nfc.station import Station, StationOptions

    enterprise = live_issuer.enterprise()
    worker_id = str(live_issuer.worker(enterprise["id"])["id"])
    batch = load_batch(
        write_batch(
            tmp_path / "batch.csv", {worker_id: "李*霞"}, enterprise=(enterprise["id"], enterprise["name"])
        )
    )
    torn, fresh = EmulatedCard.blank(1, pull_after_writes=2), EmulatedCard.blank(2)
    client = IssuerClient(live_issuer.url, live_issuer.token("card_operator"))
    with CardEmulator([torn, fresh]) as emulator, Journal(tmp_path / "j.sqlite3") as journal:
        with Reader.open(emulator.path) as reader:
            summary = Station(reader, client, journal, batch, StationOptions(card_timeout=3.0)).run()
        assert summary.done == 1
        attempt = journal.current_attempt(worker_id)
    assert attempt is not None and attempt.card_uid == fresh.idm and attempt.replaced_serial is not None
    with live_issuer.runtime.store.read() as session:
        rows = {
            row.serial: (row.status, row.revocation_reason, row.card_uid)
            for row in session.execute(
                select(Credential).where(Credential.worker_id == int(worker_id))
            ).scalars()
        }
    assert rows == {
        attempt.replaced_serial: ("revoked", "replaced", torn.idm.hex()),
        attempt.serial: ("active", None, fresh.idm.hex()),
    }
