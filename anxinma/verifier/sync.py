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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from anxinma.errors import AnxinmaError
from anxinma.keys.jwk import public_key_from_jwk
from anxinma.keys.store import KeyStatus
from anxinma.keys.trust_list import TrustList
from anxinma.rollback import Update, judge
from anxinma.status_list import (
    Freshness,
    StatusList,
    load_compact_status_list,
    load_freshness,
    load_status_list,
)
from anxinma.verifier import bundle as layout
from anxinma.verifier.errors import BundleError, SyncError
from anxinma.verifier.offline import DEFAULT_STATUS_MAX_AGE, age_text
from anxinma.verifier.trust import TOFU, HeldOrigin, admission_refusal

DISCOVERY_PATH = "/.well-known/anxinma"
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "anxinma-verifier/0.1"
#: Nothing an issuer publishes is larger than this; a response beyond it is refused unread.
LIMITS = {
    "discovery": 256 * 1024,
    "trust_list": 4 * 1024 * 1024,
    "jwks": 256 * 1024,
    "status": 4 * 1024 * 1024,  # one shard is 256 KiB raw; base64 of a worst-case deflate fits
    "freshness": 256 * 1024,  # a few hundred bytes, and ~120 more per shard
}
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
        return {
            "origin": self.origin,
            "issuer_url": self.issuer_url,
            "issuer_code": self.issuer_code,
            "issuer_name": self.issuer_name,
            "generation": self.generation,
            "trust_list_sequence": self.trust_list_sequence,
            "root_source": self.root_source,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "warnings": self.warnings,
            "requests": self.requests,
            "bytes_received": self.bytes_received,
            "status_lists": self.status_lists,
            "followed": [report.to_json() for report in self.followed],
            "follow_errors": self.follow_errors,
        }


@dataclass
class _Fetched:
    url: str
    body: bytes  # the new bytes, or the previous generation's on a 304
    etag: str | None
    not_modified: bool


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


