"""``anxinma nfc …`` and ``anxinma station …``: thin shells over anxinma.nfc (loaded lazily by cli).

Output for people goes to the terminal in Chinese and English; ``--json`` prints what scripts
read. Errors are one line ``错误 / error: …`` and exit status 2 (anxinma.cli_support.friendly). The station
exits 0 when the batch is finished with nothing failed, 1 when finished with failures, 3 when
it stopped early (no card in time; run it again to resume) and 130 on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from anxinma import credential as fmt
from anxinma.cli_support import friendly, read_text
from anxinma.errors import MalformedCredential, NfcError
from anxinma.keys import default_home
from anxinma.ndef import NdefForm, decode_message, encode_message, parse_type2_tlv, type2_tlv

SECRET_ENV = "ANXINMA_CARD_SECRET"
TOKEN_ENV = "ANXINMA_TOKEN"
EXIT_FAILURES, EXIT_STOPPED, EXIT_INTERRUPTED = 1, 3, 130


device_option = click.option(
    "--device", "device", required=True, help="Reader: usb, usb:VID:PID, tty:USB0:pn532, udp[:host:port]."
)
wait_option = click.option(
    "--wait",
    "wait",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for a card.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
form_option = click.option(
    "--form",
    type=click.Choice(["auto", *(f.value for f in NdefForm)]),
    default="auto",
    show_default=True,
    help="auto: both records when they fit the card, else the external record only.",
)
yes_option = click.option("--yes", is_flag=True, help="Do not ask before locking.")


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _base_url(explicit: str | None, code: str) -> str:
    if explicit:
        return explicit
    return fmt.base_url_of(code) or os.environ.get("ANXINMA_BASE_URL", fmt.DEFAULT_BASE_URL)


def _fits(message: bytes) -> list[dict[str, Any]]:
    from anxinma.nfc.budget import CHIPS

    return [
        {"chip": chip.name, "capacity": chip.capacity(), "fits": chip.fits(len(message))} for chip in CHIPS
    ]


def _secret(enabled: bool) -> bytes | None:
    if not enabled:
        return None
    secret = os.environ.get(SECRET_ENV)
    if secret is None and sys.stdin.isatty():
        secret = click.prompt(
            "卡片密码口令 / card password secret", hide_input=True, confirmation_prompt=True
        )
    if not secret or len(secret) < 8:
        raise click.UsageError(f"--password needs a secret of 8 characters or more in ${SECRET_ENV}")
    return secret.encode()


def _confirm_lock(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError("locking is permanent: confirm with --yes when not at a terminal")
    click.confirm(
        "锁定后卡片永久只读，无法撤销。确定？ / Locking makes the card read-only forever. Continue?",
        abort=True,
    )


@click.group("nfc")
def nfc() -> None:
    """NFC cards: NDEF forms, read, write, lock."""


# -- NDEF forms (no reader) ---------------------------------------------------------------


@nfc.command("encode")
@click.argument("code")
@click.option(
    "--form", type=click.Choice([f.value for f in NdefForm]), default=NdefForm.BOTH.value, show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--base-url",
    default=None,
    help="Verify base URL of the URI record (default: CODE's, or $ANXINMA_BASE_URL).",
)
@click.option(
    "--tlv", is_flag=True, help="Write the Type 2 NDEF TLV (03 L … FE) instead of the bare message."
)
@json_option
@friendly
def encode_command(
    code: str, form: str, output: Path, base_url: str | None, tlv: bool, as_json: bool
) -> None:
    """Write the raw NDEF message for a credential (the bytes that go inside the NDEF TLV)."""
    text = read_text(code).strip()
    credential = fmt.decode_text(text)
    message = encode_message(credential, _base_url(base_url, text), form)
    data = type2_tlv(message) if tlv else message
    output.write_bytes(data)
    fits = _fits(message)
    if as_json:
        _echo_json(
            {
                "file": str(output),
                "form": form,
                "message_bytes": len(message),
                "written_bytes": len(data),
                "fits": fits,
            }
        )
        return
    click.echo(f"wrote {output}: {len(data)} bytes ({form} form, NDEF message {len(message)} bytes)")
    for entry in fits:
        mark = "✓" if entry["fits"] else "✗"
        click.echo(f"  {mark} {entry['chip']} ({entry['capacity']} bytes)")


@nfc.command("decode")
@click.argument("file", type=click.File("rb"))
@json_option
@friendly
def decode_command(file: Any, as_json: bool) -> None:
    """Read an NDEF message (or a Type 2 TLV dump) and show the credential in it, NOT verified."""
    import ndef

    data = file.read()
    message = parse_type2_tlv(data) if data[:1] in (b"\x00", b"\x01", b"\x02", b"\x03") else data
    raw = decode_message(message)
    credential = fmt.decode(raw)
    records = [
        {"type": record.type, "bytes": len(bytes(record.data))}
        for record in ndef.message_decoder(message, errors="relax")
    ]
    info = {
        "message_bytes": len(message),
        "records": records,
        "kid": credential.kid_hex,
        "size": len(raw),
        "claims": credential.claims.to_mapping(),
    }
    if as_json:
        _echo_json(info)
        return
    click.echo("未验证 / NOT VERIFIED — decoded only")
    click.echo(f"NDEF message {len(message)} bytes, {len(records)} record(s):")
    for record in records:
        click.echo(f"  {record['type']}  {record['bytes']} bytes")
    _print_claims(credential)


def _print_claims(credential: fmt.Credential) -> None:
    click.echo(f"kid: {credential.kid_hex}   size: {len(credential.to_bytes())} bytes")
    for name, value in credential.claims.to_mapping().items():
        if value is not None:
            click.echo(f"  {name}: {', '.join(value) if isinstance(value, list) else value}")


# -- the reader ---------------------------------------------------------------------------


def _present(device: str, wait: float) -> tuple[Any, Any]:
    from anxinma.nfc.reader import Reader

    reader = Reader.open(device)
    click.echo(f"请放卡 / present a card on {reader.description} …", err=True)
    try:
        card = reader.wait_for_card(wait)
    except BaseException:
        reader.close()
        raise
    return reader, card


def card_report(card: Any) -> dict[str, Any]:
    """What ``nfc read`` shows about a card: identity, NDEF area, originality, credential (unverified)."""
    info = card.ndef_info()
    report: dict[str, Any] = {
        "card": card.to_json(),
        "ndef": info.to_json(),
        "originality": card.originality().to_json(),
        "credential": None,
        "error": None,
    }
    if not info.formatted:
        return report
    message = card.read_message()
    report["ndef"]["message_hex"] = message.hex()
    if not message:
        return report
    try:
        credential = fmt.decode(decode_message(message))
    except MalformedCredential as exc:
        report["error"] = exc.explain()
        return report
    bound = credential.claims.card_uid
    report["credential"] = {
        "kid": credential.kid_hex,
        "size": len(credential.to_bytes()),
        "hex": credential.to_hex(),
        "claims": credential.claims.to_mapping(),
        "bound_to_this_card": None if bound is None else bound == card.uid,
    }
    return report


@nfc.command("read")
@device_option
@wait_option
@json_option
@friendly
def read_command(device: str, wait: float, as_json: bool) -> None:
    """Read a card: UID, chip, NDEF area, originality signature, and its credential (NOT verified)."""
    reader, card = _present(device, wait)
    with reader:
        report = card_report(card)
    if as_json:
        _echo_json(report)
        return
    _print_card(report)


def _print_card(report: dict[str, Any]) -> None:
    card, ndef_info, originality = report["card"], report["ndef"], report["originality"]
    click.echo(f"卡号 UID: {card['uid']}   {card['product']} ({card['type']})")
    if not ndef_info["formatted"]:
        click.echo("  未做 NDEF 格式化 / not NDEF formatted")
    else:
        state = "可写 writable" if ndef_info["writable"] else "只读 read-only"
        click.echo(f"  NDEF: {ndef_info['length']} / {ndef_info['capacity']} bytes, {state}")
    click.echo(f"  原厂签名 originality: {originality['status']} — {originality['reason']}")
    credential = report["credential"]
    if credential is None:
        click.echo(f"  {report['error'] or '卡内没有安心码 / no 安心码 on this card'}")
        return
    click.echo("  安心码（未验证）/ credential (NOT verified):")
    bound = credential["bound_to_this_card"]
    if bound is not None:
        click.echo(
            "  卡号绑定 binding: " + ("与此卡一致 matches this card" if bound else "与此卡不符 NOT this card")
        )
    claims = credential["claims"]
    click.echo(f"  {claims['display_name']}  serial {claims['serial']}  issuer {claims['issuer_code']}")


@nfc.command("write")
@device_option
@click.argument("code", required=False)
@click.option(
    "--message", "message_file", type=click.File("rb"), help="Write this raw NDEF message file instead."
)
@form_option
@click.option("--base-url", default=None, help="Verify base URL of the URI record (default: CODE's).")
@click.option("--lock", is_flag=True, help="Lock the card permanently after writing (asks first).")
@yes_option
@click.option(
    "--password",
    "use_password",
    is_flag=True,
    help=f"Write-protect with a password derived from ${SECRET_ENV}.",
)
@click.option("--format", "format_blank", is_flag=True, help="Format a blank NTAG21x first.")
@wait_option
@json_option
@friendly
def write_command(
    device: str,
    code: str | None,
    message_file: Any,
    form: str,
    base_url: str | None,
    lock: bool,
    yes: bool,
    use_password: bool,
    format_blank: bool,
    wait: float,
    as_json: bool,
) -> None:
    """Write a credential (or a raw NDEF message) to a card, read it back and compare."""
    if (code is None) == (message_file is None):
        raise click.UsageError("give either CODE or --message FILE")
    if lock and use_password:
        raise click.UsageError("--lock and --password are alternatives")
    credential = None
    if code is not None:
        text = read_text(code).strip()
        credential = fmt.decode_text(text)
        base = _base_url(base_url, text)
    secret = _secret(use_password)
    if lock:
        _confirm_lock(yes)
    reader, card = _present(device, wait)
    with reader:
        bound = credential.claims.card_uid if credential is not None else None
        if bound is not None and bound != card.uid:
            raise NfcError(
                f"this credential is bound to the card {bound.hex()}, not to this card {card.uid.hex()}: "
                "a copy would be rejected; write it on its own card",
                message_zh=f"此安心码绑定的是另一张卡 {bound.hex()}，不是这张卡 {card.uid.hex()}：复制到别的卡会被拒绝，请写到它自己的卡上",
            )
        if format_blank:
            card.format()
        if secret is not None and card.is_ntag21x and not card.ndef_info().writable:
            card.authenticate(secret)
        if credential is not None:
            message = _message_for_card(credential, base, form, card.capacity())
        else:
            message = message_file.read()
        card.write_message(message)
        if secret is not None:
            card.protect_with_password(secret)
        if lock:
            card.lock()
        with reader.signal():
            pass
        result = {
            "card": card.to_json(),
            "message_bytes": len(message),
            "locked": lock,
            "password": secret is not None,
        }
    if as_json:
        _echo_json(result)
        return
    extra = "，已锁定 locked" if lock else ("，已设密码 password protected" if secret is not None else "")
    click.echo(f"已写入并校验 / written and verified: {len(message)} bytes on {card.uid.hex()}{extra}")


def _message_for_card(credential: fmt.Credential, base: str, form: str, capacity: int) -> bytes:
    if form == "auto":
        both = encode_message(credential, base, NdefForm.BOTH)
        return both if len(both) <= capacity else encode_message(credential, base, NdefForm.EXTERNAL)
    return encode_message(credential, base, form)


@nfc.command("lock")
@device_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@wait_option
@json_option
@friendly
def lock_command(device: str, yes: bool, wait: float, as_json: bool) -> None:
    """Lock a card permanently (read-only). This cannot be undone."""
    _confirm_lock(yes)
    reader, card = _present(device, wait)
    with reader:
        card.lock()
    if as_json:
        _echo_json({"card": card.to_json(), "locked": True})
        return
    click.echo(f"已永久锁定 / locked for good: {card.uid.hex()}")


@nfc.command("devices")
@json_option
@friendly
def devices_command(as_json: bool) -> None:
    """List the supported USB readers and whether this user may open them."""
    from anxinma.nfc.device import list_usb_readers

    readers = list_usb_readers()
    if as_json:
        _echo_json([reader.to_json() for reader in readers])
        return
    if not readers:
        click.echo("没有找到 USB 读卡器 / no supported USB reader found")
    for reader in readers:
        state = "可用 ok" if reader.accessible else f"无权限 no access — udev: {reader.udev_rule()}"
        click.echo(
            f"{reader.path}  usb:{reader.vendor_id:04x}:{reader.product_id:04x}  {reader.driver}  {state}"
        )


# -- the encoding station -------------------------------------------------------------------


@click.group("station")
def station() -> None:
    """The card desk: encode a batch onto blank cards, or take tap check-ins (按月打卡)."""


class _ConsoleListener:
    """Rich progress bar, a running count and one line per card."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.task = progress.add_task("", total=None)
        self.total = 0
        self.done = 0
        self.failed = 0

    def _describe(self, text: str) -> None:
        self.progress.update(
            self.task, description=f"完成 {self.done}/{self.total} 失败 {self.failed} · {text}"
        )

    def start(self, total: int, done: int) -> None:
        self.total, self.done = total, done
        self.progress.update(self.task, total=total, completed=done)

    def waiting(self, worker: Any, again: bool) -> None:
        self._describe(f"请放卡 / card for {worker.display_name} ({worker.worker_id})")

    def card_done(self, worker: Any, attempt: Any, resumed: bool) -> None:
        self.done += 1
        self.progress.update(self.task, completed=self.done)
        self._describe("取走此卡 / take the card off")
        flags = " 已锁定 locked" if attempt.locked else ""
        flags += " （续做 resumed）" if resumed else ""
        self.progress.console.print(
            f"[green]✓[/] {self.done}/{self.total} {worker.display_name} ({worker.worker_id}) "
            f"卡 card {attempt.card_uid.hex()} 编号 serial {attempt.serial} "
            f"{attempt.form} {len(attempt.message or b'')} B 已写入并校验 written and verified{flags}",
            markup=True,
            highlight=False,
        )

    def card_refused(self, worker: Any, card_uid: bytes, reason: str, *, remove: bool) -> None:
        tail = " — 请取走此卡 / take it off the reader" if remove else ""
        self.progress.console.print(f"[yellow]![/] 卡 card {card_uid.hex()}: {reason}{tail}", highlight=False)

    def worker_failed(self, worker: Any, reason: str) -> None:
        self.failed += 1
        self._describe("")
        self.progress.console.print(
            f"[red]✗[/] {worker.display_name} ({worker.worker_id}): {reason}", highlight=False
        )

    def note(self, message: str) -> None:
        self.progress.console.print(f"[cyan]i[/] {message}", highlight=False)


