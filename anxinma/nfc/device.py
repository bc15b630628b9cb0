"""Opening a reader by its device path, and saying exactly what to do when that fails.

Paths are nfcpy's (``nfc.clf.ContactlessFrontend.open``): ``usb``, ``usb:VID[:PID]`` (four hex
digits each), ``usb:BUS[:DEV]`` (decimal, as lsusb shows), ``tty:PORT[:DRIVER]`` (``tty:USB0:pn532``),
``com:PORT:DRIVER`` on Windows, and ``udp[:HOST[:PORT]]`` for nfcpy's simulated radio over UDP.

nfcpy quietly skips a USB reader this user may not open when the path is partial, so "no reader"
and "permission denied" look the same from its return value; :func:`open_frontend` looks again
and tells them apart, with the udev rule or the kernel module to deal with, as ``python -m nfc``
does (nfc/__main__.py).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

from anxinma.errors import ReaderBusy, ReaderNotFound, ReaderPermissionDenied

__all__ = ["UsbReader", "default_technologies", "list_usb_readers", "open_frontend", "validate_path"]

_USB = re.compile(r"^usb(:[0-9a-fA-F]{4}(:[0-9a-fA-F]{4})?|:\d{1,3}(:\d{1,3})?)?$")
_TTY = re.compile(r"^(tty|com):[^:]+(:[a-z0-9_]+)?$")
_UDP = re.compile(r"^udp(:[^:]*(:\d{1,5})?)?$")
UDEV_RULES_FILE = "/etc/udev/rules.d/60-anxinma-nfc.rules"
KERNEL_NFC_MODULES = ("pn533_usb", "pn533", "port100", "nfc")


def validate_path(path: str) -> str:
    """Return ``path`` if it is a device path nfcpy understands; raise :class:`ReaderNotFound`."""
    text = path.strip()
    if _USB.match(text) or _UDP.match(text):
        return text
    match = _TTY.match(text)
    if match:
        driver = text.split(":")[2] if text.count(":") == 2 else None
        if driver is not None and importlib.util.find_spec(f"nfc.clf.{driver}") is None:
            raise ReaderNotFound(
                f"unknown reader driver {driver!r} in {text!r} (nfcpy has arygon, pn532, pn533, rcs956, …)",
                message_zh=f"未知的读卡器驱动 {driver!r}",
            )
        return text
    raise ReaderNotFound(
        f"{text!r} is not a device path: use usb, usb:054c:06c3, tty:USB0:pn532 or udp:127.0.0.1:54321",
        message_zh=f"{text!r} 不是读卡器路径：可用 usb、usb:054c:06c3、tty:USB0:pn532 或 udp:127.0.0.1:54321",
    )


def default_technologies(path: str) -> tuple[str, ...]:
    """What to poll for: all three on real readers; Type F over UDP, the one kind nfcpy emulates
    there (polling a technology nobody answers costs the UDP driver a one-second timeout)."""
    return ("212F",) if path.startswith("udp") else ("106A", "106B", "212F")


@dataclass(frozen=True)
class UsbReader:
    """A supported reader seen on the USB bus, whether or not this user may open it."""

    vendor_id: int
    product_id: int
    bus: int
    address: int
    driver: str

    @property
    def path(self) -> str:
        return f"usb:{self.bus:03d}:{self.address:03d}"

    @property
    def devnode(self) -> str:
        return f"/dev/bus/usb/{self.bus:03d}/{self.address:03d}"

    @property
    def accessible(self) -> bool:
        return not sys.platform.startswith("linux") or os.access(self.devnode, os.R_OK | os.W_OK)

    def udev_rule(self) -> str:
        return (
            f'SUBSYSTEM=="usb", ATTRS{{idVendor}}=="{self.vendor_id:04x}", '
            f'ATTRS{{idProduct}}=="{self.product_id:04x}", MODE="0660", GROUP="plugdev"'
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "vendor_id": f"{self.vendor_id:04x}",
            "product_id": f"{self.product_id:04x}",
            "path": self.path,
            "driver": self.driver,
            "accessible": self.accessible,
        }


def list_usb_readers(path: str = "usb") -> list[UsbReader]:
    """The supported readers on the USB bus matching ``path``; raises ReaderNotFound without libusb."""
    import nfc.clf.device
    import nfc.clf.transport

    try:
        found = nfc.clf.transport.USB.find(path) or []
    except OSError as exc:  # usb1 raises FileNotFoundError when libusb-1.0 is not installed
        raise ReaderNotFound(
            f"libusb-1.0 is missing, so no USB reader can be opened: install it (apt install libusb-1.0-0): {exc}",
            message_zh="缺少 libusb-1.0，无法打开 USB 读卡器：请安装（apt install libusb-1.0-0）",
        ) from exc
    readers = []
    for vid, pid, bus, address in found:
        driver = nfc.clf.device.usb_device_map.get((vid, pid))
        if driver is not None:
            readers.append(UsbReader(vid, pid, int(bus), int(address), driver))
    return readers


def open_frontend(path: str) -> Any:
    """An open ``nfc.ContactlessFrontend`` on ``path``.

    Raises :class:`ReaderNotFound` (nothing there, or an unknown path),
    :class:`ReaderPermissionDenied` (the reader is there; the message gives the udev rule or
    group), or :class:`ReaderBusy` (a kernel driver or another program holds it).
    """
    import nfc

    path = validate_path(path)
    frontend = nfc.ContactlessFrontend()
    try:
        opened = frontend.open(path)
    except OSError as exc:
        _raise_for_os_error(path, exc)
    if opened:
        return frontend
    if path.startswith("usb"):
        _diagnose_usb(path)
    if path.startswith(("tty", "com")):
        port = path.split(":")[1]
        raise ReaderNotFound(
            f"no reader answered on serial port {port!r} ({path}): check the cable, the port "
            "(ls /dev/ttyUSB* /dev/ttyACM*) and the driver name",
            message_zh=f"串口 {port!r} 上没有读卡器应答：请检查连线、端口和驱动名",
        )
    raise ReaderNotFound(f"no reader on {path!r}", message_zh=f"{path!r} 上没有读卡器")


def _raise_for_os_error(path: str, exc: OSError) -> NoReturn:
    if exc.errno == errno.EACCES:
        if path.startswith(("tty", "com")):
            raise ReaderPermissionDenied(
                f"permission denied on the serial reader {path}: add yourself to the 'dialout' group "
                "(sudo usermod -aG dialout $USER, then log in again)",
                message_zh=f"无权访问串口读卡器 {path}：请加入 dialout 组（sudo usermod -aG dialout $USER 后重新登录）",
            ) from exc
        _diagnose_usb(path)
    if exc.errno == errno.EBUSY:
        raise _busy(path) from exc
    if exc.errno in (errno.ETIMEDOUT, errno.ENODEV, errno.ENOENT):
        raise ReaderNotFound(
            f"no reader answered on {path} ({exc.strerror})", message_zh=f"{path} 上没有读卡器应答"
        ) from exc
    raise ReaderNotFound(
        f"cannot open the reader on {path}: {exc}", message_zh=f"无法打开读卡器 {path}"
    ) from exc


def _busy(path: str) -> ReaderBusy:
    modules = " ".join(KERNEL_NFC_MODULES[:3])
    return ReaderBusy(
        f"the reader on {path} is in use: another program has it, or the Linux NFC kernel driver "
        f"claimed it; free it with 'sudo modprobe -r {modules}' and keep it free with "
        f"'echo blacklist pn533_usb | sudo tee -a /etc/modprobe.d/blacklist-nfc.conf'",
        message_zh=f"读卡器 {path} 正被占用：可能是其他程序或 Linux 内核 NFC 驱动；"
        f"执行 'sudo modprobe -r {modules}' 释放，并把 pn533_usb 写入 /etc/modprobe.d/blacklist-nfc.conf",
    )


def _diagnose_usb(path: str) -> NoReturn:
    readers = list_usb_readers(path)
    denied = [reader for reader in readers if not reader.accessible]
    if denied:
        reader = denied[0]
        rule = reader.udev_rule()
        raise ReaderPermissionDenied(
            f"found the reader usb:{reader.vendor_id:04x}:{reader.product_id:04x} at {reader.path} but "
            f"this user may not open {reader.devnode}. Add the udev rule\n  {rule}\nto {UDEV_RULES_FILE}, "
            "run 'sudo udevadm control --reload-rules && sudo udevadm trigger', add yourself to the "
            "'plugdev' group (sudo usermod -aG plugdev $USER), log in again and re-plug the reader",
            message_zh=(
                f"找到读卡器 usb:{reader.vendor_id:04x}:{reader.product_id:04x}（{reader.path}），但当前用户"
                f"无权打开 {reader.devnode}。请把 udev 规则\n  {rule}\n写入 {UDEV_RULES_FILE}，执行 "
                "'sudo udevadm control --reload-rules && sudo udevadm trigger'，把自己加入 plugdev 组"
                "（sudo usermod -aG plugdev $USER），重新登录并重新插拔读卡器"
            ),
        )
    if readers:
        raise _busy(readers[0].path)
    raise ReaderNotFound(
        f"no NFC reader found on {path!r}: is it plugged in (lsusb lists it)? Supported USB readers "
        "include Sony RC-S380, ACS ACR122U, SCM SCL3711 and PN533 boards",
        message_zh=f"在 {path!r} 上没有找到 NFC 读卡器：请确认已插好（lsusb 可见）；支持 Sony RC-S380、ACS ACR122U、SCM SCL3711、PN533 等",
    )
