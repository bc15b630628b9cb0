"""The encoding station in-process: emulated cards, a real HTTP issuer, a real SQLite journal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ndef
import pytest

from anxinma.errors import IssuerRequestError
from anxinma.nfc.batch import load_batch
from anxinma.nfc.issuer_client import IssuerClient
from anxinma.nfc.journal import Attempt, Journal, Step
from anxinma.nfc.reader import Reader
from anxinma.nfc.report import write_report
from anxinma.nfc.station import EncodedCard, Station, StationOptions, StationStopped
from tests.nfc.emulator import CardEmulator, EmulatedCard, attribute_block
from tests.nfc.ntag import FakeDevice, SimulatedNtag, frontend_with
from tests.nfc.station_helpers import (
    assert_one_live_credential_per_worker_on_one_card,
    card_credential,
    read_report,
    worker_names,
    write_batch,
)
from tests.nfc.stub_issuer import TOKEN, RunningStubIssuer
from tests.nfc.type4 import SimulatedType4


class Crash(BaseException):
    """Stands for the power cut: not an Exception, so nothing on the way catches it."""


@dataclass
class Rig:
    """One operator's desk: batch file, issuer, cards, journal."""

    tmp: Path
    issuer: RunningStubIssuer
    emulator: CardEmulator
    workers: dict[str, str]
    batch_path: Path
    cards: list[EmulatedCard] = field(default_factory=list)
    encoded: list[EncodedCard] = field(default_factory=list)

    @property
    def journal_path(self) -> Path:
        return self.tmp / "batch.csv.journal.sqlite3"

    def run(
        self,
        options: StationOptions | None = None,
        *,
        on_step: Callable[[Step, Attempt], None] | None = None,
        token: str = TOKEN,
    ) -> tuple[object, Path]:
        batch = load_batch(self.batch_path)
        client = IssuerClient(self.issuer.url, token, retries=2, backoff=0.01)
        options = options or StationOptions(card_timeout=2.0)
        with Journal(self.journal_path) as journal, Reader.open(self.emulator.path) as reader:
            station = Station(
                reader, client, journal, batch, options, on_encoded=self.encoded.append, on_step=on_step
            )
            try:
                summary = station.run()
            finally:
                report = write_report(self.tmp / "report.csv", batch, journal)
        return summary, report

    def stack(self, *cards: EmulatedCard) -> None:
        self.cards.extend(card for card in cards if card not in self.cards)
        self.emulator.present(*cards)

    def card_contents(self) -> list[tuple[bytes, bytes]]:
        return [(card.idm, card.message()) for card in self.cards]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Callable[[int], Rig]]:
    opened: list[tuple[RunningStubIssuer, CardEmulator]] = []

    def build(count: int) -> Rig:
        workers = worker_names(count)
        issuer = RunningStubIssuer(tmp_path / "issuer", workers).__enter__()
        emulator = CardEmulator().__enter__()
        opened.append((issuer, emulator))
        return Rig(tmp_path, issuer, emulator, workers, write_batch(tmp_path / "batch.csv", workers))

    yield build
    for issuer, emulator in opened:
        emulator.__exit__(None, None, None)
        issuer.__exit__(None, None, None)


def test_a_batch_is_issued_bound_written_verified_and_reported(rig: Callable[[int], Rig]) -> None:
    desk = rig(5)
    desk.stack(*(EmulatedCard.blank(n) for n in range(1, 6)))
    summary, report = desk.run()
    assert (summary.done, summary.failed, summary.pending) == (5, 0, 0)  # type: ignore[attr-defined]
    bound = assert_one_live_credential_per_worker_on_one_card(
        desk.issuer.state, desk.workers, desk.card_contents()
    )
    rows = read_report(report)
    for worker_id, (serial, uid) in bound.items():
        row = rows[worker_id]
        assert (row["status"], row["serial"], row["card_uid"]) == ("done", str(serial), uid.hex())
        assert row["code"] == card_credential(dict(desk.card_contents())[uid]).to_url(desk.issuer.url)  # type: ignore[union-attr]
        assert (
            row["enterprise_name"] == "宁波安心家政服务有限公司" and row["photo"] == f"photos/{worker_id}.jpg"
        )
        assert row["form"] == "both"
    assert [e.worker_id for e in desk.encoded] == list(desk.workers)
    assert desk.encoded[0].extra == {"photo": "photos/w001.jpg"} and desk.encoded[0].code.startswith("http")


