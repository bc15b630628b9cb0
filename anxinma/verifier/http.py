"""The verifier's HTTP: GETs with a size limit per kind of document, truncation detection,
ETags (``If-None-Match`` from what is held), and a count of the bytes that crossed the wire.

Split from :mod:`anxinma.verifier.sync` so that the sync module reads as the protocol it is
(docs/verifier.md, "Sync protocol") and this one as the transport it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import requests

from anxinma.verifier.errors import SyncError

USER_AGENT = "anxinma-verifier/0.1"
#: Nothing an issuer publishes is larger than this; a response beyond it is refused unread.
LIMITS = {
    "discovery": 256 * 1024,
    "trust_list": 4 * 1024 * 1024,
    "jwks": 256 * 1024,
    "status": 4 * 1024 * 1024,  # one shard is 256 KiB raw; base64 of a worst-case deflate fits
    "freshness": 256 * 1024,  # a few hundred bytes, and ~120 more per shard
}


class Held(Protocol):
    """What a sync already holds of a URL: its resource entry (ETag, digest) and its bytes."""

    def resource(self, url: str) -> dict[str, Any] | None: ...

    def body(self, url: str) -> bytes | None: ...


@dataclass
class Fetched:
    url: str
    body: bytes  # the new bytes, or the previous generation's on a 304
    etag: str | None
    not_modified: bool


class Http:
    """GETs with a size limit, truncation detection, ETags, and a byte count."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session = session
        self.timeout = timeout
        self.requests = 0
        self.bytes_received = 0

    def get(self, url: str, what: str, previous: Held | None) -> Fetched:
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
                    return Fetched(
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
                return Fetched(url, bytes(body), response.headers.get("ETag"), False)
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