class _JsonListener:
    """One JSON object a line on stdout for each thing that happens."""

    def _emit(self, event: str, **fields: Any) -> None:
        click.echo(json.dumps({"event": event, **fields}, ensure_ascii=False))

    def start(self, total: int, done: int) -> None:
        self._emit("start", total=total, done=done)

    def waiting(self, worker: Any, again: bool) -> None:
        self._emit("waiting", worker_id=worker.worker_id, again=again)

    def card_done(self, worker: Any, attempt: Any, resumed: bool) -> None:
        self._emit(
            "card_done",
            worker_id=worker.worker_id,
            card_uid=attempt.card_uid.hex(),
            serial=attempt.serial,
            form=attempt.form,
            message_bytes=len(attempt.message or b""),
            locked=attempt.locked,
            resumed=resumed,
        )

    def card_refused(self, worker: Any, card_uid: bytes, reason: str, *, remove: bool) -> None:
        self._emit(
            "card_refused", worker_id=worker.worker_id, card_uid=card_uid.hex(), reason=reason, remove=remove
        )

    def worker_failed(self, worker: Any, reason: str) -> None:
        self._emit("worker_failed", worker_id=worker.worker_id, reason=reason)

    def note(self, message: str) -> None:
        self._emit("note", message=message)


@station.command("encode")
@click.option("--batch", "batch_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--issuer", "issuer_url", required=True, help="The issuer's base URL.")
@device_option
@click.option("--token", default=None, help=f"Enterprise API token (default: ${TOKEN_ENV}).")
@form_option
@click.option("--lock", is_flag=True, help="Lock every card permanently after it is verified (asks once).")
@yes_option
@click.option(
    "--password",
    "use_password",
    is_flag=True,
    help=f"Write-protect cards with passwords derived from ${SECRET_ENV}.",
)
@click.option("--format", "format_blank", is_flag=True, help="Format blank NTAG21x cards.")
@click.option("--overwrite", is_flag=True, help="Reuse cards that carry other data.")
@click.option(
    "--allow-unverified-chips", is_flag=True, help="Accept NTAG21x chips whose originality signature fails."
)
@click.option("--journal", "journal_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--card-timeout",
    type=click.FloatRange(0.1),
    default=None,
    help="Stop when no card comes for this many seconds.",
)
@click.option(
    "--badges",
    "badges_pdf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Print the batch's badges into FILE.pdf, in batch order (every finished card, resumed runs too).",
)
@click.option(
    "--badge-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write one badge PDF per card into this directory as each card is finished.",
)
@click.option(
    "--badge-layout",
    type=click.Choice(["card", "a4"]),
    default="card",
    show_default=True,
    help="card: one CR80 card a page (card printers); a4: ten a sheet (office printers).",
)
@click.option("--issuer-name", default=None, help="Issuer printed on the badges, e.g. 宁波市商务局.")
@json_option
@friendly
def station_encode(
    batch_file: Path,
    issuer_url: str,
    device: str,
    token: str | None,
    form: str,
    lock: bool,
    yes: bool,
    use_password: bool,
    format_blank: bool,
    overwrite: bool,
    allow_unverified_chips: bool,
    journal_file: Path | None,
    report_file: Path | None,
    card_timeout: float | None,
    badges_pdf: Path | None,
    badge_dir: Path | None,
    badge_layout: str,
    issuer_name: str | None,
    as_json: bool,
) -> None:
    """Encode a batch of workers onto blank cards: issue UID-bound, write, verify, report; resumable.

    With --badges (and/or --badge-dir) the badges are printed too: a badge that cannot be
    printed is reported and never undoes the card (exit status 1 then, if nothing else failed).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from anxinma.nfc.batch import load_batch
    from anxinma.nfc.issuer_client import IssuerClient
    from anxinma.nfc.journal import Journal, default_journal_path
    from anxinma.nfc.reader import Reader
    from anxinma.nfc.report import default_report_path, write_report
    from anxinma.nfc.station import Station, StationForm, StationOptions, StationStopped

    batch = load_batch(batch_file)
    if badges_pdf is not None and badges_pdf.suffix.lower() != ".pdf":
        raise click.BadParameter("the badge file must end in .pdf", param_hint="--badges")
    badges = None
    if badges_pdf is not None or badge_dir is not None:
        from anxinma.nfc.badges import StationBadges

        badges = StationBadges(
            batch, pdf=badges_pdf, directory=badge_dir, layout=badge_layout, issuer_name=issuer_name
        )
    options = StationOptions(
        form=StationForm(form),
        lock=lock,
        password_secret=_secret(use_password),
        overwrite=overwrite,
        format_blank=format_blank,
        allow_unverified_chips=allow_unverified_chips,
        card_timeout=card_timeout,
    )
    if lock:
        _confirm_lock(yes)
    client = IssuerClient(issuer_url, token or os.environ.get(TOKEN_ENV))
    journal_path = journal_file or default_journal_path(batch_file, default_home())
    report_path = report_file or default_report_path(journal_path)
    status = 0
    with Journal(journal_path) as journal, Reader.open(device) as reader:
        console = Console(stderr=as_json, highlight=False, soft_wrap=True)  # card lines never wrap
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
            transient=False,
        )
        listener: Any = _JsonListener() if as_json else _ConsoleListener(progress)
        runner = Station(reader, client, journal, batch, options, listener=listener, on_encoded=badges)
        try:
            with progress:
                summary = runner.run()
            status = EXIT_FAILURES if summary.failed else 0
        except StationStopped as exc:
            summary = runner.summary()
            summary.stopped = exc.explain()
            status = EXIT_STOPPED
        except KeyboardInterrupt:
            summary = runner.summary()
            summary.stopped = "interrupted / 已中断"
            status = EXIT_INTERRUPTED
        finally:  # the report is right whatever stopped the run (the journal is the truth)
            write_report(report_path, batch, journal)
            badge_outcome = badges.finish(journal) if badges is not None else None
    result = {**summary.to_json(), "report": str(report_path), "journal": str(journal_path)}
    if badge_outcome is not None:
        result["badges"] = badge_outcome.to_json()
        if (badge_outcome.failed or badge_outcome.error) and status == 0:
            status = EXIT_FAILURES
    if as_json:
        click.echo(json.dumps({"event": "summary", **result}, ensure_ascii=False))
    else:
        click.echo(
            f"完成 done {summary.done}，失败 failed {summary.failed}，跳过 skipped {summary.skipped}，"
            f"未做 pending {summary.pending}；报告 report: {report_path}"
        )
        if summary.stopped:
            click.echo(f"已停止 / stopped: {summary.stopped}；再次运行同一命令即可续做 / run again to resume")
        if badge_outcome is not None:
            _print_badges(badge_outcome)
    sys.exit(status)


def _print_badges(outcome: Any) -> None:
    if outcome.pdf and outcome.cards:
        click.echo(f"证卡 badges: {outcome.pdf}（{outcome.cards} 张 / cards, batch order）")
    if outcome.written:
        click.echo(f"单卡 PDF / one-card PDFs written: {len(outcome.written)}")
    for failure in outcome.failed:
        click.echo(f"  ✗ 证卡未打印 / badge not printed: {failure['worker_id']}: {failure['reason']}")
    if outcome.error:
        click.echo(f"  ✗ 证卡文件未写入 / badge PDF not written: {outcome.error}")


@station.command("status")
@click.option("--batch", "batch_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--journal", "journal_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@json_option
@friendly
def station_status(batch_file: Path, journal_file: Path | None, as_json: bool) -> None:
    """Show how far a batch has come, from its journal."""
    from anxinma.nfc.batch import load_batch
    from anxinma.nfc.journal import Journal, default_journal_path
    from anxinma.nfc.report import report_rows

    batch = load_batch(batch_file)
    journal_path = journal_file or default_journal_path(batch_file, default_home())
    if not journal_path.exists():
        raise click.ClickException(f"此批次尚未开始 / no journal yet at {journal_path}")
    with Journal(journal_path) as journal:
        rows = report_rows(batch, journal)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    if as_json:
        _echo_json({"journal": str(journal_path), "counts": counts, "workers": rows})
        return
    click.echo(" ".join(f"{name} {count}" for name, count in sorted(counts.items())))
    for row in rows:
        if row["status"] != "done":
            click.echo(f"  {row['status']:8} {row['worker_id']} {row['display_name']} {row['reason']}")


@station.command("check-ins")
@click.option(
    "--queue",
    "queue_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check-in queue (default: $ANXINMA_HOME/station/check-ins.sqlite3).",
)
@click.option("--month", default=None, help="Only this month (YYYY-MM).")
@click.option("--state", type=click.Choice(["queued", "sent", "rejected"]), default=None)
@json_option
@friendly
def station_check_ins(queue_file: Path | None, month: str | None, state: str | None, as_json: bool) -> None:
    """The station's check-in queue: what is waiting to be sent, sent, or refused by the issuer."""
    from anxinma.nfc.checkin_display import local_time
    from anxinma.nfc.checkin_queue import CheckInQueue, default_queue_path

    path = queue_file or default_queue_path(default_home())
    if not path.exists():
        raise click.ClickException(f"此站点还没有打卡记录 / no check-ins yet: {path}")
    with CheckInQueue(path) as queue:
        entries = queue.entries(state=state, month=month)
        counts = queue.counts()
    if as_json:
        _echo_json({"queue": str(path), "counts": counts, "check_ins": [e.to_json() for e in entries]})
        return
    click.echo(
        f"{path}: 待上传 queued {counts['queued']} · 已上传 sent {counts['sent']} · "
        f"被拒 rejected {counts['rejected']}"
    )
    labels = {"queued": "待上传 queued", "sent": "已上传 sent", "rejected": "被拒 rejected"}
    for entry in entries:
        tail = f"  {entry.last_error}" if entry.state != "sent" and entry.last_error else ""
        click.echo(
            f"  {entry.month}  {entry.display_name:6} 服务员 worker {entry.worker_id:<8} "
            f"{local_time(entry.tapped_at)}  {labels[entry.state]}{tail}"
        )


__all__ = ["card_report", "nfc", "station"]