def test_a_card_presented_twice_is_recognised_and_set_aside(rig: Callable[[int], Rig]) -> None:
    desk = rig(3)
    first, second, third = (EmulatedCard.blank(n) for n in (1, 2, 3))
    desk.stack(first, first, second, third)  # the operator puts the first card down again
    summary, report = desk.run()
    assert summary.done == 3  # type: ignore[attr-defined]
    bound = assert_one_live_credential_per_worker_on_one_card(
        desk.issuer.state, desk.workers, desk.card_contents()
    )
    assert bound["w002"][1] == second.idm
    with Journal(desk.journal_path) as journal:
        duplicates = [e for e in journal.events() if e["kind"] == "duplicate_card"]
    assert len(duplicates) == 1 and duplicates[0]["worker_id"] == "w002"
    assert "w001" in duplicates[0]["detail"] and "已写入" in duplicates[0]["detail"]
    assert len(desk.issuer.state.requests) == 3  # nothing was issued for the duplicate
    assert "duplicate_card" in read_report(report)["w002"]["notes"]


def test_a_card_pulled_mid_write_and_put_back_is_rewritten_without_a_new_credential(
    rig: Callable[[int], Rig],
) -> None:
    desk = rig(2)
    torn = EmulatedCard.blank(1, pull_after_writes=2)
    desk.stack(torn, torn, EmulatedCard.blank(2))
    summary, _ = desk.run()
    assert summary.done == 2  # type: ignore[attr-defined]
    assert_one_live_credential_per_worker_on_one_card(desk.issuer.state, desk.workers, desk.card_contents())
    assert len(desk.issuer.state.credentials) == 2  # the put-back card got the same credential
    with Journal(desk.journal_path) as journal:
        assert [a.step for a in journal.attempts("w001")] == [Step.DONE]
        assert [e["kind"] for e in journal.events("w001")] == ["card_removed"]


def test_a_card_pulled_mid_write_and_replaced_by_another_revokes_the_first_credential(
    rig: Callable[[int], Rig],
) -> None:
    desk = rig(1)
    torn, fresh = EmulatedCard.blank(1, pull_after_writes=2), EmulatedCard.blank(9)
    desk.stack(torn, fresh)
    summary, report = desk.run()
    assert summary.done == 1  # type: ignore[attr-defined]
    bound = assert_one_live_credential_per_worker_on_one_card(
        desk.issuer.state, desk.workers, desk.card_contents()
    )
    assert bound["w001"][1] == fresh.idm
    first = min(desk.issuer.state.credentials.values(), key=lambda c: c.serial)
    assert (first.status, first.reason, first.card_uid) == ("revoked", "replaced", torn.idm.hex())
    row = read_report(report)["w001"]
    assert row["replaced_serial"] == str(first.serial) and row["attempts"] == "2"


@pytest.mark.parametrize(
    "crash_at",
    [Step.ISSUE_REQUESTED, Step.ISSUED, Step.WRITE_STARTED, Step.WRITTEN, Step.VERIFIED, Step.DONE],
)
@pytest.mark.parametrize("same_card", [True, False], ids=["same-card", "other-card"])
def test_a_crash_at_any_step_resumes_to_one_live_credential_per_worker(
    rig: Callable[[int], Rig], crash_at: Step, same_card: bool
) -> None:
    desk = rig(3)
    cards = [EmulatedCard.blank(n) for n in (1, 2, 3)]
    desk.stack(*cards)

    def power_cut(step: Step, attempt: Attempt) -> None:
        if attempt.worker_id == "w002" and step is crash_at:
            raise Crash

    with pytest.raises(Crash):
        desk.run(on_step=power_cut)
    # After the restart the operator puts w002's card back, or takes a new one from the stack.
    if same_card:
        desk.emulator.present(cards[1], first=True)
    else:
        desk.stack(EmulatedCard.blank(7))
        desk.emulator.queue.remove(cards[2])
        desk.emulator.present(cards[2])
    summary, report = desk.run()
    assert (summary.done, summary.pending) == (3, 0)  # type: ignore[attr-defined]
    bound = assert_one_live_credential_per_worker_on_one_card(
        desk.issuer.state, desk.workers, desk.card_contents()
    )
    if same_card:
        assert bound["w002"][1] == cards[1].idm
    rows = read_report(report)
    assert [rows[w]["status"] for w in desk.workers] == ["done"] * 3
    assert rows["w002"]["serial"] == str(bound["w002"][0])


