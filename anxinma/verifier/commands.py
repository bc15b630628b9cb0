"""``anxinma verify``, ``anxinma present`` and ``anxinma verifier sync|status``: a thin shell over
the verifier library.

Exit status (docs/verifier.md, "Exit codes"): ``verify`` exits 0 only for ``valid``, 1 for
every other verdict, 2 when it could not verify at all (no bundle, an unreadable file, bad
usage); ``verifier sync`` exits 0 when every issuer synced, 2 otherwise. No command prints a
stack trace (set ``ANXINMA_DEBUG=1`` to see one).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from anxinma.cli_support import friendly
from anxinma.credential import SubjectKind
from anxinma.errors import AnxinmaError
from anxinma.verifier.offline import age_text
from anxinma.verifier.result import Status, VerificationResult


def _bundle_dir(path: Path | None) -> Path:
    from anxinma.verifier.bundle import default_bundle_dir

    return path if path is not None else default_bundle_dir()


#: Where ``verifier sync`` keeps the bundles and ``verifier status`` reads them.
bundle_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Bundle directory (default: $ANXINMA_HOME/bundles).",
)


# -- verify -------------------------------------------------------------------------------


@click.command("verify")
@click.argument("code", required=False)
@click.option(
    "--image",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A photo or screenshot holding the QR code (PNG, JPEG, WebP…).",
)
@click.option("--url", help="The scanned verification link (…/v/<digits> or …/v#<digits>).")
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Trust bundle directory (default: $ANXINMA_HOME/bundles).",
)
@click.option("--offline", is_flag=True, help="Never touch the network: the bundle's verdict only.")
@click.option("--json", "as_json", is_flag=True, help="The stable JSON result (docs/verifier.md).")
@click.option("--card-uid", default=None, help="UID of the NFC card the credential was read from (hex).")
@click.option(
    "--timeout", type=click.FloatRange(0.1, 60), default=2.0, show_default=True, help="Live lookup, seconds."
)
@click.option(
    "--at",
    "at",
    default=None,
    help="Verify as of this time (ISO 8601; UTC without an offset), e.g. 2026-12-01T09:30:20+08:00.",
)
@friendly
def verify(
    code: str | None,
    image: Path | None,
    url: str | None,
    bundle: Path | None,
    offline: bool,
    as_json: bool,
    card_uid: str | None,
    timeout: float,
    at: str | None,
) -> None:
    """Verify a 安心码 or a dynamic code: CODE (any text form, or - for stdin), --image PHOTO
    or --url LINK.

    Exit status 0 only when the credential is valid; 1 for any other verdict (a holder-bound
    credential without a fresh proof of its phone: holder_proof_missing, holder_proof_expired,
    bad_holder_proof); 2 when it could not be verified at all.
    """
    from anxinma.verifier.bundle import TrustBundle
    from anxinma.verifier.scan import scan_image, verify_scan
    from anxinma.verifier.verifier import Verifier

    given = [
        name for name, value in (("CODE", code), ("--image", image), ("--url", url)) if value is not None
    ]
    if len(given) != 1:
        raise click.UsageError("give exactly one of CODE, --image PHOTO or --url LINK / 请只给出一种输入")
    uid = _card_uid(card_uid)
    loaded = TrustBundle.load(_bundle_dir(bundle))
    for problem in loaded.problems:
        click.echo(f"警告 / warning: {problem}", err=True)
    moment = _moment(at)
    verifier = (
        Verifier.from_trust_bundle(loaded)
        if moment is None
        else Verifier.from_trust_bundle(loaded, clock=lambda: moment)
    )

    def check(text: str) -> VerificationResult:
        if offline:
            return verifier.verify(text, card_uid=uid)
        return verifier.verify_online(text, card_uid=uid, timeout=timeout)

    scan = None
    if image is not None:
        scan = scan_image(image)
        result = verify_scan(scan, check)
    elif url is not None:
        result = check(_link_text(url))
    else:
        assert code is not None
        result = check(sys.stdin.read(64 * 1024) if code == "-" else code)
    used = next((i for i in loaded.issuers if i.origin == result.source.bundle), None)
    if used is not None and used.root_source == "tofu":
        click.secho(
            f"警告：{used.origin} 的根公钥为首次连接时信任（仅限开发） / warning: the root key of {used.origin} "
            "was trusted on first use (development only)",
            err=True,
            fg="yellow",
        )
    if as_json:
        document = result.to_json()
        if scan is not None:
            document["scan"] = scan.to_json()
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        _print_result(result)
    sys.exit(0 if result.status is Status.VALID else 1)


def _moment(text: str | None) -> datetime | None:
    """``--at``: an ISO 8601 time, UTC when it names no offset."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "an ISO 8601 time, e.g. 2026-12-01T09:30:20+08:00 / 请用 ISO 8601 时间", param_hint="--at"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- present ------------------------------------------------------------------------------


