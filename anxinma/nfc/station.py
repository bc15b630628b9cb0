"""The encoding station: a batch of workers, a stack of blank cards, one reader, one issuer.

For each worker still pending in the journal, in batch order: wait for a card, read its UID,
check the card (blank or spent, writable, big enough, a genuine chip, not another worker's),
have the issuer issue the credential bound to that UID, write it, read it back and check it
(same bytes, decodes, bound to this card), optionally password-protect or lock, and hand the
result to a hook (the badge printer). Every step is in the journal before it is taken, so a
run killed at any instant resumes without skipping anyone and without a second live
credential: the issuer revokes the credential it replaces, and an interrupted issue request
is repeated with its Idempotency-Key (same card) or replaced (another card).

The station talks to people through a :class:`StationListener` (the CLI prints with rich, or
JSON lines) and never prompts: it waits for cards, which is the operator's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Protocol

from anxinma import credential as fmt
from anxinma.errors import (
    AnxinmaError,
    CardRemoved,
    CardTooSmall,
    CardVerifyFailed,
    IssuerRequestError,
    MalformedCredential,
    NfcError,
    NoCard,
    StationError,
)
from anxinma.messages import Text
from anxinma.ndef import EXTERNAL_TYPE, NdefForm, decode_message, encode_message
from anxinma.nfc.batch import Batch
from anxinma.nfc.budget import larger_chips_text
from anxinma.nfc.issuer_client import IssuedCredential, IssuerClient
from anxinma.nfc.journal import Attempt, Journal, Step, WorkerRecord
from anxinma.nfc.messages import MESSAGES
from anxinma.nfc.originality import OriginalityStatus
from anxinma.nfc.reader import Card, Reader

__all__ = [
    "EncodedCard",
    "Station",
    "StationForm",
    "StationListener",
    "StationOptions",
    "StationStopped",
    "Summary",
]

#: Before anything is issued, a card must hold at least this big an external record (the UID-bound
#: credential of a typical worker, 128 bytes) unless the batch has already seen larger ones.
_TYPICAL_BOUND_CREDENTIAL = 128
_EXTERNAL_OVERHEAD = 3 + len(EXTERNAL_TYPE.removeprefix("urn:nfc:ext:"))


class StationForm(StrEnum):
    """Which NDEF form the station writes; ``auto``: both records when they fit, else external."""

    AUTO = "auto"
    EXTERNAL = "external"
    URI = "uri"
    BOTH = "both"


@dataclass(frozen=True)
class StationOptions:
    form: StationForm = StationForm.AUTO
    lock: bool = False
    password_secret: bytes | None = None
    overwrite: bool = False
    format_blank: bool = False
    allow_unverified_chips: bool = False
    card_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.lock and self.password_secret is not None:
            raise StationError(
                "--lock and --password are alternatives: a locked card needs no password",
                message_zh="--lock 与 --password 只能二选一：锁定的卡无需密码",
            )


@dataclass(frozen=True)
class EncodedCard:
    """What the badge printer needs about one finished card (the hook's argument)."""

    worker_id: str
    display_name: str
    enterprise_id: str
    enterprise_name: str
    serial: int
    code: str
    card_uid: bytes
    form: str
    message_bytes: int
    locked: bool
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Summary:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    encoded_now: int = 0
    stopped: str | None = None  # why the run ended early, or None when the batch is finished

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class StationStopped(AnxinmaError):
    """The run stopped before the end of the batch; the journal lets the next run resume."""

    code = "station_stopped"


class StationListener(Protocol):
    """What the station tells the operator. Every method must return quickly."""

    def start(self, total: int, done: int) -> None: ...
    def waiting(self, worker: WorkerRecord, again: bool) -> None: ...
    def card_done(self, worker: WorkerRecord, attempt: Attempt, resumed: bool) -> None: ...
    def card_refused(self, worker: WorkerRecord, card_uid: bytes, reason: str, *, remove: bool) -> None: ...
    def worker_failed(self, worker: WorkerRecord, reason: str) -> None: ...
    def note(self, message: str) -> None: ...


class _Quiet:
    def start(self, total: int, done: int) -> None:
        pass

    def waiting(self, worker: WorkerRecord, again: bool) -> None:
        pass

    def card_done(self, worker: WorkerRecord, attempt: Attempt, resumed: bool) -> None:
        pass

    def card_refused(self, worker: WorkerRecord, card_uid: bytes, reason: str, *, remove: bool) -> None:
        pass

    def worker_failed(self, worker: WorkerRecord, reason: str) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class _Refuse(Exception):
    """This card will not do for this worker; ask for another (internal control flow)."""

    def __init__(self, reason: str, *, remove: bool = True, kind: str = "card_refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.remove = remove
        self.kind = kind


class _WorkerFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Station:
    """One run of a batch. Build it with an open reader, client and journal; call :meth:`run`."""

    def __init__(
        self,
        reader: Reader,
        client: IssuerClient,
        journal: Journal,
        batch: Batch,
        options: StationOptions | None = None,
        *,
        listener: StationListener | None = None,
        on_encoded: Callable[[EncodedCard], None] | None = None,
        on_step: Callable[[Step, Attempt], None] | None = None,
    ) -> None:
        self.reader = reader
        self.client = client
        self.journal = journal
        self.batch = batch
        self.options = options or StationOptions()
        self.listener: StationListener = listener or _Quiet()
        self.on_encoded = on_encoded
        self.on_step = on_step
        self._extra = {row.worker_id: row.extra for row in batch.workers}
        self._enterprise_names: dict[str, str] = {}  # worker id -> the issuer's name of its enterprise
        self._keys: dict[bytes, bytes] | None = None
        self._carried: Card | None = None

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Summary:
        """Encode every pending worker. Raises :class:`StationStopped` (no card in time, Ctrl-C
        is the caller's), :class:`IssuerRequestError` (token refused, issuer unreachable) and
        reader errors; the journal is consistent whenever it raises."""
        if self.journal.bind(self.batch, self.client.base_url):
            self.listener.note(MESSAGES("batch_changed"))
        workers = [w for w in self.journal.workers() if w.worker_id in self._extra]
        counts = self.journal.counts()
        self.listener.start(len(workers), counts["done"])
        pending = [w for w in workers if w.state == "pending"]
        summary = Summary()
        for index, worker in enumerate(pending):
            self._encode(worker, last=index == len(pending) - 1, summary=summary)
        return self.summary(summary)

    def summary(self, summary: Summary | None = None) -> Summary:
        result = summary or Summary()
        counts = self.journal.counts()
        result.done, result.failed, result.pending = counts["done"], counts["failed"], counts["pending"]
        result.skipped = counts["skipped"] + sum(1 for row in self.batch.rows if row.duplicate_of is not None)
        return result

    def _encode(self, worker: WorkerRecord, *, last: bool, summary: Summary) -> None:
        mismatch = self._check_enterprise(worker)
        if mismatch is not None:  # before any card is asked for: this row gets none
            self.journal.set_worker_state(worker.worker_id, "failed", mismatch)
            self.journal.event("enterprise_mismatch", mismatch, worker_id=worker.worker_id)
            self.listener.worker_failed(worker, mismatch)
            return
        again = False
        while True:
            self.listener.waiting(worker, again)
            again = True
            card, self._carried = self._carried, None
            if card is None:
                try:
                    card = self.reader.wait_for_card(self.options.card_timeout)
                except NoCard as exc:
                    raise StationStopped(
                        f"no card was presented within {self.options.card_timeout:g} s; run the same command to resume",
                        message_zh=f"{self.options.card_timeout:g} 秒内没有放卡；再次运行同一命令即可续做",
                    ) from exc
            try:
                attempt, resumed = self._with_card(worker, card)
            except _Refuse as refusal:
                self.journal.event(
                    refusal.kind, refusal.reason, worker_id=worker.worker_id, card_uid=card.uid
                )
                self.listener.card_refused(worker, card.uid, refusal.reason, remove=refusal.remove)
                if refusal.remove:
                    self._wait_for_removal(card)
                continue
            except _WorkerFailed as failure:
                self.journal.set_worker_state(worker.worker_id, "failed", failure.reason)
                self.journal.event(
                    "worker_failed", failure.reason, worker_id=worker.worker_id, card_uid=card.uid
                )
                self.listener.worker_failed(worker, failure.reason)
                self._carried = card  # not written: it stays on the reader for the next worker
                return
            summary.encoded_now += 1
            self.listener.card_done(worker, attempt, resumed)
            self._hand_over(worker, attempt)
            if not last:
                self._wait_for_removal(card)
            return

    def _check_enterprise(self, worker: WorkerRecord) -> str | None:
        """None when the batch row names the enterprise the issuer's record gives the worker
        (its badge then prints the issuer's name); else the refusal a person reads. The batch
        file is the operator's, the archive is the issuer's: a badge must not print a name the
        issuer never gave this worker. Raises :class:`IssuerRequestError` (token, unreachable)."""
        try:
            enterprise_id, name = self.client.worker_enterprise(worker.worker_id)
        except IssuerRequestError as exc:
            if exc.retryable or exc.status in (401, 403):
                raise  # the whole run stops, as for an issue request
            return exc.explain()
        if worker.enterprise_id.strip() != str(enterprise_id) or _words(worker.enterprise_name) != _words(
            name
        ):
            return MESSAGES(
                "enterprise_mismatch",
                batch_id=worker.enterprise_id,
                batch_name=worker.enterprise_name,
                issuer_id=enterprise_id,
                issuer_name=name,
            )
        self._enterprise_names[worker.worker_id] = name
        return None

    def _wait_for_removal(self, card: Card) -> None:
        if not self.reader.wait_for_removal(card, self.options.card_timeout):
            raise StationStopped(
                f"the card {card.uid.hex()} was not taken off the reader within {self.options.card_timeout:g} s",
                message_zh=f"卡片 {card.uid.hex()} 在 {self.options.card_timeout:g} 秒内未从读卡器上取走",
            )

    def _hand_over(self, worker: WorkerRecord, attempt: Attempt) -> None:
        if self.on_encoded is None:
            return
        encoded = EncodedCard(
            worker_id=worker.worker_id,
            display_name=worker.display_name,
            enterprise_id=worker.enterprise_id,
            enterprise_name=self._enterprise_names.get(worker.worker_id, worker.enterprise_name),
            serial=attempt.serial or 0,
            code=attempt.code or "",
            card_uid=attempt.card_uid,
            form=attempt.form or "",
            message_bytes=len(attempt.message or b""),
            locked=attempt.locked,
            extra=dict(self._extra.get(worker.worker_id, {})),
        )
        try:
            self.on_encoded(encoded)
        except AnxinmaError as exc:  # a jammed badge printer does not undo an encoded card
            self.journal.event(
                "hook_failed", exc.explain(), worker_id=worker.worker_id, card_uid=attempt.card_uid
            )
            self.listener.note(MESSAGES("hook_failed", error=Text(exc.message_zh, str(exc))))

    def _step(self, attempt: Attempt, step: Step, *, locked: bool | None = None) -> Attempt:
        attempt = self.journal.record_step(attempt.id, step, locked=locked)
        if self.on_step is not None:
            self.on_step(step, attempt)
        return attempt

    # -- one card for one worker --------------------------------------------------------------

    def _with_card(self, worker: WorkerRecord, card: Card) -> tuple[Attempt, bool]:
        uid = card.uid
        try:
            card.ndef_info()  # talk to the card before judging it: a card that does not answer is gone
        except CardRemoved as exc:
            raise _Refuse(exc.explain(), remove=False, kind="card_removed") from exc
        if card.uid_is_random:
            raise _Refuse(MESSAGES("card_random_uid"))
        holder = self.journal.card_holder(uid)
        if holder is not None and holder != worker.worker_id:
            other = self.journal.worker(holder)
            raise _Refuse(
                MESSAGES("card_of_other_worker", name=other.display_name, worker=holder),
                kind="duplicate_card",
            )
        current = self.journal.current_attempt(worker.worker_id)
        try:
            if current is not None and current.card_uid == uid and current.step >= Step.ISSUED:
                return self._finish(worker, card, current), True
            attempt = self._issue(worker, card, current)
            return self._finish(worker, card, attempt), False
        except CardRemoved as exc:
            raise _Refuse(exc.explain(), remove=False, kind="card_removed") from exc
        except NfcError as exc:  # too small, read-only, verify failed, cannot lock …: another card
            raise _Refuse(exc.explain(), kind=exc.code) from exc

    def _check_blank(self, worker: WorkerRecord, card: Card) -> str:
        """Refuse a card that cannot take this worker's credential; return its originality."""
        info = card.ndef_info()
        if not info.formatted:
            if not self.options.format_blank:
                raise _Refuse(MESSAGES("card_not_formatted"))
            card.format()
            info = card.ndef_info()
        if self.options.password_secret is not None and card.is_ntag21x and not info.writable:
            card.authenticate(self.options.password_secret)
            info = card.ndef_info()
        if not info.writable:
            raise _Refuse(MESSAGES("card_read_only"))
        self._check_content(card)
        originality = card.originality()
        if (
            card.is_ntag21x
            and originality.status is not OriginalityStatus.GENUINE
            and not self.options.allow_unverified_chips
        ):
            raise _Refuse(
                MESSAGES("card_not_genuine", why=Text(originality.reason_zh, originality.reason_en)),
                kind="counterfeit_card",
            )
        if self.options.lock and not card.can_lock:
            raise _Refuse(MESSAGES("card_cannot_lock", product=card.product))
        needed = _EXTERNAL_OVERHEAD + max(self.journal.largest_credential() or 0, _TYPICAL_BOUND_CREDENTIAL)
        if self.options.form is StationForm.URI:
            needed = 2 * needed + 100  # the URL form is ~2.4 digits a byte; refused exactly after issuing
        capacity = card.capacity()
        if capacity < needed:
            bigger = larger_chips_text(needed, card.tag_type)
            raise _Refuse(MESSAGES("card_too_small", capacity=capacity, needed=needed, bigger=bigger))
        return originality.status.value

    def _check_content(self, card: Card) -> None:
        content = card.read_message()
        if not content or self.options.overwrite or self.journal.knows_card(card.uid):
            return  # blank, or a card this batch already used and replaced (spent, maybe torn)
        try:
            found = fmt.decode(decode_message(content))
        except MalformedCredential:
            raise _Refuse(MESSAGES("card_has_other_data")) from None
        if not self.journal.knows_serial(found.claims.serial):
            raise _Refuse(MESSAGES("card_has_foreign_credential", serial=found.claims.serial))
        # A credential of this batch that was replaced: the card is spent and may be reused.

    def _issue(self, worker: WorkerRecord, card: Card, current: Attempt | None) -> Attempt:
        originality = self._check_blank(worker, card)
        uid = card.uid
        if current is not None and current.card_uid == uid and current.step == Step.ISSUE_REQUESTED:
            attempt = current  # the request may have reached the issuer: repeat it with its key
        else:
            if current is not None:
                reason = f"replaced by card {uid.hex()}" + (
                    f"; serial {current.serial} on card {current.card_uid.hex()} is revoked by the issuer"
                    if current.serial is not None
                    else ""
                )
                self.journal.abandon(current.id, reason)
                self.journal.event(
                    "attempt_replaced", reason, worker_id=worker.worker_id, card_uid=current.card_uid
                )
            attempt = self.journal.begin_attempt(worker.worker_id, uid, originality=originality)
            if self.on_step is not None:
                self.on_step(Step.ISSUE_REQUESTED, attempt)
        try:
            issued = self.client.issue_card_credential(worker.worker_id, uid, attempt.idempotency_key)
        except IssuerRequestError as exc:
            if exc.retryable or exc.status in (401, 403):
                raise  # the whole run stops; the key is kept for the resume
            self.journal.abandon(attempt.id, exc.explain())
            raise _WorkerFailed(exc.explain()) from exc
        credential = self._check_issued(issued, uid)
        try:
            message, form = self._message_for(credential, issued.code, card)
        except CardTooSmall as exc:
            # The credential exists and names this card: keep the facts, give the card back.
            self.journal.record_issued(
                attempt.id,
                serial=issued.serial,
                code=issued.code,
                credential_hex=issued.hex,
                message=b"",
                form="",
                replaced_serial=issued.replaced_serial,
            )
            self.journal.abandon(attempt.id, f"card too small: {exc.message}")
            raise
        attempt = self.journal.record_issued(
            attempt.id,
            serial=issued.serial,
            code=issued.code,
            credential_hex=issued.hex,
            message=message,
            form=form,
            replaced_serial=issued.replaced_serial,
        )
        if self.on_step is not None:
            self.on_step(Step.ISSUED, attempt)
        return attempt

    def _check_issued(self, issued: IssuedCredential, uid: bytes) -> fmt.Credential:
        try:
            credential = fmt.decode(bytes.fromhex(issued.hex))
        except (MalformedCredential, ValueError) as exc:
            raise IssuerRequestError(
                f"the issuer returned a credential that does not decode: {exc}",
                message_zh="发证服务返回的安心码无法解码",
                status=200,
            ) from exc
        if credential.claims.card_uid != uid:
            bound = credential.claims.card_uid.hex() if credential.claims.card_uid else "no card"
            raise IssuerRequestError(
                f"the issuer bound the credential to {bound}, not to this card {uid.hex()}",
                message_zh=f"发证服务把安心码绑定到了 {bound}，而不是这张卡 {uid.hex()}",
                status=200,
            )
        if self._keys is None:
            self._keys = self.client.signing_keys()
        if self._keys:
            public = self._keys.get(credential.kid)
            if public is None:
                self._keys = self.client.signing_keys()  # a key rotated since the run began
                public = self._keys.get(credential.kid)
            if public is None:
                raise IssuerRequestError(
                    f"the credential is signed with key {credential.kid_hex}, which the issuer does not publish",
                    message_zh=f"安心码的签名密钥 {credential.kid_hex} 不在发证服务公布的密钥中",
                    status=200,
                )
            credential.verify_signature(public)
        return credential

    def _message_for(self, credential: fmt.Credential, code: str, card: Card) -> tuple[bytes, str]:
        base = fmt.base_url_of(code) or self.client.base_url
        capacity = card.capacity()
        if self.options.form is StationForm.AUTO:
            both = encode_message(credential, base, NdefForm.BOTH)
            if len(both) <= capacity:
                return both, NdefForm.BOTH.value
            chosen = NdefForm.EXTERNAL
        else:
            chosen = NdefForm(self.options.form.value)
        message = encode_message(credential, base, chosen)
        if len(message) > capacity:
            raise CardTooSmall(
                f"the {chosen.value} form is {len(message)} bytes; this {card.product} holds {capacity}",
                message_zh=f"{chosen.value} 形式需要 {len(message)} 字节，此卡（{card.product}）只能容纳 {capacity} 字节："
                "请换更大的卡",
            )
        return message, chosen.value

    def _finish(self, worker: WorkerRecord, card: Card, attempt: Attempt) -> Attempt:
        message = attempt.message
        if not message:
            raise StationError(f"attempt {attempt.id} has no message to write")  # journal corrupted
        secret = self.options.password_secret
        if attempt.step < Step.VERIFIED:
            if secret is not None and card.is_ntag21x and not card.ndef_info().writable:
                card.authenticate(secret)
            if card.read_message() != message:
                attempt = self._step(attempt, Step.WRITE_STARTED)
                card.write_message(message, verify=False)
                attempt = self._step(attempt, Step.WRITTEN)
            card.verify_message(message)
            self._check_read_back(card, attempt)
            attempt = self._step(attempt, Step.VERIFIED)
        if (self.options.lock or secret is not None) and attempt.step < Step.LOCKED:
            attempt = self._step(attempt, Step.LOCK_STARTED)
            if card.ndef_info().writable:  # a resumed card may be locked or protected already
                if self.options.lock:
                    card.lock()
                elif secret is not None:
                    card.protect_with_password(secret)
            attempt = self._step(attempt, Step.LOCKED, locked=self.options.lock)
        self.journal.finish(worker.worker_id, attempt.id)
        finished = self.journal.attempt(attempt.id)
        if self.on_step is not None:
            self.on_step(Step.DONE, finished)
        return finished

    def _check_read_back(self, card: Card, attempt: Attempt) -> None:
        """The read-back decodes to the issued credential, bound to this very card."""
        try:
            found = decode_message(card.read_message())
            credential = fmt.decode(found)
        except MalformedCredential as exc:
            raise CardVerifyFailed(
                f"the card's message does not decode: {exc.message}", message_zh="卡内消息无法解码"
            ) from exc
        if found.hex() != attempt.credential_hex or credential.claims.card_uid != card.uid:
            raise CardVerifyFailed(
                "the card holds another credential than the one issued for it",
                message_zh="卡内安心码与签发的不一致",
            )


def _words(text: str) -> str:
    """A name as it is compared: runs of whitespace as one space, none at the ends."""
    return " ".join(text.split())
