"""Keys: the key directory, JWKS, and the root-signed trust list of issuer keys.

Modules, lowest first (imports point one way): ``jwk`` (Ed25519 ⇄ JWK), ``model`` (key states,
records, issuer entries), ``store`` (the key directory on disk), ``trust_list`` (the signed list).
"""

from anxinma.keys.model import IssuerInfo, KeyRecord, KeyStatus, issuer_entry, validate_issuer_entry
from anxinma.keys.store import KeyDirectory, default_home, default_key_dir
from anxinma.keys.trust_list import TrustedIssuer, TrustedKey, TrustList, build_trust_list, jwks

__all__ = [
    "IssuerInfo",
    "KeyDirectory",
    "KeyRecord",
    "KeyStatus",
    "TrustList",
    "TrustedIssuer",
    "TrustedKey",
    "build_trust_list",
    "default_home",
    "default_key_dir",
    "issuer_entry",
    "jwks",
    "validate_issuer_entry",
]