def test_an_unanswered_issue_request_is_repeated_with_its_idempotency_key(rig: Callable[[int], Rig]) -> None:
    desk = rig(1)
    desk.stack(EmulatedCard.blank(1))
    desk.issuer.state.drop_next = 1  # issued, but the answer never arrives
    summary, _ = desk.run()
    assert summary.done == 1  # type: ignore[attr-defined]
    assert len(desk.issuer.state.credentials) == 1
    keys = [key for _, key in desk.issuer.state.requests]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_an_issuer_that_is_down_stops_the_run_and_the_resume_reuses_the_key(
    rig: Callable[[int], Rig],
) -> None:
    desk = rig(2)
    card = EmulatedCard.blank(1)
    desk.stack(card, EmulatedCard.blank(2))
    desk.issuer.state.fail_next = [503, 503, 503]
    with pytest.raises(IssuerRequestError) as caught:
        desk.run()
    assert caught.value.retryable and "续做" in caught.value.message_zh
    with Journal(desk.journal_path) as journal:
        (attempt,) = journal.attempts("w001")
        assert attempt.step is Step.ISSUE_REQUESTED and attempt.card_uid == card.idm
    desk.emulator.present(card, first=True)
    summary, _ = desk.run()
    assert summary.done == 2  # type: ignore[attr-defined]
    assert desk.issuer.state.requests[3][1] == attempt.idempotency_key
    assert_one_live_credential_per_worker_on_one_card(desk.issuer.state, desk.workers, desk.card_contents())


def test_a_worker_the_issuer_does_not_know_fails_and_the_card_serves_the_next(
    rig: Callable[[int], Rig],
) -> None:
    desk = rig(2)
    del desk.issuer.state.workers["w001"]
    only = EmulatedCard.blank(1)
    desk.stack(only)
    summary, report = desk.run()
    assert (summary.done, summary.failed) == (1, 1)  # type: ignore[attr-defined]
    rows = read_report(report)
    assert rows["w001"]["status"] == "failed" and "404" in rows["w001"]["reason"]
    assert rows["w002"]["card_uid"] == only.idm.hex() and rows["w001"]["code"] == ""


def test_a_refused_token_stops_before_anything_is_issued(rig: Callable[[int], Rig]) -> None:
    desk = rig(1)
    desk.stack(EmulatedCard.blank(1))
    with pytest.raises(IssuerRequestError, match="401"):
        desk.run(token="wrong")
    assert desk.issuer.state.credentials == {}


def test_a_card_too_small_is_refused_before_anything_is_issued(rig: Callable[[int], Rig]) -> None:
    desk = rig(1)
    desk.stack(EmulatedCard.blank(1, blocks=8), EmulatedCard.blank(2))
    summary, _ = desk.run()
    assert summary.done == 1 and len(desk.issuer.state.credentials) == 1  # type: ignore[attr-defined]
    with Journal(desk.journal_path) as journal:
        (refusal,) = [e for e in journal.events() if e["kind"] == "card_refused"]
    assert "128" in refusal["detail"] and refusal["card_uid"] == "02fe000000000001"


def test_a_card_with_other_data_is_refused_unless_overwrite(rig: Callable[[int], Rig]) -> None:
    desk = rig(1)
    used = EmulatedCard.blank(1)
    other = b"".join(ndef.message_encoder([ndef.UriRecord("https://transit.example.cn/card/7")]))
    used.memory[0:16] = attribute_block(64, len(other))
    used.memory[16 : 16 + len(other)] = other
    desk.stack(used)
    with pytest.raises(StationStopped):
        desk.run(StationOptions(card_timeout=1.0))
    with Journal(desk.journal_path) as journal:
        assert "--overwrite" in journal.events()[0]["detail"]
    assert desk.issuer.state.credentials == {}
    desk.emulator.present(used)
    summary, _ = desk.run(StationOptions(card_timeout=1.0, overwrite=True))
    assert summary.done == 1  # type: ignore[attr-defined]


def test_no_card_in_time_stops_with_the_batch_resumable(rig: Callable[[int], Rig]) -> None:
    desk = rig(2)
    desk.stack(EmulatedCard.blank(1))
    with pytest.raises(StationStopped) as caught:
        desk.run(StationOptions(card_timeout=1.0))
    assert "续做" in caught.value.message_zh
    with Journal(desk.journal_path) as journal:
        assert journal.counts() == {"pending": 1, "done": 1, "failed": 0, "skipped": 0}


@contextmanager
def station_on(
    tmp_path: Path, device: FakeDevice, workers: dict[str, str], options: StationOptions
) -> Iterator[tuple[Station, Journal, RunningStubIssuer]]:
    """A station over a fake reader ``device`` (nfcpy's own tag classes above it), a stub
    issuer and a batch of ``workers``."""
    with (
        RunningStubIssuer(tmp_path / "issuer", workers) as issuer,
        Journal(tmp_path / "j.sqlite3") as journal,
    ):
        yield (
            Station(
                Reader(frontend_with(device), "fake", ("106A",)),
                IssuerClient(issuer.url, TOKEN),
                journal,
                load_batch(write_batch(tmp_path / "batch.csv", workers)),
                options,
            ),
            journal,
            issuer,
        )


