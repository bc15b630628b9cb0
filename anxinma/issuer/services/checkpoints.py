"""Signed checkpoints of the audit chain: its head anchored outside the database.

The chain of :mod:`anxinma.issuer.store.audit` is keyed (HMAC), so a writer of the database who
does not hold ``secret/audit.key`` cannot alter or remove an entry in the middle. It can still
cut the tail: delete the newest entries and set the head counter to the stored hash of the new
last entry, and the shortened chain is consistent. Restoring an older copy of the database
(rewinding) does the same. Neither is visible from inside the database.

A checkpoint is what Certificate Transparency calls a signed tree head: the chain's size (its
last sequence number), the hash of that entry and the time, signed (compact JWS, EdDSA, ``typ``
:data:`CHECKPOINT_TYPE`) with the issuer's signing key, the key that signs credentials and status
lists (docs/keys.md). After every transaction that appended entries the service writes one line
to ``$ANXINMA_HOME/audit/checkpoints`` (opened append-only; docs/operations.md says where to keep
it), so the file always holds the head of every commit. ``anxinma audit verify`` then requires,
for every checkpoint it has (that file, and any the operator or a monitor kept elsewhere), that
entry ``size`` exists and carries ``head``: a cut tail, a rewound database and a re-chained
history (an alteration by someone who also read the audit key) all fail that check.

What a checkpoint cannot prove: entries written after the newest checkpoint (a crash between the
commit and the line: one transaction) are not anchored, and someone who holds both the database
and the signing key *and* can rewrite every copy of the checkpoints can still rewrite history.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from anxinma import ed25519
from anxinma.errors import AnxinmaError
from anxinma.issuer.store.audit import MESSAGES
from anxinma.keys import KeyDirectory
from anxinma.keys.jwk import b64url, b64url_decode
from anxinma.messages import Message, Text

log = logging.getLogger("anxinma.issuer.services.checkpoints")

#: The JWS ``typ`` of an audit checkpoint.
CHECKPOINT_TYPE = "anxinma-audit-checkpoint+jwt"
#: The file, under ``$ANXINMA_HOME``, the service appends a checkpoint to after each commit.
CHECKPOINT_FILE = Path("audit") / "checkpoints"
_HEAD = re.compile(r"[0-9a-f]{64}")


class BadCheckpoint(AnxinmaError):
    """A checkpoint that is malformed, of another issuer, or not signed by one of its keys."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain had ``size`` entries and entry ``size`` carried ``head``, at ``signed_at``."""

    issuer_code: int
    size: int
    head: str
    signed_at: datetime
    kid: str
    token: str


def sign(issuer_code: int, size: int, head: str, key: ed25519.SigningKey, kid: bytes, now: datetime) -> str:
    """A compact JWS (EdDSA) of the chain head ``(size, head)`` at ``now``."""
    if size < 1 or not _HEAD.fullmatch(head):
        raise ValueError("a checkpoint names the last entry (size >= 1) and its 64-hex hash")
    header = {"alg": "EdDSA", "typ": CHECKPOINT_TYPE, "kid": kid.hex()}
    claims = {"iss": str(issuer_code), "size": size, "head": head, "iat": int(now.timestamp())}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":"), sort_keys=True).encode()) for part in (header, claims)
    )
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def load(token: str, keys: KeyDirectory) -> Checkpoint:
    """Read and verify one checkpoint of this directory's issuer; raises :class:`BadCheckpoint`.

    Any key of the issuer's keyring is accepted, retired or compromised too: a checkpoint adds a
    condition the chain must meet and never removes one, so a forged one can raise a false alarm
    but cannot hide a change.
    """
    try:
        header_b64, claims_b64, signature_b64 = token.strip().split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
    except (ValueError, TypeError, RecursionError, AnxinmaError) as exc:  # AnxinmaError: bad base64url
        raise BadCheckpoint(
            "not a checkpoint (a compact JWS)", message_zh="不是检查点（JWS 格式错误）"
        ) from exc
    if (
        not isinstance(header, dict)
        or not isinstance(claims, dict)
        or header.get("typ") != CHECKPOINT_TYPE
        or header.get("alg") != "EdDSA"
    ):
        raise BadCheckpoint("not an audit checkpoint", message_zh="不是审计日志检查点")
    try:
        record = keys.key(str(header.get("kid")))
    except (AnxinmaError, ValueError) as exc:
        raise BadCheckpoint(
            f"signed by a key this issuer does not have ({header.get('kid')})",
            message_zh="签名密钥不属于本签发机构",
        ) from exc
    if not ed25519.verify(record.public_key, signature, f"{header_b64}.{claims_b64}".encode("ascii")):
        raise BadCheckpoint("the signature does not verify", message_zh="签名无效")
    size, head, iat = (claims.get(name) for name in ("size", "head", "iat"))
    if (
        claims.get("iss") != str(keys.issuer.code)
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 1
        or not isinstance(head, str)
        or not _HEAD.fullmatch(head)
        or not isinstance(iat, int)
        or isinstance(iat, bool)
        or not 0 <= iat < 2**35  # a time datetime can hold
    ):
        raise BadCheckpoint(
            "claims of another issuer or malformed", message_zh="检查点内容无效或属于其他机构"
        )
    return Checkpoint(
        keys.issuer.code, size, head, datetime.fromtimestamp(iat, UTC), record.kid.hex(), token.strip()
    )


