"""Status lists served by the issuer: both token forms, incremental re-signing, ETags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from anxinma.errors import StatusListError
from anxinma.keys import TrustList
from anxinma.status_list import CWT_TYPE, CredentialStatus, load_status_list, load_status_list_cwt
from tests.conftest import LiveIssuer


def _keys(issuer: LiveIssuer):  # type: ignore[no-untyped-def]
    trust = TrustList.load(issuer.trust_list(), issuer.root_public_key, now=datetime.now(UTC))

    def key_for(code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    return key_for


def test_jwt_and_cwt_forms_carry_the_same_statuses(issuer_on: LiveIssuer) -> None:
    serials = [int(issuer_on.credential()["serial"]) for _ in range(4)]  # type: ignore[call-overload]
    issuer_on.api("POST", f"/api/v1/credentials/{serials[1]}/revoke", json={"reason": "lost"})
    issuer_on.api("POST", f"/api/v1/credentials/{serials[2]}/suspend", json={})
    key_for = _keys(issuer_on)
    jwt_list = load_status_list(issuer_on.status_list(0), key_for)
    response = issuer_on.api("GET", "/status/330200/0", token="", headers={"Accept": CWT_TYPE})
    assert response.headers["Content-Type"] == CWT_TYPE and response.headers["Vary"] == "Accept"
    cwt_list = load_status_list_cwt(response.content, key_for)
    expected = [
        CredentialStatus.VALID,
        CredentialStatus.REVOKED,
        CredentialStatus.SUSPENDED,
        CredentialStatus.VALID,
    ]
    assert [jwt_list.status(s) for s in serials] == expected
    assert [cwt_list.status(s) for s in serials] == expected
    assert cwt_list.size == jwt_list.size == max(serials) + 1
    tampered = bytearray(response.content)
    tampered[-1] ^= 1
    with pytest.raises(StatusListError):
        load_status_list_cwt(bytes(tampered), key_for)


def test_token_is_resigned_only_when_its_shard_changes(live_issuer: LiveIssuer) -> None:
    serial = int(live_issuer.credential()["serial"])  # type: ignore[call-overload]
    board = live_issuer.runtime.board
    first = board.publication(0)
    assert first is not None and board.publication(0) == first  # nothing changed: the same publication
    etag = live_issuer.api("GET", "/status/330200/0", token="").headers["ETag"]
    assert (
        live_issuer.api("GET", "/status/330200/0", token="", headers={"If-None-Match": etag}).status_code
        == 304
    )
    live_issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "lost"})
    changed = live_issuer.api("GET", "/status/330200/0", token="", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "max-age=" in changed.headers["Cache-Control"]
    assert load_status_list(changed.text, _keys(live_issuer)).status(serial) is CredentialStatus.REVOKED


def test_unknown_issuer_or_shard_is_404(live_issuer: LiveIssuer) -> None:
    live_issuer.credential()
    assert live_issuer.api("GET", "/status/110000/0", token="").status_code == 404
    assert live_issuer.api("GET", "/status/330200/3", token="").status_code == 404