def test_ntag_cards_are_locked_and_counterfeit_chips_refused(tmp_path: Path) -> None:
    workers = worker_names(1)
    genuine, clone = SimulatedNtag.create("NTAG213"), SimulatedNtag.numbered(5)
    device = FakeDevice(clone, genuine)
    with station_on(tmp_path, device, workers, StationOptions(lock=True, card_timeout=1.0)) as (
        station,
        journal,
        _issuer,
    ):
        assert station.run().done == 1
        (refusal,) = [e for e in journal.events() if e["kind"] == "counterfeit_card"]
        assert refusal["card_uid"] == clone.uid.hex() and clone.writes == 0
        attempt = journal.current_attempt("w001")
    assert (
        attempt is not None
        and attempt.locked
        and attempt.originality == "genuine"
        and attempt.form == "external"
    )
    assert genuine.page(3)[3] == 0x0F and genuine.page(2)[2:] == b"\xff\xff"
    credential = card_credential(genuine.user_data()[2 : 2 + genuine.user_data()[1]])
    assert credential is not None and credential.claims.card_uid == genuine.uid


@pytest.mark.parametrize(("file_size", "form"), [(256, "external"), (2048, "both")])
def test_a_worker_is_encoded_onto_a_type4_card(tmp_path: Path, file_size: int, form: str) -> None:
    workers = worker_names(1)
    chip = SimulatedType4.create(file_size=file_size)
    with station_on(
        tmp_path, FakeDevice(chip, frame_size=262), workers, StationOptions(card_timeout=1.0)
    ) as (
        station,
        journal,
        issuer,
    ):
        assert station.run().done == 1
        attempt = journal.current_attempt("w001")
        bound = assert_one_live_credential_per_worker_on_one_card(
            issuer.state, workers, [(chip.uid, chip.message)]
        )
    assert attempt is not None and attempt.step is Step.DONE and not attempt.locked
    assert (attempt.form, attempt.originality) == (form, "unavailable")
    assert chip.message == attempt.message and bound["w001"][1] == chip.uid
    assert chip.rats is not None and chip.instructions(0xD6)  # written over ISO-DEP, not another way


def test_lock_refuses_a_type4_card_and_the_next_ntag_takes_the_worker(tmp_path: Path) -> None:
    workers = worker_names(1)
    type4, ntag = SimulatedType4.create(file_size=2048), SimulatedNtag.create("NTAG215")
    device = FakeDevice(type4, ntag)
    with station_on(tmp_path, device, workers, StationOptions(lock=True, card_timeout=1.0)) as (
        station,
        journal,
        _issuer,
    ):
        assert station.run().done == 1
        (refusal,) = [e for e in journal.events() if e["kind"] == "card_refused"]
        attempt = journal.current_attempt("w001")
    assert refusal["card_uid"] == type4.uid.hex() and "Type4Tag" in refusal["detail"]
    assert "无法永久锁定" in refusal["detail"]
    assert type4.instructions(0xD6) == [] and type4.message == b""  # refused before anything was issued
    assert attempt is not None and attempt.card_uid == ntag.uid and attempt.locked


def test_a_worker_listed_twice_is_encoded_once_and_the_repeat_reported_skipped(
    rig: Callable[[int], Rig],
) -> None:
    desk = rig(2)
    rows = desk.batch_path.read_text("utf-8-sig").splitlines()
    desk.batch_path.write_text("\n".join([*rows, rows[1]]) + "\n", encoding="utf-8")
    desk.stack(EmulatedCard.blank(1), EmulatedCard.blank(2), EmulatedCard.blank(3))
    summary, report = desk.run()
    assert (summary.done, summary.skipped) == (2, 1)  # type: ignore[attr-defined]
    assert len(desk.issuer.state.credentials) == 2
    with report.open(encoding="utf-8-sig") as stream:
        statuses = [line.split(",")[4] for line in stream.read().splitlines()[1:]]
    assert statuses == ["done", "done", "skipped"]


