"""Reading and writing cards with nfcpy: one :class:`Reader`, one :class:`Card` at a time.

Everything nfcpy can raise or return on the way (a ``TagCommandError``, a ``None`` NDEF, a
``False`` from ``protect``) becomes one error of the :class:`~anxinma.errors.NfcError` family
with the reason in Chinese and English, decided by asking the card whether it is still there:
a card that vanished is :class:`CardRemoved`, one that answers but refuses is read-only or
unformatted. Writes are always read back from the card (not from nfcpy's cache) and compared.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import nfc
import nfc.clf
import nfc.tag
import nfc.tag.tt2
import nfc.tag.tt2_nxp

from anxinma.errors import (
    CardNotFormatted,
    CardReadOnly,
    CardRemoved,
    CardTooSmall,
    CardUnsupported,
    CardVerifyFailed,
    NfcError,
    NoCard,
    ReaderNotFound,
)
from anxinma.nfc.budget import larger_chips_text
from anxinma.nfc.device import default_technologies, open_frontend, validate_path
from anxinma.nfc.originality import Originality, OriginalityStatus, check_ntag21x

__all__ = ["Card", "NdefInfo", "Reader", "card_password"]

#: What nfcpy raises when the radio link or the tag fails.
_LINK_ERRORS = (nfc.tag.TagCommandError, nfc.clf.CommunicationError)
#: NTAG21x capability container sizes (byte 2), from the NTAG213/215/216 datasheet §8.5.
_NTAG_CC_SIZE = {"NXP NTAG213": 0x12, "NXP NTAG215": 0x3E, "NXP NTAG216": 0x6D}
_PASSWORD_CONTEXT = b"anxinma card password v1"


def card_password(secret: bytes, uid: bytes) -> bytes:
    """The 6-byte NTAG21x PWD (4) + PACK (2) for one card, diversified by its UID.

    HMAC-SHA256 of the UID under the station's secret, so one leaked card password (it crosses
    the air in clear, NTAG datasheet §8.8) opens no other card; the same secret re-derives it.
    """
    return hmac.new(secret, _PASSWORD_CONTEXT + uid, hashlib.sha256).digest()[:6]


@dataclass(frozen=True)
class NdefInfo:
    """The card's NDEF area as nfcpy reports it."""

    formatted: bool
    readable: bool
    writable: bool
    capacity: int
    length: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Card:
    """A card in the reader's field (an activated nfcpy tag)."""

    def __init__(self, tag: Any) -> None:
        self._tag = tag

    # -- identity ----------------------------------------------------------------------------

    @property
    def uid(self) -> bytes:
        """The card's identifier: NFCID1 (Type 2/4A: 4, 7 or 10 bytes), IDm (Type 3: 8), PUPI (4B)."""
        return bytes(self._tag.identifier)

    @property
    def tag_type(self) -> str:
        return str(self._tag.type)

    @property
    def product(self) -> str:
        return str(self._tag.product)

    @property
    def uid_is_random(self) -> bool:
        """ISO/IEC 14443-3 §6.5.4: a single-size UID starting 08h is random, new at every activation
        (phones emulating a card do this); such a card cannot be bound."""
        return self._tag.type in ("Type2Tag", "Type4Tag") and len(self.uid) == 4 and self.uid[0] == 0x08

    @property
    def is_ntag21x(self) -> bool:
        """NTAG210-216: the chips with NXP's NTAG21x originality key, PWD_AUTH and CFG pages."""
        return isinstance(self._tag, nfc.tag.tt2_nxp.NTAG21x) and not isinstance(
            self._tag, nfc.tag.tt2_nxp.MifareUltralightEV1
        )

    @property
    def can_lock(self) -> bool:
        """Whether nfcpy can make this card permanently read-only (Type 1/2, FeliCa Lite(-S))."""
        return hasattr(self._tag, "_protect")

    @property
    def nfcpy_tag(self) -> Any:
        """The underlying ``nfc.tag.Tag`` (for what this class does not wrap)."""
        return self._tag

    # -- presence ----------------------------------------------------------------------------

    def is_present(self) -> bool:
        """Whether the card still answers: a presence check, then (Type 2) a re-select, because a
        Type 2 tag that NAKed a command goes mute until it is selected again (NTAG21x §10)."""
        try:
            if self._tag.is_present:
                return True
        except (*_LINK_ERRORS, OSError):
            pass
        return self._reselect()

    def _reselect(self) -> bool:
        # Only a Type 2 tag needs it. Sensing switches the field off and on (nfc.clf's sense mutes
        # first), so a Type 4 tag would lose its ISO-DEP session (RATS) under nfcpy's Type4Tag and
        # stop answering it, although an error status word (6982) had left the session open.
        if not isinstance(self._tag, nfc.tag.tt2.Type2Tag):
            return False
        target = self._tag.target
        if target is None or target.sdd_res is None:
            return False
        try:
            found = self._tag.clf.sense(nfc.clf.RemoteTarget(target.brty, sel_req=target.sdd_res))
        except (*_LINK_ERRORS, OSError):
            return False
        if found is None:
            return False
        self._tag._target = found  # as nfcpy's own Type2Tag.read does after a NAK
        return True

    def _lost(self, action_zh: str, action_en: str, error: BaseException | None = None) -> NfcError:
        """The error for a failed operation. A tag that answered with an error code (a NAK, errno
        > 0) refused it; one that stopped answering (timeout, broken frames) left the field, even
        if it is back by now, because the operation did not complete; with no error to go by,
        ask the card whether it is still there."""
        answered = isinstance(error, nfc.tag.TagCommandError) and error.errno > 0
        if answered:
            self._reselect()  # wake it again for whatever comes next
        elif error is not None or not self.is_present():
            return CardRemoved(
                f"the card stopped answering during {action_en} (moved or taken away): "
                "put the same card back and hold it still",
                message_zh=f"{action_zh}时卡片失去响应（被移动或拿走）：请把同一张卡放回并保持不动",
            )
        return CardReadOnly(
            f"the card refused {action_en}: it is locked or password protected",
            message_zh=f"卡片拒绝{action_zh}：已锁定或有密码保护",
        )

    # -- NDEF --------------------------------------------------------------------------------

    def _ndef(self) -> Any:
        try:
            ndef = self._tag.ndef
        except _LINK_ERRORS:
            ndef = None
        if ndef is None:
            if not self.is_present():
                raise CardRemoved(
                    "the card was removed while reading it: put it back on the reader",
                    message_zh="读卡时卡片被移开：请把卡放回读卡器",
                )
            raise CardNotFormatted(
                f"this {self.product} is not NDEF formatted (no NFC Forum capability container)"
                + ("; --format can format an NTAG21x" if self.is_ntag21x else ""),
                message_zh=f"此卡（{self.product}）未做 NDEF 格式化"
                + ("；NTAG21x 可用 --format 格式化" if self.is_ntag21x else ""),
            )
        return ndef

    def ndef_info(self) -> NdefInfo:
        try:
            ndef = self._ndef()
        except CardNotFormatted:
            return NdefInfo(False, False, False, 0, 0)
        return NdefInfo(
            True, bool(ndef.is_readable), bool(ndef.is_writeable), int(ndef.capacity), int(ndef.length)
        )

    def read_message(self) -> bytes:
        """The raw NDEF message on the card (empty for a blank formatted card).

        Raises :class:`CardNotFormatted`, :class:`CardRemoved`.
        """
        return bytes(self._ndef().octets)

    def capacity(self, *, compact: bool = True) -> int:
        """The largest message this card takes; with ``compact``, counting the room a factory Lock
        Control TLV would give back (see :meth:`write_message`)."""
        ndef = self._ndef()
        extra = self._lock_control_tlv_size() if compact else 0
        return int(ndef.capacity) + extra

    def write_message(self, message: bytes, *, verify: bool = True) -> None:
        """Write ``message`` as the card's NDEF message, then read it back from the card.

        On a Type 2 tag whose factory Lock Control TLV describes the default lock-byte position
        (NTAG213), the TLV is dropped when the message needs its 5 bytes: the chip, nfcpy and
        phones find the dynamic lock bits at the same place without it (T2T §2.3.1).

        Raises :class:`CardTooSmall`, :class:`CardReadOnly`, :class:`CardNotFormatted`,
        :class:`CardRemoved` (the card may hold part of the message: write again),
        :class:`CardVerifyFailed`.
        """
        ndef = self._ndef()
        if not ndef.is_writeable:
            raise self._read_only_error()
        if len(message) > ndef.capacity:
            room = int(ndef.capacity) + self._lock_control_tlv_size()
            if len(message) > room:
                bigger = larger_chips_text(len(message), self.tag_type)
                raise CardTooSmall(
                    f"the message is {len(message)} bytes but this {self.product} holds {room}: "
                    f"use a larger card ({bigger}) or the external-only form",
                    message_zh=f"消息 {len(message)} 字节，此卡（{self.product}）只能容纳 {room} 字节："
                    f"请换更大的卡（{bigger}）或只写二进制记录",
                )
            ndef = self._compact_type2_layout()
        try:
            ndef.octets = message
        except AttributeError as exc:  # nfcpy: "tag ndef area is not writeable"
            raise self._read_only_error() from exc
        except ValueError as exc:  # nfcpy: "data length exceeds tag capacity"
            raise CardTooSmall(
                f"this {self.product} cannot hold {len(message)} bytes",
                message_zh=f"此卡（{self.product}）容纳不下 {len(message)} 字节",
            ) from exc
        except _LINK_ERRORS as exc:
            raise self._lost("写入", "the write", exc) from exc
        if verify:
            self.verify_message(message)

    def verify_message(self, expected: bytes) -> None:
        """Read the NDEF message again from the card and compare it byte for byte."""
        try:
            ndef = self._tag.ndef
            if ndef is not None:
                ndef.has_changed  # noqa: B018 - re-reads the message from the card itself
            ndef = self._tag.ndef
        except _LINK_ERRORS as exc:
            raise self._lost("回读", "the read-back", exc) from exc
        if ndef is None:
            raise self._lost("回读", "the read-back")
        found = bytes(ndef.octets)
        if found != expected:
            raise CardVerifyFailed(
                f"read back {len(found)} bytes that differ from the {len(expected)} written: write again",
                message_zh=f"回读的 {len(found)} 字节与写入的 {len(expected)} 字节不一致：请重写",
            )

    def _read_only_error(self) -> NfcError:
        if self.is_ntag21x and self._cc_write_access() == 0x08:
            return CardReadOnly(
                "this card is password protected: give its password (--password) to write it",
                message_zh="此卡有密码保护：请提供密码（--password）后再写入",
            )
        return CardReadOnly(
            f"this {self.product} is locked (read-only): use a blank card",
            message_zh=f"此卡（{self.product}）已锁定为只读：请换一张空白卡",
        )

    def _cc_write_access(self) -> int | None:
        try:
            return int(self._tag.read(3)[3] & 0x0F)
        except (*_LINK_ERRORS, AttributeError):
            return None

    def _lock_control_tlv_size(self) -> int:
        """5 if the Type 2 data area starts with a Lock Control TLV at the default lock position."""
        if not isinstance(self._tag, nfc.tag.tt2.Type2Tag):
            return 0
        try:
            memory = nfc.tag.tt2.Type2TagMemoryReader(self._tag)
            head = bytes(memory[0:22])
        except _LINK_ERRORS:
            return 0
        if head[12] != 0xE1 or head[16:18] != b"\x01\x03" or head[21] != 0x03:
            return 0
        position, size = head[18], head[20]
        lock_byte_address = (position >> 4) * 2 ** (size & 0x0F) + (position & 0x0F)
        return 5 if lock_byte_address == 16 + head[14] * 8 else 0

    def _compact_type2_layout(self) -> Any:
        # One page write turns "01 03 A0 0C | 34 03 00 FE" into "03 00 FE 00 | …": an empty NDEF
        # TLV at byte 16 with its terminator, a valid (empty) card at every instant.
        try:
            memory = nfc.tag.tt2.Type2TagMemoryReader(self._tag)
            memory[16:20] = b"\x03\x00\xfe\x00"
            memory.synchronize()
        except _LINK_ERRORS as exc:
            raise self._lost("整理卡内布局", "the layout change", exc) from exc
        return self._reread_ndef()

    def _reread_ndef(self) -> Any:
        ndef = self._tag.ndef
        if ndef is not None:
            ndef.has_changed  # noqa: B018 - re-reads offset and capacity from the card
        return self._ndef()

    # -- formatting, locking, passwords ------------------------------------------------------

    def format(self) -> None:
        """Give a blank NTAG21x its NFC Forum capability container and an empty NDEF message.

        Raises :class:`CardUnsupported` for other chips (use the vendor's tool), and leaves an
        already formatted card alone.
        """
        if self.ndef_info().formatted:
            return
        size = _NTAG_CC_SIZE.get(self.product)
        if size is None:
            raise CardUnsupported(
                f"anxinma formats only NTAG213/215/216; format this {self.product} with its vendor's tool",
                message_zh=f"只能格式化 NTAG213/215/216；此卡（{self.product}）请用厂商工具格式化",
            )
        try:
            self._tag.write(3, bytes([0xE1, 0x10, size, 0x00]))
            result = self._tag.format()
        except _LINK_ERRORS as exc:
            raise self._lost("格式化", "formatting", exc) from exc
        if not result:
            raise self._lost("格式化", "formatting")

    def lock(self) -> None:
        """Make the card permanently read-only (lock bits; cannot be undone), then check it took.

        Raises :class:`CardUnsupported`, :class:`CardRemoved`, :class:`CardVerifyFailed`.
        """
        if not self.can_lock:
            raise CardUnsupported(
                f"nfcpy cannot lock this {self.product} ({self.tag_type}); use NTAG21x cards to lock",
                message_zh=f"无法锁定此卡（{self.product}）；需要锁定时请使用 NTAG21x 卡",
            )
        try:
            locked = self._tag.protect(None)
        except _LINK_ERRORS as exc:
            raise self._lost("锁定", "locking", exc) from exc
        if not locked:
            raise self._lost("锁定", "locking")
        if self.ndef_info().writable:
            raise CardVerifyFailed(
                "the card still reports itself writable after locking", message_zh="锁定后卡片仍显示可写"
            )

    def protect_with_password(self, secret: bytes) -> None:
        """Write-protect an NTAG21x from page 3 on with the password derived from ``secret`` and
        the UID (:func:`card_password`); phones still read it. Raises :class:`CardUnsupported`."""
        if not self.is_ntag21x:
            raise CardUnsupported(
                f"password protection needs an NTAG21x; this is a {self.product}",
                message_zh=f"密码保护需要 NTAG21x 芯片，此卡为 {self.product}",
            )
        try:
            confirmed = self._tag.protect(card_password(secret, self.uid), read_protect=False, protect_from=3)
        except _LINK_ERRORS as exc:
            raise self._lost("设置密码", "setting the password", exc) from exc
        if not confirmed:
            raise self._lost("设置密码", "setting the password")

    def authenticate(self, secret: bytes) -> None:
        """PWD_AUTH with the password derived from ``secret``; raises :class:`CardReadOnly` if refused."""
        if not self.is_ntag21x:
            return
        try:
            ok = self._tag.authenticate(card_password(secret, self.uid))
        except _LINK_ERRORS:
            ok = False
        if not ok:
            if not self.is_present():
                raise CardRemoved(
                    "the card was removed during authentication", message_zh="验证密码时卡片被移开"
                )
            raise CardReadOnly(
                "the card refused the password: wrong --password, or protected by someone else",
                message_zh="卡片拒绝密码：--password 不对，或卡片由他人设置了密码",
            )

    # -- originality -------------------------------------------------------------------------

    def originality(self) -> Originality:
        """NXP's originality signature check (NTAG21x only; other chips: unavailable)."""
        if not self.is_ntag21x:
            return Originality(OriginalityStatus.UNAVAILABLE)
        try:
            signature = bytes(self._tag.transceive(b"\x3c\x00"))
        except _LINK_ERRORS:
            signature = None
        return check_ntag21x(self.uid, signature)

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid.hex(),
            "type": self.tag_type,
            "product": self.product,
            "uid_is_random": self.uid_is_random,
            "can_lock": self.can_lock,
        }