class _Http:
    """GETs with a size limit, truncation detection, ETags, and a byte count."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session = session
        self.timeout = timeout
        self.requests = 0
        self.bytes_received = 0

    def get(self, url: str, what: str, previous: _Previous | None) -> _Fetched:
        entry = previous.resource(url) if previous is not None else None
        old_body = previous.body(url) if previous is not None else None
        headers = {"User-Agent": USER_AGENT}
        if entry is not None and old_body is not None and entry.get("etag"):
            headers["If-None-Match"] = str(entry["etag"])
        limit = LIMITS[what]
        self.requests += 1
        try:
            with self.session.get(url, headers=headers, timeout=self.timeout, stream=True) as response:
                self.bytes_received += _header_bytes(response)
                if response.status_code == 304 and old_body is not None:
                    return _Fetched(
                        url, old_body, response.headers.get("ETag") or str(entry and entry.get("etag")), True
                    )
                if response.status_code != 200:
                    raise SyncError(
                        f"{url} answered HTTP {response.status_code}",
                        message_zh=f"{url} 返回 HTTP {response.status_code}",
                    )
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise SyncError(f"{url}: {declared} bytes is more than a {what} can be")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise SyncError(
                            f"{url}: more than {limit} bytes, refused", message_zh=f"{url}：数据过大"
                        )
                wire = response.raw.tell() if hasattr(response.raw, "tell") else len(body)
                self.bytes_received += int(wire)
                if (
                    declared is not None
                    and declared.isdigit()
                    and not response.headers.get("Content-Encoding")
                ) and len(body) != int(declared):
                    raise _truncated(url)
                return _Fetched(url, bytes(body), response.headers.get("ETag"), False)
        except requests.Timeout as exc:
            raise SyncError(
                f"{url}: no answer within {self.timeout:g} s",
                message_zh=f"{url}：{self.timeout:g} 秒内无响应",
            ) from exc
        except requests.ConnectionError as exc:
            if "IncompleteRead" in str(exc) or "Connection broken" in str(exc):
                raise _truncated(url) from exc
            raise SyncError(
                f"cannot reach {url} (is the issuer down?)",
                message_zh=f"无法连接 {url}（签发机构服务中断？）",
            ) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise _truncated(url) from exc
        except requests.RequestException as exc:
            raise SyncError(
                f"{url}: the request failed ({type(exc).__name__})", message_zh=f"{url}：请求失败"
            ) from exc


def _truncated(url: str) -> SyncError:
    return SyncError(
        f"{url}: the download broke off (truncated); nothing was changed",
        message_zh=f"{url}：下载不完整（被截断），未做任何更改",
    )


def _header_bytes(response: requests.Response) -> int:
    return 17 + sum(len(k) + len(v) + 4 for k, v in response.headers.items()) + 2


def _absolute(base: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SyncError(f"the discovery document has no {what} URL", message_zh=f"发现文档缺少 {what} 地址")
    url = urljoin(base, value.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        raise SyncError(f"the discovery document's {what} is not an http(s) URL: {value!r}")
    return url


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
    if not isinstance(code, int) or isinstance(code, bool) or not 110000 <= code <= 829999:
        raise SyncError(f"{url}: issuer_code {code!r} is not a 6-digit division code")
    lists = doc.get("status_lists", [])
    if not isinstance(lists, list) or len(lists) > MAX_STATUS_LISTS:
        raise SyncError(f"{url}: status_lists must be a list of URLs")
    root = doc.get("root_public_key")
    return {
        "issuer_code": code,
        "name": str(doc.get("name") or code),
        "base_url": str(doc.get("base_url") or ""),
        "trust_list": _absolute(url, doc.get("trust_list"), "trust_list"),
        "jwks": _absolute(url, doc["jwks"], "jwks") if doc.get("jwks") else None,
        "status_lists": [_absolute(url, item, "status list") for item in lists],
        "status_freshness": _absolute(url, doc["status_freshness"], "status_freshness")
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
    http = _Http(session or requests.Session(), timeout)
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


def _follow(report: SyncReport, root_dir: Path, http: _Http, say: Progress, timeout: float) -> None:
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
    http: _Http,
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
    fetched: dict[str, _Fetched] = {}
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
        freshness, status_lists = _sync_status(
            discovery["status_freshness"], code, trust_list, previous, http, fetched, say
        )
    else:  # an issuer of an earlier release: every standard-form shard, every time
        status_lists = _sync_status_lists(discovery["status_lists"], trust_list, previous, http, fetched, say)
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


def _sync_status_lists(
    urls: list[str],
    trust_list: TrustList,
    previous: _Previous | None,
    http: _Http,
    fetched: dict[str, _Fetched],
    say: Progress,
) -> dict[str, StatusList]:
    """The standard-form shards a discovery document lists (issuers before freshness documents)."""
    status_lists: dict[str, StatusList] = {}
    seen: dict[tuple[int, int], str] = {}
    for number, url in enumerate(urls, 1):
        say(f"状态列表 / status list {number}/{len(urls)}: {url}")
        item = fetched[url] = http.get(url, "status", previous)
        status_list = _check_status_list(item.body, url, trust_list, previous)
        where = (status_list.issuer_code, status_list.shard)
        if where in seen:
            raise SyncError(f"{url} and {seen[where]} both claim issuer {where[0]} shard {where[1]}")
        seen[where] = url
        status_lists[url] = status_list
    return status_lists


def _sync_status(
    url: str,
    code: int,
    trust_list: TrustList,
    previous: _Previous | None,
    http: _Http,
    fetched: dict[str, _Fetched],
    say: Progress,
) -> tuple[tuple[str, Freshness], dict[str, StatusList]]:
    """The freshness document, then only the shards it lists at another version than the one held
    (TUF's timestamp and snapshot roles: a sync with nothing changed moves a few hundred bytes).

    Each is judged by :func:`anxinma.rollback.judge` against what is held: an older or an
    equal-but-different freshness document or shard is refused and nothing is changed.
    """
    say(f"状态新鲜度 / status freshness: {url}")
    item = fetched[url] = http.get(url, "freshness", previous)
    lookup = trust_list.active_key
    try:
        freshness = load_freshness(item.body, lookup)
    except AnxinmaError as exc:
        raise SyncError(
            f"the freshness document {url} was refused, nothing was changed: {exc.message}",
            message_zh=f"状态新鲜度文件 {url} 被拒绝，未做任何更改：{exc.message_zh}",
        ) from exc
    if freshness.issuer_code != code:
        raise SyncError(f"{url} is the freshness document of issuer {freshness.issuer_code}, not {code}")
    held = previous.freshness if previous is not None else None
    verdict = judge((held.seq, held.digest) if held is not None else None, (freshness.seq, freshness.digest))
    if verdict.refused:
        raise SyncError(
            f"the freshness document {url} (seq {freshness.seq}) is {_REFUSED_EN[verdict]} the one held "
            f"(seq {held.seq if held else '-'}); nothing was changed",
            message_zh=f"状态新鲜度文件 {url}（序号 {freshness.seq}）{_REFUSED_ZH[verdict]}，未做任何更改",
        )
    status_lists: dict[str, StatusList] = {}
    total = len(freshness.shards)
    for number, listed in enumerate(sorted(freshness.shards.values(), key=lambda v: v.shard), 1):
        shard_url = _absolute(url, listed.url, "shard")
        mine = previous.status_lists.get((code, listed.shard)) if previous is not None else None
        kept = previous.body(shard_url) if previous is not None else None
        if (
            mine is not None
            and kept is not None
            and mine.version == listed.version
            and mine.digest == listed.digest
        ):
            entry = previous.resource(shard_url) if previous is not None else None
            fetched[shard_url] = _Fetched(shard_url, kept, str(entry.get("etag")) if entry else None, True)
            status_lists[shard_url] = mine
            continue
        say(f"状态列表 / status list {number}/{total}: {shard_url}")
        got = fetched[shard_url] = http.get(shard_url, "status", previous)
        try:
            status_list = load_compact_status_list(got.body, lookup)
        except AnxinmaError as exc:
            raise SyncError(
                f"status list {shard_url} refused, nothing was changed: {exc.explain()}",
                message_zh=f"状态列表 {shard_url} 被拒绝，未做任何更改",
            ) from exc
        if (status_list.issuer_code, status_list.shard) != (code, listed.shard):
            raise SyncError(
                f"{shard_url} holds issuer {status_list.issuer_code} shard {status_list.shard} (mix-up)"
            )
        against_listed = judge((listed.version, listed.digest), (status_list.version, status_list.digest))
        against_held = judge(_status_order(mine) if mine is not None else None, _status_order(status_list))
        for verdict in (against_listed, against_held):
            if verdict.refused:
                raise SyncError(
                    f"status list {shard_url} (version {status_list.version}) is {_REFUSED_EN[verdict]} "
                    "the publication it must be (rollback or replay?); nothing was changed",
                    message_zh=f"状态列表 {shard_url}（版本 {status_list.version}）{_REFUSED_ZH[verdict]}（回滚或重放？），未做任何更改",
                )
        status_lists[shard_url] = status_list
    return (url, freshness), status_lists


_REFUSED_EN = {Update.OLDER: "older than", Update.EQUIVOCAL: "different from, under the same version as,"}
_REFUSED_ZH = {Update.OLDER: "比已有的更旧", Update.EQUIVOCAL: "与已有的版本相同但内容不同"}


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
        raise SyncError(
            f"trust list refused, nothing was changed: {exc.message}",
            message_zh=f"信任列表被拒绝，未做任何更改：{exc.message_zh}",
        ) from exc
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


def _check_status_list(
    body: bytes, url: str, trust_list: TrustList, previous: _Previous | None
) -> StatusList:
    try:
        status_list = load_status_list(body.decode("ascii").strip(), trust_list.active_key)
    except (AnxinmaError, UnicodeDecodeError) as exc:
        detail = exc.explain() if isinstance(exc, AnxinmaError) else "not ASCII"
        raise SyncError(
            f"status list {url} refused, nothing was changed: {detail}",
            message_zh=f"状态列表 {url} 被拒绝，未做任何更改",
        ) from exc
    path = urlsplit(url).path.rstrip("/").split("/")
    named = (
        (int(path[-2]), int(path[-1]))
        if len(path) >= 2 and path[-1].isdigit() and path[-2].isdigit()
        else None
    )
    if named is not None and named != (status_list.issuer_code, status_list.shard):
        raise SyncError(
            f"{url} holds the list of issuer {status_list.issuer_code} shard {status_list.shard} (mix-up)"
        )
    if previous is not None:
        held = previous.status_lists.get((status_list.issuer_code, status_list.shard))
        verdict = judge(_status_order(held), _status_order(status_list)) if held is not None else None
        if verdict is Update.OLDER:
            raise SyncError(
                f"status list {url} is older than the one already held (rollback?); nothing was changed",
                message_zh=f"状态列表 {url} 比已有的更旧（回滚？），未做任何更改",
            )
        if verdict is Update.EQUIVOCAL:
            raise SyncError(
                f"status list {url} differs from the one already held but claims the same version "
                "(a replay inside a signing window?); nothing was changed",
                message_zh=f"状态列表 {url} 与已有的版本相同但内容不同（签名窗口内的重放？），未做任何更改",
            )
    return status_list


def _status_order(status_list: StatusList) -> tuple[int, str]:
    """(version, digest) of a status list for :func:`anxinma.rollback.judge`.

    A list from before versions (version 0: an issuer of an earlier release) is ordered by its
    signed ``iat`` alone, digest ignored: inside one signing window such a list cannot be told
    from a replay, which is why every publication now carries a version. Any versioned list is
    newer than every unversioned one."""
    version = int(getattr(status_list, "version", 0) or 0)
    if not version:
        return int(status_list.issued_at.timestamp()), ""
    digest = getattr(status_list, "digest", "") or layout.sha256(
        status_list.token.encode() if status_list.token else (status_list.cwt or b"")
    )
    return version << 32, digest
