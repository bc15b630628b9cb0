"""A simulated NFC Forum Type 4 Tag (ISO-DEP, NFC-A) behind the fake reader driver of ntag.py.

Like tests/nfc/ntag.py, this sits below nfcpy rather than above it: the chip answers raw frames
through ``FakeDevice`` (an ``nfc.clf.device.Device``) under a real ``ContactlessFrontend``, so
``nfc.tag.activate``, nfcpy's ``Type4ATag`` (RATS, its ``IsoDepInitiator`` block protocol) and
its NDEF mapping run unchanged on top. What the chip follows:

* **ISO/IEC 14443-3 (NFC-A activation).** SENS_RES (ATQA) 0344h, a double-size (7-byte) UID
  and SEL_RES (SAK) 20h: bit 6 set means "compliant with ISO/IEC 14443-4", which is what
  ``nfc.tag.activate`` branches on. After an RF reset and SELECT the chip waits for RATS;
  anything else (HLTA included) gets no answer.
* **ISO/IEC 14443-4:2008 (ISO-DEP).** §5.1 RATS (``E0 FSDI|CID``; FSDI gives the reader's
  frame size FSD) is answered (§5.2) with an ATS shaped like an NTAG 424 DNA's,
  ``06 77 77 71 02 80``: TL, T0 announcing TA, TB, TC and FSCI 7 (FSC 128 bytes), TA, TB with
  FWI 7, TC 02h (CID supported, NAD not), one historical byte. nfcpy sends no CID, and blocks
  that carry a CID or NAD are ignored here. §7.1 block format: I-blocks ``02``/``03``
  (``12``/``13`` with the chaining bit), R(ACK) ``A2``/``A3``, R(NAK) ``B2``/``B3``,
  S(DESELECT) ``C2``. §7.5.3 block numbering: the chip starts at 1 (rule A), toggles on every
  I-block (rule B) and on an R(ACK) with the other number (rule C). §7.5.4 rules 10-13: an
  I-block is answered (with R(ACK) while the reader chains), an R-block carrying the chip's own
  number gets the last block again, an R(NAK) with the other number an R(ACK) (nfcpy's presence
  check), an R(ACK) with the other number the next part of a chained answer. Answers longer than
  FSD - 3 are chained by the chip; commands longer than FSC - 3 are chained by nfcpy. §8:
  S(DESELECT) is answered and the chip halts. No CID, NAD, PPS or S(WTX).
* **NFC Forum Type 4 Tag Operation Specification 2.0 (T4TOP 2.0, 2011; its successor, the Type 4
  Tag Technical Specification 1.0 of 2017, keeps these commands), cited by section title.** The
  NDEF Tag Application (AID ``D2760000850101``, mapping version 2.0) with its "NDEF Tag
  Application Select", "Capability Container Select / Read", "NDEF Select / Read / Update"
  procedures; the Capability Container file E103h: CCLEN 000Fh, mapping version 20h, MLe, MLc
  and an "NDEF File Control TLV" (``04 06``, file id E104h, maximum NDEF file size, read access
  00h, write access 00h or FFh = read-only); the "NDEF File": NLEN (2 bytes, big-endian), then
  the message. Its command set as ISO/IEC 7816-4 short APDUs: SELECT by name
  (``00 A4 04 00 07 …``) and by file id (``00 A4 00 0C 02 …``), READ BINARY (``00 B0`` offset
  Le), UPDATE BINARY (``00 D6`` offset Lc data). ISO/IEC 7816-4 status words: 9000; 6A82 (no
  such application or file); 6982 (security status not satisfied: writing the CC file, a
  read-only NDEF file, or one whose access rights ask for a key); 6B00 (offset beyond the
  file); 6700 (wrong length: no Le, Le > MLe, no data, Lc > MLc, data past the end of the file);
  6282 (end of file before Le bytes); 6986 (no file selected); 6A86 (P1/P2); 6D00 (instruction);
  6E00 (class).

A card can be pulled out of the field straight after its n-th UPDATE BINARY
(``pull_after_updates``), answered, as ``SimulatedNtag.pull_after_writes`` does for page writes;
``lose_answers`` drops answers after the chip has acted on the command, so the reader's R(NAK)
has to get the same block again (rule 11) without the command being carried out twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.nfc.ntag import Removed

__all__ = [
    "CC_FILE_ID",
    "NDEF_AID",
    "NDEF_FILE_ID",
    "NoAnswer",
    "SimulatedType4",
]

NDEF_AID = bytes.fromhex("D2760000850101")  # the NDEF Tag Application, mapping version 2.0
CC_FILE_ID = bytes.fromhex("E103")
NDEF_FILE_ID = bytes.fromhex("E104")
#: ISO/IEC 14443-4 §5.1: FSDI (and FSCI) -> frame size; nfcpy sends 7 or 8.
FRAME_SIZES = (16, 24, 32, 40, 48, 64, 96, 128, 256)
#: A 7-byte UID with NXP's manufacturer byte, as NTAG 424 DNA cards carry.
DEFAULT_UID = bytes.fromhex("04518a3a6c1390")

SW_OK = b"\x90\x00"
SW_END_OF_FILE = b"\x62\x82"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY = b"\x69\x82"
SW_NO_CURRENT_EF = b"\x69\x86"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_WRONG_OFFSET = b"\x6b\x00"
SW_BAD_INS = b"\x6d\x00"
SW_BAD_CLA = b"\x6e\x00"


class NoAnswer(Removed):
    """The chip stays silent (wrong state, a block it ignores); the reader sees a timeout."""


@dataclass
class SimulatedType4:
    """The chip: ISO-DEP state, the NDEF Tag Application's two files, and the frames it saw."""

    uid: bytes = DEFAULT_UID
    ndef_file: bytearray = field(default_factory=lambda: bytearray(256))
    read_only: bool = False  # CC write access FFh
    write_needs_key: bool = False  # CC says 00h but the file's access rights ask for a key (6982)
    has_ndef_application: bool = True
    pull_after_updates: int | None = None
    lose_answers: int = 0  # the next n answers are lost on the air (the reader sees timeouts)
    ats: bytes = bytes.fromhex("067777710280")
    mle: int = 256  # the CC's MLe: largest READ BINARY answer (NTAG 424 DNA: 0100h)
    mlc: int = 255  # the CC's MLc: largest UPDATE BINARY data (NTAG 424 DNA: 00FFh)
    in_field: bool = True
    state: str = "active"  # ISO/IEC 14443-3/-4: "idle", "active" (selected), "protocol", "halt"
    updates: int = 0
    frames: list[bytes] = field(default_factory=list)  # every ISO-DEP block received
    apdus: list[bytes] = field(default_factory=list)  # every command APDU, chained parts joined
    rats: bytes | None = field(default=None, init=False)  # the last RATS received
    fsd: int = field(default=256, init=False)  # the reader's frame size, from that RATS
    block_number: int = field(default=1, init=False)
    last_block: bytes = field(default=b"", init=False, repr=False)
    command_chain: bytearray = field(default_factory=bytearray, init=False, repr=False)
    answer_left: bytes = field(default=b"", init=False, repr=False)
    application_selected: bool = field(default=False, init=False)
    selected_file: bytes | None = field(default=None, init=False)

    #: ATQA 0344h (least significant byte first, as nfcpy holds it), SAK 20h: ISO-DEP, UID complete.
    sens_res = b"\x44\x03"
    sel_res = b"\x20"

    @classmethod
    def create(
        cls,
        *,
        file_size: int = 256,
        message: bytes = b"",
        uid: bytes = DEFAULT_UID,
        read_only: bool = False,
        write_needs_key: bool = False,
        has_ndef_application: bool = True,
        pull_after_updates: int | None = None,
    ) -> SimulatedType4:
        """A formatted card whose NDEF file (``file_size`` bytes, NLEN included) holds ``message``."""
        if not 5 <= file_size <= 0x7FFF:  # T4TOP 2.0, NDEF File Control TLV: 0005h-7FFFh
            raise ValueError("an NDEF file is 0005h-7FFFh bytes")
        if len(message) > file_size - 2:
            raise ValueError("the message does not fit the NDEF file")
        content = bytearray(file_size)
        content[0 : 2 + len(message)] = len(message).to_bytes(2, "big") + message
        card = cls(
            uid=bytes(uid),
            ndef_file=content,
            read_only=read_only,
            write_needs_key=write_needs_key,
            has_ndef_application=has_ndef_application,
            pull_after_updates=pull_after_updates,
        )
        card.activate()
        return card

    # -- what a test looks at ----------------------------------------------------------------

    @property
    def nlen(self) -> int:
        return int.from_bytes(self.ndef_file[0:2], "big")

    @property
    def message(self) -> bytes:
        """The NDEF message as NLEN frames it."""
        return bytes(self.ndef_file[2 : 2 + self.nlen])

    @property
    def cc_file(self) -> bytes:
        """CCLEN, mapping version, MLe, MLc, NDEF File Control TLV (T4TOP 2.0, Capability Container)."""
        control = (
            b"\x04\x06"
            + NDEF_FILE_ID
            + len(self.ndef_file).to_bytes(2, "big")
            + b"\x00"  # read access: granted
            + (b"\xff" if self.read_only else b"\x00")  # write access: none (FFh) or granted
        )
        body = b"\x20" + self.mle.to_bytes(2, "big") + self.mlc.to_bytes(2, "big") + control
        return (2 + len(body)).to_bytes(2, "big") + body

    def instructions(self, ins: int) -> list[bytes]:
        """The APDUs received with instruction byte ``ins`` (0xD6: UPDATE BINARY …)."""
        return [apdu for apdu in self.apdus if len(apdu) > 1 and apdu[1] == ins]

    # -- the field ---------------------------------------------------------------------------

    def activate(self) -> None:
        """RF reset, then REQA + anticollision + SELECT: ISO-DEP starts afresh and waits for RATS."""
        self.state = "active"
        self.block_number = 1  # ISO/IEC 14443-4 §7.5.3 rule A
        self.last_block = b""
        self.command_chain.clear()
        self.answer_left = b""
        self.application_selected = False
        self.selected_file = None

    def command(self, frame: bytes) -> bytes:
        """Answer one frame; raise :class:`Removed` (out of the field) or :class:`NoAnswer`."""
        if not self.in_field:
            raise Removed
        if self.state == "active":
            return self._activation(frame)
        if self.state != "protocol":
            raise NoAnswer  # idle or halted: only a new REQA/WUPA (a sense) wakes the chip
        self.frames.append(frame)
        answer = self._block(frame)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise NoAnswer  # handled, but the reader never hears it: it will send R(NAK)
        return answer

    def _activation(self, frame: bytes) -> bytes:
        if len(frame) == 2 and frame[0] == 0xE0:  # ISO/IEC 14443-4 §5.1: RATS
            self.rats = frame
            self.fsd = FRAME_SIZES[min(frame[1] >> 4, 8)]
            self.state = "protocol"
            return self.ats
        self.state = "halt" if frame == b"\x50\x00" else "idle"  # HLTA, or a frame it cannot take
        raise NoAnswer

    # -- ISO/IEC 14443-4 §7: blocks ------------------------------------------------------------

    def _send(self, block: bytes) -> bytes:
        self.last_block = block
        return block

    def _block(self, frame: bytes) -> bytes:
        if not frame:
            raise NoAnswer
        pcb = frame[0]
        if pcb & 0xE2 == 0x02:  # I-block: 000x xx1x
            if pcb & 0x0C:
                raise NoAnswer  # a CID or NAD follows: not simulated (nfcpy sends neither)
            self.block_number ^= 1  # rule B
            self.answer_left = b""
            self.command_chain += frame[1:]
            if pcb & 0x10:  # the reader chains: rule 10, acknowledge this part
                return self._send(bytes([0xA2 | self.block_number]))
            apdu = bytes(self.command_chain)
            self.command_chain.clear()
            return self._answer(self._apdu(apdu))
        if pcb & 0xE6 == 0xA2:  # R-block: 101x x01x; bit 5 = NAK
            if pcb & 0x01 == self.block_number:
                if not self.last_block:
                    raise NoAnswer
                return self.last_block  # rule 11: the reader missed it, send it again
            if pcb & 0x10:
                return self._send(bytes([0xA2 | self.block_number]))  # rule 12: presence check
            if not self.answer_left:
                raise NoAnswer  # an ACK for nothing
            self.block_number ^= 1  # rule C, then rule 13: the next part of the chained answer
            return self._answer(self.answer_left)
        if pcb == 0xC2:  # S(DESELECT), §8: answered with itself, then the chip halts
            self.state = "halt"
            return b"\xc2"
        raise NoAnswer  # S(WTX) answers, S(PARAMETERS), CID forms: nothing this chip asked for

    def _answer(self, response: bytes) -> bytes:
        room = self.fsd - 3  # FSD counts the PCB and the two CRC bytes
        if len(response) <= room:
            self.answer_left = b""
            return self._send(bytes([0x02 | self.block_number]) + response)
        self.answer_left = response[room:]
        return self._send(bytes([0x12 | self.block_number]) + response[:room])

    # -- T4TOP 2.0: the NDEF Tag Application's commands ---------------------------------------

    def _apdu(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[:4]
        parsed = _parse_short_apdu(apdu[4:])
        if parsed is None:
            return SW_WRONG_LENGTH
        data, le = parsed
        if cla != 0x00:
            return SW_BAD_CLA
        if ins == 0xA4:
            return self._select(p1, p2, data)
        if ins == 0xB0:
            return self._read_binary(p1, p2, le)
        if ins == 0xD6:
            return self._update_binary(p1, p2, data)
        return SW_BAD_INS

    def _select(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 == 0x04 and p2 == 0x00:  # NDEF Tag Application Select, by name
            self.selected_file = None
            self.application_selected = self.has_ndef_application and data == NDEF_AID
            return SW_OK if self.application_selected else SW_NOT_FOUND
        if p1 == 0x00 and p2 == 0x0C:  # Capability Container / NDEF Select: by file id, no FCI
            if len(data) != 2:
                return SW_WRONG_LENGTH
            if not self.application_selected or data not in (CC_FILE_ID, NDEF_FILE_ID):
                return SW_NOT_FOUND
            self.selected_file = data
            return SW_OK
        return SW_WRONG_P1P2

    def _file(self) -> bytearray | bytes | None:
        if self.selected_file == CC_FILE_ID:
            return self.cc_file
        if self.selected_file == NDEF_FILE_ID:
            return self.ndef_file
        return None

    def _read_binary(self, p1: int, p2: int, le: int | None) -> bytes:
        content = self._file()
        if content is None:
            return SW_NO_CURRENT_EF
        if p1 & 0x80:
            return SW_WRONG_P1P2  # short EF identifier addressing: not offered
        offset = p1 << 8 | p2
        if le is None or le > self.mle:
            return SW_WRONG_LENGTH
        if offset >= len(content):
            return SW_WRONG_OFFSET
        data = bytes(content[offset : offset + le])
        return data + (SW_OK if len(data) == le else SW_END_OF_FILE)

    def _update_binary(self, p1: int, p2: int, data: bytes) -> bytes:
        if self.selected_file is None:
            return SW_NO_CURRENT_EF
        if self.selected_file == CC_FILE_ID or self.read_only or self.write_needs_key:
            return SW_SECURITY
        if p1 & 0x80:
            return SW_WRONG_P1P2
        offset = p1 << 8 | p2
        if not data or len(data) > self.mlc:
            return SW_WRONG_LENGTH
        if offset >= len(self.ndef_file):
            return SW_WRONG_OFFSET
        if offset + len(data) > len(self.ndef_file):
            return SW_WRONG_LENGTH
        self.ndef_file[offset : offset + len(data)] = data
        self.updates += 1
        if self.pull_after_updates is not None and self.updates >= self.pull_after_updates:
            self.in_field = False  # the operator lifted the card right after this answer
        return SW_OK


def _parse_short_apdu(body: bytes) -> tuple[bytes, int | None] | None:
    """ISO/IEC 7816-4 §5.1 short cases 1-4 after the header: (data, Le), None if malformed.

    Le 00h means 256; an Lc of 00h would start an extended length, which this chip refuses."""
    if not body:
        return b"", None
    if len(body) == 1:
        return b"", body[0] or 256
    lc = body[0]
    data, rest = body[1 : 1 + lc], body[1 + lc :]
    if lc == 0 or len(data) < lc or len(rest) > 1:
        return None
    return data, (rest[0] or 256) if rest else None