@click.command("present")
@click.argument("code")
@click.option(
    "--holder-key",
    "holder_key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The holder's Ed25519 private key: PEM, PKCS#8 (unencrypted).",
)
@click.option("--at", "at", default=None, help="The time of the proof (ISO 8601; default: now).")
@click.option(
    "--base-url",
    default=None,
    help="Verify host of the URL printed (default: the host of CODE when it is a URL; else digits).",
)
@friendly
def present(code: str, holder_key: Path, at: str | None, base_url: str | None) -> None:
    """Print the dynamic code of a holder-bound credential: CODE (any text form of the
    credential, or a dynamic code to make afresh) with a proof by --holder-key at --at.

    The text is the URL that opens the consumer page (…/v/<digits>), as the static code's is.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from anxinma import credential as fmt
    from anxinma import ed25519

    try:
        private = serialization.load_pem_private_key(holder_key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise click.BadParameter(
            f"not an unencrypted PEM PKCS#8 private key ({exc}) / 不是未加密的 PEM PKCS#8 私钥",
            param_hint="--holder-key",
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise click.BadParameter("not an Ed25519 key / 不是 Ed25519 密钥", param_hint="--holder-key")
    data = fmt.parse_text(code)
    cred = fmt.decode_presentation(data).credential if fmt.is_presentation(data) else fmt.decode(data)
    moment = _moment(at) or datetime.now(UTC)
    try:
        shown = fmt.present(cred, ed25519.SigningKey.from_cryptography(private), int(moment.timestamp()))
    except ValueError as exc:
        raise click.UsageError(f"{exc} / 无法生成动态码") from None
    base = base_url or fmt.base_url_of(code)
    click.echo(shown.to_url(base) if base else shown.to_decimal())


def _card_uid(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        uid = bytes.fromhex(text.replace(":", "").replace(" ", ""))
    except ValueError:
        raise click.BadParameter("a card UID is hex, e.g. 04a1b2c3d4e5f6", param_hint="--card-uid") from None
    if not 4 <= len(uid) <= 10:
        raise click.BadParameter("a card UID is 4 to 10 bytes", param_hint="--card-uid")
    return uid


def _link_text(url: str) -> str:
    """The link as the format reads it: a scheme is added when a scanner dropped it.

    Accepts ``https://host/v/<digits>``, ``/V/`` (the QR's upper-case form) and the fragment
    form ``https://host/v#<digits>``. The host is not trusted either way: only the signature
    and the trust list decide.
    """
    text = url.strip()
    if not text.lower().startswith(("http://", "https://")) and (
        "/v/" in text.lower() or "/v#" in text.lower()
    ):
        text = "https://" + text.lstrip("/")
    return text


def _print_result(result: VerificationResult) -> None:
    status = result.status
    colour = {Status.VALID: "green", Status.ATTENTION: "yellow", Status.STATUS_UNKNOWN: "yellow"}.get(
        status, "red"
    )
    click.secho(f"{status.label_zh} {status.value.upper()}", fg=colour, bold=True)
    for reason in result.reasons:
        click.echo(f"  - {reason}")
    claims = result.claims
    enterprise_subject = claims is not None and claims.subject_kind is SubjectKind.ENTERPRISE
    if claims is not None and enterprise_subject:
        # 一企一证一码: the enterprise itself, not a person (no 姓名, no worker certificates).
        click.echo(
            f"  企业 enterprise: {claims.display_name}  企业编号 enterprise no. {claims.enterprise_id}"
            f"  编号 serial {claims.serial}  签发 issuer {claims.issuer_code}"
        )
        click.echo(f"  有效期 valid {claims.issued_at.date()} – {claims.last_valid_day}")
    elif claims is not None:
        categories = "、".join(c.zh for c in sorted(claims.categories, key=lambda c: c.bit))
        click.echo(
            f"  {claims.display_name}  {categories}  编号 serial {claims.serial}  签发 issuer {claims.issuer_code}"
        )
        click.echo(f"  有效期 valid {claims.issued_at.date()} – {claims.last_valid_day}")
    source = result.source
    if source.kind == "live":
        click.echo(f"  来源 source: 在线 live ({source.detail})")
    elif source.bundle is not None:
        age = f"，{age_text(source.bundle_age_seconds)[0]}前" if source.bundle_age_seconds is not None else ""
        click.echo(f"  来源 source: 离线信任包 offline bundle {source.bundle}{age}")
    live = result.live
    if live and enterprise_subject:
        _print_enterprise_live(live)
    elif live:
        enterprise = live.get("enterprise") or {}
        if isinstance(enterprise, dict) and enterprise.get("name"):
            click.echo(f"  企业 enterprise: {enterprise['name']}")
        if live.get("star_level"):
            click.echo(f"  星级 star level: {'★' * int(live['star_level'])}")
        for item, label in (
            ("health_certificate", "健康证 health certificate"),
            ("insurance", "保险 insurance"),
        ):
            value = live.get(item)
            if isinstance(value, dict):
                state = "有效 valid" if value.get("valid") else "无效或缺失 missing or lapsed"
                until = f" (至 {value['valid_until']})" if value.get("valid_until") else ""
                click.echo(f"  {label}: {state}{until}")


def _print_enterprise_live(live: dict[str, Any]) -> None:
    """The live record of an enterprise's own code: its credit code and the public directory's
    figures (services/credit.py), as the consumer page shows them."""
    enterprise = live.get("enterprise") or {}
    if isinstance(enterprise, dict):
        if enterprise.get("name"):
            click.echo(f"  企业名称 enterprise name: {enterprise['name']}")
        if enterprise.get("credit_code"):
            click.echo(f"  统一社会信用代码 credit code: {enterprise['credit_code']}")
    credit = live.get("credit")
    if not isinstance(credit, dict):
        click.echo("  信用等级 credit grade: 未列入企业公示名录 not in the public directory")
        return
    click.echo(f"  信用等级 credit grade: {credit.get('grade')}")
    click.echo(
        f"  在册服务员 workers in service: {credit.get('workers_registered')}"
        f"  持证率 holding {_rate(credit.get('holding_rate'))}  亮证率 display {_rate(credit.get('display_rate'))}"
    )
    click.echo(
        f"  投诉 complaints: {credit.get('complaints')}  已办结 resolved {credit.get('complaints_resolved')}"
    )
    listed = int(credit.get("blacklisted") or 0)
    click.echo(f"  失信名单 blacklist: {f'{listed} 条 entries' if listed else '无 none'}")


def _rate(value: object) -> str:
    return f"{float(value) * 100:.0f}%" if isinstance(value, int | float) else "—"


# -- verifier sync / status ---------------------------------------------------------------


@click.group("verifier")
def verifier() -> None:
    """Trust bundles for offline verification: sync them from issuers, see how old they are."""


@verifier.command("sync")
@click.option(
    "--issuer", "issuers", multiple=True, required=True, help="Issuer base URL (repeat for several cities)."
)
@bundle_dir_option
@click.option(
    "--root-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The root public key to pin (PEM, as `anxinma keys root` prints it).",
)
@click.option("--replace-root", is_flag=True, help="Accept a --root-key that differs from the pinned one.")
@click.option("--follow", is_flag=True, help="Also sync every other issuer the trust list names.")
@click.option("--timeout", type=click.FloatRange(0.5, 300), default=10.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@friendly
def sync_command(
    issuers: tuple[str, ...],
    directory: Path | None,
    root_key: Path | None,
    replace_root: bool,
    follow: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Download and check trust lists, JWKS and status lists; swap each bundle in atomically."""
    from anxinma.verifier.bundle import read_root_key
    from anxinma.verifier.sync import TOFU_WARNING, sync

    pinned = read_root_key(root_key.read_bytes()) if root_key is not None else None
    target = _bundle_dir(directory)
    reports = []
    failures = 0
    for issuer in issuers:
        progress = None if as_json else (lambda message: click.echo(f"  {message}", err=True))
        try:
            report = sync(
                issuer,
                target,
                root_key=pinned,
                replace_root=replace_root,
                follow=follow,
                timeout=timeout,
                progress=progress,
            )
        except AnxinmaError as exc:
            failures += 1
            click.echo(f"错误 / error: {issuer}: {exc.explain()}", err=True)
            reports.append({"issuer_url": issuer, "error": exc.explain()})
            continue
        reports.append(report.to_json())
        if as_json:
            continue
        for done in (report, *report.followed):
            for warning in done.warnings:
                loud = warning == TOFU_WARNING
                click.secho(warning, err=True, fg="yellow" if not loud else "red", bold=loud)
            click.secho(
                f"已同步 / synced {done.issuer_name} ({done.issuer_code}) → {target / done.origin}",
                fg="green",
            )
            click.echo(
                f"  信任列表 trust list #{done.trust_list_sequence}, 状态列表 status lists {done.status_lists}; "
                f"更新 changed {len(done.changed)}, 未变 unchanged {len(done.unchanged)}; "
                f"{done.bytes_received} bytes in {done.requests} requests"
            )
        for error in report.follow_errors:
            click.echo(f"警告 / warning: {error}", err=True)
    if as_json:
        click.echo(json.dumps(reports, ensure_ascii=False, indent=2))
    sys.exit(2 if failures else 0)


