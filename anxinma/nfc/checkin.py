"""Tap check-in (按月打卡) at a desk reader: read, verify offline, record durably, send when online.

A worker taps the card. The desk reads the UID and the NDEF message, has the credential checked
**offline** by the verifier it was given (a :class:`TapVerifier`: this package does not import
the verifier, docs/interfaces.md; ``anxinma/cli.py`` wires the real one in), decides whether
the tap is a check-in (:func:`decide`), records an accepted one in the :class:`CheckInQueue`
(fsynced before the screen says "recorded"), and wakes the :class:`CheckInSender`, which posts
queued check-ins to the issuer in the background and backs off while the network is away.

No check-in is lost (queued durably first; a crash between queue and send only delays it) and
none is counted twice: one per issuer, worker and month at the station (a second tap in the
month says so and queues nothing), and one per worker and month at the issuer (a unique index:
a repeated POST answers 200 with the record it has).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from anxinma import credential as fmt
from anxinma.errors import CardNotFormatted, CardRemoved, IssuerRequestError, MalformedCredential, NoCard
from anxinma.messages import Text
from anxinma.ndef import decode_message
from anxinma.nfc.checkin_queue import CheckInQueue, NewCheckIn, QueuedCheckIn
from anxinma.nfc.issuer_client import CheckInReceipt
from anxinma.nfc.messages import MESSAGES
from anxinma.nfc.originality import Originality, OriginalityStatus
from anxinma.nfc.reader import Card, Reader

__all__ = [
    "ACCEPTED",
    "CheckInDesk",
    "CheckInSender",
    "DeskListener",
    "DeskSummary",
    "Outcome",
    "Tap",
    "TapResult",
    "TapVerdict",
    "TapVerifier",
    "decide",
    "month_of",
    "read_tap",
]

#: Verdicts that check in: genuine, bound to this very card, and ``valid`` or ``attention`` (the
#: 安心码 yellow: a lapsed health certificate is the enterprise's to fix, the worker still works).
ACCEPTED = frozenset({"valid", "attention"})
#: Genuine and bound to the card, but the bundle is too old to know the status: recorded
#: provisionally; the issuer, which checks the credential again, has the last word.
PROVISIONAL = frozenset({"status_unknown"})
#: The verifier's verdicts on a holder-bound (phone) credential shown without a fresh proof of
#: its phone (docs/verifier.md, "The holder proof"), and the desk's own words for each: a
#: desk is not a consumer at the door, so it says what to do at a desk.
HOLDER_REFUSALS = {
    "holder_proof_missing": "checkin_holder_proof_missing",
    "holder_proof_expired": "checkin_holder_proof_expired",
    "bad_holder_proof": "checkin_bad_holder_proof",
}


def month_of(moment: datetime) -> str:
    """``YYYY-MM`` in China Standard Time: the month a tap counts for (the issuer's rule too)."""
    return moment.astimezone(fmt.CHINA_TZ).strftime("%Y-%m")


# -- what the verifier says (injected) ----------------------------------------------------------


@dataclass(frozen=True)
class TapVerdict:
    """The offline verdict on the credential of a tapped card, in the verifier's stable terms.

    ``status`` is a lower-case verifier status (``valid``, ``revoked``, ``bad_signature``, …),
    ``card_binding`` ``"match"``, ``"mismatch"`` or None (the credential names no card).
    """

    status: str
    label_zh: str
    label_en: str
    reasons: tuple[str, ...]
    genuine: bool
    card_binding: str | None
    claims: fmt.Claims | None


class TapVerifier(Protocol):
    """Verifies the binary credential read from a card against the UID of that card, offline."""

    def __call__(self, credential: bytes, card_uid: bytes) -> TapVerdict: ...


# -- reading a card ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    """What was read from a card in the field (all the radio work of one tap)."""

    uid: bytes
    product: str
    uid_is_random: bool
    message: bytes | None  # None: the card could not be read as NDEF (see ``problem``)
    originality: Originality
    problem: str | None = None
    removed: bool = False  # the card left the field while it was read: tap again


def read_tap(card: Card) -> Tap:
    """Read UID, NDEF message and (NTAG21x) originality signature; never raises for a bad card."""
    originality = card.originality()
    try:
        message = card.read_message()
    except CardRemoved as exc:
        return Tap(card.uid, card.product, card.uid_is_random, None, originality, exc.explain(), removed=True)
    except CardNotFormatted as exc:
        return Tap(card.uid, card.product, card.uid_is_random, None, originality, exc.explain())
    return Tap(card.uid, card.product, card.uid_is_random, message, originality)


# -- the decision --------------------------------------------------------------------------------


class Outcome(StrEnum):
    RECORDED = "recorded"  # a new check-in, queued (and sent when the network is there)
    ALREADY = "already"  # this worker has checked in this month: nothing new
    REFUSED = "refused"  # not a check-in (revoked, a copy, expired, unknown issuer, …)
    RETRY = "retry"  # the card could not be read whole: tap again


@dataclass(frozen=True)
class Decision:
    accepted: bool
    provisional: bool
    reasons: tuple[str, ...]


def decide(verdict: TapVerdict, *, issuer_code: int | None) -> Decision:
    """Whether a verified tap is a check-in. Refusals carry the reasons a person reads."""
    claims = verdict.claims
    holder = HOLDER_REFUSALS.get(verdict.status)
    if holder is not None:  # the credential is genuine, the phone was not proven present
        return Decision(False, False, (MESSAGES(holder),))
    if claims is None or not verdict.genuine:
        return Decision(False, False, verdict.reasons)
    if verdict.card_binding == "mismatch":
        return Decision(False, False, verdict.reasons)
    if claims.subject_kind is not fmt.SubjectKind.WORKER:
        return Decision(
            False,
            False,
            (MESSAGES("checkin_enterprise_credential"),),
        )
    if issuer_code is not None and claims.issuer_code != issuer_code:
        return Decision(
            False,
            False,
            (MESSAGES("checkin_other_issuer", issuer=claims.issuer_code),),
        )
    if verdict.status not in ACCEPTED | PROVISIONAL:
        return Decision(False, False, verdict.reasons)
    if verdict.card_binding != "match":
        return Decision(
            False,
            False,
            (MESSAGES("checkin_not_bound"),),
        )
    provisional = verdict.status in PROVISIONAL
    notes = verdict.reasons
    if provisional:
        notes = (*notes, MESSAGES("checkin_provisional"))
    return Decision(True, provisional, notes)


# -- one tap's result and the listener -----------------------------------------------------------


@dataclass(frozen=True)
class TapResult:
    outcome: Outcome
    card_uid: bytes
    tapped_at: datetime
    month: str
    verdict: TapVerdict | None
    reasons: tuple[str, ...]
    entry: QueuedCheckIn | None = None  # the worker's check-in this month (new or the earlier one)
    provisional: bool = False
    elapsed: float = 0.0  # seconds of our own work (everything but the radio)

    @property
    def display_name(self) -> str | None:
        claims = self.verdict.claims if self.verdict is not None else None
        return claims.display_name if claims is not None else None

    def to_json(self) -> dict[str, Any]:
        claims = self.verdict.claims if self.verdict is not None else None
        return {
            "outcome": self.outcome.value,
            "card_uid": self.card_uid.hex(),
            "tapped_at": self.tapped_at.isoformat(timespec="milliseconds"),
            "month": self.month,
            "status": self.verdict.status if self.verdict is not None else None,
            "label": (
                {"zh": self.verdict.label_zh, "en": self.verdict.label_en}
                if self.verdict is not None
                else None
            ),
            "reasons": list(self.reasons),
            "provisional": self.provisional,
            "worker_id": claims.archive_id if claims is not None else None,
            "serial": claims.serial if claims is not None else None,
            "display_name": claims.display_name if claims is not None else None,
            "check_in": (
                {"id": self.entry.id, "state": self.entry.state, "tapped_at": self.entry.tapped_at}
                if self.entry is not None
                else None
            ),
            "elapsed_ms": round(self.elapsed * 1000, 3),
        }


class DeskListener(Protocol):
    """What the desk tells the operator and the worker. Called from the sender thread too:
    implementations must be thread-safe and return quickly."""

    def ready(self, info: dict[str, Any]) -> None: ...
    def tap(self, result: TapResult, queued: int) -> None: ...
    def sent(self, entry: QueuedCheckIn, receipt: CheckInReceipt) -> None: ...
    def rejected(self, entry: QueuedCheckIn, reason: str) -> None: ...
    def offline(self, reason: str, retry_in: float, queued: int) -> None: ...
    def note(self, message: str) -> None: ...


class _Quiet:
    def ready(self, info: dict[str, Any]) -> None:
        pass

    def tap(self, result: TapResult, queued: int) -> None:
        pass

    def sent(self, entry: QueuedCheckIn, receipt: CheckInReceipt) -> None:
        pass

    def rejected(self, entry: QueuedCheckIn, reason: str) -> None:
        pass

    def offline(self, reason: str, retry_in: float, queued: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


# -- sending -------------------------------------------------------------------------------------


class CheckInClient(Protocol):
    def record_check_in(self, payload: dict[str, str]) -> CheckInReceipt: ...


@dataclass
class FlushReport:
    sent: int = 0
    rejected: int = 0
    failed: int = 0  # attempts that will be retried
    stopped: str | None = None  # why the round ended early (network away, token refused)
    token_refused: bool = False


class CheckInSender:
    """Sends queued check-ins to their issuer, oldest first, and retries with backoff.

    A round (:meth:`flush`) stops at the first request that gets no answer (the network or the
    issuer is away: the rest would fail the same way) and waits ``backoff`` × 2ⁿ (capped, with
    jitter) before the next; a tap (:meth:`kick`) tries again at once. A 5xx or 429 for one row
    delays that row only. A refusal (400/404/409) marks the row rejected with the issuer's
    reason; a refused token (401/403) stops sending until the station is restarted with
    another. :meth:`start` runs rounds in a background thread.
    """

    def __init__(
        self,
        queue: CheckInQueue,
        client_for: Callable[[str], CheckInClient | None],
        *,
        listener: DeskListener | None = None,
        backoff: float = 1.0,
        max_backoff: float = 120.0,
        idle_poll: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.queue = queue
        self.client_for = client_for
        self.listener: DeskListener = listener or _Quiet()
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.idle_poll = idle_poll
        self.clock = clock
        self.failures = 0  # consecutive rounds that found the issuer away
        self.token_refused: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._round = threading.Lock()
        self._thread: threading.Thread | None = None
        self._offline_until = 0.0  # monotonic

    def _delay(self, attempts: int) -> float:
        base = min(self.max_backoff, self.backoff * 2.0 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)  # jitter: stations that lost the network together spread out

    def flush(self, *, force: bool = False) -> FlushReport:
        """One round: send every due row (all queued rows when ``force``). Never raises for the
        network; safe to call from any thread (rounds do not overlap)."""
        report = FlushReport()
        if self.token_refused is not None:
            report.stopped, report.token_refused = self.token_refused, True
            return report
        with self._round:
            if force:
                self.queue.retry_now()
            while True:
                batch = self.queue.due(self.clock())
                if not batch:
                    break
                for entry in batch:
                    if not self._send(entry, report):
                        return report
        if report.sent or report.rejected:
            self.failures = 0
        return report

    def _send(self, entry: QueuedCheckIn, report: FlushReport) -> bool:
        """Send one row; False when the round must stop."""
        client = self.client_for(entry.issuer_url)
        if client is None:
            report.stopped = MESSAGES("checkin_no_token")
            return False
        try:
            receipt = client.record_check_in(entry.payload())
        except IssuerRequestError as exc:
            if exc.status in (401, 403):
                self.token_refused = exc.explain()
                report.stopped, report.token_refused = exc.explain(), True
                self.listener.offline(exc.explain(), 0.0, self.queue.queued())
                return False
            if exc.status == 0:
                self.failures += 1
                delay = self._delay(self.failures)
                self._offline_until = time.monotonic() + delay
                report.failed += 1
                report.stopped = exc.explain()
                self.queue.mark_retry(entry.id, exc.explain(), self.clock() + timedelta(seconds=delay))
                self.listener.offline(exc.explain(), delay, self.queue.queued())
                return False
            if exc.retryable:  # the issuer answered, but not for this row now
                report.failed += 1
                delay = self._delay(entry.attempts + 1)
                self.queue.mark_retry(entry.id, exc.explain(), self.clock() + timedelta(seconds=delay))
                return True
            self.queue.mark_rejected(entry.id, exc.status, exc.explain())
            report.rejected += 1
            self.listener.rejected(entry, exc.explain())
            return True
        self.queue.mark_sent(entry.id, receipt.status, receipt.record_id)
        report.sent += 1
        self.failures = 0
        self._offline_until = 0.0
        self.listener.sent(entry, receipt)
        return True

    # -- the background thread ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="check-in-sender", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Try now (a tap happened: the network may be back)."""
        self._offline_until = 0.0
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _seconds_to_next(self) -> float:
        waits = [self.idle_poll]
        if self._offline_until:
            waits.append(self._offline_until - time.monotonic())
        else:
            due = self.queue.next_due()
            if due is not None:
                waits.append((due - self.clock()).total_seconds())
        return max(0.0, min(waits))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._seconds_to_next())
            self._wake.clear()
            if self._stop.is_set():
                return
            if self._offline_until and time.monotonic() < self._offline_until:
                continue
            try:
                self.flush()
            except Exception as exc:  # pragma: no cover - a bug must not silence the desk
                self.listener.note(MESSAGES("checkin_send_error", error=repr(exc)))
                self._offline_until = time.monotonic() + self.max_backoff


# -- the desk ------------------------------------------------------------------------------------


@dataclass
class DeskSummary:
    taps: int = 0
    recorded: int = 0
    already: int = 0
    refused: int = 0
    retry: int = 0
    stopped: str | None = None
    slowest_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "taps": self.taps,
            "recorded": self.recorded,
            "already": self.already,
            "refused": self.refused,
            "retry": self.retry,
            "stopped": self.stopped,
            "slowest_ms": round(self.slowest_ms, 3),
        }


class CheckInDesk:
    """The check-in loop at one reader. Build it with an open reader, the queue, the verifier
    and the sender; :meth:`run` until Ctrl-C (or ``idle`` seconds without a card, for scripts)."""

    def __init__(
        self,
        reader: Reader | None,
        queue: CheckInQueue,
        verify: TapVerifier,
        *,
        issuer_url: str,
        issuer_code: int | None,
        station: str,
        sender: CheckInSender | None = None,
        listener: DeskListener | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader
        self.queue = queue
        self.verify = verify
        self.issuer_url = issuer_url
        self.issuer_code = issuer_code
        self.station = station
        self.sender = sender
        self.listener: DeskListener = listener or _Quiet()
        self.clock = clock
        self.summary = DeskSummary()

    def run(self, *, idle: float | None = None, taps: int | None = None) -> DeskSummary:
        """Serve taps. Returns when no card came for ``idle`` seconds or after ``taps`` taps;
        Ctrl-C (KeyboardInterrupt) is the caller's. Each card must leave the field before the
        next tap counts, so a card left on the reader is one tap."""
        if self.reader is None:
            raise ValueError("a desk without a reader cannot serve taps")
        summary = self.summary = DeskSummary()  # kept current: a Ctrl-C still has the counts
        while taps is None or summary.taps < taps:
            try:
                card = self.reader.wait_for_card(idle)
            except NoCard:
                summary.stopped = MESSAGES("checkin_idle", seconds=idle)
                break
            result = self.tap(card)
            self._count(summary, result)
            self.reader.wait_for_removal(card)
        return summary

    @staticmethod
    def _count(summary: DeskSummary, result: TapResult) -> None:
        summary.taps += 1
        summary.slowest_ms = max(summary.slowest_ms, result.elapsed * 1000)
        if result.outcome is Outcome.RECORDED:
            summary.recorded += 1
        elif result.outcome is Outcome.ALREADY:
            summary.already += 1
        elif result.outcome is Outcome.REFUSED:
            summary.refused += 1
        else:
            summary.retry += 1

    def tap(self, card: Card) -> TapResult:
        """One tap: read the card (radio), then :meth:`handle` it, tell the listener, wake the sender."""
        result = self.handle(read_tap(card))
        self.listener.tap(result, self.queue.queued())
        if self.sender is not None:
            self.sender.kick()  # "and on the next tap": the network may be back
        return result

    def handle(self, tap: Tap, now: datetime | None = None) -> TapResult:
        """Everything of a tap but the radio: parse, verify offline, decide, queue (durably).

        Never raises for a bad card; raises only when the queue cannot be written (then
        nothing was recorded and the screen must not say it was).
        """
        started = time.perf_counter()
        tapped_at = now or self.clock()
        month = month_of(tapped_at)
        result = self._handle(tap, tapped_at, month)
        self.queue.log_tap(
            tap.uid,
            result.outcome.value,
            status=result.verdict.status if result.verdict is not None else None,
            worker_id=(
                result.verdict.claims.archive_id
                if result.verdict is not None and result.verdict.claims is not None
                else None
            ),
            month=month,
            reason="; ".join(result.reasons)[:500] if result.outcome is not Outcome.RECORDED else None,
        )
        return TapResult(
            result.outcome,
            result.card_uid,
            result.tapped_at,
            result.month,
            result.verdict,
            result.reasons,
            result.entry,
            result.provisional,
            time.perf_counter() - started,
        )

    def _handle(self, tap: Tap, tapped_at: datetime, month: str) -> TapResult:
        def refuse(*reasons: str, verdict: TapVerdict | None = None) -> TapResult:
            return TapResult(Outcome.REFUSED, tap.uid, tapped_at, month, verdict, reasons)

        if tap.removed:
            return TapResult(
                Outcome.RETRY,
                tap.uid,
                tapped_at,
                month,
                None,
                (MESSAGES("checkin_card_left"),),
            )
        if tap.uid_is_random:
            return refuse(MESSAGES("checkin_random_uid"))
        if tap.originality.status is OriginalityStatus.NOT_GENUINE:
            why = Text(tap.originality.reason_zh, tap.originality.reason_en)
            return refuse(MESSAGES("checkin_not_genuine", why=why))
        if tap.message is None or not tap.message:
            return refuse(
                tap.problem or MESSAGES("checkin_no_credential"),
            )
        try:
            raw = decode_message(tap.message)
        except MalformedCredential as exc:
            return refuse(exc.explain())
        verdict = self.verify(raw, tap.uid)
        decision = decide(verdict, issuer_code=self.issuer_code)
        if not decision.accepted:
            return refuse(*decision.reasons, verdict=verdict)
        claims = verdict.claims
        assert claims is not None  # decide() accepts only readable credentials
        if fmt.is_presentation(raw):  # a fresh dynamic code: the issuer records its credential
            raw = fmt.decode_presentation(raw).credential.raw
        entry, new = self.queue.record(
            NewCheckIn(
                issuer_code=claims.issuer_code,
                worker_id=claims.archive_id,
                month=month,
                serial=claims.serial,
                enterprise_id=claims.enterprise_id,
                display_name=claims.display_name,
                card_uid=tap.uid,
                code=raw.hex(),
                issuer_url=self.issuer_url,
                station=self.station,
                tapped_at=tapped_at,
                verdict=verdict.status,
            )
        )
        if not new:
            first = _local_time(entry.tapped_at)
            return TapResult(
                Outcome.ALREADY,
                tap.uid,
                tapped_at,
                month,
                verdict,
                (MESSAGES("checkin_already", first=first),),
                entry,
            )
        return TapResult(
            Outcome.RECORDED,
            tap.uid,
            tapped_at,
            month,
            verdict,
            decision.reasons,
            entry,
            decision.provisional,
        )


def _local_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone(fmt.CHINA_TZ).strftime("%m-%d %H:%M")
    except ValueError:
        return stamp
