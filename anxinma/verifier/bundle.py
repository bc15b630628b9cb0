"""Trust bundles on disk: what an offline verifier knows, one directory per issuer origin.

Layout (docs/verifier.md, "Bundle layout")::

    D/                              the bundle directory ($ANXINMA_HOME/bundles by default)
      <origin>/                     one issuer origin, named from its URL: v.ningbo.gov.cn, 127.0.0.1_8600
        current                     one line: the generation in use (replaced by rename, never edited)
        .lock                       held (flock) by a sync in progress
        gen-<utc µs>-<rand>/        a complete, verified generation; never changed once named
          meta.json                 fetched_at, ETags, trust-list sequence, sha256 of every file
          root.pem                  the pinned root public key (SubjectPublicKeyInfo PEM)
          discovery.json            the issuer's /.well-known/anxinma, as fetched
          trust-list.jwt            the root-signed trust list
          jwks.json                 the issuer's JWKS (kept for reference; the trust list is authoritative)
          status/<code>-<shard>.jwt one status list token per shard

A generation is written in a hidden ``.tmp-…`` directory, every file fsynced, renamed into
place, and only then named by ``current`` (write, fsync, rename, fsync the directory), so a
reader sees the old generation or the new one and never half of one; the previous generation
is kept so that a reader that read ``current`` just before a swap still finds its files.

Loading re-checks everything: file digests against ``meta.json``, the trust list against the
pinned root, every status list against the keys that trust list names. A damaged origin is
skipped (and named in ``problems``); the others still load.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from anxinma.errors import AnxinmaError, KeyStoreError
from anxinma.keys.jwk import read_public_key
from anxinma.keys.store import default_home
from anxinma.keys.trust_list import TrustList
from anxinma.status_list import (
    Freshness,
    StatusList,
    load_compact_status_list,
    load_freshness,
    load_status_list,
)
from anxinma.verifier.errors import BundleError
from anxinma.verifier.offline import TrustAnchor

FORMAT = 1
POINTER = "current"
LOCK = ".lock"
META = "meta.json"
ROOT = "root.pem"
DISCOVERY = "discovery.json"
TRUST_LIST = "trust-list.jwt"
JWKS = "jwks.json"
FRESHNESS = "freshness.jwt"
STATUS_DIR = "status"
_GENERATION = re.compile(r"gen-\d{8}T\d{12}Z-[0-9a-f]{8}")


def default_bundle_dir() -> Path:
    """``$ANXINMA_HOME/bundles`` (docs/interfaces.md, "Configuration")."""
    return default_home() / "bundles"


def origin_name(url: str) -> str:
    """The directory name of an issuer origin: host, then port and path if any, made file-safe.

    ``https://v.ningbo.gov.cn`` -> ``v.ningbo.gov.cn``; ``http://127.0.0.1:8600/`` ->
    ``127.0.0.1_8600``. Raises :class:`BundleError` for something that is not an http(s) URL.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BundleError(
            f"an issuer URL looks like https://v.example.gov.cn, got {url!r}",
            message_zh=f"签发机构网址应形如 https://v.example.gov.cn，收到 {url!r}",
        )
    name = parts.hostname.lower()
    if parts.port is not None:
        name += f"_{parts.port}"
    path = parts.path.strip("/")
    if path:
        name += "_" + path
    return re.sub(r"[^a-z0-9._-]+", "_", name.lower())


def status_file(issuer_code: int, shard: int, *, compact: bool = False) -> str:
    """Where a shard is kept: ``.cose`` for the compact form, ``.jwt`` for the standard one."""
    return f"{STATUS_DIR}/{issuer_code}-{shard}.{'cose' if compact else 'jwt'}"