@verifier.command("status")
@bundle_dir_option
@click.option("--json", "as_json", is_flag=True)
@friendly
def status_command(directory: Path | None, as_json: bool) -> None:
    """List the bundles, their issuers and how old each part is."""
    from anxinma.verifier.bundle import TrustBundle
    from anxinma.verifier.offline import DEFAULT_STATUS_MAX_AGE

    loaded = TrustBundle.load(_bundle_dir(directory), require=False)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for issuer in loaded.issuers:
        freshness = issuer.freshness.get(issuer.issuer_code or 0)
        lists = []
        for sl in sorted(issuer.status_lists.values(), key=lambda s: (s.issuer_code, s.shard)):
            # The age the verdicts report: the freshness document's when it vouches for this version.
            vouched = (
                freshness is not None and sl.version and freshness.lists(sl.shard, sl.version, sl.digest)
            )
            as_of = (
                max(freshness.issued_at, sl.issued_at) if vouched and freshness is not None else sl.issued_at
            )
            lists.append(
                {
                    "issuer_code": sl.issuer_code,
                    "shard": sl.shard,
                    "size": sl.size,
                    "version": sl.version,
                    "issued_at": sl.issued_at.isoformat(),
                    "fresh_as_of": as_of.isoformat(),
                    "age_seconds": int((now - as_of).total_seconds()),
                    "stale": now - as_of > DEFAULT_STATUS_MAX_AGE,
                }
            )
        rows.append(
            {
                "origin": issuer.origin,
                "issuer_code": issuer.issuer_code,
                "issuer_name": issuer.meta.get("issuer_name"),
                "generation": issuer.generation,
                "fetched_at": issuer.meta.get("fetched_at"),
                "root_source": issuer.root_source,
                "root_fingerprint": issuer.meta.get("root_fingerprint"),
                "trust_list_sequence": issuer.trust_list.sequence,
                "trust_list_expires_at": issuer.trust_list.expires_at.isoformat(),
                "trust_list_expired": now >= issuer.trust_list.expires_at,
                "issuers": sorted(issuer.trust_list.issuers),
                "freshness_seq": freshness.seq if freshness is not None else None,
                "status_lists": lists,
            }
        )
    # Which origin speaks for each issuer under the trust rules (docs/verifier.md), and conflicts.
    from anxinma.verifier.trust import choose_views

    views = choose_views(loaded.anchors())
    speaks = {str(code): view.anchor.name for code, view in sorted(views.views.items())}
    conflicts = {str(code): list(c.anchors) for code, c in sorted(views.conflicts.items())}
    if as_json:
        click.echo(
            json.dumps(
                {"bundles": rows, "views": speaks, "conflicts": conflicts, "problems": list(loaded.problems)},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not rows and not loaded.problems:
        click.echo(f"{loaded.directory} 中没有信任包 / no bundles in {loaded.directory}")
    for row, issuer in zip(rows, loaded.issuers, strict=True):
        fetched = issuer.fetched_at
        ago = f"{age_text((now - fetched).total_seconds())[0]}前" if fetched else "?"
        click.secho(f"{row['origin']}: {row['issuer_name']} ({row['issuer_code']})", bold=True)
        click.echo(f"  同步于 synced {row['fetched_at']} ({ago}), generation {row['generation']}")
        expired = "  已过期 EXPIRED" if row["trust_list_expired"] else ""
        click.echo(
            f"  信任列表 trust list #{row['trust_list_sequence']}, 至 until {row['trust_list_expires_at']}{expired}; "
            f"签发机构 issuers {', '.join(map(str, row['issuers']))}"
        )
        if row["root_source"] == "tofu":
            click.secho(
                "  根公钥为首次连接时信任（仅限开发） / root trusted on first use (development only)",
                fg="red",
            )
        for sl in row["status_lists"]:
            zh, en = age_text(sl["age_seconds"])
            stale = "  过期 STALE" if sl["stale"] else ""
            version = f" v{sl['version']}" if sl["version"] else ""
            click.echo(
                f"  状态列表 status list {sl['issuer_code']}/{sl['shard']}{version}: {sl['size']} serials, "
                f"{zh} ({en}){stale}"
            )
    for code, name in speaks.items():
        click.echo(f"签发机构 issuer {code}: 以 {name} 为准 / speaks through {name}")
    for code, names in conflicts.items():
        click.secho(
            f"签发机构 issuer {code}: 信任列表冲突，无法验证 / conflicting trust lists: {', '.join(names)}",
            fg="red",
        )
    for problem in loaded.problems:
        click.secho(f"问题 / problem: {problem}", fg="red", err=True)
