"""``anxinma station check-in`` end to end: the real command, emulated taps over nfcpy's udp
driver, a bundle synced from the running issuer, and the issuer stopped in the middle of the
taps and started again on the same port and database.

Afterwards every accepted check-in is in the issuer's database exactly once; the worker who
tapped twice counts once; the revoked card and the copied card are refused and nowhere
recorded. A station killed (SIGKILL) with check-ins still queued sends them when it runs again.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anxinma.cli import main
from anxinma.nfc.checkin import month_of
from tests.conftest import LiveIssuer
from tests.nfc.checkin_helpers import check_ins_at, copy_of, issued_card, sync_bundle
from tests.nfc.emulator import CardEmulator, EmulatedCard

#: ``python -m anxinma.cli`` as a desk's terminal starts it, Ctrl-C (SIGINT) raising KeyboardInterrupt.
#: A suite started with SIGINT ignored (a backgrounded CI job: POSIX shells set SIG_IGN for ``&``)
#: hands SIG_IGN to its children, Python then installs no handler, and :meth:`Station.finish`'s
#: SIGINT would be dropped. The product rightly keeps an ignored SIGINT ignored (``nohup``, ``&``);
#: the child restores the terminal's default itself, which is thread-safe (``preexec_fn`` is not).
ANXINMA_CLI = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('anxinma.cli', run_name='__main__', alter_sys=True)",
]


class Station:
    """The check-in command as a process, its JSON events read as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [*ANXINMA_CLI, "station", "check-in", *args, "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def expect(self, test: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        """The next event that passes ``test`` (events before it are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(0.01, remaining))
            except queue.Empty:
                stderr = (
                    self.process.stderr.read()
                    if self.process.poll() is not None and self.process.stderr
                    else ""
                )
                raise AssertionError(
                    f"no matching event in {timeout} s; saw {self.seen[-5:]} {stderr}"
                ) from None
            self.seen.append(event)
            if test(event):
                return event

    def tap(self, emulator: CardEmulator, card: EmulatedCard) -> dict[str, Any]:
        emulator.present(card)
        return self.expect(lambda e: e["event"] == "tap" and e["card_uid"] == card.idm.hex())

    def sent(self, count: int) -> list[dict[str, Any]]:
        return [self.expect(lambda e: e["event"] == "sent") for _ in range(count)]

    def finish(self, sig: int = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()  # not left running after the test
            self.process.wait()
            raise AssertionError(f"the station did not stop on signal {sig} within 30 s") from None
        time.sleep(0.05)  # the reader thread takes the last lines
        while not self.events.empty():
            self.seen.append(self.events.get())
        return code


def station_env(tmp_path: Path, token: str) -> dict[str, str]:
    return {**os.environ, "ANXINMA_HOME": str(tmp_path / "home"), "ANXINMA_TOKEN": token}


def setting_up(live_issuer: LiveIssuer, tmp_path: Path) -> dict[str, Any]:
    enterprise = int(live_issuer.enterprise()["id"])
    names = ["李小霞", "王芳", "张秀英", "刘敏", "陈静"]
    workers = [issued_card(live_issuer, n + 1, enterprise, name=names[n]) for n in range(5)]
    revoked, gone = issued_card(live_issuer, 10, enterprise, name="赵丽")
    live_issuer.api("POST", f"/api/v1/credentials/{gone['serial']}/revoke", json={"reason": "left"})
    return {
        "workers": workers,
        "revoked": revoked,
        "copy": copy_of(workers[3][0], 11),  # a clone of the fourth worker's card
        "bundle": sync_bundle(live_issuer, tmp_path / "home" / "bundles"),  # after the revocation
    }


@pytest.mark.slow
def test_check_ins_sent_across_an_issuer_restart_arrive_exactly_once(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    setup = setting_up(live_issuer, tmp_path)
    cards = [card for card, _ in setup["workers"]]
    ids = [answer["worker_id"] for _, answer in setup["workers"]]
    env = station_env(tmp_path, live_issuer.token("card_operator"))
    with CardEmulator() as emulator:
        station = Station(
            [
                "--device",
                emulator.path,
                "--issuer",
                live_issuer.url,
                "--station",
                "海曙服务站",
                "--max-backoff",
                "0.5",
            ],
            env,
        )
        ready = station.expect(lambda e: e["event"] == "ready")
        assert ready["issuer_code"] == 330200 and ready["token"] is True
        for card in cards[:2]:  # online: recorded, then sent at once
            assert station.tap(emulator, card)["outcome"] == "recorded"
            assert station.expect(lambda e: e["event"] == "sent")["issuer_status"] == 201

        live_issuer.stop()  # the network goes away in the middle of the morning
        third = station.tap(emulator, cards[2])
        assert third["outcome"] == "recorded" and third["headline"]["zh"].startswith("打卡成功")
        station.expect(lambda e: e["event"] == "offline")
        again = station.tap(emulator, cards[0])
        assert again["outcome"] == "already" and again["headline"]["zh"] == "本月已打卡"
        refused = station.tap(emulator, setup["revoked"])
        assert (refused["outcome"], refused["status"], refused["headline"]["zh"]) == (
            "refused",
            "revoked",
            "已吊销 · 未打卡",
        )
        copied = station.tap(emulator, setup["copy"])
        assert copied["outcome"] == "refused" and copied["headline"]["colour"] == "red"
        assert any("复制卡" in reason for reason in copied["reasons"])
        assert station.tap(emulator, cards[3])["outcome"] == "recorded"

        live_issuer.start()  # same port, same database
        waiting = {e["worker_id"] for e in station.sent(2)}  # the background retry, no tap needed
        assert waiting == {ids[2], ids[3]}
        assert station.tap(emulator, cards[4])["outcome"] == "recorded"
        assert station.expect(lambda e: e["event"] == "sent")["worker_id"] == ids[4]
        code = station.finish()
    assert code == 130
    summary = station.seen[-1]
    assert summary["event"] == "summary"
    assert (summary["taps"], summary["recorded"], summary["already"], summary["refused"]) == (8, 5, 1, 2)
    assert (summary["queue_queued"], summary["queue_sent"]) == (0, 5)
    assert max(e["elapsed_ms"] for e in station.seen if e["event"] == "tap") < 250
    month = month_of(datetime.now(UTC))
    recorded = check_ins_at(live_issuer)
    assert sorted(recorded) == sorted(
        (worker, month, card.idm.hex()) for worker, card in zip(ids, cards, strict=True)
    )
    assert len(recorded) == 5  # each once: the double tap and every retry count once


@pytest.mark.slow
def test_a_station_killed_with_check_ins_queued_sends_them_when_it_runs_again(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    setup = setting_up(live_issuer, tmp_path)
    (first, one), (second, two) = setup["workers"][:2]
    env = station_env(tmp_path, live_issuer.token("card_operator"))
    live_issuer.stop()
    with CardEmulator() as emulator:
        station = Station(
            ["--device", emulator.path, "--issuer", live_issuer.url, "--max-backoff", "0.5"], env
        )
        station.expect(lambda e: e["event"] == "ready")
        for card in (first, second):
            assert station.tap(emulator, card)["outcome"] == "recorded"
        assert station.finish(signal.SIGKILL) == -signal.SIGKILL  # a power cut, queue not sent
    queue_file = tmp_path / "home" / "station" / "check-ins.sqlite3"
    with sqlite3.connect(queue_file) as db:
        assert db.execute("SELECT worker_id, state FROM check_ins ORDER BY id").fetchall() == [
            (one["worker_id"], "queued"), (two["worker_id"], "queued"),
        ]  # fmt: skip
    still_away = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "station", "check-in", "--sync-only"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert still_away.returncode == 3, still_away.stderr
    assert "待上传 waiting 2" in still_away.stdout
    live_issuer.start()
    with CardEmulator() as emulator:
        station = Station(
            ["--device", emulator.path, "--idle", "4", "--max-backoff", "0.5"], env
        )  # issuer from the bundle
        assert {e["worker_id"] for e in station.sent(2)} == {one["worker_id"], two["worker_id"]}
        assert station.process.wait(timeout=30) == 0
    listing = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "station", "check-ins", "--json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)["counts"] == {"queued": 0, "sent": 2, "rejected": 0}
    month = month_of(datetime.now(UTC))
    assert sorted(check_ins_at(live_issuer)) == sorted(
        [(one["worker_id"], month, first.idm.hex()), (two["worker_id"], month, second.idm.hex())]
    )


def test_a_desk_run_ends_saying_how_many_check_ins_still_wait(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    """The closing summary of a desk run (text) counts the queue as it is, not a zero."""
    setup = setting_up(live_issuer, tmp_path)
    (first, _), (second, _) = setup["workers"][:2]
    env = station_env(tmp_path, live_issuer.token("card_operator"))
    live_issuer.stop()  # offline: both check-ins stay queued
    with CardEmulator([first, second]) as emulator:
        run = subprocess.run(
            [sys.executable, "-m", "anxinma.cli", "station", "check-in", "--device", emulator.path,
             "--issuer", live_issuer.url, "--idle", "3", "--max-backoff", "0.5", "--no-sound"],
            env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "刷卡 taps 2：打卡 recorded 2" in run.stdout
    assert "待上传 waiting 2" in run.stdout and "联网后自动上传" in run.stdout


def test_a_check_in_without_a_device_is_refused_before_any_file_is_made(tmp_path: Path) -> None:
    env = {"ANXINMA_HOME": str(tmp_path / "home"), "ANXINMA_TOKEN": None}  # None: unset
    for args, says in (([], "--device is required"), (["--sync-only"], "--sync-only needs a token")):
        run = CliRunner().invoke(main, ["station", "check-in", *args], env=env)
        assert run.exit_code == 2 and says in run.stderr, run.stderr
    assert not (tmp_path / "home" / "station" / "check-ins.sqlite3").exists()
