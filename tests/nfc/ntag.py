"""A simulated NTAG213/215/216 behind a fake reader driver: the lowest layer nfcpy talks to.

nfcpy's own tests (tests/test_tag_tt2_nxp.py) drive the real tag classes over a faked frame
exchange; this does the same one level lower still, as an ``nfc.clf.device.Device`` (what a
PN533 or RC-S380 driver is), so ``ContactlessFrontend.sense``/``exchange``, ``nfc.tag.activate``
and the real ``NTAG213`` classes all run unchanged on top. The chip answers READ, WRITE,
GET_VERSION, READ_SIG and PWD_AUTH from a page memory laid out as in NXP's NTAG213/215/216
datasheet (rev. 3.2, §8.5 memory organisation, §8.8 password verification, §10 commands):
static and dynamic lock bits really refuse writes, CFG pages take effect at the next
activation, PWD and PACK read back as zeros, an unsupported command NAKs and the tag goes
mute until it is selected again. A card can be pulled out of the field after N writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import nfc.clf
import nfc.clf.device

ACK = b"\x0a"
NAK = b"\x00"

#: A real NTAG21x UID and its NXP originality signature (a published example: the test of
#: github.com/aramix/nxp-originality-verifier); it verifies under AN11350's public key.
GENUINE_UID = bytes([4, 171, 135, 242, 202, 17, 144])
GENUINE_SIGNATURE = bytes.fromhex("67b1750bcceb1174f9a33bf20e0226551a6366939b31f949848c3c087350fa90")


@dataclass(frozen=True)
class Product:
    name: str
    pages: int  # total pages 00h … last
    cc_size: int  # capability container byte 2
    version: bytes  # GET_VERSION answer
    lock_group: int  # pages per dynamic lock bit

    @property
    def user_end(self) -> int:  # first page after user memory = dynamic lock page
        return self.pages - 5

    @property
    def cfg(self) -> int:  # CFG0 page
        return self.pages - 4


PRODUCTS = {
    "NTAG213": Product("NTAG213", 45, 0x12, bytes.fromhex("0004040201000F03"), 2),
    "NTAG215": Product("NTAG215", 135, 0x3E, bytes.fromhex("0004040201001103"), 16),
    "NTAG216": Product("NTAG216", 231, 0x6D, bytes.fromhex("0004040201001303"), 16),
}


class Removed(Exception):
    """The card is out of the field: nothing answers."""


class Chip(Protocol):
    """What :class:`FakeDevice` needs of a simulated NFC-A chip (this NTAG, tests/nfc/type4.py)."""

    uid: bytes
    in_field: bool

    @property
    def sens_res(self) -> bytes: ...  # ATQA as nfcpy holds it, least significant byte first

    @property
    def sel_res(self) -> bytes: ...  # SAK

    def activate(self) -> None: ...  # field on, REQA/WUPA + anticollision + SELECT

    def command(self, frame: bytes) -> bytes: ...  # one frame in, one out; raises Removed


@dataclass
class SimulatedNtag:
    """The chip: 4-byte pages, lock bits, configuration, password and signature."""

    product: Product
    uid: bytes
    signature: bytes
    memory: bytearray = field(default_factory=bytearray)
    pull_after_writes: int | None = None
    writes: int = 0
    in_field: bool = True
    halted: bool = False
    authenticated: bool = False
    auth0: int = 0xFF
    prot: bool = False
    log: list[bytes] = field(default_factory=list)

    #: ATQA 0044h and SAK 00h, as NTAG21x answer (a Type 2 Tag: no ISO-DEP bit).
    sens_res = b"\x44\x00"
    sel_res = b"\x00"

    @classmethod
    def create(
        cls,
        name: str = "NTAG213",
        uid: bytes = GENUINE_UID,
        *,
        signature: bytes | None = None,
        formatted: bool = True,
        pull_after_writes: int | None = None,
    ) -> SimulatedNtag:
        product = PRODUCTS[name]
        memory = bytearray(4 * product.pages)
        if len(uid) == 7:
            bcc0 = 0x88 ^ uid[0] ^ uid[1] ^ uid[2]
            bcc1 = uid[3] ^ uid[4] ^ uid[5] ^ uid[6]
            memory[0:12] = bytes([*uid[0:3], bcc0, *uid[3:7], bcc1, 0x48, 0x00, 0x00])
        else:  # a single-size (4-byte) UID, as cards and phones with random IDs present
            memory[0:12] = bytes([*uid, uid[0] ^ uid[1] ^ uid[2] ^ uid[3], 0, 0, 0, 0, 0x48, 0, 0])
        if formatted:
            memory[12:16] = bytes([0xE1, 0x10, product.cc_size, 0x00])
            # §8.5: factory content of the first user pages.
            initial = "0103A00C340300FE" if name == "NTAG213" else "0300FE0000000000"
            memory[16:24] = bytes.fromhex(initial)
        cfg = product.cfg * 4
        memory[cfg : cfg + 16] = bytes.fromhex("040000FF00050000FFFFFFFF00000000")
        if signature is None:
            signature = GENUINE_SIGNATURE if uid == GENUINE_UID else bytes(32)
        card = cls(product, bytes(uid), signature, memory, pull_after_writes)
        card.activate()
        return card

    @classmethod
    def numbered(cls, number: int, name: str = "NTAG213", **kwargs: object) -> SimulatedNtag:
        """A card with UID 04 00 00 00 00 nn nn (NXP manufacturer byte; no valid signature)."""
        uid = bytes([0x04, 0, 0, 0, 0]) + number.to_bytes(2, "big")
        return cls.create(name, uid, **kwargs)  # type: ignore[arg-type]

    # -- field and state ---------------------------------------------------------------------

    def activate(self) -> None:
        """REQA/WUPA + anticollision: the tag wakes, forgets its authentication, reloads CFG."""
        self.halted = False
        self.authenticated = False
        cfg = self.product.cfg * 4
        self.auth0 = self.memory[cfg + 3]
        self.prot = bool(self.memory[cfg + 4] & 0x80)

    def page(self, number: int) -> bytes:
        return bytes(self.memory[4 * number : 4 * number + 4])

    def user_data(self) -> bytes:
        return bytes(self.memory[16 : 4 * self.product.user_end])

    def _static_locked(self, page: int) -> bool:
        lock0, lock1 = self.memory[10], self.memory[11]
        if page == 3:
            return bool(lock0 & 0x08)
        if 4 <= page <= 7:
            return bool(lock0 >> page & 1)
        if 8 <= page <= 15:
            return bool(lock1 >> (page - 8) & 1)
        return False

    def _dynamic_locked(self, page: int) -> bool:
        if not 16 <= page < self.product.user_end:
            return False
        bit = (page - 16) // self.product.lock_group
        lock = self.product.user_end * 4
        bits = self.memory[lock] | self.memory[lock + 1] << 8
        return bool(bits >> bit & 1)

    def _cfg_locked(self, page: int) -> bool:
        access = self.memory[self.product.cfg * 4 + 4]
        return page in (self.product.cfg, self.product.cfg + 1) and bool(access & 0x40)

    def _protected(self, page: int) -> bool:
        return not self.authenticated and page >= self.auth0

    # -- commands ----------------------------------------------------------------------------

    def command(self, frame: bytes) -> bytes:
        """Answer one command frame; raise :class:`Removed` when nothing would answer."""
        if not self.in_field or self.halted:
            raise Removed
        self.log.append(frame)
        code = frame[0]
        if code == 0x30 and len(frame) == 2:
            return self._read(frame[1])
        if code == 0xA2 and len(frame) == 6:
            return self._write(frame[1], frame[2:6])
        if code == 0x60 and len(frame) == 1:
            return self.product.version
        if code == 0x3C and len(frame) == 2:
            return self.signature
        if code == 0x1B and len(frame) == 5:
            return self._pwd_auth(frame[1:5])
        return self._nak()

    def _nak(self) -> bytes:
        self.halted = True  # §10: after a NAK the tag returns to IDLE and must be selected again
        return NAK

    def _read(self, start: int) -> bytes:
        if start >= self.product.pages:
            return self._nak()
        out = bytearray()
        for i in range(4):
            page = (start + i) % self.product.pages  # §10.2: roll-over to page 0
            if self.prot and self._protected(page):
                return self._nak()
            if page in (self.product.cfg + 2, self.product.cfg + 3):
                out += bytes(4)  # PWD and PACK always read as zeros
            else:
                out += self.page(page)
        return bytes(out)

    def _write(self, page: int, data: bytes) -> bytes:
        if page < 2 or page >= self.product.pages:  # UID pages are read-only
            return self._nak()
        if self._protected(page) or self._static_locked(page) or self._dynamic_locked(page):
            return self._nak()
        if self._cfg_locked(page):
            return self._nak()
        offset = 4 * page
        if page == 2:  # only the lock bytes are writable, and bits only ever set
            self.memory[offset + 2] |= data[2]
            self.memory[offset + 3] |= data[3]
        elif page == 3:  # capability container: one-time programmable
            for i in range(4):
                self.memory[offset + i] |= data[i]
        elif page == self.product.user_end:  # dynamic lock bytes: bits only ever set
            for i in range(3):
                self.memory[offset + i] |= data[i]
        else:
            self.memory[offset : offset + 4] = data
        self.writes += 1
        if self.pull_after_writes is not None and self.writes >= self.pull_after_writes:
            self.in_field = False  # the operator lifted the card right after this page
        return ACK

    def _pwd_auth(self, password: bytes) -> bytes:
        cfg = self.product.cfg * 4
        if password == bytes(self.memory[cfg + 8 : cfg + 12]):
            self.authenticated = True
            return bytes(self.memory[cfg + 12 : cfg + 14])
        return self._nak()


class FakeDevice(nfc.clf.device.Device):
    """A reader driver (Type A only) with the operator's stack of simulated cards (any
    :class:`Chip`: NTAG21x here, Type 4 in tests/nfc/type4.py, mixed as an operator would).

    The first card lies in the field. A card the reader has talked to is taken away when the
    reader next polls for *any* card (a sense without ``sel_req``: nfcpy's own re-selects of
    the same tag during activation name its UID), and the next card of the stack is laid down;
    a card pulled mid-write (``pull_after_writes``) is gone at once.
    """

    def __init__(self, *cards: Chip, auto_lift: bool = True, frame_size: int = 252) -> None:
        self.auto_lift = auto_lift
        # The driver's send and receive limit; nfcpy's PN533 driver says 263/262 bytes, ACR122 252/251.
        self.frame_size = frame_size
        self.queue: list[Chip] = list(cards)
        self.card: Chip | None = None
        self.lifted: list[Chip] = []
        self._used = False
        self._gap = False
        self._path = "fake"
        self._vendor_name = "anxinma"
        self._device_name = "simulated reader"
        self._chipset_name = "none"
        self.exchanges = 0
        self.led_on = 0

    def present(self, *cards: Chip, first: bool = False) -> None:
        if first:
            self.queue[0:0] = list(cards)
        else:
            self.queue.extend(cards)

    def _in_field(self) -> Chip | None:
        if self.card is not None and not self.card.in_field:
            self._lift()
        if self.card is None and self.queue and self._gap:
            self._gap = False  # the same card comes back: the field is empty for one poll
            return None
        if self.card is None and self.queue:
            self.card = self.queue.pop(0)
            self.card.in_field = True
            self.card.activate()
            self._used = False
        return self.card

    def _lift(self) -> None:
        if self.card is not None:
            self.card.in_field = False
            self.lifted.append(self.card)
            self._gap = bool(self.queue) and self.queue[0] is self.card
        self.card = None

    def close(self) -> None:
        pass

    def mute(self) -> None:
        if self.card is not None and self.card.in_field:
            self.card.activate()  # RF off and on again: the tag resets

    def sense_tta(self, target: nfc.clf.RemoteTarget) -> nfc.clf.RemoteTarget | None:
        if target.sel_req is None and self._used and self.auto_lift:
            self._lift()
        card = self._in_field()
        if card is None:
            return None
        if target.sel_req is not None and bytes(target.sel_req) != card.uid:
            return None
        card.activate()
        return nfc.clf.RemoteTarget(
            "106A",
            sens_res=bytearray(card.sens_res),
            sel_res=bytearray(card.sel_res),
            sdd_res=bytearray(card.uid),
        )

    def sense_ttb(self, target: nfc.clf.RemoteTarget) -> None:
        return None

    def sense_ttf(self, target: nfc.clf.RemoteTarget) -> None:
        return None

    def sense_dep(self, target: nfc.clf.RemoteTarget) -> None:
        return None

    def send_cmd_recv_rsp(self, target: nfc.clf.RemoteTarget, data: bytes, timeout: float) -> bytearray:
        self.exchanges += 1
        card = self.card
        if card is None:
            raise nfc.clf.TimeoutError("no card")
        self._used = True
        try:
            return bytearray(card.command(bytes(data)))
        except Removed:
            raise nfc.clf.TimeoutError("no answer") from None

    def get_max_send_data_size(self, target: object) -> int:
        return self.frame_size

    def get_max_recv_data_size(self, target: object) -> int:
        return self.frame_size

    def turn_on_led_and_buzzer(self) -> None:
        self.led_on += 1

    def turn_off_led_and_buzzer(self) -> None:
        pass


def frontend_with(device: FakeDevice) -> nfc.ContactlessFrontend:
    """A real ContactlessFrontend driving the fake device."""
    frontend = nfc.ContactlessFrontend()
    frontend.device = device
    return frontend