def numbered_tokens(path: Path, limit: int | None = None) -> Iterator[tuple[int, str]]:
    """(line number, token) of each checkpoint of a file (one compact JWS a line; blank lines
    ignored), read line by line (constant memory) and only up to ``limit`` bytes; none if the
    file is absent."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        read = 0
        for number, raw in enumerate(handle, 1):
            read += len(raw)
            if limit is not None and read > limit:
                return  # a line appended after the limit was taken (or cut by it)
            line = raw.decode("ascii", errors="replace").strip()
            if line:
                yield number, line


def read_tokens(path: Path) -> list[str]:
    """The checkpoints of a file, in file order."""
    return [token for _number, token in numbered_tokens(path)]


class CheckpointScan:
    """The checkpoints of some files as they are *now* (each file's length is taken when the scan
    is made, so lines of commits made while the chain is walked are not read), verified one at a
    time as they are iterated: memory stays constant however long the files are. Lines that do not
    verify are counted in ``refused`` and the first :data:`SHOWN` kept as ``bad`` messages."""

    SHOWN = 20

    def __init__(self, keys: KeyDirectory, paths: Iterable[Path]) -> None:
        self.keys = keys
        self.files = [(path, path.stat().st_size if path.exists() else 0) for path in paths]
        self.bad: list[Message] = []
        self.refused = 0

    def __iter__(self) -> Iterator[Checkpoint]:
        for path, limit in self.files:
            for number, token in numbered_tokens(path, limit):
                try:
                    yield load(token, self.keys)
                except BadCheckpoint as exc:
                    self.refused += 1
                    if len(self.bad) < self.SHOWN:
                        why = Text(exc.message_zh, exc.message)
                        self.bad.append(MESSAGES("checkpoint_refused", file=str(path), line=number, why=why))


def _size_of(token: str) -> int:
    """The ``size`` claim of a token, unverified (0 when unreadable): only to pick the newest line."""
    try:
        size = json.loads(b64url_decode(token.split(".")[1])).get("size")
    except (ValueError, TypeError, IndexError, AttributeError):
        return 0
    return size if isinstance(size, int) and not isinstance(size, bool) else 0


class AuditCheckpoints:
    """Writes this issuer's checkpoints to its file and reads them back for ``audit verify``."""

    #: How much of the file's end :meth:`newest` reads: the lines of the last few commits
    #: (concurrent workers may append them out of order).
    TAIL = 8192

    def __init__(self, path: Path, keys: KeyDirectory) -> None:
        self.path = path
        self.keys = keys
        self._newest: tuple[tuple[int, int], Checkpoint | None] | None = None

    def write(self, size: int, head: str, now: datetime | None = None) -> str:
        """Sign ``(size, head)`` and append it as one line (one ``write`` on an ``O_APPEND``
        descriptor: lines of concurrent workers never interleave on a local file system)."""
        kid, key = self.keys.signing_key()
        token = sign(self.keys.issuer.code, size, head, key, kid, now or datetime.now(UTC))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{token}\n".encode("ascii"))
        finally:
            os.close(fd)
        return token

    def after_commit(self, size: int, head: str) -> None:
        """:meth:`write`, logging (never raising) a failure: the change it anchors is committed
        already, and a request must not fail for its checkpoint (the next commit writes one)."""
        try:
            self.write(size, head)
        except Exception:
            log.exception("audit checkpoint %d not written to %s", size, self.path)

    def newest(self) -> Checkpoint | None:
        """The largest checkpoint among the file's last lines, verified; None when there is none.

        What ``GET /audit/checkpoint`` serves: a head this process signed after a commit, never a
        head read back from the database (a writer of the database could have set that one).
        Re-read only when the file's size or mtime changed.
        """
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        mark = (stat.st_size, stat.st_mtime_ns)
        if self._newest is not None and self._newest[0] == mark:
            return self._newest[1]
        with self.path.open("rb") as handle:
            handle.seek(max(0, stat.st_size - self.TAIL))
            tail = handle.read().decode("ascii", errors="replace").splitlines()
        if stat.st_size > self.TAIL:
            tail = tail[1:]  # the first line read is cut
        found: Checkpoint | None = None
        for token in sorted((t.strip() for t in tail if t.strip()), key=_size_of, reverse=True):
            try:
                found = load(token, self.keys)
                break
            except BadCheckpoint:
                continue
        self._newest = (mark, found)
        return found

    def scan(self, extra: Iterable[Path] = ()) -> CheckpointScan:
        """The checkpoints of the file and of ``extra`` files (copies kept elsewhere), as they are now."""
        return CheckpointScan(self.keys, [self.path, *extra])


__all__ = [
    "CHECKPOINT_FILE",
    "CHECKPOINT_TYPE",
    "AuditCheckpoints",
    "BadCheckpoint",
    "Checkpoint",
    "CheckpointScan",
    "load",
    "sign",
]
