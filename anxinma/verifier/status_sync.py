"""Status data in a sync: the freshness document, then only the shards it lists at another
version than the one held (TUF's timestamp and snapshot roles), or — for an issuer of an earlier
release — every standard-form shard. Every piece is judged by :func:`anxinma.rollback.judge`
against what is held: older data, or other bytes under a held version, is refused and the sync
changes nothing (docs/verifier.md, "Sync protocol", step 5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from anxinma.errors import AnxinmaError
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
from anxinma.verifier.errors import SyncError, refused
from anxinma.verifier.http import Fetched, Held, Http

Progress = Callable[[str], None]


class HeldStatus(Held, Protocol):
    """What the generation in use holds: status lists by (issuer, shard), the freshness document."""

    status_lists: dict[tuple[int, int], StatusList]
    freshness: Freshness | None


def absolute(base: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SyncError(f"the discovery document has no {what} URL", message_zh=f"发现文档缺少 {what} 地址")
    url = urljoin(base, value.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        raise SyncError(f"the discovery document's {what} is not an http(s) URL: {value!r}")
    return url


def sync_status_lists(
    urls: list[str],
    trust_list: TrustList,
    previous: HeldStatus | None,
    http: Http,
    fetched: dict[str, Fetched],
    say: Progress,
) -> dict[str, StatusList]:
    """The standard-form shards a discovery document lists (issuers before freshness documents)."""
    status_lists: dict[str, StatusList] = {}
    seen: dict[tuple[int, int], str] = {}
    for number, url in enumerate(urls, 1):
        say(f"状态列表 / status list {number}/{len(urls)}: {url}")
        item = fetched[url] = http.get(url, "status", previous)
        status_list = check_status_list(item.body, url, trust_list, previous)
        where = (status_list.issuer_code, status_list.shard)
        if where in seen:
            raise SyncError(f"{url} and {seen[where]} both claim issuer {where[0]} shard {where[1]}")
        seen[where] = url
        status_lists[url] = status_list
    return status_lists


def sync_status(
    url: str,
    code: int,
    trust_list: TrustList,
    previous: HeldStatus | None,
    http: Http,
    fetched: dict[str, Fetched],
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
        raise refused(f"the freshness document {url}", f"状态新鲜度文件 {url} ", exc) from exc
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
        shard_url = absolute(url, listed.url, "shard")
        mine = previous.status_lists.get((code, listed.shard)) if previous is not None else None
        kept = previous.body(shard_url) if previous is not None else None
        if (
            mine is not None
            and kept is not None
            and mine.version == listed.version
            and mine.digest == listed.digest
        ):
            entry = previous.resource(shard_url) if previous is not None else None
            fetched[shard_url] = Fetched(shard_url, kept, str(entry.get("etag")) if entry else None, True)
            status_lists[shard_url] = mine
            continue
        say(f"状态列表 / status list {number}/{total}: {shard_url}")
        got = fetched[shard_url] = http.get(shard_url, "status", previous)
        try:
            status_list = load_compact_status_list(got.body, lookup)
        except AnxinmaError as exc:
            raise refused(f"status list {shard_url}", f"状态列表 {shard_url} ", exc) from exc
        if (status_list.issuer_code, status_list.shard) != (code, listed.shard):
            raise SyncError(
                f"{shard_url} holds issuer {status_list.issuer_code} shard {status_list.shard} (mix-up)"
            )
        against_listed = judge((listed.version, listed.digest), (status_list.version, status_list.digest))
        against_held = judge(status_order(mine) if mine is not None else None, status_order(status_list))
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


def check_status_list(
    body: bytes, url: str, trust_list: TrustList, previous: HeldStatus | None
) -> StatusList:
    try:
        status_list = load_status_list(body.decode("ascii").strip(), trust_list.active_key)
    except (AnxinmaError, UnicodeDecodeError) as exc:
        why = (
            exc if isinstance(exc, AnxinmaError) else AnxinmaError("not ASCII", message_zh="不是 ASCII 文本")
        )
        raise refused(f"status list {url}", f"状态列表 {url} ", why) from exc
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
        verdict = judge(status_order(held), status_order(status_list)) if held is not None else None
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


def status_order(status_list: StatusList) -> tuple[int, str]:
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
