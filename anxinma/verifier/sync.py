"""Trust bundle sync: fetch an issuer's trust list, JWKS and status lists, check them, swap them in.

The protocol (docs/verifier.md, "Sync protocol"):

1. ``GET <issuer>/.well-known/anxinma``: the discovery document (URLs of everything else).
2. The root key: ``root_key`` if given, else the one pinned by the previous sync, else — first
   contact, development only — the discovery document's ``root_public_key``, trusted on first
   use with a loud warning.
3. ``GET`` the trust list; its root signature must verify under that key, its sequence must not
   be below the highest already accepted (a replayed older list is refused), it must not have
   expired, and it must name the issuer.
4. ``GET`` the JWKS: each key must agree with the trust list (the list is authoritative).
5. ``GET`` every status list shard: each must verify under an active key the trust list names
   for its issuer and must not be older than the one already held (a rollback is refused).
6. Only when everything has verified is a new generation written and swapped in
   (:class:`~anxinma.verifier.bundle.GenerationWriter`); until then the bundle in use is not
   touched, so an issuer that is down, a truncated download or a tampered file leaves it as it was.

Every request is conditional on the ETag of the previous sync (``If-None-Match``); a 304
reuses the previous generation's bytes, which are verified again like new ones.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from anxinma.credential import MAX_DIVISION_CODE, MIN_DIVISION_CODE
from anxinma.errors import AnxinmaError
from anxinma.keys.jwk import public_key_from_jwk
from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustList
from anxinma.status_list import (
    Freshness,
    StatusList,
)
from anxinma.verifier import bundle as layout
from anxinma.verifier.errors import BundleError, SyncError, refused
from anxinma.verifier.http import Fetched, Http
from anxinma.verifier.offline import DEFAULT_STATUS_MAX_AGE, age_text
from anxinma.verifier.status_sync import absolute, sync_status, sync_status_lists
from anxinma.verifier.trust import TOFU, HeldOrigin, admission_refusal

DISCOVERY_PATH = "/.well-known/anxinma"
DEFAULT_TIMEOUT = 10.0
MAX_STATUS_LISTS = 4096
TOFU_WARNING = (
    "警告：首次连接，信任了发现文档中的根公钥（仅限开发环境！生产环境请用 --root-key 固定根公钥） / "
    "WARNING: first contact: trusting the root key from the discovery document (development only! "
    "in production pin the root with --root-key)"
)

Progress = Callable[[str], None]


@dataclass
class SyncReport:
    """What one sync did. ``bytes_received`` counts response headers and bodies as received."""

    origin: str
    issuer_url: str
    issuer_code: int
    issuer_name: str
    generation: str
    trust_list_sequence: int
    root_source: str
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0
    status_lists: int = 0
    followed: list[SyncReport] = field(default_factory=list)
    follow_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # the followed reports too, recursively


@dataclass
class _Previous:
    """What the generation in use tells this sync: the pin, the sequence, ETags, old bytes."""

    path: Path
    meta: dict[str, Any]
    root_public_key: bytes
    status_lists: dict[tuple[int, int], StatusList]
    freshness: Freshness | None = None

    def resource(self, url: str) -> dict[str, Any] | None:
        entry = self.meta.get("resources", {}).get(url)
        return entry if isinstance(entry, dict) else None

    def body(self, url: str) -> bytes | None:
        entry = self.resource(url)
        if entry is None:
            return None
        try:
            data = (self.path / str(entry["file"])).read_bytes()
        except (OSError, KeyError):
            return None
        return data if layout.sha256(data) == entry.get("sha256") else None


def parse_discovery(data: bytes, url: str) -> dict[str, Any]:
    """The discovery document, its URLs made absolute; raises :class:`SyncError` naming the problem."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SyncError(
            f"{url} is not a discovery document (not JSON)", message_zh=f"{url} 不是发现文档（不是 JSON）"
        ) from exc
    if not isinstance(doc, dict):
        raise SyncError(f"{url} is not a discovery document (not a JSON object)")
    code = doc.get("issuer_code")
    if (
        not isinstance(code, int)
        or isinstance(code, bool)
        or not MIN_DIVISION_CODE <= code <= MAX_DIVISION_CODE
    ):
        raise SyncError(f"{url}: issuer_code {code!r} is not a 6-digit division code")
    lists = doc.get("status_lists", [])
    if not isinstance(lists, list) or len(lists) > MAX_STATUS_LISTS:
        raise SyncError(f"{url}: status_lists must be a list of URLs")
    root = doc.get("root_public_key")
    return {
        "issuer_code": code,
        "name": str(doc.get("name") or code),
        "base_url": str(doc.get("base_url") or ""),
        "trust_list": absolute(url, doc.get("trust_list"), "trust_list"),
        "jwks": absolute(url, doc["jwks"], "jwks") if doc.get("jwks") else None,
        "status_lists": [absolute(url, item, "status list") for item in lists],
        "status_freshness": absolute(url, doc["status_freshness"], "status_freshness")
        if doc.get("status_freshness")
        else None,
        "live_record": doc.get("live_record") if isinstance(doc.get("live_record"), str) else None,
        "root_public_key": root if isinstance(root, str) else None,
    }


