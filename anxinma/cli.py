"""The ``anxinma`` command: the root group and the composition root of the command line
(operators script it: keep it stable).

What is here: the root group with its table of lazily loaded commands (:data:`LAZY_COMMANDS`:
each part keeps its own commands in ``anxinma/<part>/commands.py``, imported only when named;
``anxinma --help`` imports none of them); the foundation's commands (``keys``, ``credential``,
``qr``, ``demo``), each importing the library when it runs; and the commands that compose two
parts which may not import each other (``verify-card`` and ``station check-in``: NFC reading +
offline verification), where the verifier is wired into the NFC desk's protocols
(:class:`BundleTapVerifier` feeds :class:`anxinma.nfc.desk_verifier.ReloadingTapVerifier`).

Every command follows :mod:`anxinma.cli_support`: a library error is one line in Chinese and
English and exit status 2; no command prints a stack trace for bad input.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from anxinma.cli_support import friendly, read_code
from anxinma.errors import AnxinmaError

if TYPE_CHECKING:  # the library is imported by each command when it runs: `anxinma --help` stays fast
    from anxinma import credential as fmt
    from anxinma.keys import KeyDirectory

F = TypeVar("F", bound=Callable[..., Any])


def decode_code(code: str | bytes) -> fmt.Credential:
    """The (unverified) credential of a CODE as :func:`read_code` gives it."""
    from anxinma import credential as fmt

    return fmt.decode(code) if isinstance(code, bytes) else fmt.decode_text(code)


key_dir_option = click.option(
    "--dir",
    "key_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Key directory (default: $ANXINMA_HOME/keys).",
)


def _root_key(path: Path) -> bytes:
    """``--root-key FILE`` read by the one reader of root keys (PEM or 64 hex digits)."""
    from anxinma.errors import KeyStoreError
    from anxinma.keys.jwk import read_public_key

    try:
        return read_public_key(path.read_bytes())
    except KeyStoreError as exc:
        raise click.BadParameter(f"--root-key: {exc.explain()}") from None


def _key_dir(path: Path | None) -> Path:
    from anxinma.keys import default_key_dir

    return path if path is not None else default_key_dir()


def _key_directory(path: Path | None) -> KeyDirectory:
    """The key directory a ``keys`` command works on: ``--dir``, else the default one."""
    from anxinma.keys import KeyDirectory

    return KeyDirectory(_key_dir(path))


class Lazy(NamedTuple):
    """A command of :data:`LAZY_COMMANDS`: where it lives (``"module:attr"``) and its short help,
    which ``anxinma --help`` lists without importing the module (a test keeps the two equal)."""

    target: str
    help: str


#: Commands that live beside the part they drive, loaded only when named, so that
#: ``anxinma --help`` imports none of them and ``anxinma credential inspect`` does not import
#: Flask, SQLAlchemy or nfcpy. Each part keeps its commands in ``anxinma/<part>/commands.py``
#: (importing only its own part and the layers below); a command that composes two parts (tap
#: check-in: NFC reading + offline verification) is defined here, in the composition root.
LAZY_COMMANDS: dict[str, Lazy] = {
    "badge": Lazy(
        "anxinma.badge.commands:badge", "Print badges (居家上门服务证) for a batch of credentials as one PDF."
    ),
    "serve": Lazy(
        "anxinma.wsgi:serve",
        "Run the issuer service (development server; production: gunicorn, docs/operations.md).",
    ),
    "token": Lazy("anxinma.issuer.commands:token", "API tokens (stored hashed; shown once)."),
    "user": Lazy(
        "anxinma.issuer.commands:user", "Console accounts (username + password) for the web consoles."
    ),
    "audit": Lazy("anxinma.issuer.commands:audit", "The hash-chained audit log."),
    "jobs": Lazy("anxinma.issuer.commands:jobs", "Jobs for cron."),
    "verify": Lazy(
        "anxinma.verifier.commands:verify",
        "Verify a 安心码 or a dynamic code: CODE (any text form, or - for stdin), --image PHOTO or --url LINK.",
    ),
    "present": Lazy(
        "anxinma.verifier.commands:present",
        "Print the dynamic code of a holder-bound credential: CODE (any text form of the credential, or a dynamic code to make afresh) with a proof by --holder-key at --at.",
    ),
    "verifier": Lazy(
        "anxinma.verifier.commands:verifier",
        "Trust bundles for offline verification: sync them from issuers, see how old they are.",
    ),
    "nfc": Lazy("anxinma.nfc.commands:nfc", "NFC cards: NDEF forms, read, write, lock."),
    "station": Lazy(
        "anxinma.nfc.commands:station",
        "The card desk: encode a batch onto blank cards, or take tap check-ins (按月打卡).",
    ),
}
LAZY_COMMANDS["config"] = Lazy(
    "anxinma.issuer.config_commands:config", "The service's configuration (environment variables)."
)


class LazyGroup(click.Group):
    """A click group whose listed subcommands are imported on first use (click's lazy pattern)."""

    def __init__(self, *args: Any, lazy: dict[str, Lazy] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy if lazy is not None else {}

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's entry point, with its own errors (a bad option, a missing file) in the house
        style: one line, ``错误 / error: …``, exit status 2; never click's multi-line usage dump."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            hint = f"（{exc.ctx.command_path} --help）" if exc.ctx is not None else ""
            click.echo(f"错误 / error: 用法有误 / usage: {exc.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"错误 / error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("已取消 / aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            import importlib

            module_name, attr = self.lazy[cmd_name].target.split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
                raise TypeError(f"{self.lazy[cmd_name].target} is not a click command")
            if isinstance(command, click.Group):
                for sub in composed_subcommands(cmd_name):
                    command.add_command(sub)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's command list, with a command not yet loaded described from its table entry:
        ``anxinma --help`` imports no part of the library."""
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                rows.append((name, self.lazy[name].help))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                # click's own shortening (a first sentence, cut at a word), on the table's text
                formatter.write_dl(
                    [(name, click.Command(name, help=text).get_short_help_str(limit)) for name, text in rows]
                )


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="anxinma")
def main() -> None:
    """安心码 Anxinma: issue and verify home-service worker credentials."""


# -- keys ---------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Root and issuer keys, JWKS and the trust list."""


@keys.command("init")
@key_dir_option
@click.option("--insecure-dev", is_flag=True, help="Store private keys unencrypted (development only).")
@click.option(
    "--issuer-code",
    type=int,
    default=None,
    help="6-digit division code of the issuer (a city). Without it: a root-only directory (a regulator).",
)
@click.option("--issuer-name", default=None, help="The issuer's name (with --issuer-code).")
@click.option(
    "--base-url",
    default=None,
    help="The issuer's public URL (with --issuer-code; default: `anxinma serve` on this machine).",
)
@friendly
def keys_init(
    key_dir: Path | None,
    insecure_dev: bool,
    issuer_code: int | None,
    issuer_name: str | None,
    base_url: str | None,
) -> None:
    """Create a key directory: a root key and an issuer key (--issuer-code C --issuer-name N
    --base-url U, a city), or only a root key (no --issuer-code: a regulator, whose trust lists
    name exactly the issuers it adds with `keys add-issuer`)."""
    from anxinma import credential as fmt
    from anxinma.keys import KeyDirectory

    path = _key_dir(key_dir)
    if issuer_code is None and (issuer_name is not None or base_url is not None):
        raise click.UsageError(
            "--issuer-name 与 --base-url 需与 --issuer-code 一起使用 / --issuer-name and --base-url need --issuer-code"
        )
    store = KeyDirectory.init(
        path,
        issuer_code=issuer_code,
        issuer_name=issuer_name or "宁波市商务局 (开发)",
        base_url=base_url or fmt.DEFAULT_BASE_URL,
        insecure_dev=insecure_dev,
    )
    if insecure_dev:
        click.echo(
            "警告 / warning: --insecure-dev: private keys are NOT encrypted; never use them in production",
            err=True,
        )
    if store.root_only:
        click.echo(
            f"created {path}: root key only (a regulator's directory): add issuers with "
            f"`anxinma keys add-issuer FILE --dir {path}`, then sign `anxinma keys trust-list --dir {path} -o FILE`"
        )
        return
    click.echo(f"created {path}: root key and issuer key {store.signing_kid.hex()} (issuer {issuer_code})")


@keys.command("set-base-url")
@click.argument("url")
@key_dir_option
@friendly
def keys_set_base_url(url: str, key_dir: Path | None) -> None:
    """Change the issuer's public base URL on purpose (its identity: codes, discovery, the trust
    list). Verifiers see it with the next trust list; codes already printed keep the old URL."""
    directory = _key_directory(key_dir)
    before = directory.issuer.base_url
    directory.set_issuer(base_url=url)
    after = directory.issuer.base_url
    click.echo(f"基础地址 / base URL: {before} -> {after}")
    if (directory.path / "root.key.pem").exists():
        click.echo("  the service signs and serves a new trust list on its next request")
    else:
        click.echo(
            f"  send the new descriptor to the regulator: `anxinma keys descriptor --dir {directory.path}`"
        )


@keys.command("rotate")
@key_dir_option
@friendly
def keys_rotate(key_dir: Path | None) -> None:
    """Add a new signing key; older keys keep verifying until retired."""
    record = _key_directory(key_dir).rotate()
    click.echo(f"new signing key {record.kid.hex()}; publish a new trust list (`anxinma keys trust-list`)")


@keys.command("retire")
@click.argument("kid")
@key_dir_option
@friendly
def keys_retire(kid: str, key_dir: Path | None) -> None:
    """Retire a key: what it signed stops verifying once the new trust list is out."""
    record = _key_directory(key_dir).retire(_kid(kid))
    click.echo(f"key {record.kid.hex()} retired")


@keys.command("compromised")
@click.argument("kid")
@key_dir_option
@friendly
def keys_compromised(kid: str, key_dir: Path | None) -> None:
    """Declare a key compromised: it is dropped and nothing it signed verifies."""
    record = _key_directory(key_dir).compromised(_kid(kid))
    click.echo(f"key {record.kid.hex()} marked compromised; publish a new trust list now")


def _kid(text: str) -> bytes:
    from anxinma.credential import KID_SIZE

    hint = f"密钥标识是 {KID_SIZE} 字节的十六进制 / a kid is {KID_SIZE} bytes in hex, e.g. be5d"
    try:
        kid = bytes.fromhex(text)
    except ValueError:
        raise click.BadParameter(hint) from None
    if len(kid) != KID_SIZE:
        raise click.BadParameter(hint)
    return kid


@keys.command("jwks")
@key_dir_option
@friendly
def keys_jwks(key_dir: Path | None) -> None:
    """Print the issuer's verifying keys as a JWKS (OKP, Ed25519)."""
    from anxinma.keys import jwks

    click.echo(json.dumps(jwks(_key_directory(key_dir)), indent=2))


@keys.command("root")
@key_dir_option
@friendly
def keys_root(key_dir: Path | None) -> None:
    """Print the root public key (PEM), the key verifiers pin."""
    click.echo(_key_directory(key_dir).root_public_pem().decode().rstrip())


@keys.command("descriptor")
@key_dir_option
@friendly
def keys_descriptor(key_dir: Path | None) -> None:
    """Print this issuer's public trust-list entry, for the root holder to import."""
    click.echo(json.dumps(_key_directory(key_dir).descriptor(), ensure_ascii=False, indent=2))


@keys.command("add-issuer")
@click.argument("descriptor", type=click.File("r", encoding="utf-8"))
@key_dir_option
@friendly
def keys_add_issuer(descriptor: Any, key_dir: Path | None) -> None:
    """Import another issuer's descriptor into the trust list this root signs."""
    try:
        entry = json.load(descriptor)
    except ValueError as exc:
        raise click.BadParameter(f"不是 JSON / not JSON: {exc}") from None
    directory = _key_directory(key_dir)
    directory.add_peer(entry)
    click.echo(
        f"issuer {entry.get('code')} added; a service on this home serves the new trust list on its next "
        f"request; to hand it to cities: `anxinma keys trust-list --dir {directory.path} -o FILE`"
    )


@keys.command("trust-list")
@key_dir_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="Validity.")
@friendly
def keys_trust_list(key_dir: Path | None, output: Path, days: int) -> None:
    """Build and sign the trust list with the root key."""
    from anxinma.keys import build_trust_list
    from anxinma.keys.store import atomic_write

    token = build_trust_list(_key_directory(key_dir), validity=timedelta(days=days))
    atomic_write(output, token.encode())
    click.echo(f"wrote {output}")


# -- credential ---------------------------------------------------------------------------


@main.group()
def credential() -> None:
    """Issue, inspect and verify credentials offline."""


@credential.command("issue")
@key_dir_option
@click.option("--claims", "claims_file", type=click.File("r", encoding="utf-8"), required=True)
@click.option(
    "--format", "form", type=click.Choice(["url", "binary", "hex"]), default="url", show_default=True
)
@click.option("--base-url", default=None, help="Verify base URL (default: the issuer's).")
@friendly
def credential_issue(key_dir: Path | None, claims_file: Any, form: str, base_url: str | None) -> None:
    """Sign the claims in a JSON file and print the credential."""
    from anxinma import credential as fmt

    try:
        data = json.load(claims_file)
    except ValueError as exc:
        raise click.BadParameter(f"声明文件不是 JSON / the claims file is not JSON: {exc}") from None
    claims = fmt.Claims.from_mapping(data)
    store = _key_directory(key_dir)
    kid, key = store.signing_key()
    cred = fmt.sign(claims, key, kid)
    if form == "binary":
        sys.stdout.buffer.write(cred.to_bytes())
    elif form == "hex":
        click.echo(cred.to_hex())
    else:
        click.echo(cred.to_url(base_url or store.issuer.base_url))


@credential.command("inspect")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def credential_inspect(code: str, as_json: bool) -> None:
    """Decode a credential WITHOUT verifying it: show its claims and kid."""
    cred = decode_code(read_code(code))
    info = {"kid": cred.kid_hex, "size": len(cred.to_bytes()), "claims": cred.claims.to_mapping()}
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    click.echo("未验证 / NOT VERIFIED — decoded only")
    click.echo(f"kid: {cred.kid_hex}   size: {info['size']} bytes")
    for name, value in cred.claims.to_mapping().items():
        if value is not None:
            click.echo(f"  {name}: {', '.join(value) if isinstance(value, list) else value}")


@credential.command("verify")
@click.argument("code")
@click.option(
    "--trust-list",
    "trust_list_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
)
@click.option(
    "--root-key", "root_key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--json", "as_json", is_flag=True)
@friendly
def credential_verify(code: str, trust_list_file: Path, root_key_file: Path, as_json: bool) -> None:
    """Check a credential's SIGNATURE and dates offline against a trust list and the root key.

    Revocation is NOT checked (no status list is read): a revoked credential passes. To know
    whether it was revoked use `anxinma verify` (after `anxinma verifier sync`). Exit 0 when the
    signature is valid and the credential in its validity, 1 otherwise.
    """
    from anxinma.keys import TrustList
    from anxinma.verifier import Verifier

    root = _root_key(root_key_file)
    trust_list = TrustList.load(trust_list_file.read_text("ascii", "replace"), root)
    result = Verifier(trust_list).verify(read_code(code))
    if as_json:
        document = {**result.to_json(), "revocation_checked": False}
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif result.ok:
        click.secho(
            "签名有效（未检查是否吊销） SIGNATURE VALID — revocation NOT checked", fg="yellow", bold=True
        )
        click.echo(_NOT_CHECKED)
        print_result(result, False, headline=False)
    else:
        print_result(result, False)
        click.echo(_NOT_CHECKED)
    sys.exit(0 if result.ok else 1)


_NOT_CHECKED = (
    "  ! 此命令不检查吊销状态：已吊销的安心码在这里也显示签名有效。请用 anxinma verify 核验"
    "（先运行 anxinma verifier sync） / this command does not check revocation: a revoked credential "
    "passes here. Use `anxinma verify` (after `anxinma verifier sync`)"
)


def print_result(result: Any, as_json: bool, *, headline: bool = True) -> None:
    """Shared by every verify command: JSON (stable, documented) or a few lines for people."""
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    if headline:
        colour = {"valid": "green", "attention": "yellow"}.get(result.status.value, "red")
        click.secho(f"{result.status.label_zh} {result.status.value.upper()}", fg=colour, bold=True)
    for reason in result.reasons:
        click.echo(f"  - {reason}")
    if result.claims is not None:
        claims = result.claims
        categories = "、".join(c.zh for c in sorted(claims.categories, key=lambda c: c.bit))
        click.echo(
            f"  {claims.display_name}  {categories}  serial {claims.serial}  issuer {claims.issuer_code}"
        )
        click.echo(f"  valid {claims.issued_at.date()} – {claims.last_valid_day}")  # both days included


# -- qr -----------------------------------------------------------------------------------


@main.command("qr")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--base-url", default=None, help="Verify base URL (default: the one in CODE, else $ANXINMA_BASE_URL)."
)
@click.option("--scale", type=click.IntRange(1, 50), default=8, show_default=True)
@friendly
def qr_command(code: str, output: Path, base_url: str | None, scale: int) -> None:
    """Render a credential's QR code to FILE.svg or FILE.png."""
    from anxinma import credential as fmt
    from anxinma.qr import render

    if output.suffix.lower() not in (".svg", ".png"):
        raise click.BadParameter("输出文件须以 .svg 或 .png 结尾 / the output file must end in .svg or .png")
    given = read_code(code)
    cred = decode_code(given)
    text = given.strip() if isinstance(given, str) else ""
    base = base_url or fmt.base_url_of(text) or os.environ.get("ANXINMA_BASE_URL") or fmt.DEFAULT_BASE_URL
    version = render(cred, base, output, scale=scale)
    click.echo(f"wrote {output} (QR version {version}-M)")


# -- NFC + verifier (composed here: anxinma.nfc never imports anxinma.verifier) -----------


def composed_subcommands(group: str) -> list[click.Command]:
    """Commands defined here that join a part's lazily loaded group (``station check-in``)."""
    return [station_check_in] if group == "station" else []


class _BundleSource:
    """A verifier trust-bundle directory as the check-in desk's
    :class:`~anxinma.nfc.desk_verifier.TrustSource` (the wiring: nfc never imports verifier)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bundle: Any = None  # the TrustBundle in use, once loaded

    def state(self) -> Hashable:
        from anxinma.verifier.bundle import TrustBundle

        return TrustBundle.current_state(self.directory)

    def load(self) -> tuple[Hashable, Any]:
        from anxinma.verifier import Verifier
        from anxinma.verifier.bundle import TrustBundle

        bundle = TrustBundle.load(self.directory)
        verifier = Verifier.from_trust_bundle(bundle)
        self.bundle = bundle

        def verify(credential: bytes, card_uid: bytes) -> Any:
            return verifier.verify(credential, card_uid=card_uid)

        return bundle.state, verify


class BundleTapVerifier:
    """The check-in desk's tap verifier over a bundle directory: the desk's own
    :class:`~anxinma.nfc.desk_verifier.ReloadingTapVerifier` (reload, verdict) with the
    verifier's bundle wired in, and :meth:`issuer_of` (which issuer the desk sends to)."""

    def __init__(self, directory: Path) -> None:
        from anxinma.nfc.desk_verifier import ReloadingTapVerifier

        self.directory = directory
        self._source = _BundleSource(directory)
        self._taps = ReloadingTapVerifier(self._source)

    @property
    def bundle(self) -> Any:
        """The :class:`~anxinma.verifier.bundle.TrustBundle` in use."""
        return self._source.bundle

    def refresh(self) -> bool:
        return self._taps.refresh()

    def __call__(self, credential: bytes, card_uid: bytes) -> Any:
        return self._taps(credential, card_uid)

    def issuer_of(self, issuer_url: str | None) -> tuple[str, int | None]:
        """(issuer URL, issuer code) the desk sends to: ``issuer_url``'s origin in the bundle, or
        the bundle's only origin. Raises :class:`click.UsageError` when it cannot tell."""
        from anxinma.verifier.bundle import origin_name

        if issuer_url is not None:
            name = origin_name(issuer_url)
            for issuer in self.bundle.issuers:
                if issuer.origin == name:
                    return issuer_url.rstrip("/"), issuer.issuer_code
            raise click.UsageError(
                f"the bundle {self.directory} has no trust bundle of {issuer_url}: run "
                f"`anxinma verifier sync --issuer {issuer_url} --dir {self.directory}` first "
                f"/ 信任包中没有此发证机构，请先同步"
            )
        if len(self.bundle.issuers) == 1:
            issuer = self.bundle.issuers[0]
            url = str(issuer.meta.get("issuer_url") or issuer.meta.get("base_url") or "")
            if url:
                return url.rstrip("/"), issuer.issuer_code
        raise click.UsageError(
            "give --issuer URL (the bundle holds several issuers) / 请用 --issuer 指定发证机构"
        )


def _bundle_option(func: F) -> F:
    return click.option(
        "--bundle",
        "bundle_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Trust bundle directory (default: $ANXINMA_HOME/bundles; `anxinma verifier sync` fills it).",
    )(func)


@main.command("verify-card")
@click.option("--device", required=True, help="Reader: usb, usb:VID:PID, tty:USB0:pn532, udp[:host:port].")
@_bundle_option
@click.option(
    "--trust-list",
    "trust_list_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Instead of a bundle: a trust list file (needs --root-key).",
)
@click.option("--root-key", "root_key_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--status-list", "status_list_files", type=click.Path(dir_okay=False, path_type=Path), multiple=True
)
@click.option("--wait", type=click.FloatRange(0.1), default=30.0, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True)
@friendly
def verify_card(
    device: str,
    bundle_dir: Path | None,
    trust_list_file: Path | None,
    root_key_file: Path | None,
    status_list_files: tuple[Path, ...],
    wait: float,
    as_json: bool,
) -> None:
    """Read an NFC card and verify its credential offline against the card's own UID.

    The trust bundle (`--bundle`, default $ANXINMA_HOME/bundles) is the normal source; a
    trust list with its root key (`--trust-list F --root-key K [--status-list F …]`) still
    works. A credential bound to another card (a copy) is rejected; the chip's NXP originality
    signature is checked where it has one. Exit 0 only if valid and not a counterfeit chip.
    """
    from anxinma.nfc.checkin import read_tap
    from anxinma.nfc.originality import OriginalityStatus
    from anxinma.nfc.reader import Reader
    from anxinma.verifier import Source, Status, VerificationResult

    verifier = _card_verifier(bundle_dir, trust_list_file, root_key_file, status_list_files)
    with Reader.open(device) as reader:
        click.echo(f"请放卡 / present a card on {reader.description} …", err=True)
        card = reader.wait_for_card(wait)
        tap = read_tap(card)
    source = Source("offline", None, f"NFC card {tap.uid.hex()}")
    if tap.message is None or not tap.message:
        problem = tap.problem or "卡内没有安心码 / no 安心码 on this card"
        result = VerificationResult(Status.MALFORMED, (problem,), source=source)
    else:
        from anxinma.errors import MalformedCredential
        from anxinma.ndef import decode_message

        try:
            raw = decode_message(tap.message)
        except MalformedCredential as exc:
            result = VerificationResult(Status.MALFORMED, (exc.explain(),), source=source)
        else:
            result = verifier.verify(raw, card_uid=tap.uid, source=source)
    genuine_chip = tap.originality.status is not OriginalityStatus.NOT_GENUINE
    if as_json:
        card_info = {**card.to_json(), "originality": tap.originality.to_json()}
        click.echo(json.dumps({**result.to_json(), "card": card_info}, ensure_ascii=False, indent=2))
    else:
        print_result(result, as_json=False)
        click.echo(f"  卡号 card {tap.uid.hex()} ({tap.product}): {tap.originality.reason}")
    sys.exit(0 if result.ok and genuine_chip else 1)


def _card_verifier(
    bundle_dir: Path | None,
    trust_list_file: Path | None,
    root_key_file: Path | None,
    status_list_files: tuple[Path, ...],
) -> Any:
    """The verifier of ``verify-card``: a bundle, or (the older way) trust list + root key files."""
    from anxinma.keys import TrustList
    from anxinma.verifier import Verifier

    if trust_list_file is None:
        if root_key_file is not None or status_list_files:
            raise click.UsageError("--root-key and --status-list go with --trust-list")
        from anxinma.verifier.bundle import default_bundle_dir

        return Verifier.from_bundle(bundle_dir or default_bundle_dir())
    if bundle_dir is not None:
        raise click.UsageError("give --bundle or --trust-list, not both")
    if root_key_file is None:
        raise click.UsageError("--trust-list needs --root-key (the pinned root public key)")
    from anxinma.status_list import load_status_list

    root = _root_key(root_key_file)
    trust_list = TrustList.load(trust_list_file.read_text("ascii", "replace"), root)
    # Status lists count only under an active key of the list (TrustList.active_key), as everywhere.
    lists = [
        load_status_list(path.read_text("ascii", "replace").strip(), trust_list.active_key)
        for path in status_list_files
    ]
    return Verifier(trust_list, {(sl.issuer_code, sl.shard): sl for sl in lists} or None)


#: Exit status of ``station check-in`` (docs/checkin.md): 3 = check-ins still queued after
#: ``--sync-only`` (the issuer is away: run it again later), 130 = Ctrl-C.
EXIT_STILL_QUEUED, EXIT_INTERRUPTED = 3, 130


@click.command("check-in")
@click.option("--device", default=None, help="Reader: usb, usb:VID:PID, tty:USB0:pn532, udp[:host:port].")
@_bundle_option
@click.option(
    "--issuer", "issuer_url", default=None, help="The issuer's base URL (default: the bundle's only one)."
)
@click.option(
    "--token", default=None, help="card_operator (or enterprise_admin) token (default: $ANXINMA_TOKEN)."
)
@click.option(
    "--station",
    "station_name",
    default=None,
    help="This desk's name, kept with each check-in (default: host name).",
)
@click.option(
    "--queue", "queue_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Check-in queue (default: $ANXINMA_HOME/station/check-ins.sqlite3).",
)  # fmt: skip
@click.option("--sync-only", is_flag=True, help="Send the queued check-ins now and exit (no reader).")
@click.option(
    "--idle", type=click.FloatRange(0.1), default=None, help="Stop after this many seconds without a card."
)
@click.option(
    "--refresh-bundle", type=click.FloatRange(0), default=30.0, show_default=True,
    help="Minutes between background syncs of the issuer's bundle (0: never).",
)  # fmt: skip
@click.option(
    "--max-backoff", type=click.FloatRange(0.1), default=120.0, show_default=True,
    help="Longest wait (seconds) between two tries to reach the issuer while it is away.",
)  # fmt: skip
@click.option("--no-sound", is_flag=True, help="No terminal bell.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@friendly
def station_check_in(
    device: str | None,
    bundle_dir: Path | None,
    issuer_url: str | None,
    token: str | None,
    station_name: str | None,
    queue_file: Path | None,
    sync_only: bool,
    idle: float | None,
    refresh_bundle: float,
    max_backoff: float,
    no_sound: bool,
    as_json: bool,
) -> None:
    """Tap check-in (按月打卡) at a desk: verify each card offline, record it, send it when online.

    A check-in is queued on this station before the screen says "recorded" and sent to the
    issuer in the background (retried with backoff, and on every tap); one per worker and month.
    Exit 0 when the desk closes (--idle), 130 on Ctrl-C; with --sync-only 0 when nothing is left
    queued, 3 when the issuer could not be reached (run it again), 2 on an error.
    """
    from anxinma.keys import default_home
    from anxinma.nfc.checkin import CheckInDesk, CheckInSender
    from anxinma.nfc.checkin_display import ConsoleDeskListener, JsonDeskListener
    from anxinma.nfc.checkin_queue import CheckInQueue, default_queue_path
    from anxinma.nfc.issuer_client import IssuerClient

    token = token or os.environ.get("ANXINMA_TOKEN") or None
    queue_path = queue_file or default_queue_path(default_home())
    listener: Any
    if as_json:
        listener = JsonDeskListener()
    else:
        from rich.console import Console

        listener = ConsoleDeskListener(Console(highlight=False), sound=not no_sound)
    clients: dict[str, IssuerClient] = {}

    def client_for(url: str) -> IssuerClient | None:
        if not token:
            return None
        if url not in clients:
            clients[url] = IssuerClient(url, token, timeout=5.0, retries=0)
        return clients[url]

    if sync_only and not token:  # both checked before the queue file is made
        raise click.UsageError("--sync-only needs a token (--token or $ANXINMA_TOKEN)")
    if not sync_only and device is None:
        raise click.UsageError("--device is required (or --sync-only)")
    with CheckInQueue(queue_path) as queue:
        sender = CheckInSender(queue, client_for, listener=listener, max_backoff=max_backoff)
        if sync_only:
            report = sender.flush(force=True)
            counts = queue.counts()
            _check_in_summary(as_json, listener, {**_queue_counts(counts), "stopped": report.stopped})
            sys.exit(2 if report.token_refused else (EXIT_STILL_QUEUED if counts["queued"] else 0))
        assert device is not None
        from anxinma.nfc.reader import Reader
        from anxinma.verifier.bundle import default_bundle_dir

        directory = bundle_dir or default_bundle_dir()
        verify = BundleTapVerifier(directory)
        url, code = verify.issuer_of(issuer_url)
        station = (station_name or socket.gethostname())[:64]
        with Reader.open(device) as reader:
            desk = CheckInDesk(
                reader, queue, verify, issuer_url=url, issuer_code=code, station=station,
                sender=sender, listener=listener,
            )  # fmt: skip
            listener.ready(
                {
                    "station": station, "issuer_url": url, "issuer_code": code, "bundle": str(directory),
                    "queue": str(queue_path), "queued": queue.counts()["queued"], "token": bool(token),
                    "problems": list(verify.bundle.problems), "reader": reader.description,
                }
            )  # fmt: skip
            refresher = _BundleRefresher(url, directory, refresh_bundle * 60, listener)
            sender.start()
            refresher.start()
            status = 0
            try:
                summary = desk.run(idle=idle)
            except KeyboardInterrupt:
                summary, status = desk.summary, EXIT_INTERRUPTED
                summary.stopped = "已中断 / interrupted"
            finally:
                refresher.stop()
                sender.stop()
            final = sender.flush()  # one last round: what can go now, goes now
            counts = queue.counts()
        result = {**summary.to_json(), "sent_at_close": final.sent, **_queue_counts(counts)}
        _check_in_summary(as_json, listener, result)
    sys.exit(status)


def _queue_counts(counts: dict[str, int]) -> dict[str, int]:
    """The queue's totals (one per state, :meth:`CheckInQueue.counts`) as both summaries report them."""
    return {f"queue_{state}": n for state, n in counts.items()}


def _check_in_summary(as_json: bool, listener: Any, result: dict[str, Any]) -> None:
    if as_json:
        listener.emit("summary", **result)
        return
    queued, sent, rejected = result["queue_queued"], result["queue_sent"], result["queue_rejected"]
    if "taps" in result:
        click.echo(
            f"刷卡 taps {result['taps']}：打卡 recorded {result['recorded']}，本月已打 already {result['already']}，"
            f"拒绝 refused {result['refused']}"
        )
    click.echo(
        f"队列 queue：已上传 sent {sent}，待上传 waiting {queued}，被拒 refused by the issuer {rejected}"
    )
    if result.get("stopped"):
        click.echo(f"  {result['stopped']}")
    if queued:
        click.echo(
            "  待上传的打卡会在联网后自动上传，或运行 --sync-only / queued check-ins go when online, or run --sync-only"
        )


class _BundleRefresher:
    """Syncs the desk's issuer bundle every ``interval`` seconds in the background (0: never),
    so a station that runs for days keeps its revocation list fresh; a failed sync changes
    nothing (the bundle in use stays) and is said once."""

    def __init__(self, issuer_url: str, directory: Path, interval: float, listener: Any) -> None:
        import threading

        self.issuer_url, self.directory, self.interval, self.listener = (
            issuer_url,
            directory,
            interval,
            listener,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bundle-refresh", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        from anxinma.verifier.sync import sync

        failing = False
        while not self._stop.wait(self.interval):
            try:
                sync(self.issuer_url, self.directory, trust_on_first_use=False, timeout=10)
                failing = False
            except AnxinmaError as exc:
                if not failing:
                    self.listener.note(
                        f"信任包同步失败，继续使用现有的 / bundle sync failed, keeping the current one: {exc.explain()}"
                    )
                failing = True


# -- demo ---------------------------------------------------------------------------------


@main.command("demo")
@friendly
def demo() -> None:
    """Create development keys (if none), sign a demo credential, render its QR and verify it.

    The credential is signed from the local keyring and registered nowhere: beside a running
    service with the same keys its URL opens that service's page, whose live check cannot know
    it. The command says so rather than let the page's "unknown" surprise a new user.
    """
    from anxinma import credential as fmt
    from anxinma.keys import KeyDirectory, TrustList, build_trust_list, default_home
    from anxinma.qr import render
    from anxinma.verifier import Verifier

    home = default_home()
    key_path = home / "keys"
    if not (key_path / "keyring.json").exists():
        KeyDirectory.init(key_path, insecure_dev=True)
        click.echo(f"开发密钥 / development keys (UNENCRYPTED, --insecure-dev): {key_path}")
    store = KeyDirectory(key_path)
    today = datetime.now(fmt.CHINA_TZ).date()
    claims = fmt.Claims(
        issuer_code=store.issuer.code,
        serial=61442,
        subject_kind=fmt.SubjectKind.WORKER,
        archive_id=123456,
        enterprise_id=253,
        display_name=fmt.mask_name("李小霞"),
        categories=frozenset({fmt.Category.INFANT_CARE, fmt.Category.ELDERLY_CARE, fmt.Category.CLEANING}),
        issued_at=fmt.parse_when(today.isoformat(), "issued_at"),
        expires_at=fmt.parse_when(
            date(today.year + 1, today.month, min(today.day, 28)).isoformat(), "expires_at"
        ),
    )
    kid, key = store.signing_key()
    cred = fmt.sign(claims, key, kid)
    url = cred.to_url(store.issuer.base_url)
    qr_path = home / "demo-qr.png"
    version = render(cred, store.issuer.base_url, qr_path)
    token = build_trust_list(store, sequence=store.trust_list_sequence + 1)  # a local list: the keyring stays
    result = Verifier(TrustList.load(token, store.root_public_key, now=datetime.now(UTC))).verify(url)
    click.echo(f"安心码 / credential ({len(cred.to_bytes())} bytes):\n{url}")
    click.echo(f"二维码 / QR (version {version}-M): {qr_path}")
    print_result(result, as_json=False)
    click.echo(
        "注意：这张安心码只在本机签发，没有登记到任何签发服务，网页在线核验会显示“未登记”；"
        "要看服务上的完整流程，请打开 scripts/serve 打印的演示网址。\n"
        "Note: this credential was signed here and is registered with no issuer service, so the page's "
        "live check says it is unknown; for the whole flow, open the demo URLs scripts/serve printed."
    )


if __name__ == "__main__":  # pragma: no cover
    main()
