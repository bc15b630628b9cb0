"""Status lists: what an offline verifier knows about revocation, suspension and attention.

Three publications carry one shard's statuses (two bits a serial, :mod:`.array`):

- the standard Token Status List forms (draft-ietf-oauth-status-list §5), JWT and CWT, for
  other verifiers (:mod:`.tokens`);
- the compact form our own verifiers download, Golomb-Rice coded gaps within a few per cent
  of the Shannon bound (:mod:`.compact`);
- and, per issuer, the freshness document that names each shard's current version and digest
  (:mod:`.freshness`), so a sync with nothing changed moves one small file.

Every publication of a shard carries a strictly increasing ``version`` and every loaded one
its ``digest`` (SHA-256 of the exact bytes), for :func:`anxinma.rollback.judge`.
"""

from __future__ import annotations

from anxinma.status_list.array import (
    BITS,
    MAX_INFLATED,
    SHARD_SIZE,
    CredentialStatus,
    StatusArray,
    shard_of,
)
from anxinma.status_list.compact import (
    COMPACT_TYPE,
    FAR_FUTURE,
    compact_digest,
    load_compact_status_list,
    sign_compact_status_list,
)
from anxinma.status_list.freshness import (
    DEFAULT_FRESHNESS_TTL,
    FRESHNESS_TYPE,
    Freshness,
    ShardVersion,
    load_freshness,
    sign_freshness,
)
from anxinma.status_list.tokens import (
    CWT_TYPE,
    DEFAULT_TTL,
    DEFAULT_VALIDITY,
    TOKEN_TYPE,
    PublicKeyLookup,
    StatusList,
    digest_of,
    load_status_list,
    load_status_list_cwt,
    sign_status_list,
    sign_status_list_cwt,
)

__all__ = [
    "BITS",
    "COMPACT_TYPE",
    "CWT_TYPE",
    "DEFAULT_FRESHNESS_TTL",
    "DEFAULT_TTL",
    "DEFAULT_VALIDITY",
    "FAR_FUTURE",
    "FRESHNESS_TYPE",
    "MAX_INFLATED",
    "SHARD_SIZE",
    "TOKEN_TYPE",
    "CredentialStatus",
    "Freshness",
    "PublicKeyLookup",
    "ShardVersion",
    "StatusArray",
    "StatusList",
    "compact_digest",
    "digest_of",
    "load_compact_status_list",
    "load_freshness",
    "load_status_list",
    "load_status_list_cwt",
    "shard_of",
    "sign_compact_status_list",
    "sign_freshness",
    "sign_status_list",
    "sign_status_list_cwt",
]