def test_a_failing_badge_hook_is_recorded_and_the_card_stays_done(rig: Callable[[int], Rig]) -> None:
    from anxinma.errors import AnxinmaError

    desk = rig(1)
    desk.stack(EmulatedCard.blank(1))

    def jammed(card: EncodedCard) -> None:
        raise AnxinmaError("the badge printer is out of ribbon", message_zh="证卡打印机色带用完")

    batch = load_batch(desk.batch_path)
    with Journal(desk.journal_path) as journal, Reader.open(desk.emulator.path) as reader:
        station = Station(
            reader, IssuerClient(desk.issuer.url, TOKEN), journal, batch, StationOptions(card_timeout=2.0),
            on_encoded=jammed,
        )  # fmt: skip
        assert station.run().done == 1
        (event,) = [e for e in journal.events() if e["kind"] == "hook_failed"]
    assert "色带" in event["detail"]


def test_password_protected_cards_stay_readable_and_refuse_writes(tmp_path: Path) -> None:
    workers = worker_names(1)
    chip = SimulatedNtag.create("NTAG213")
    device = FakeDevice(chip)
    with station_on(
        tmp_path, device, workers, StationOptions(password_secret=b"desk secret 1", card_timeout=1.0)
    ) as (station, journal, _issuer):
        assert station.run().done == 1
        attempt = journal.current_attempt("w001")
    assert attempt is not None and not attempt.locked and attempt.step is Step.DONE
    cfg = chip.product.cfg * 4
    assert chip.memory[cfg + 3] == 3 and chip.page(2)[2:] == b"\x00\x00"  # protected, not locked
    device.present(chip)
    card = Reader(frontend_with(device), "fake", ("106A",)).wait_for_card(timeout=1)
    assert card.read_message() == attempt.message
    from anxinma.errors import CardReadOnly

    with pytest.raises(CardReadOnly, match="password"):
        card.write_message(b"\xd0\x00\x00")


def test_a_spent_card_whose_credential_was_replaced_is_reused_for_the_next_worker(
    rig: Callable[[int], Rig],
) -> None:
    desk = rig(2)
    spent, fresh = EmulatedCard.blank(1), EmulatedCard.blank(2)
    desk.stack(spent)

    def power_cut(step: Step, attempt: Attempt) -> None:
        if step is Step.VERIFIED:
            raise Crash

    with pytest.raises(Crash):
        desk.run(on_step=power_cut)
    first = card_credential(spent.message())
    assert first is not None  # fully written before the crash
    desk.stack(fresh, spent)  # after the restart w001 gets another card; the first comes back later
    summary, _ = desk.run()
    assert summary.done == 2  # type: ignore[attr-defined]
    bound = assert_one_live_credential_per_worker_on_one_card(
        desk.issuer.state, desk.workers, desk.card_contents()
    )
    assert bound["w001"][1] == fresh.idm and bound["w002"][1] == spent.idm
    assert desk.issuer.state.credentials[first.claims.serial].status == "revoked"


def test_a_row_whose_enterprise_the_issuer_does_not_give_that_worker_gets_no_card(
    rig: Callable[[int], Rig],
) -> None:
    """Issue 16: a worker of enterprise 4 got enterprise 3's name printed from the batch file.
    The station now asks the issuer's record first; the row that disagrees is refused, with no
    credential issued and no card used, and every badge prints the issuer's name."""
    desk = rig(3)
    state = desk.issuer.state
    state.enterprises[4] = "宁波另一家家政服务有限公司"
    state.enterprise_of["w002"] = 4  # the batch says 253 for everyone
    desk.stack(*(EmulatedCard.blank(n) for n in range(1, 3)))  # two cards for the two good rows
    summary, report = desk.run()
    assert (summary.done, summary.failed, summary.pending) == (2, 1, 0)  # type: ignore[attr-defined]
    assert [worker_id for worker_id, _ in state.requests] == ["w001", "w003"]  # nothing issued for w002
    row = read_report(report)["w002"]
    assert row["status"] == "failed"
    assert "宁波另一家家政服务有限公司（4）" in row["reason"] and "enterprise 4" in row["reason"]
    assert "correct the batch file" in row["reason"] and "请改正批次文件" in row["reason"]
    assert [(e.worker_id, e.enterprise_name) for e in desk.encoded] == [
        ("w001", "宁波安心家政服务有限公司"), ("w003", "宁波安心家政服务有限公司"),
    ]  # fmt: skip


def test_a_badge_prints_the_issuers_name_of_the_enterprise(rig: Callable[[int], Rig]) -> None:
    desk = rig(1)
    desk.issuer.state.enterprises[253] = " 宁波安心家政服务有限公司 "  # the same name, spaced differently
    desk.stack(EmulatedCard.blank(1))
    summary, _ = desk.run()
    assert summary.done == 1  # type: ignore[attr-defined]
    assert (
        desk.encoded[0].enterprise_name == " 宁波安心家政服务有限公司 "
    )  # the issuer's record, as it has it
