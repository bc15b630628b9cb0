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
from pathlib import Path

import pytest

from tests.nfc.emulator import CardEmulator, EmulatedCard
from tests.nfc.station_helpers import (
    assert_one_live_credential_per_worker_on_one_card,
    read_report,
    worker_names,
    write_batch,
)
from tests.nfc.stub_issuer import TOKEN, RunningStubIssuer

BATCH_SIZE = 20
KILLED_ON_CARD = 8  # the station dies while writing the 8th card


def station_command(batch: Path, issuer_url: str, device: str) -> list[str]:
    return [
        sys.executable, "-m", "anxinma.cli", "station", "encode",
        "--batch", str(batch), "--issuer", issuer_url, "--device", device,
        "--card-timeout", "10", "--json",
    ]  # fmt: skip


@pytest.mark.slow
def test_a_killed_station_resumes_the_batch_with_one_live_credential_per_worker(tmp_path: Path) -> None:
    workers = worker_names(BATCH_SIZE)
    batch = write_batch(tmp_path / "batch.csv", workers)
    cards = [EmulatedCard.blank(n) for n in range(1, BATCH_SIZE + 1)]
    env = {**os.environ, "ANXINMA_HOME": str(tmp_path / "home"), "ANXINMA_TOKEN": TOKEN}
    killed = threading.Event()
    with RunningStubIssuer(tmp_path / "issuer", workers) as issuer, CardEmulator(cards) as emulator:
        command = station_command(batch, issuer.url, emulator.path)
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
        assert [e["worker_id"] for e in resumed] == [f"w{KILLED_ON_CARD:03d}"]

        bound = assert_one_live_credential_per_worker_on_one_card(
            issuer.state, workers, [(card.idm, card.message()) for card in cards]
        )
        assert len(issuer.state.credentials) == BATCH_SIZE  # the torn card kept its credential
        rows = read_report(Path(summary["report"]))
    assert set(rows) == set(workers)
    for worker_id, (serial, uid) in bound.items():
        row = rows[worker_id]
        assert (row["status"], row["serial"], row["card_uid"]) == ("done", str(serial), uid.hex())
        assert row["code"].startswith(issuer.url + "/v/") and row["photo"] == f"photos/{worker_id}.jpg"
