"""``anxinma nfc …`` and ``anxinma station status``: the interfaces operators and scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import ndef
import pytest
from click.testing import CliRunner, Result

from anxinma.cli import main
from anxinma.ndef import EXTERNAL_TYPE, NdefForm, encode_message, type2_tlv
from tests.nfc.credentials import BASE_URL, make_credential
from tests.nfc.emulator import CardEmulator, EmulatedCard

UID = bytes.fromhex("02fe000000000001")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("form", list(NdefForm))
def test_encode_writes_the_raw_ndef_message_of_the_form(tmp_path: Path, form: NdefForm) -> None:
    credential = make_credential(card_uid=UID)
    out = tmp_path / "card.ndef"
    result = run("nfc", "encode", credential.to_url(BASE_URL), "--form", form.value, "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == encode_message(credential, BASE_URL, form)
    report = json.loads(result.stdout)
    fits = {entry["chip"]: entry["fits"] for entry in report["fits"]}
    assert fits["NTAG213"] is (form is NdefForm.EXTERNAL) and fits["NTAG215"] is True


def test_encode_takes_hex_and_the_base_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANXINMA_BASE_URL", "https://v.example.cn")
    credential = make_credential()
    out = tmp_path / "card.ndef"
    assert run("nfc", "encode", credential.to_hex(), "--form", "uri", "-o", str(out)).exit_code == 0
    (record,) = ndef.message_decoder(out.read_bytes())
    assert record.iri == credential.to_url("https://v.example.cn")


def test_decode_reads_a_message_back_and_ignores_unrelated_records(tmp_path: Path) -> None:
    credential = make_credential(card_uid=UID)
    ours = list(ndef.message_decoder(encode_message(credential, BASE_URL, NdefForm.EXTERNAL)))
    shared = b"".join(ndef.message_encoder([ndef.TextRecord("公交卡 transit"), *ours]))
    path = tmp_path / "shared.ndef"
    path.write_bytes(shared)
    result = run("nfc", "decode", str(path), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["claims"]["serial"] == 61442 and info["claims"]["card_uid"] == UID.hex()
    assert [r["type"] for r in info["records"]] == ["urn:nfc:wkt:T", EXTERNAL_TYPE]
    assert "NOT VERIFIED" in run("nfc", "decode", str(path)).stdout


def test_decode_accepts_a_type2_tlv_dump(tmp_path: Path) -> None:
    credential = make_credential()
    path = tmp_path / "dump.bin"
    path.write_bytes(
        bytes.fromhex("0103A00C34") + type2_tlv(encode_message(credential, BASE_URL, NdefForm.BOTH))
    )
    result = run("nfc", "decode", str(path), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["size"] == len(credential.to_bytes())


def test_decode_of_a_file_without_a_credential_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "other.ndef"
    path.write_bytes(b"".join(ndef.message_encoder([ndef.TextRecord("hello")])))
    result = run("nfc", "decode", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == "错误 / error: 卡内没有安心码 / no 安心码 on this card"


def test_write_then_read_over_a_reader(tmp_path: Path) -> None:
    card = EmulatedCard.blank(1)
    credential = make_credential(card_uid=card.idm)
    with CardEmulator([card, card]) as emulator:
        written = run(
            "nfc", "write", "--device", emulator.path, credential.to_url(BASE_URL), "--wait", "3", "--json"
        )
        assert written.exit_code == 0, written.output
        assert json.loads(written.stdout)["message_bytes"] == len(card.message())
        assert card.message() == encode_message(credential, BASE_URL, NdefForm.BOTH)  # auto: both fit
        read = run("nfc", "read", "--device", emulator.path, "--wait", "3", "--json")
    assert read.exit_code == 0, read.output
    report = json.loads(read.stdout)
    assert report["card"]["uid"] == card.idm.hex() and report["card"]["type"] == "Type3Tag"
    assert report["credential"]["hex"] == credential.to_hex()
    assert report["credential"]["bound_to_this_card"] is True
    assert report["originality"]["status"] == "unavailable"


def test_write_refuses_a_credential_bound_to_another_card() -> None:
    card = EmulatedCard.blank(1)
    with CardEmulator([card]) as emulator:
        result = run(
            "nfc",
            "write",
            "--device",
            emulator.path,
            make_credential(card_uid=bytes(8)).to_hex(),
            "--wait",
            "3",
        )
    assert result.exit_code == 2 and "另一张卡" in result.stderr
    assert card.message() == b""


def test_lock_asks_first_and_will_not_run_unconfirmed_from_a_script() -> None:
    result = run("nfc", "lock", "--device", "udp:127.0.0.1:9")
    assert result.exit_code != 0 and "--yes" in result.output


def test_lock_of_a_card_that_cannot_be_locked_says_why() -> None:
    with CardEmulator([EmulatedCard.blank(1)]) as emulator:
        result = run("nfc", "lock", "--device", emulator.path, "--yes", "--wait", "3")
    assert result.exit_code == 2 and "NTAG21x" in result.stderr


def test_no_reader_is_one_line_in_both_languages() -> None:
    result = run("nfc", "read", "--device", "usb")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("错误 / error: ") and "lsusb" in line and "\n" not in line


def test_no_card_in_time_is_a_clear_error() -> None:
    with CardEmulator() as emulator:
        result = run("nfc", "read", "--device", emulator.path, "--wait", "0.5")
    assert result.exit_code == 2 and "秒内没有放卡" in result.stderr


def test_the_nfc_part_imports_no_other_part_and_not_the_cli() -> None:
    """docs/interfaces.md: nfc is floor 3, beside issuer and verifier, below cli."""
    import ast

    package = Path(__file__).resolve().parents[2] / "anxinma" / "nfc"
    imported: set[str] = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    forbidden = {
        name for name in imported if name.split(".")[:2] in (["anxinma", "verifier"], ["anxinma", "issuer"])
    }
    assert not forbidden and "anxinma.cli" not in imported
    assert "anxinma.ndef" in imported and "nfc.tag.tt2_nxp" in imported


def test_station_encode_prints_a_line_per_card_and_status_reads_the_journal(tmp_path: Path) -> None:
    from tests.nfc.station_helpers import worker_names, write_batch
    from tests.nfc.stub_issuer import TOKEN, RunningStubIssuer

    workers = worker_names(2)
    batch = write_batch(tmp_path / "batch.csv", workers)
    with (
        RunningStubIssuer(tmp_path / "issuer", workers) as issuer,
        CardEmulator([EmulatedCard.blank(1), EmulatedCard.blank(2)]) as emulator,
    ):
        result = run(
            "station", "encode", "--batch", str(batch), "--issuer", issuer.url, "--device", emulator.path,
            "--token", TOKEN, "--card-timeout", "3",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "已写入并校验" in line]
    assert len(lines) == 2 and "02fe000000000001" in lines[0] and "w001" in lines[0]
    assert "完成 done 2" in result.stdout and (tmp_path / "batch.csv.report.csv").exists()
    status = run("station", "status", "--batch", str(batch), "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["counts"] == {"done": 2}


def test_station_lock_needs_confirmation_from_a_script(tmp_path: Path) -> None:
    from tests.nfc.station_helpers import worker_names, write_batch

    batch = write_batch(tmp_path / "batch.csv", worker_names(1))
    result = run(
        "station",
        "encode",
        "--batch",
        str(batch),
        "--issuer",
        "http://127.0.0.1:9",
        "--device",
        "udp",
        "--lock",
    )
    assert result.exit_code != 0 and "--yes" in result.output
    assert not (tmp_path / "batch.csv.journal.sqlite3").exists()


def test_a_batch_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text("worker_id,name\n1,李小霞\n", encoding="utf-8")
    result = run(
        "station", "encode", "--batch", str(batch), "--issuer", "http://127.0.0.1:9", "--device", "udp"
    )
    assert result.exit_code == 2
    assert "display_name" in result.stderr and "缺少列" in result.stderr
