"""The trust list this service serves at ``/trust-list``: one list for every host, from the
``publications`` table (docs/operations.md; issue 15, findings 4 and 5).

Exactly one source:

* **the regulator's list** (``ANXINMA_TRUST_LIST_URL``: an http(s) URL or a file path), checked
  against ``ANXINMA_ROOT_KEY`` (the regulator's root public key, PEM; default the keyring's root,
  with a log line). The service takes it at start and again before it runs out (at half its
  remaining validity, at least every ``ANXINMA_TRUST_LIST_REFRESH`` seconds); a list that is
  older, tampered, wrongly signed, expired, or of the held sequence with other bytes is refused
  with a logged reason and the last good list is kept and served. Unreachable at start: the
  service starts on the last good list and says so; with none at all it refuses to start.
* **the root key in the home** (``keys/root.key.pem``: development, or a regulator running its
  own platform): the service signs a list when there is none, when the keyring's own entry or
  its peers differ from the published list's issuers (so ``anxinma keys add-issuer`` on that
  home republishes), or past half its validity; ``seq`` = max(published, the keyring's
  ``trust_list_sequence``) + 1.

Neither writes anything under ``keys/``: every list is a row every host reads (a host that loses
the race to insert a sequence serves the winner's bytes), and every decision goes through
:func:`anxinma.rollback.judge`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from anxinma.errors import AnxinmaError, KeyStoreError, TrustListError
from anxinma.issuer.services import status_forms as forms
from anxinma.issuer.services.publications import NO_SHARD, TRUST_LIST, Publications, Published
from anxinma.keys import KeyDirectory, TrustList, build_trust_list
from anxinma.keys.jwk import read_public_key
from anxinma.rollback import Update, judge

log = logging.getLogger("anxinma.issuer.services.trust")

#: What a home-signed list is valid for (verifiers refuse it afterwards).
HOME_VALIDITY = timedelta(days=30)
#: The largest trust list taken from the network (a real one is a few KB).
MAX_BYTES = 1 << 20
#: Seconds before a failed refresh is tried again (capped by the refresh interval).
RETRY_SECONDS = 60.0


class TrustListUnavailable(TrustListError):
    """The service has no trust list to serve and cannot get one: it must not start."""

    code = "trust_list_unavailable"


def load_root_key(path: Path) -> bytes:
    """The raw Ed25519 public key of a PEM file (``ANXINMA_ROOT_KEY``); one clear error if not."""
    try:
        return read_public_key(path.read_bytes())
    except OSError as exc:
        raise KeyStoreError(
            f"ANXINMA_ROOT_KEY={path}: cannot be read ({exc.strerror})",
            message_zh=f"ANXINMA_ROOT_KEY={path}：无法读取",
        ) from None
    except KeyStoreError as exc:
        raise KeyStoreError(
            f"ANXINMA_ROOT_KEY={path}: {exc.message}", message_zh=f"ANXINMA_ROOT_KEY={path}：{exc.message_zh}"
        ) from None


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL, None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()


class ServedTrustList:
    """The trust list of one service, the same on every host. ``current()`` is what
    ``/trust-list`` serves; ``status()`` what ``/trust-list/status`` reports."""

    def __init__(
        self,
        publications: Publications,
        *,
        issuer_code: int,
        key_dir: Path,
        root_public_key: bytes,
        passphrase: str | None = None,
        url: str | None = None,
        refresh_seconds: float = 3600.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.publications = publications
        self.issuer_code = issuer_code
        self.key_dir = key_dir
        self.root_public_key = root_public_key
        self.passphrase = passphrase
        self.url = url
        self.refresh_seconds = max(1.0, refresh_seconds)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.last_refresh: datetime | None = None
        self.last_error: str | None = None
        self._verified: dict[str, TrustList] = {}  # digest -> the list, checked against the root
        self._good: Published | None = None
        self._next_refresh = 0.0
        self._lock = threading.Lock()
        self._keys: tuple[float, KeyDirectory] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        return "url" if self.url else "root_key"

    @property
    def source(self) -> str:
        """Where the list comes from, as the public status report names it (an http(s) URL as
        given; of a file or the home's root key only the name: no server paths in public)."""
        if self.url is None:
            return "keys/root.key.pem"
        if self.url.startswith(("http://", "https://")):
            return self.url
        return "file:" + Path(self.url.removeprefix("file://")).name

    # -- start and background refresh --------------------------------------------------------

    def start(self, *, background: bool) -> None:
        """Take the list at start (refusing to start without one), then refresh in a thread."""
        if self.url:
            self.refresh()
            if self._good is None:
                raise TrustListUnavailable(
                    f"no trust list to serve: none verifies at ANXINMA_TRUST_LIST_URL ({self.last_error}) "
                    "and none was accepted before; set ANXINMA_TRUST_LIST_URL to the "
                    "regulator's signed trust list (URL or file) and ANXINMA_ROOT_KEY to its root public key (PEM)",
                    message_zh="没有可提供的信任列表：ANXINMA_TRUST_LIST_URL 处没有可验证的列表，此前也没有接受过；请将 ANXINMA_TRUST_LIST_URL 设为监管机构签发的信任列表（网址或文件），"
                    "ANXINMA_ROOT_KEY 设为其根公钥（PEM）",
                )
            if self.last_error:
                log.warning(
                    "trust list source %s unreachable at start (%s): starting on the last good list seq %d",
                    self.url, self.last_error, self._good.version,
                )  # fmt: skip
            if background:
                self._thread = threading.Thread(target=self._run, name="anxinma-trust-list", daemon=True)
                self._thread.start()
        else:
            self.current()  # sign the first list now, so a key problem shows at start

    def _run(self) -> None:
        while not self._stop.wait(max(0.05, self._next_refresh - time.monotonic())):
            try:
                self.refresh()
            except Exception:  # the thread must outlive any one failure
                log.exception("trust list refresh failed")
                self._next_refresh = time.monotonic() + RETRY_SECONDS

    def close(self) -> None:
        self._stop.set()

    # -- serving ---------------------------------------------------------------------------

    def current(self) -> Published:
        """The publication to serve (raises :class:`TrustListError` when there is none)."""
        if self.url:
            if time.monotonic() >= self._next_refresh and self._thread is None:
                self._refresh_quietly()  # no refresh thread (a one-shot command): refresh when due
            latest = self.publications.latest(TRUST_LIST, self.issuer_code)
            if latest is not None and self._check(latest) is not None:
                self._good = latest
            if self._good is None:
                raise TrustListError("no trust list published yet", message_zh="尚未发布信任列表")
            return self._good
        return self._sign_if_due()

    def trust_list(self) -> TrustList:
        """The served list, parsed."""
        served = self.current()
        checked = self._check(served)
        if checked is None:
            raise TrustListError("the served trust list does not verify", message_zh="提供的信任列表无法验证")
        return checked

    def trusted_origins(self) -> list[str]:
        """The sorted origins of the base URLs of the issuers in the served list (the page's CSP)."""
        try:
            listed = self.trust_list()
        except AnxinmaError:
            return []
        return sorted({o for o in (origin_of(i.base_url) for i in listed.issuers.values()) if o})

    def status(self) -> dict[str, Any]:
        """Sequence, age and expiry of the served list, for operators' alerts (/trust-list/status)."""
        now = self.clock()
        report: dict[str, Any] = {"mode": self.mode, "source": self.source}  # no server paths: public
        try:
            listed = self.trust_list()
        except AnxinmaError as exc:
            listed = None
            self.last_error = self.last_error or exc.explain()
        if listed is not None:
            report |= {
                "sequence": listed.sequence,
                "issued_at": listed.issued_at.isoformat(),
                "expires_at": listed.expires_at.isoformat(),
                "age_seconds": int((now - listed.issued_at).total_seconds()),
                "expires_in_seconds": int((listed.expires_at - now).total_seconds()),
            }
        report["last_refresh"] = self.last_refresh.isoformat() if self.last_refresh else None
        report["last_error"] = self.last_error
        return report

    # -- the regulator's list (a) ---------------------------------------------------------------

    def refresh(self) -> Update | None:
        """Take the list at the source (mode a) or sign one if due (mode b); never raises for a
        bad or unreachable source: the reason is logged and kept in ``last_error``."""
        if not self.url:
            with self._lock:
                self._keys = None  # re-read the keyring now
            self._sign_if_due()
            return None
        with self._lock:
            return self._take()

    def _refresh_quietly(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._take()
            finally:
                self._lock.release()

    def _take(self) -> Update | None:
        assert self.url is not None
        self.last_refresh = self.clock()
        held = self.publications.latest(TRUST_LIST, self.issuer_code)
        if held is not None and self._check(held) is None:
            log.warning(
                "the stored trust list seq %d does not verify against the pinned root: ignored", held.version
            )
            held = self._good
        elif held is not None:
            self._good = held
        try:
            body = fetch(self.url)
            candidate = TrustList.load(body, self.root_public_key, now=self.clock())
        except (AnxinmaError, OSError) as exc:
            return self._failed(
                exc.explain() if isinstance(exc, AnxinmaError) else f"{type(exc).__name__}: {exc}"
            )
        verdict = judge(
            None if held is None else (held.version, held.digest), (candidate.sequence, forms.digest(body))
        )
        if verdict.refused:
            why = (
                f"sequence {candidate.sequence} is older than the held {held.version if held else 0} (a replay?)"
                if verdict is Update.OLDER
                else f"sequence {candidate.sequence} is held with other bytes (the source equivocates)"
            )
            return self._failed(f"refused the trust list from {self.url}: {why}", verdict)
        if verdict.accepted:
            made = self._published(candidate, body)
            won = self.publications.insert(made)
            if won.digest != made.digest:
                return self._failed(
                    f"refused the trust list from {self.url}: sequence {candidate.sequence} was stored by "
                    "another host with other bytes (the source equivocates)",
                    Update.EQUIVOCAL,
                )
            self._verified[won.digest] = candidate
            self._good = won
        self.last_error = None
        self._schedule(candidate)
        log.info(
            "trust list seq %d from %s (%s): issued %s, age %ds, expires %s (in %ds)",
            candidate.sequence, self.url, verdict.value, candidate.issued_at.isoformat(),
            (self.clock() - candidate.issued_at).total_seconds(), candidate.expires_at.isoformat(),
            (candidate.expires_at - self.clock()).total_seconds(),
        )  # fmt: skip
        return verdict

    def _failed(self, reason: str, verdict: Update | None = None) -> Update | None:
        self.last_error = reason.splitlines()[0] if reason else "unknown error"
        kept = self._good
        if kept is not None:
            log.warning("trust list refresh: %s; still serving seq %d", self.last_error, kept.version)
        else:  # only before the start, which then refuses in one line naming the reason
            log.info("trust list refresh: %s; no list to serve", self.last_error)
        self._next_refresh = time.monotonic() + min(RETRY_SECONDS, self.refresh_seconds)
        return verdict

    def _schedule(self, listed: TrustList) -> None:
        remaining = (listed.expires_at - self.clock()).total_seconds()
        wait = min(self.refresh_seconds, max(1.0, remaining / 2))
        self._next_refresh = time.monotonic() + wait

    def _published(self, listed: TrustList, body: bytes) -> Published:
        return Published(
            TRUST_LIST, self.issuer_code, NO_SHARD, listed.sequence, listed.issued_at, listed.expires_at, None,
            forms.digest(body), forms.digest(body), 0, body,
        )  # fmt: skip

    def _check(self, publication: Published) -> TrustList | None:
        """The publication's list if it verifies against the pinned root (expiry aside)."""
        found = self._verified.get(publication.digest)
        if found is None:
            try:
                found = TrustList.load(publication.body, self.root_public_key, check_expiry=False)
            except AnxinmaError:
                return None
            self._verified[publication.digest] = found
        return found

    # -- the root key in the home (b) -----------------------------------------------------------

    def _directory(self) -> KeyDirectory:
        keyring = self.key_dir / "keyring.json"
        mtime = keyring.stat().st_mtime_ns if keyring.exists() else -1
        if self._keys is None or self._keys[0] != mtime:
            self._keys = (mtime, KeyDirectory(self.key_dir, passphrase=self.passphrase))
        return self._keys[1]

    def _due(self, held: Published | None, keys: KeyDirectory, now: datetime) -> bool:
        if held is None or self._check(held) is None:
            return True
        if held.source != forms.canonical(keys.trust_list_entries()):
            return True
        assert held.expires_at is not None
        return now >= held.issued_at + (held.expires_at - held.issued_at) / 2

    def _sign_if_due(self) -> Published:
        with self._lock:
            keys = self._directory()
            for _attempt in range(5):
                held = self.publications.latest(TRUST_LIST, self.issuer_code)
                now = self.clock().replace(microsecond=0)
                if not self._due(held, keys, now):
                    assert held is not None
                    return held
                sequence = max(held.version if held else 0, keys.trust_list_sequence) + 1
                try:
                    token = build_trust_list(
                        keys, validity=HOME_VALIDITY, now=now, sequence=sequence
                    ).encode()
                except KeyStoreError as exc:  # an encrypted root without its passphrase: serve what there is
                    self.last_error = exc.explain()
                    if held is None:
                        raise
                    log.warning(
                        "cannot sign a new trust list (%s): serving seq %d", exc.explain(), held.version
                    )
                    return held
                listed = TrustList.load(token, self.root_public_key, now=now)
                made = Published(
                    TRUST_LIST, self.issuer_code, NO_SHARD, sequence, listed.issued_at, listed.expires_at, None,
                    forms.digest(token), forms.canonical(keys.trust_list_entries()), 0, token,
                )  # fmt: skip
                won = self.publications.insert(made)
                self.last_refresh = self.clock()
                if won is made:
                    self.last_error = None
                    log.info(
                        "trust list seq %d signed with the home's root key: %d issuer(s), expires %s",
                        sequence, len(listed.issuers), listed.expires_at.isoformat(),
                    )  # fmt: skip
                    return made
            latest = self.publications.latest(TRUST_LIST, self.issuer_code)
            assert latest is not None
            return latest


def fetch(source: str, *, timeout: float = 10.0) -> bytes:
    """The bytes at an http(s) URL or a file path (``file://`` too); at most :data:`MAX_BYTES`."""
    if source.startswith(("http://", "https://")):
        import requests

        try:
            with requests.get(source, timeout=timeout, stream=True) as response:
                if response.status_code != 200:
                    raise TrustListError(
                        f"{source} answered HTTP {response.status_code}",
                        message_zh=f"{source} 返回 HTTP {response.status_code}",
                    )
                body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise TrustListError(
                f"{source} is unreachable: {type(exc).__name__}", message_zh=f"无法访问 {source}"
            ) from None
    else:
        path = Path(source.removeprefix("file://"))
        with path.open("rb") as handle:
            body = handle.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise TrustListError(f"{source}: larger than {MAX_BYTES} bytes", message_zh=f"{source} 过大")
    return bytes(body.strip())
