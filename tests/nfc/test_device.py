"""Opening readers by path: what an operator is told when it does not work."""

from __future__ import annotations

import pytest

from anxinma.errors import ReaderNotFound, ReaderPermissionDenied
from anxinma.nfc.device import default_technologies, list_usb_readers, open_frontend, validate_path


@pytest.mark.parametrize(
    "path",
    [
        "usb",
        "usb:054c",
        "usb:054c:06c3",
        "usb:001",
        "usb:001:023",
        "tty:USB0:pn532",
        "tty:AMA0",
        "udp",
        "udp:127.0.0.1:54321",
        "com:COM3:arygon",
    ],
)
def test_nfcpy_device_paths_are_accepted(path: str) -> None:
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("", "tty:USB0:pn532"),
        ("usb:zz", "usb:054c:06c3"),
        ("usb:054c:06c3:9", "udp:"),
        ("/dev/ttyUSB0", "tty:USB0"),
        ("tty:USB0:nosuchdriver", "pn532"),
        ("bluetooth", "usb"),
    ],
)
def test_malformed_paths_are_refused_with_examples(path: str, hint: str) -> None:
    with pytest.raises(ReaderNotFound) as caught:
        validate_path(path)
    assert hint in caught.value.message


def test_udp_polls_only_type_f() -> None:
    assert default_technologies("udp:127.0.0.1:5") == ("212F",)
    assert default_technologies("usb") == ("106A", "106B", "212F")


def test_no_usb_reader_is_a_clear_not_found() -> None:
    with pytest.raises(ReaderNotFound) as caught:
        open_frontend("usb")
    assert "lsusb" in caught.value.message and "读卡器" in caught.value.message_zh


def test_a_missing_serial_port_is_not_found() -> None:
    with pytest.raises(ReaderNotFound, match="USB7"):
        open_frontend("tty:USB7:pn532")


@pytest.fixture
def sony_reader_on_the_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    """An RC-S380 on bus 1 address 7, whose device node this user cannot open (the USB bus
    enumeration is the one part of the hardware this machine does not have)."""
    import nfc.clf.transport

    def find(path: str) -> list[tuple[int, int, int, int]] | None:
        return [(0x054C, 0x06C3, 1, 7)] if path.startswith("usb") else None

    monkeypatch.setattr(nfc.clf.transport.USB, "find", staticmethod(find))


@pytest.mark.usefixtures("sony_reader_on_the_bus")
@pytest.mark.parametrize("path", ["usb", "usb:054c:06c3"])
def test_permission_denied_names_the_udev_rule_for_that_reader(path: str) -> None:
    with pytest.raises(ReaderPermissionDenied) as caught:
        open_frontend(path)
    rule = 'SUBSYSTEM=="usb", ATTRS{idVendor}=="054c", ATTRS{idProduct}=="06c3", MODE="0660", GROUP="plugdev"'
    assert rule in caught.value.message and rule in caught.value.message_zh
    assert "/dev/bus/usb/001/007" in caught.value.message
    assert "udevadm" in caught.value.message and "plugdev" in caught.value.message_zh


@pytest.mark.usefixtures("sony_reader_on_the_bus")
def test_the_device_list_shows_the_reader_and_its_access() -> None:
    (reader,) = list_usb_readers()
    assert reader.to_json() == {
        "vendor_id": "054c",
        "product_id": "06c3",
        "path": "usb:001:007",
        "driver": "rcs380",
        "accessible": False,
    }
