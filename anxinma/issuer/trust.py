"""The trust list this service publishes at ``/trust-list``.

Where the service holds the root key (a development home, or a regulator running its own
platform) it signs a new list when there is none, when the keys changed, or when half of the
list's validity has passed; the file ``$ANXINMA_HOME/trust-list.jwt`` is shared by every worker
process under a file lock, so they publish one sequence number, not one each. Where the root
is held elsewhere (production), the regulator's signed list is dropped into that file and
served as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from anxinma.errors import KeyStoreError, TrustListError
from anxinma.keys import KeyDirectory, build_trust_list
from anxinma.keys.store import atomic_write

FILE = "trust-list.jwt"


class TrustListFile:
    def __init__(self, home: Path, keys: KeyDirectory, passphrase: str | None = None) -> None:
        self.path = home / FILE
        self.keys = keys
        self.passphrase = passphrase
        self._lock = threading.Lock()
        self._cached: tuple[float, str, str] | None = None  # (mtime, token, etag)

    def _needs_new(self, token: str | None) -> bool:
        if token is None:
            return True
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return True
        now = datetime.now(UTC).timestamp()
        if now > (int(claims["iat"]) + int(claims["exp"])) / 2:
            return True
        own = next((i for i in claims.get("issuers", []) if i.get("code") == self.keys.issuer.code), None)
        return own != self.keys.descriptor()

    def refresh(self) -> None:
        """Sign a new list if this home holds the root key and the current one is due."""
        if not (self.keys.path / "root.key.pem").exists():
            return
        lock_path = self.path.with_suffix(".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.path.read_text("ascii").strip() if self.path.exists() else None
            reread = KeyDirectory(self.keys.path, passphrase=self.passphrase)
            self.keys = reread
            if self._needs_new(current):
                token = build_trust_list(reread, validity=timedelta(days=30))
                atomic_write(self.path, token.encode())

    def current(self) -> tuple[str, str]:
        """(token, ETag); raises :class:`TrustListError` when there is none to serve."""
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except FileNotFoundError:
                mtime = -1.0
            if self._cached is not None and self._cached[0] == mtime:
                token, etag = self._cached[1], self._cached[2]
                if not self._due(token):
                    return token, etag
            with contextlib.suppress(KeyStoreError):  # an encrypted root without passphrase: serve the file
                self.refresh()
            if not self.path.exists():
                raise TrustListError("no trust list published yet", message_zh="尚未发布信任列表")
            token = self.path.read_text("ascii").strip()
            etag = '"' + hashlib.sha256(token.encode()).hexdigest()[:32] + '"'
            self._cached = (self.path.stat().st_mtime, token, etag)
            return token, etag

    def _due(self, token: str) -> bool:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            return bool(datetime.now(UTC).timestamp() > (int(claims["iat"]) + int(claims["exp"])) / 2)
        except (jwt.PyJWTError, KeyError, ValueError):
            return True
