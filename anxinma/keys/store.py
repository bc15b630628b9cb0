"""The key directory: a root key (the regulator's) and an issuer's keys, on disk.

Layout (docs/keys.md)::

    D/keyring.json          public metadata: issuer, key states, trust-list sequence
    D/root.key.pem          root private key, PKCS#8 (encrypted unless --insecure-dev), 0600
    D/issuer-<kid>.key.pem  one file per issuer key, same protection

Private keys are encrypted with the passphrase in ``ANXINMA_KEY_PASSPHRASE``; unencrypted keys
exist only when created with ``insecure_dev=True`` and keyring.json says so, so nothing can
quietly downgrade a production directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anxinma.credential import DEFAULT_BASE_URL, derive_kid
from anxinma.ed25519 import SigningKey
from anxinma.errors import KeyStoreError
from anxinma.keys.model import IssuerInfo, KeyRecord, KeyStatus, issuer_entry, validate_issuer_entry

__all__ = [
    "HOME_ENV",
    "PASSPHRASE_ENV",
    "IssuerInfo",
    "KeyDirectory",
    "KeyRecord",
    "KeyStatus",
    "atomic_write",
    "default_home",
    "default_key_dir",
    "validate_base_url",
]

PASSPHRASE_ENV = "ANXINMA_KEY_PASSPHRASE"
HOME_ENV = "ANXINMA_HOME"
KEYRING_FILE = "keyring.json"
ROOT_FILE = "root.key.pem"


def default_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".anxinma")


def default_key_dir() -> Path:
    return default_home() / "keys"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write-then-rename, so a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KeyDirectory:
    """Keys of one issuer and the root that signs the trust list, in one directory."""

    def __init__(self, path: Path | str, passphrase: str | None = None) -> None:
        self.path = Path(path)
        self._passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)
        keyring = self.path / KEYRING_FILE
        if not keyring.exists():
            raise KeyStoreError(
                f"no key directory at {self.path} (run `anxinma keys init --dir {self.path}`)",
                message_zh=f"{self.path} 不是密钥目录（请先运行 anxinma keys init）",
            )
        try:
            self._meta: dict[str, Any] = json.loads(keyring.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"{keyring} is unreadable: {exc}", message_zh=f"{keyring} 无法读取") from exc
        self._signing_cache: dict[bytes, SigningKey] = {}

    # -- creation ------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: Path | str,
        *,
        issuer_code: int | None = 330200,
        issuer_name: str = "宁波市商务局 (开发)",
        base_url: str = DEFAULT_BASE_URL,
        insecure_dev: bool = False,
        passphrase: str | None = None,
    ) -> KeyDirectory:
        """Create a root key and a first issuer key. Refuses to touch an existing directory.

        ``issuer_code=None`` makes a root-only directory (a regulator's): no issuer key and no
        own entry in the trust lists it signs, only the issuers added with :meth:`add_peer`.
        """
        directory = Path(path)
        passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)
        if (directory / KEYRING_FILE).exists():
            raise KeyStoreError(
                f"{directory} already holds keys; nothing was changed",
                message_zh=f"{directory} 已有密钥，未做任何修改",
            )
        leftovers = sorted(p.name for p in directory.glob("*.key.pem")) if directory.is_dir() else []
        if leftovers:
            raise KeyStoreError(
                f"{directory} holds key files but no keyring ({', '.join(leftovers)}): an interrupted "
                "init? Move them away first; nothing was changed",
                message_zh=f"{directory} 中有私钥文件但没有 keyring.json（初始化曾中断？），请先移走；未做任何修改",
            )
        if not insecure_dev and not passphrase:
            raise KeyStoreError(
                f"set {PASSPHRASE_ENV} to encrypt the private keys (or pass --insecure-dev for a throw-away "
                "development directory)",
                message_zh=f"请设置 {PASSPHRASE_ENV} 以加密私钥（开发环境可用 --insecure-dev）",
            )
        if issuer_code is not None:
            base_url = validate_base_url(base_url)
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        meta: dict[str, Any] = {
            "format": 1,
            "encrypted": not insecure_dev,
            "issuer": (
                None
                if issuer_code is None
                else {"code": issuer_code, "name": issuer_name, "base_url": base_url}
            ),
            "root_public_key": None,
            "signing_kid": None,
            "keys": [],
            "peers": [],
            "trust_list_sequence": 0,
        }
        store = cls.__new__(cls)
        store.path = directory
        store._passphrase = passphrase if not insecure_dev else None
        store._meta = meta
        store._signing_cache = {}
        root = Ed25519PrivateKey.generate()
        _write_private(directory / ROOT_FILE, store._serialize(root))
        meta["root_public_key"] = root.public_key().public_bytes_raw().hex()
        if issuer_code is None:
            store._save()
        else:
            store._add_issuer_key()
        return store

    def _serialize(self, key: Ed25519PrivateKey) -> bytes:
        if self._meta["encrypted"]:
            if not self._passphrase:
                raise KeyStoreError(f"{PASSPHRASE_ENV} is not set", message_zh=f"未设置 {PASSPHRASE_ENV}")
            encryption: serialization.KeySerializationEncryption = serialization.BestAvailableEncryption(
                self._passphrase.encode()
            )
        else:
            encryption = serialization.NoEncryption()
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)

    def _load_private(self, filename: str) -> Ed25519PrivateKey:
        data = (self.path / filename).read_bytes()
        password = None
        if self._meta["encrypted"]:
            if not self._passphrase:
                raise KeyStoreError(
                    f"{PASSPHRASE_ENV} is not set; the keys in {self.path} are encrypted",
                    message_zh=f"未设置 {PASSPHRASE_ENV}，无法解密 {self.path} 中的私钥",
                )
            password = self._passphrase.encode()
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(
                f"cannot decrypt {filename}: wrong passphrase?", message_zh=f"无法解密 {filename}：口令错误？"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyStoreError(
                f"{filename} is not an Ed25519 key", message_zh=f"{filename} 不是 Ed25519 私钥"
            )
        return key

    def _save(self) -> None:
        atomic_write(self.path / KEYRING_FILE, json.dumps(self._meta, ensure_ascii=False, indent=2).encode())

    @contextmanager
    def _changing(self) -> Iterator[None]:
        yield
        self._save()

    def _add_issuer_key(self) -> KeyRecord:
        used = {record.kid for record in self.key_records()}
        while True:  # regenerate on a kid collision within this issuer (p ~ n/65536)
            private = Ed25519PrivateKey.generate()
            public = private.public_key().public_bytes_raw()
            kid = derive_kid(public)
            if kid not in used:
                break
        _write_private(self.path / f"issuer-{kid.hex()}.key.pem", self._serialize(private))
        record = KeyRecord(kid=kid, public_key=public, status=KeyStatus.ACTIVE, created_at=_now())
        with self._changing():
            self._meta["keys"].append(record.to_json())
            self._meta["signing_kid"] = kid.hex()
        return record

    # -- reading -------------------------------------------------------------------------

    @property
    def encrypted(self) -> bool:
        return bool(self._meta["encrypted"])

    @property
    def root_only(self) -> bool:
        """A regulator's directory: a root key, no issuer of its own (``keys init`` without a code)."""
        return self._meta.get("issuer") is None

    @property
    def issuer(self) -> IssuerInfo:
        info = self._meta.get("issuer")
        if info is None:
            raise KeyStoreError(
                f"{self.path} holds only a root key (a regulator's directory): it has no issuer of its own",
                message_zh=f"{self.path} 只有根密钥（监管机构目录），没有本机构的签发密钥",
            )
        return IssuerInfo(code=int(info["code"]), name=str(info["name"]), base_url=str(info["base_url"]))

    def set_issuer(self, *, name: str | None = None, base_url: str | None = None) -> None:
        """Change the issuer's public name or base URL: only on an operator's explicit command
        (``anxinma keys set-base-url``); nothing changes the identity implicitly."""
        self.issuer  # noqa: B018 - refuses a root-only directory
        if base_url is not None:
            base_url = validate_base_url(base_url)
        with self._changing():
            if name is not None:
                self._meta["issuer"]["name"] = name
            if base_url is not None:
                self._meta["issuer"]["base_url"] = base_url

    @property
    def root_public_key(self) -> bytes:
        return bytes.fromhex(self._meta["root_public_key"])

    def root_public_pem(self) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        key = Ed25519PublicKey.from_public_bytes(self.root_public_key)
        return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def root_signing_key(self) -> Ed25519PrivateKey:
        return self._load_private(ROOT_FILE)

    def key_records(self) -> list[KeyRecord]:
        return [KeyRecord.from_json(entry) for entry in self._meta["keys"]]

    def key(self, kid: bytes | str) -> KeyRecord:
        kid_bytes = bytes.fromhex(kid) if isinstance(kid, str) else kid
        for record in self.key_records():
            if record.kid == kid_bytes:
                return record
        raise KeyStoreError(
            f"no key {kid_bytes.hex()} in {self.path}", message_zh=f"没有密钥 {kid_bytes.hex()}"
        )

    @property
    def signing_kid(self) -> bytes:
        kid = self._meta.get("signing_kid")
        if not kid:
            raise KeyStoreError(
                "no active signing key: run `anxinma keys rotate`", message_zh="没有可用的签名密钥"
            )
        return bytes.fromhex(kid)

    def signing_key(self) -> tuple[bytes, SigningKey]:
        """The kid and key that sign new credentials (decrypted once, then cached)."""
        kid = self.signing_kid
        cached = self._signing_cache.get(kid)
        if cached is None:
            cached = SigningKey.from_cryptography(self._load_private(f"issuer-{kid.hex()}.key.pem"))
            self._signing_cache[kid] = cached
        return kid, cached

    def peers(self) -> list[dict[str, Any]]:
        """Other issuers' public descriptors imported for the trust list this root signs."""
        return list(self._meta.get("peers", []))

    # -- changes -------------------------------------------------------------------------

    def rotate(self) -> KeyRecord:
        """Add a new signing key; earlier keys stay active (they keep verifying) until retired."""
        return self._add_issuer_key()

    def retire(self, kid: bytes | str) -> KeyRecord:
        return self._set_status(kid, KeyStatus.RETIRED)

    def compromised(self, kid: bytes | str) -> KeyRecord:
        return self._set_status(kid, KeyStatus.COMPROMISED)

    def _set_status(self, kid: bytes | str, status: KeyStatus) -> KeyRecord:
        record = self.key(kid)
        if record.status is KeyStatus.COMPROMISED:
            raise KeyStoreError(
                f"key {record.kid.hex()} is already marked compromised",
                message_zh=f"密钥 {record.kid.hex()} 已被标记为泄露，不能再更改",
            )
        if record.status is status:
            return record
        updated = KeyRecord(record.kid, record.public_key, status, record.created_at, _now())
        with self._changing():
            self._meta["keys"] = [
                updated.to_json() if entry["kid"] == record.kid.hex() else entry
                for entry in self._meta["keys"]
            ]
            if self._meta.get("signing_kid") == record.kid.hex():
                # The signing key left service: sign with the newest still-active key, if any.
                active = [k for k in self.key_records() if k.status is KeyStatus.ACTIVE]
                self._meta["signing_kid"] = active[-1].kid.hex() if active else None
        self._signing_cache.pop(record.kid, None)
        return updated

    def add_peer(self, descriptor: dict[str, Any]) -> None:
        """Import another issuer's public descriptor (``keys descriptor`` of its directory)."""
        entry = validate_issuer_entry(descriptor)
        if not self.root_only and entry["code"] == self.issuer.code:
            raise KeyStoreError(
                "that descriptor is this directory's own issuer", message_zh="该描述是本目录自己的签发机构"
            )
        with self._changing():
            self._meta["peers"] = [p for p in self.peers() if p["code"] != entry["code"]] + [entry]

    def next_trust_list_sequence(self) -> int:
        with self._changing():
            self._meta["trust_list_sequence"] = int(self._meta.get("trust_list_sequence", 0)) + 1
        return int(self._meta["trust_list_sequence"])

    @property
    def trust_list_sequence(self) -> int:
        """The highest trust-list sequence signed from this directory by ``keys trust-list``."""
        return int(self._meta.get("trust_list_sequence", 0))

    def descriptor(self) -> dict[str, Any]:
        """This issuer's public entry for a trust list: code, name, base URL, keys."""
        return issuer_entry(self.issuer, self.key_records())

    def trust_list_entries(self) -> list[dict[str, Any]]:
        """The issuers a trust list signed by this root names: its own (unless root-only), then peers."""
        return ([] if self.root_only else [self.descriptor()]) + self.peers()


def validate_base_url(url: str) -> str:
    """An issuer's base URL (absolute http(s), a host, no query or fragment), without a trailing slash."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in url)
    ):
        raise KeyStoreError(
            f"not a base URL: {url!r} (an absolute http(s) URL, e.g. https://v.ningbo.gov.cn)",
            message_zh=f"不是有效的基础地址：{url!r}（须为 http(s) 绝对地址）",
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise KeyStoreError(
            f"not a base URL: {url!r} (bad port)", message_zh=f"基础地址端口无效：{url!r}"
        ) from None
    return url.rstrip("/")