def _load_previous(origin_dir: Path) -> tuple[_Previous | None, list[str]]:
    """The generation in use, if it loads and verifies; otherwise its pin alone, if that reads."""
    warnings: list[str] = []
    if layout.current_generation(origin_dir) is None:
        return None, warnings
    try:
        loaded = layout.IssuerBundle.load(origin_dir)
    except BundleError as exc:
        warnings.append(
            f"上次的信任包已损坏，将完整重新下载 / the previous bundle is damaged, fetching all: {exc.message}"
        )
        generation = layout.current_generation(origin_dir)
        assert generation is not None
        gen_dir = origin_dir / generation
        try:
            meta = json.loads((gen_dir / layout.META).read_text("utf-8"))
            pem = (gen_dir / layout.ROOT).read_bytes()
            if layout.sha256(pem) != meta["files"][layout.ROOT]:
                return None, warnings
            pin = layout.read_root_key(pem)
        except (OSError, ValueError, KeyError, TypeError, AnxinmaError):
            return None, warnings
        # Keep the pin and the replay floor; forget the ETags (their files are not trusted).
        kept = {k: meta[k] for k in ("trust_list_sequence", "root_source", "root_fingerprint") if k in meta}
        return _Previous(gen_dir, kept, pin, {}), warnings
    return _Previous(
        loaded.path / loaded.generation,
        loaded.meta,
        loaded.root_public_key,
        loaded.status_lists,
        loaded.freshness.get(loaded.issuer_code or 0),
    ), warnings


