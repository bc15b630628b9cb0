"""Tap check-in in process: the decision, the durable queue, the sender against a real issuer
that goes away, and the desk reading emulated cards over nfcpy's udp driver."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from anxinma import credential as fmt
from anxinma.cli import BundleTapVerifier
from anxinma.nfc.checkin import CheckInDesk, CheckInSender, Outcome, TapResult, TapVerdict, decide, month_of
from anxinma.nfc.checkin_queue import CheckInQueue, NewCheckIn
from anxinma.nfc.issuer_client import IssuerClient
from anxinma.nfc.reader import Reader
from tests.conftest import LiveIssuer
from tests.nfc.checkin_helpers import check_ins_at, copy_of, issued_card, sync_bundle
from tests.nfc.credentials import make_credential
from tests.nfc.emulator import CardEmulator, EmulatedCard

UID = bytes.fromhex("02fe000000000001")


class Collecting:
    """A desk listener that keeps every tap's result."""

    def __init__(self) -> None:
        self.results: list[TapResult] = []

    def ready(self, info: dict[str, Any]) -> None:
        pass

    def tap(self, result: TapResult, queued: int) -> None:
        self.results.append(result)

    def sent(self, entry: Any, receipt: Any) -> None:
        pass

    def rejected(self, entry: Any, reason: str) -> None:
        pass

    def offline(self, reason: str, retry_in: float, queued: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def verdict(status: str, *, binding: str | None = "match", **claims: Any) -> TapVerdict:
    credential = make_credential(card_uid=UID, **claims)
    genuine = status not in ("bad_signature", "unknown_issuer", "unknown_key", "malformed")
    return TapVerdict(status, status, status, (f"reason for {status}",), genuine, binding, credential.claims)


@pytest.mark.parametrize(
    ("status", "binding", "accepted", "provisional"),
    [
        ("valid", "match", True, False),
        ("attention", "match", True, False),
        ("status_unknown", "match", True, True),
        ("valid", None, False, False),  # an unbound credential written on some card
        ("bad_signature", "mismatch", False, False),  # a copy
        ("revoked", "match", False, False),
        ("suspended", "match", False, False),
        ("expired", "match", False, False),
        ("not_yet_valid", "match", False, False),
        ("unknown_issuer", None, False, False),
        ("key_retired", "match", False, False),
    ],
)
def test_only_a_genuine_live_credential_bound_to_the_tapped_card_checks_in(
    status: str, binding: str | None, accepted: bool, provisional: bool
) -> None:
    decision = decide(verdict(status, binding=binding), issuer_code=330200)
    assert (decision.accepted, decision.provisional) == (accepted, provisional)
    assert decision.reasons  # a refusal (and a provisional record) always says why


def test_a_card_of_another_issuer_or_an_enterprise_credential_does_not_check_in_here() -> None:
    foreign = decide(verdict("valid"), issuer_code=500100)
    assert not foreign.accepted and "330200" in foreign.reasons[0]
    assert decide(verdict("valid"), issuer_code=None).accepted  # a desk that takes any issuer
    enterprise = TapVerdict(
        "valid", "有效", "valid", (), True, "match",
        fmt.Claims.from_mapping({**make_credential(card_uid=UID).claims.to_mapping(), "subject_kind": "enterprise"}),
    )  # fmt: skip
    assert not decide(enterprise, issuer_code=330200).accepted


def new_check_in(worker: int = 7, month: str = "2025-03", **changes: Any) -> NewCheckIn:
    values: dict[str, Any] = {
        "issuer_code": 330200, "worker_id": worker, "month": month, "serial": 61442, "enterprise_id": 253,
        "display_name": "李*霞", "card_uid": UID, "code": "84", "issuer_url": "http://127.0.0.1:9",
        "station": "desk", "tapped_at": datetime(2025, 3, 5, 1, 12, tzinfo=UTC), "verdict": "valid",
    }  # fmt: skip
    values.update(changes)
    return NewCheckIn(**values)


def test_the_queue_keeps_one_check_in_per_worker_and_month_and_a_refused_one_gives_way(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite3"
    with CheckInQueue(path) as queue:
        first, new = queue.record(new_check_in())
        again, repeat = queue.record(
            new_check_in(station="other", tapped_at=datetime(2025, 3, 9, tzinfo=UTC))
        )
        next_month, fresh = queue.record(new_check_in(month="2025-04"))
        assert (new, repeat, fresh) == (True, False, True)
        assert again.id == first.id and again.station == "desk"
        # Another connection (another process) sees the row: it was committed before record() returned.
        other = sqlite3.connect(path)
        assert other.execute("SELECT COUNT(*) FROM check_ins WHERE state = 'queued'").fetchone()[0] == 2
        other.close()
        queue.mark_rejected(first.id, 409, "revoked")
        replaced, new_again = queue.record(new_check_in(station="after reinstatement"))
        assert new_again and replaced.station == "after reinstatement" and replaced.state == "queued"
        assert queue.counts() == {"queued": 2, "sent": 0, "rejected": 0}
        assert next_month.payload()["month"] == "2025-04"


def test_the_sender_backs_off_while_the_issuer_is_away_and_sends_once_it_is_back(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    _, issued = issued_card(live_issuer, 1, enterprise)
    token = live_issuer.token("card_operator")
    now = datetime.now(UTC)
    with CheckInQueue(tmp_path / "q.sqlite3") as queue:
        entry, _ = queue.record(
            new_check_in(
                worker=issued["worker_id"], month=month_of(now), serial=issued["serial"], enterprise_id=enterprise,
                card_uid=bytes.fromhex(issued["card_uid"]), code=fmt.parse_text(issued["code"]).hex(),
                issuer_url=live_issuer.url, tapped_at=now,
            )
        )  # fmt: skip
        sender = CheckInSender(queue, lambda url: IssuerClient(url, token, timeout=2, retries=0), backoff=30)
        live_issuer.stop()
        away = sender.flush()
        assert away.sent == 0 and away.failed == 1 and "无应答" in (away.stopped or "")
        (waiting,) = queue.entries()
        assert waiting.state == "queued" and waiting.attempts == 1
        assert datetime.fromisoformat(waiting.next_attempt_at or "") > now + timedelta(seconds=20)  # backoff
        assert sender.flush().failed == 0  # not due yet: no request at all
        live_issuer.start()
        assert sender.flush().sent == 0  # still backing off ...
        assert sender.flush(force=True).sent == 1  # ... until an operator (or a tap) says now
        (sent,) = queue.entries()
        assert (sent.state, sent.issuer_status) == ("sent", 201)
        # The row sent again (say the "sent" mark was lost to a power cut) counts once.
        again = IssuerClient(live_issuer.url, token).record_check_in(sent.payload())
        assert again.status == 200 and again.record_id == sent.issuer_record
    assert check_ins_at(live_issuer) == [(issued["worker_id"], month_of(now), issued["card_uid"])]
    assert entry.id == sent.id


def test_a_refused_token_stops_sending_and_an_issuer_refusal_is_kept_with_its_reason(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    _, issued = issued_card(live_issuer, 1, enterprise)
    live_issuer.api("POST", f"/api/v1/credentials/{issued['serial']}/suspend", json={})
    now = datetime.now(UTC)
    with CheckInQueue(tmp_path / "q.sqlite3") as queue:
        queue.record(
            new_check_in(
                worker=issued["worker_id"], month=month_of(now), card_uid=bytes.fromhex(issued["card_uid"]),
                code=fmt.parse_text(issued["code"]).hex(), issuer_url=live_issuer.url, tapped_at=now,
            )
        )  # fmt: skip
        bad = CheckInSender(queue, lambda url: IssuerClient(url, "axm_not-a-token", retries=0))
        refused = bad.flush()
        assert refused.token_refused and "令牌" in (refused.stopped or "")
        assert queue.counts()["queued"] == 1
        good = CheckInSender(
            queue, lambda url: IssuerClient(url, live_issuer.token("card_operator"), retries=0)
        )
        assert good.flush().rejected == 1
        (entry,) = queue.entries()
        assert entry.state == "rejected" and entry.issuer_status == 409 and "暂停" in (entry.last_error or "")
    assert check_ins_at(live_issuer) == []


def test_the_desk_checks_in_each_worker_once_and_refuses_revoked_and_copied_cards(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    enterprise = int(live_issuer.enterprise()["id"])
    (first, one), (second, two) = (issued_card(live_issuer, n, enterprise) for n in (1, 2))
    revoked, gone = issued_card(live_issuer, 3, enterprise, name="王芳")
    live_issuer.api("POST", f"/api/v1/credentials/{gone['serial']}/revoke", json={"reason": "left"})
    copy = copy_of(second, 4)  # a clone of the second worker's card
    bundle = sync_bundle(live_issuer, tmp_path / "bundles")  # synced after the revocation
    verify = BundleTapVerifier(bundle)
    url, code = verify.issuer_of(live_issuer.url)
    assert (url, code) == (live_issuer.url, 330200)
    token = live_issuer.token("card_operator")
    taps = [first, revoked, second, copy, first]
    with CheckInQueue(tmp_path / "q.sqlite3") as queue, CardEmulator(taps) as emulator:
        sender = CheckInSender(queue, lambda u: IssuerClient(u, token, timeout=5, retries=0))
        listener = Collecting()
        with Reader.open(emulator.path) as reader:
            desk = CheckInDesk(
                reader, queue, verify, issuer_url=url, issuer_code=code, station="desk", listener=listener
            )
            summary = desk.run(taps=len(taps))
        results = listener.results
        assert (summary.taps, summary.recorded, summary.refused, summary.already) == (5, 2, 2, 1)
        assert [r.outcome for r in results] == [
            Outcome.RECORDED, Outcome.REFUSED, Outcome.RECORDED, Outcome.REFUSED, Outcome.ALREADY,
        ]  # fmt: skip
        assert results[1].verdict is not None and results[1].verdict.status == "revoked"
        assert results[3].verdict is not None and results[3].verdict.card_binding == "mismatch"
        assert any("复制卡" in reason for reason in results[3].reasons)
        assert results[4].entry is not None and results[4].entry.id == results[0].entry.id  # type: ignore[union-attr]
        assert all(r.elapsed < 0.5 for r in results)
        assert sender.flush().sent == 2 and queue.counts() == {"queued": 0, "sent": 2, "rejected": 0}
        outcomes = [tap["outcome"] for tap in queue.taps()]
    month = month_of(datetime.now(UTC))
    assert check_ins_at(live_issuer) == [
        (one["worker_id"], month, first.idm.hex()), (two["worker_id"], month, second.idm.hex()),
    ]  # fmt: skip
    assert outcomes == ["recorded", "refused", "recorded", "refused", "already"]


def test_a_card_without_a_credential_is_refused_and_nothing_is_queued(
    tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    live_issuer.credential()  # an issuer publishes a status list once it has issued
    bundle = sync_bundle(live_issuer, tmp_path / "bundles")
    verify = BundleTapVerifier(bundle)
    with CheckInQueue(tmp_path / "q.sqlite3") as queue, CardEmulator([EmulatedCard.blank(9)]) as emulator:
        with Reader.open(emulator.path) as reader:
            desk = CheckInDesk(
                reader, queue, verify, issuer_url=live_issuer.url, issuer_code=330200, station="d"
            )
            blank = desk.tap(reader.wait_for_card(3))
        assert blank.outcome is Outcome.REFUSED and "没有安心码" in blank.reasons[0]
        assert queue.counts()["queued"] == 0
