"""Key material of the service itself (not the signing keys): identity hashing, field
encryption, console sessions and the audit chain.

Each key is 32 random bytes in ``$ANXINMA_HOME/secret/<name>.key`` (mode 0600), generated on
first start. Creation uses O_EXCL, so two gunicorn workers starting at once end up with the same
key: the loser of the race reads the winner's file. Several hosts share one ``secret/``
directory (docs/operations.md): a different identity key on another host would make the same
person look like two.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anxinma.errors import AnxinmaError

KEY_SIZE = 32
_NONCE = 12


def _load_or_create(directory: Path, name: str) -> bytes:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{name}.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the winner may not have written its 32 bytes yet
            data = path.read_bytes()
            if len(data) == KEY_SIZE:
                return data
            time.sleep(0.02)
        raise AnxinmaError(
            f"{path} is not a {KEY_SIZE}-byte key", message_zh=f"{path} 不是有效的密钥文件"
        ) from None
    key = secrets.token_bytes(KEY_SIZE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


@dataclass(frozen=True)
class Vault:
    """The service's symmetric keys, each for one purpose."""

    identity_key: bytes  # HMAC of identity and phone numbers: matching without the clear number
    data_key: bytes  # AES-256-GCM of the few personal fields kept recoverable
    session_key: bytes  # HS256 of console sessions
    audit_key: bytes  # HMAC chain of the audit log

    @classmethod
    def open(cls, directory: Path) -> Vault:
        return cls(
            identity_key=_load_or_create(directory, "identity"),
            data_key=_load_or_create(directory, "data"),
            session_key=_load_or_create(directory, "session"),
            audit_key=_load_or_create(directory, "audit"),
        )

    def identity_hash(self, kind: str, value: str) -> str:
        """Keyed hash of a normalised identifier (``kind`` separates ID numbers from phones).

        Without the key nobody can test a guessed number against the table, which a plain
        hash of an 18-digit ID (a small, structured space) would allow.
        """
        return hmac.new(self.identity_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: str, context: str) -> bytes:
        """AES-256-GCM, random nonce, ``context`` (e.g. ``worker.phone``) bound as associated data."""
        nonce = secrets.token_bytes(_NONCE)
        return nonce + AESGCM(self.data_key).encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, context: str) -> str:
        try:
            return AESGCM(self.data_key).decrypt(blob[:_NONCE], blob[_NONCE:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise AnxinmaError(
                "an encrypted field does not decrypt (wrong secret/ directory?)",
                message_zh="加密字段无法解密（secret 目录不对？）",
            ) from exc
