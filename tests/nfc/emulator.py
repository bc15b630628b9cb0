"""Blank cards presented to nfcpy's ``udp`` reader driver, one after another, from a background thread.

nfcpy's udp driver (nfc/clf/udp.py) carries each frame as ``"<bitrate> <hex>"`` over UDP and
``RFOFF`` when the reader drops its field; tagtool's ``emulate tt3`` answers it with
``nfc.tag.tt3.Type3TagEmulation``. This emulator keeps one socket open and answers with that
same class, so the reader side (a ``ContactlessFrontend('udp:…')``, ``nfc.tag.activate``,
``Type3Tag``) runs exactly as against a real FeliCa card. What it adds is the operator's hand:

* a stack of cards with distinct IDm; the first is in the field;
* a card the reader worked with (more than polling) is taken away when that reader session ends
  (the reader muted its field, closed, or a new reader process appeared) and the next is laid down;
* ``pull_after_writes=n`` lifts a card straight after its n-th block write (a torn write);
* ``on_write`` is called after every block write (a test can kill the station there);
* an answer the reader no longer waits for is lost, as on the radio: UDP would hold it for the
  reader's next command, which would then read the previous command's answer.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import nfc.clf
import nfc.tag.tt3

#: PMm: IC code FFh (no Sony product: nfcpy uses its generic Type3Tag), and the response times the
#: reader waits for (FeliCa: 302 µs x ((b + 1) x blocks + a + 1) x 4^e; a = 7, b = 0, e = 3 for every
#: command): 174 ms for one block, 386 ms for twelve, each tried three times by nfcpy. The answers
#: come from a thread of the test process, which on a loaded two-core machine (two suites at once,
#: the issuer's threads holding the GIL) is at times not scheduled for tens of milliseconds; at
#: a = 1 (58 ms a block) such a pause timed the command out, the station took the card for
#: removed and the card stack ran one card ahead of the batch.
PMM = bytes.fromhex("01FFC7C7C7C7C7FF")
SYSTEM_CODE = bytes.fromhex("12FC")  # NDEF
_NDEF_READ, _NDEF_WRITE = 0x000B, 0x0009


def attribute_block(
    nmaxb: int, length: int = 0, *, nbr: int = 12, nbw: int = 8, writable: bool = True
) -> bytes:
    """NFC Forum Type 3 Tag §6.2: the attribute information block."""
    block = bytearray(16)
    block[0:5] = struct.pack(">BBBH", 0x10, nbr, nbw, nmaxb)
    block[10] = 0x01 if writable else 0x00
    block[11:14] = length.to_bytes(3, "big")
    block[14:16] = struct.pack(">H", sum(block[0:14]))
    return bytes(block)


@dataclass
class EmulatedCard:
    """A FeliCa-style NDEF card: an attribute block and ``blocks`` data blocks of 16 bytes."""

    idm: bytes
    memory: bytearray
    pull_after_writes: int | None = None
    block_writes: int = 0
    presented: int = 0

    @classmethod
    def blank(cls, number: int, *, blocks: int = 64, writable: bool = True, **kwargs: int) -> EmulatedCard:
        idm = bytes.fromhex("02FE") + number.to_bytes(6, "big")
        memory = bytearray(attribute_block(blocks, writable=writable)) + bytearray(16 * blocks)
        return cls(idm, memory, **kwargs)  # type: ignore[arg-type]

    @property
    def uid(self) -> bytes:
        return self.idm

    def message(self) -> bytes:
        """The NDEF message the attribute block says the card holds."""
        length = int.from_bytes(self.memory[11:14], "big")
        return bytes(self.memory[16 : 16 + length])

    @property
    def write_pending(self) -> bool:
        """WriteF still set: a write began and did not finish."""
        return self.memory[9] == 0x0F


@dataclass
class Session:
    card: EmulatedCard | None
    commands: int = 0


class CardEmulator:
    """The operator and the stack of cards, answering a udp reader on 127.0.0.1:``port``."""

    def __init__(self, cards: Iterable[EmulatedCard] = ()) -> None:
        self.queue: list[EmulatedCard] = list(cards)
        self.current: EmulatedCard | None = None
        self.lifted: list[EmulatedCard] = []
        self.on_write: Callable[[EmulatedCard], None] | None = None
        self.errors: list[BaseException] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port = int(self._socket.getsockname()[1])
        self._thread = threading.Thread(target=self._run, name="card-emulator", daemon=True)
        self._session_addr: tuple[str, int] | None = None
        self._session = Session(None)
        self._pulled = False
        self._gap = False

    @property
    def path(self) -> str:
        return f"udp:127.0.0.1:{self.port}"

    def __enter__(self) -> CardEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
        if self.errors:
            raise self.errors[0]

    # -- the operator's hand -------------------------------------------------------------------

    def present(self, *cards: EmulatedCard, first: bool = False) -> None:
        """Put cards on the stack (at its end, or to be laid down next)."""
        with self._lock:
            if first:
                self.queue[0:0] = list(cards)
            else:
                self.queue.extend(cards)

    def _in_field(self) -> EmulatedCard | None:
        if self.current is None and self.queue:
            if self._gap:  # the same card comes back: the hand leaves the field empty for a poll
                self._gap = False
                return None
            self.current = self.queue.pop(0)
            self.current.presented += 1
            self._pulled = False
        return self.current

    def _lift(self) -> None:
        if self.current is not None:
            self.lifted.append(self.current)
            self._gap = bool(self.queue) and self.queue[0] is self.current
        self.current = None
        self._session = Session(None)  # what the reader did so far was with the card now gone

    def _end_session(self) -> None:
        if self._session.commands and self._session.card is self.current:
            self._lift()
        self._session = Session(None)

    # -- the radio -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                packet, addr = self._socket.recvfrom(1024)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                with self._lock:
                    answer = self._handle(packet, addr)
                if answer is not None and not self._superseded():
                    self._socket.sendto(b"212F " + answer.hex().encode(), addr)
            except Exception as exc:  # pragma: no cover - surfaced by __exit__
                self.errors.append(exc)

    def _superseded(self) -> bool:
        """Whether the reader sent something since the command being answered: it sends again
        only when it has given up waiting (a retry, the next poll, RFOFF), so this answer would
        reach it late, as the answer to a different command."""
        return bool(select.select([self._socket], [], [], 0)[0])

    def _handle(self, packet: bytes, addr: tuple[str, int]) -> bytes | None:
        if addr != self._session_addr:
            self._end_session()
            self._session_addr = addr
        if packet.startswith(b"RFOFF"):
            self._end_session()
            self._session_addr = None
            return None
        try:
            technology, payload = packet.split()
        except ValueError:
            return None
        if technology != b"212F":
            return None  # nothing of Type A or B here
        frame = bytearray.fromhex(payload.decode("ascii"))
        if len(frame) < 2 or frame[0] != len(frame):
            return None
        card = self._in_field() if frame[1] == 0x00 else self.current
        if card is None:
            return None
        emulation = self._emulation(card)
        if frame[1] == 0x00:  # polling
            return bytes(emulation.process_command(frame) or b"") or None
        if bytes(frame[2:10]) != card.idm or self._pulled:
            return None  # addressed to a card that is not (or no longer) here
        self._session.card = card
        self._session.commands += 1
        writes_before = card.block_writes
        answer = emulation.process_command(frame)
        if card.block_writes != writes_before and self._pulled:
            self._lift()
            return None  # lifted right after the write: the answer never comes
        return bytes(answer) if answer is not None else None

    def _emulation(self, card: EmulatedCard) -> nfc.tag.tt3.Type3TagEmulation:
        target = nfc.clf.LocalTarget(
            "212F", sensf_res=bytearray(b"\x01" + card.idm + PMM + SYSTEM_CODE), tt3_cmd=bytearray(b"\x00")
        )
        emulation = nfc.tag.tt3.Type3TagEmulation(None, target)

        def read(block: int, rb: bool, re: bool) -> bytearray | None:
            if block < len(card.memory) // 16:
                return card.memory[16 * block : 16 * block + 16]
            return None

        def write(block: int, data: bytearray, wb: bool, we: bool) -> bool:
            if block >= len(card.memory) // 16 or (block > 0 and card.memory[10] == 0x00):
                return False
            card.memory[16 * block : 16 * block + 16] = data
            card.block_writes += 1
            if card.pull_after_writes is not None and card.block_writes >= card.pull_after_writes:
                card.pull_after_writes = None
                self._pulled = True
            if self.on_write is not None:
                self.on_write(card)
            return True

        emulation.add_service(_NDEF_WRITE, read, write)
        emulation.add_service(_NDEF_READ, read, None)
        return emulation


@dataclass
class CardStack:
    """Numbered blank cards for a test: ``CardStack(20).cards``."""

    count: int
    start: int = 1
    cards: list[EmulatedCard] = field(init=False)

    def __post_init__(self) -> None:
        self.cards = [EmulatedCard.blank(self.start + i) for i in range(self.count)]
