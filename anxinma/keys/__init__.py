"""Keys: the key directory, JWKS, and the root-signed trust list of issuer keys."""

from anxinma.keys.store import KeyDirectory, KeyRecord, KeyStatus, default_home, default_key_dir
from anxinma.keys.trust_list import TrustedIssuer, TrustedKey, TrustList, build_trust_list, jwks

__all__ = [
    "KeyDirectory",
    "KeyRecord",
    "KeyStatus",
    "TrustList",
    "TrustedIssuer",
    "TrustedKey",
    "build_trust_list",
    "default_home",
    "default_key_dir",
    "jwks",
]