def sync(
    issuer_url: str,
    directory: Path | str | None = None,
    *,
    root_key: bytes | None = None,
    replace_root: bool = False,
    trust_on_first_use: bool = True,
    default_root: bytes | None = None,
    follow: bool = False,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Sync one issuer origin into ``directory`` (default ``$ANXINMA_HOME/bundles``).

    ``root_key`` pins the root (raw 32 bytes); a pin that differs from the previous one is
    refused unless ``replace_root``. ``default_root`` is used on first contact before falling
    back to trust on first use (``follow`` passes the referring list's root). With ``follow``,
    every other issuer the trust list names is synced too, from its ``base_url``; their
    failures are listed in ``follow_errors`` and do not undo this sync.

    Raises :class:`SyncError` (or :class:`BundleError`) when the sync is refused or cannot
    finish; the bundle in use is then exactly as it was.
    """
    say = progress or (lambda _message: None)
    root_dir = Path(directory) if directory is not None else layout.default_bundle_dir()
    origin = layout.origin_name(issuer_url)
    origin_dir = root_dir / origin
    own_session = session is None
    http = Http(session or requests.Session(), timeout)
    moment = now or datetime.now(UTC)
    new_origin = not origin_dir.exists()
    try:
        with layout.locked(origin_dir):
            layout.prune(origin_dir)
            report = _sync_locked(
                issuer_url, origin, origin_dir, http, say, moment,
                root_key=root_key, replace_root=replace_root,
                trust_on_first_use=trust_on_first_use, default_root=default_root,
            )  # fmt: skip
            layout.prune(origin_dir)
        if follow:
            _follow(report, root_dir, http, say, timeout)
        return report
    except BaseException:
        if new_origin and layout.current_generation(origin_dir) is None:
            shutil.rmtree(origin_dir, ignore_errors=True)  # a refused first sync leaves nothing behind
        raise
    finally:
        if own_session:
            http.session.close()


def _follow(report: SyncReport, root_dir: Path, http: Http, say: Progress, timeout: float) -> None:
    loaded = layout.IssuerBundle.load(root_dir / report.origin)
    for code, issuer in sorted(loaded.trust_list.issuers.items()):
        if code == report.issuer_code or not issuer.base_url:
            continue
        say(f"同步 {issuer.name} ({code}) / syncing {issuer.base_url}")
        try:
            report.followed.append(
                sync(
                    issuer.base_url,
                    root_dir,
                    trust_on_first_use=False,
                    default_root=loaded.root_public_key,
                    session=http.session,
                    timeout=timeout,
                    progress=say,
                )
            )
        except AnxinmaError as exc:
            report.follow_errors.append(f"{code} {issuer.base_url}: {exc.explain()}")


def _choose_root(
    previous: _Previous | None,
    discovery: dict[str, Any],
    *,
    root_key: bytes | None,
    replace_root: bool,
    trust_on_first_use: bool,
    default_root: bytes | None,
    warnings: list[str],
) -> tuple[bytes, str]:
    if root_key is not None:
        if previous is not None and previous.root_public_key != root_key and not replace_root:
            raise SyncError(
                "the --root-key differs from the root pinned by the previous sync; nothing was changed "
                "(pass --replace-root if the root really changed)",
                message_zh="--root-key 与上次固定的根公钥不同，未做任何更改（确认根密钥已更换请加 --replace-root）",
            )
        return root_key, "pinned"
    if previous is not None:
        return previous.root_public_key, str(previous.meta.get("root_source", "pinned"))
    if default_root is not None:
        return default_root, "pinned"
    advertised = discovery.get("root_public_key")
    if not trust_on_first_use or advertised is None:
        raise SyncError(
            "no root key pinned for this issuer: pass --root-key FILE (the regulator's root public key)",
            message_zh="尚未固定该签发机构的根公钥：请用 --root-key 指定（主管部门发布的根公钥）",
        )
    warnings.append(TOFU_WARNING)
    return layout.read_root_key(advertised.encode()), "tofu"


def _sync_locked(
    issuer_url: str,
    origin: str,
    origin_dir: Path,
    http: Http,
    say: Progress,
    now: datetime,
    *,
    root_key: bytes | None,
    replace_root: bool,
    trust_on_first_use: bool,
    default_root: bytes | None,
) -> SyncReport:
    previous, warnings = _load_previous(origin_dir)
    base = issuer_url.strip().rstrip("/")
    discovery_url = base + DISCOVERY_PATH
    say(f"发现文档 / discovery: {discovery_url}")
    fetched: dict[str, Fetched] = {}
    fetched[discovery_url] = http.get(discovery_url, "discovery", previous)
    discovery = parse_discovery(fetched[discovery_url].body, discovery_url)
    code = discovery["issuer_code"]
    root, root_source = _choose_root(
        previous,
        discovery,
        root_key=root_key,
        replace_root=replace_root,
        trust_on_first_use=trust_on_first_use,
        default_root=default_root,
        warnings=warnings,
    )
    if root_source == TOFU:
        _admit(origin, origin_dir.parent, code, base)
    if discovery["root_public_key"] and root_source != "tofu":
        try:
            advertised = layout.read_root_key(discovery["root_public_key"].encode())
        except BundleError:
            advertised = None
        if advertised is not None and advertised != root:
            warnings.append(
                "发现文档公布的根公钥与固定的不同（以固定的为准） / the discovery document advertises a different "
                "root key than the pinned one (the pinned one is used)"
            )

    say(f"信任列表 / trust list: {discovery['trust_list']}")
    tl = fetched[discovery["trust_list"]] = http.get(discovery["trust_list"], "trust_list", previous)
    trust_list = _check_trust_list(tl.body, root, previous, code, now)

    if discovery["jwks"]:
        say(f"JWKS: {discovery['jwks']}")
        jw = fetched[discovery["jwks"]] = http.get(discovery["jwks"], "jwks", previous)
        warnings.extend(_check_jwks(jw.body, trust_list, code))

    freshness: tuple[str, Freshness] | None = None
    if discovery["status_freshness"]:
        freshness, status_lists = sync_status(
            discovery["status_freshness"], code, trust_list, previous, http, fetched, say
        )
    else:  # an issuer of an earlier release: every standard-form shard, every time
        status_lists = sync_status_lists(discovery["status_lists"], trust_list, previous, http, fetched, say)
    for status_list in status_lists.values():
        where = (status_list.issuer_code, status_list.shard)
        evidence = freshness[1].issued_at if freshness is not None else status_list.issued_at
        age = now - evidence
        if age > DEFAULT_STATUS_MAX_AGE:
            zh, en = age_text(age.total_seconds())
            warnings.append(
                f"签发机构发布的状态列表 {where[0]}/{where[1]} 已有 {zh}，验证结果将为状态未知 / "
                f"the issuer's status list {where[0]}/{where[1]} is already {en} old: verification will say status_unknown"
            )

    # Everything verified: write the new generation, then swap it in.
    files: dict[str, str] = {discovery_url: layout.DISCOVERY, discovery["trust_list"]: layout.TRUST_LIST}
    if discovery["jwks"]:
        files[discovery["jwks"]] = layout.JWKS
    for url, status_list in status_lists.items():
        files[url] = layout.status_file(
            status_list.issuer_code, status_list.shard, compact=status_list.compact is not None
        )
    if freshness is not None:
        files[freshness[0]] = layout.FRESHNESS
    writer = layout.GenerationWriter(origin_dir)
    report = SyncReport(
        origin=origin,
        issuer_url=base,
        issuer_code=code,
        issuer_name=trust_list.issuers[code].name,
        generation=writer.name,
        trust_list_sequence=trust_list.sequence,
        root_source=root_source,
        warnings=warnings,
        status_lists=len(status_lists),
    )
    try:
        resources: dict[str, Any] = {}
        previous_resources = previous.meta.get("resources", {}) if previous is not None else {}
        for url, name in files.items():
            item = fetched[url]
            digest = layout.sha256(item.body)
            old = previous_resources.get(url) if isinstance(previous_resources, dict) else None
            unchanged = isinstance(old, dict) and old.get("sha256") == digest and old.get("file") == name
            if unchanged and previous is not None:
                writer.keep(previous.path, name, digest)
                report.unchanged.append(name)
            else:
                writer.add(name, item.body)
                report.changed.append(name)
            resources[url] = {
                "file": name,
                "etag": item.etag,
                "sha256": digest,
                "bytes": len(item.body),
                "changed_at": old.get("changed_at")
                if unchanged and isinstance(old, dict)
                else now.isoformat(),
            }
        pem = layout.root_pem(root)
        writer.add(layout.ROOT, pem)
        meta = {
            "origin": origin,
            "issuer_url": base,
            "issuer_code": code,
            "issuer_name": report.issuer_name,
            "base_url": trust_list.issuers[code].base_url or discovery["base_url"],
            "live_record": discovery["live_record"],
            "fetched_at": now.isoformat(),
            "root_source": root_source,
            "root_fingerprint": layout.fingerprint(root),
            "trust_list_sequence": trust_list.sequence,
            "trust_list_issued_at": trust_list.issued_at.isoformat(),
            "trust_list_expires_at": trust_list.expires_at.isoformat(),
            "freshness_seq": freshness[1].seq if freshness is not None else None,
            "resources": resources,
            "last_sync": {"requests": http.requests, "bytes_received": http.bytes_received},
        }
        writer.commit(meta)
    except BaseException:
        writer.discard()
        raise
    report.requests = http.requests
    report.bytes_received = http.bytes_received
    say(f"完成 / done: {origin} {report.generation}")
    return report


def _held_origins(root_dir: Path, but: str) -> list[HeldOrigin]:
    """Every other origin in the bundle directory that loads: how it is rooted, what it names."""
    held = []
    for origin_dir in sorted(p for p in root_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if origin_dir.name == but:
            continue
        try:
            loaded = layout.IssuerBundle.load(origin_dir)
        except BundleError:
            continue  # a broken origin holds nothing (it does not load for verifying either)
        held.append(HeldOrigin(loaded.origin, loaded.root_source, frozenset(loaded.trust_list.issuers)))
    return held


def _admit(origin: str, root_dir: Path, code: int, issuer_url: str) -> None:
    """The trust rules' admission rule (:func:`~anxinma.verifier.trust.admission_refusal`): a
    first-use origin may not claim an issuer code a pinned origin already names."""
    refusal = admission_refusal(
        _held_origins(root_dir, origin), origin=origin, root_source=TOFU, issuer_code=code
    )
    if refusal is None:
        return
    raise SyncError(
        f"refused: {origin} claims issuer {code}, which the pinned origin {refusal.name} already holds; "
        f"nothing was changed. If {origin} really speaks for {code}, pin it: anxinma verifier sync "
        f"--issuer {issuer_url} --root-key ROOT.pem (the regulator's root public key)",
        message_zh=f"已拒绝：{origin} 自称签发机构 {code}，而该代码已由固定根公钥的来源 {refusal.name} 持有；未做任何更改。"
        f"若 {origin} 确实代表 {code}，请用 --root-key 固定其根公钥后再同步",
    )


def _check_trust_list(
    body: bytes, root: bytes, previous: _Previous | None, code: int, now: datetime
) -> TrustList:
    floor = int(previous.meta.get("trust_list_sequence", 0)) if previous is not None else 0
    try:
        trust_list = TrustList.load(body, root, min_sequence=floor, now=now)
    except AnxinmaError as exc:
        raise refused("the trust list", "信任列表", exc) from exc
    if previous is not None and trust_list.sequence == floor:
        old = previous.meta.get("resources", {})
        old_digests = {
            e.get("sha256")
            for e in old.values()
            if isinstance(e, dict) and e.get("file") == layout.TRUST_LIST
        }
        if old_digests and layout.sha256(body) not in old_digests:
            raise SyncError(
                f"a different trust list with the same sequence {floor} (equivocation); nothing was changed",
                message_zh=f"序号 {floor} 相同但内容不同的信任列表（自相矛盾），未做任何更改",
            )
    if trust_list.issuer(code) is None:
        raise SyncError(
            f"the trust list does not name issuer {code} that the discovery document claims to be",
            message_zh=f"信任列表中没有发现文档所称的签发机构 {code}",
        )
    return trust_list


def _check_jwks(body: bytes, trust_list: TrustList, code: int) -> list[str]:
    try:
        doc = json.loads(body)
        keys = doc["keys"]
        if not isinstance(keys, list):
            raise TypeError("keys is not a list")
        parsed = [(bytes.fromhex(str(k["kid"])), public_key_from_jwk(k)) for k in keys]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AnxinmaError) as exc:
        raise SyncError(f"the JWKS is malformed: {exc}", message_zh="JWKS 格式错误") from exc
    issuer = trust_list.issuers[code]
    warnings = []
    for kid, public in parsed:
        listed = issuer.keys.get(kid)
        if listed is None:
            warnings.append(
                f"JWKS 中的密钥 {kid.hex()} 不在信任列表中，未采用 / JWKS key {kid.hex()} is not in the trust list: not used"
            )
        elif listed.public_key is not None and listed.public_key != public:
            raise SyncError(
                f"the JWKS key {kid.hex()} differs from the trust list's (tampered?); nothing was changed",
                message_zh=f"JWKS 密钥 {kid.hex()} 与信任列表不符（被篡改？），未做任何更改",
            )
        elif listed.status is not KeyStatus.ACTIVE:
            warnings.append(
                f"JWKS 仍公布已{listed.status.value}的密钥 {kid.hex()} / JWKS still lists {listed.status.value} key {kid.hex()}"
            )
    return warnings