def root_pem(public_key: bytes) -> bytes:
    key = Ed25519PublicKey.from_public_bytes(public_key)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def read_root_key(data: bytes) -> bytes:
    """A root public key from PEM (what ``anxinma keys root`` prints) or 64 hex digits
    (:func:`anxinma.keys.jwk.read_public_key`). Raises :class:`BundleError` for anything else."""
    try:
        return read_public_key(data)
    except KeyStoreError as exc:
        raise BundleError(exc.message, message_zh=exc.message_zh) from exc


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerBundle:
    """One origin's generation, loaded and verified: its trust list and status lists."""

    origin: str
    path: Path
    generation: str
    meta: dict[str, Any]
    root_public_key: bytes
    trust_list: TrustList
    status_lists: dict[tuple[int, int], StatusList]
    discovery: dict[str, Any]
    freshness: dict[int, Freshness] = field(default_factory=dict)  # issuer code -> its freshness document

    @property
    def issuer_code(self) -> int | None:
        code = self.meta.get("issuer_code")
        return code if isinstance(code, int) else None

    @property
    def fetched_at(self) -> datetime | None:
        value = self.meta.get("fetched_at")
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    @property
    def root_source(self) -> str:
        return str(self.meta.get("root_source", "pinned"))

    @property
    def trust_list_sequence(self) -> int:
        return self.trust_list.sequence

    def anchor(self) -> TrustAnchor:
        return TrustAnchor(
            self.trust_list,
            self.status_lists,
            name=self.origin,
            issuer_code=self.issuer_code,
            fetched_at=self.fetched_at,
            root_source=self.root_source,
            freshness=self.freshness,
        )

    def file(self, name: str) -> Path:
        return self.path / self.generation / name

    @classmethod
    def load(cls, origin_dir: Path) -> IssuerBundle:
        """Load and re-verify the generation ``current`` names; raises :class:`BundleError`."""
        origin = origin_dir.name
        generation = current_generation(origin_dir)
        if generation is None:
            raise BundleError(
                f"{origin}: no complete bundle (never synced, or the first sync did not finish)",
                message_zh=f"{origin}：没有完整的信任包（尚未同步或首次同步未完成）",
            )
        gen_dir = origin_dir / generation
        try:
            meta = json.loads((gen_dir / META).read_text("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise BundleError(f"{origin}: meta.json is not a format-{FORMAT} bundle")
            files = meta.get("files")
            if not isinstance(files, dict):
                raise BundleError(f"{origin}: meta.json lists no files")
            contents: dict[str, bytes] = {}
            for name, digest in files.items():
                data = (gen_dir / name).read_bytes()
                if sha256(data) != digest:
                    raise BundleError(
                        f"{origin}: {name} does not match its digest (damaged on disk?)",
                        message_zh=f"{origin}：{name} 与摘要不符（磁盘上被改动？）",
                    )
                contents[name] = data
            root = read_root_key(contents[ROOT])
            trust_list = TrustList.load(contents[TRUST_LIST], root, check_expiry=False)
            if trust_list.sequence != meta.get("trust_list_sequence"):
                raise BundleError(f"{origin}: the trust list's sequence differs from meta.json")
            status_lists: dict[tuple[int, int], StatusList] = {}
            lookup = trust_list.active_key
            for name, data in contents.items():
                if name.startswith(STATUS_DIR + "/"):
                    status_list = (
                        load_compact_status_list(data, lookup)
                        if name.endswith(".cose")
                        else load_status_list(data.decode("ascii", "replace").strip(), lookup)
                    )
                    status_lists[(status_list.issuer_code, status_list.shard)] = status_list
            freshness: dict[int, Freshness] = {}
            if FRESHNESS in contents:
                document = load_freshness(contents[FRESHNESS], lookup)
                freshness[document.issuer_code] = document
            discovery = json.loads(contents[DISCOVERY]) if DISCOVERY in contents else {}
        except BundleError:
            raise
        except AnxinmaError as exc:
            raise BundleError(f"{origin}: {exc.message}", message_zh=f"{origin}：{exc.message_zh}") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BundleError(
                f"{origin}: unreadable bundle ({exc})", message_zh=f"{origin}：信任包无法读取（{exc}）"
            ) from exc
        return cls(origin, origin_dir, generation, meta, root, trust_list, status_lists, discovery, freshness)


def current_generation(origin_dir: Path) -> str | None:
    """The generation ``current`` names, or None when there is none (or it names nothing valid)."""
    try:
        name = (origin_dir / POINTER).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not _GENERATION.fullmatch(name) or not (origin_dir / name).is_dir():
        return None
    return name


@dataclass(frozen=True)
class TrustBundle:
    """Every origin in a bundle directory, loaded side by side."""

    directory: Path
    issuers: tuple[IssuerBundle, ...]
    problems: tuple[str, ...] = ()
    state: tuple[tuple[str, str | None], ...] = ()  # see :meth:`current_state`

    @staticmethod
    def current_state(directory: Path | str) -> tuple[tuple[str, str | None], ...]:
        """(origin, generation in use) for every origin: cheap (one small read per origin).

        A long-running verifier (a page, a kiosk) compares it with ``bundle.state`` and
        reloads only when a sync has swapped a generation in.
        """
        root = Path(directory)
        if not root.is_dir():
            return ()
        return tuple(
            (p.name, current_generation(p))
            for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")
        )

    @classmethod
    def load(cls, directory: Path | str, *, require: bool = True) -> TrustBundle:
        """Load every origin under ``directory``.

        Raises :class:`BundleError` when ``require`` and no origin loads (with the reason of
        each failure); a broken origin beside good ones is skipped and named in ``problems``.
        """
        root = Path(directory)
        state = cls.current_state(root)
        loaded: list[IssuerBundle] = []
        problems: list[str] = []
        origins = (
            sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
            if root.is_dir()
            else []
        )
        for origin_dir in origins:
            try:
                loaded.append(IssuerBundle.load(origin_dir))
            except BundleError as exc:
                problems.append(exc.explain())
        if require and not loaded:
            detail = "; ".join(problems)
            raise BundleError(
                f"no usable trust bundle in {root}{': ' + detail if detail else ''} "
                f"(run `anxinma verifier sync --issuer URL --dir {root}`)",
                message_zh=f"{root} 中没有可用的信任包，请先运行 anxinma verifier sync --issuer 网址",
            )
        return cls(root, tuple(loaded), tuple(problems), state)

    def anchors(self) -> list[TrustAnchor]:
        """One :class:`TrustAnchor` per loaded origin (``Verifier.from_trust_bundle`` takes them)."""
        return [issuer.anchor() for issuer in self.issuers]


# -- writing -------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(origin_dir: Path) -> Iterator[None]:
    """Hold the origin's sync lock; raises :class:`BundleError` if another sync holds it."""
    origin_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(origin_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BundleError(
                f"another sync of {origin_dir.name} is running",
                message_zh=f"{origin_dir.name} 正在被另一个同步进程更新",
            ) from exc
        yield
    finally:
        os.close(fd)


@dataclass
class GenerationWriter:
    """Builds one new generation of an origin and swaps it in; nothing is visible before :meth:`commit`.

    Use inside :func:`locked`. Files are added with :meth:`add` (new bytes) or :meth:`keep`
    (unchanged from the previous generation: hard-linked, copied if links are not possible).
    If anything raises before :meth:`commit`, :meth:`discard` (or the next sync) removes the
    half-written directory and the generation in use stays as it was.
    """

    origin_dir: Path
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self.name = f"gen-{stamp}-{secrets.token_hex(4)}"
        self.tmp = self.origin_dir / f".tmp-{self.name}"
        self.tmp.mkdir(parents=True)
        (self.tmp / STATUS_DIR).mkdir()

    def add(self, name: str, data: bytes) -> None:
        path = self.tmp / name
        with open(path, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.files[name] = sha256(data)

    def keep(self, previous: Path, name: str, digest: str) -> None:
        """Carry an unchanged file over from the previous generation."""
        try:
            os.link(previous / name, self.tmp / name)
        except OSError:
            shutil.copyfile(previous / name, self.tmp / name)
        self.files[name] = digest

    def commit(self, meta: dict[str, Any]) -> str:
        """Write meta.json, fsync, rename into place, point ``current`` at it; returns its name."""
        meta = {**meta, "format": FORMAT, "generation": self.name, "files": dict(sorted(self.files.items()))}
        data = json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True).encode()
        with open(self.tmp / META, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.tmp / STATUS_DIR)
        _fsync_dir(self.tmp)
        final = self.origin_dir / self.name
        os.rename(self.tmp, final)
        _fsync_dir(self.origin_dir)
        pointer_tmp = self.origin_dir / f".{POINTER}.{secrets.token_hex(4)}"
        with open(pointer_tmp, "x", encoding="ascii") as handle:
            handle.write(self.name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, self.origin_dir / POINTER)
        _fsync_dir(self.origin_dir)
        return self.name

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def prune(origin_dir: Path, keep: int = 2) -> None:
    """Remove leftovers of interrupted syncs and all but the ``keep`` newest generations.

    The generation ``current`` names is never removed. Call under :func:`locked`.
    """
    current = current_generation(origin_dir)
    for leftover in origin_dir.glob(".tmp-gen-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for stale_pointer in origin_dir.glob(f".{POINTER}.*"):
        stale_pointer.unlink(missing_ok=True)
    generations = sorted(p.name for p in origin_dir.iterdir() if p.is_dir() and _GENERATION.fullmatch(p.name))
    for name in generations[:-keep] if keep else generations:
        if name != current:
            shutil.rmtree(origin_dir / name, ignore_errors=True)