def _target_identifier(target: Any) -> bytes | None:
    if target.sdd_res is not None:
        return bytes(target.sdd_res)
    if target.sensf_res is not None:
        return bytes(target.sensf_res[1:9])
    if target.sensb_res is not None:
        return bytes(target.sensb_res[1:5])
    return None


def _is_peer_device(target: Any) -> bool:
    """A phone offering NFC-DEP (peer to peer), not a card (nfc.clf's default on-discover)."""
    if target.sel_res is not None and target.sel_res[0] & 0x40:
        return True
    return target.sensf_res is not None and bytes(target.sensf_res[1:3]) == b"\x01\xfe"


class Reader:
    """One open reader. Not thread-safe: one station or command drives it at a time."""

    def __init__(self, frontend: Any, path: str, technologies: tuple[str, ...] | None = None) -> None:
        self._frontend = frontend
        self.path = path
        self.technologies = technologies or default_technologies(path)

    @classmethod
    def open(cls, path: str, technologies: tuple[str, ...] | None = None) -> Reader:
        """Open the reader at ``path``; raises the errors of :func:`~anxinma.nfc.device.open_frontend`."""
        path = validate_path(path)
        return cls(open_frontend(path), path, technologies)

    def close(self) -> None:
        self._frontend.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def description(self) -> str:
        device = self._frontend.device
        return str(device) if device is not None else self.path

    def _sense(self) -> Any:
        targets = [nfc.clf.RemoteTarget(brty) for brty in self.technologies]
        try:
            return self._frontend.sense(*targets, iterations=1)
        except OSError as exc:
            raise ReaderNotFound(
                f"the reader on {self.path} stopped answering (unplugged?): {exc}",
                message_zh=f"读卡器 {self.path} 无响应（已拔出？）",
            ) from exc

    def poll(self) -> Card | None:
        """One discovery cycle: the activated card in the field, or None."""
        target = self._sense()
        if target is None or _is_peer_device(target):
            return None
        try:
            tag = nfc.tag.activate(self._frontend, target)
        except _LINK_ERRORS:
            return None
        return Card(tag) if tag is not None else None

    def wait_for_card(
        self,
        timeout: float | None = None,
        *,
        interval: float = 0.1,
        stop: Callable[[], bool] | None = None,
    ) -> Card:
        """Block until a card is presented; raises :class:`NoCard` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            card = self.poll()
            if card is not None:
                return card
            if (deadline is not None and time.monotonic() >= deadline) or (stop is not None and stop()):
                raise NoCard(
                    f"no card was presented within {timeout:g} s" if timeout is not None else "stopped",
                    message_zh=f"{timeout:g} 秒内没有放卡" if timeout is not None else "已停止",
                )
            time.sleep(interval)

    def wait_for_removal(self, card: Card, timeout: float | None = None, *, interval: float = 0.1) -> bool:
        """Block until ``card`` has left the field (another card may be there already).

        Returns False if it is still there after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            target = self._sense()
            if target is None or _target_identifier(target) != card.uid:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    @contextmanager
    def signal(self) -> Iterator[None]:
        """Light the reader's LED / sound its buzzer (where it has them) for the block's duration."""
        device = self._frontend.device
        try:
            device.turn_on_led_and_buzzer()
            yield
        finally:
            device.turn_off_led_and_buzzer()
