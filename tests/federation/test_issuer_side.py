"""Two cities under one regulator's root, the issuer side (issue 15, build item 3): both serve the
regulator's list byte for byte, pin its root in discovery and the page's config, name each
other's origins for the page's CSP, serve only their own status data, and take the regulator's
next list (a city's rotated key) by themselves."""

from __future__ import annotations

from collections.abc import Callable

import jwt
import pytest
import requests

from anxinma.keys import TrustList
from anxinma.status_list import CredentialStatus, load_compact_status_list
from tests.federation.conftest import Federation


def _get(url: str) -> requests.Response:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
    return response


@pytest.mark.parametrize("over_http", [False, True], ids=["file", "http"])
def test_both_cities_serve_the_regulators_list_and_pin_its_root(
    federation_factory: Callable[..., Federation], over_http: bool
) -> None:
    federation = federation_factory(over_http=over_http)
    published = federation.trust_list_file.read_bytes()
    served = [_get(city.url + "/trust-list") for city in federation.cities]
    assert all(s.content == published for s in served)
    assert served[0].headers["ETag"] == served[1].headers["ETag"]
    trust = TrustList.load(published, federation.root_public_key)
    assert set(trust.issuers) == {330200, 500000}  # exactly the added cities: the regulator has none
    origins = sorted([federation.ningbo.url, federation.chongqing.url])
    for city in federation.cities:
        discovery = _get(city.url + "/.well-known/anxinma").json()
        assert discovery["issuer_code"] == city.code and discovery["base_url"] == city.url
        assert discovery["root_public_key"].strip() == federation.root_pem.read_text().strip()
        assert city.issuer.app.config["ANXINMA_ROOT_PUBLIC_KEY"] == federation.root_public_key
        assert city.issuer.app.config["ANXINMA_TRUSTED_ORIGINS"]() == origins
        assert trust.issuers[city.code].base_url == city.url
        status = _get(city.url + "/trust-list/status").json()
        assert (
            status["mode"] == "url" and status["sequence"] == trust.sequence and status["last_error"] is None
        )


def test_each_city_serves_only_its_own_status_data(federation: Federation) -> None:
    ningbo, chongqing = federation.ningbo, federation.chongqing
    issued = {city.code: int(city.issuer.credential()["serial"]) for city in federation.cities}  # type: ignore[call-overload]
    chongqing.issuer.api("POST", f"/api/v1/credentials/{issued[500000]}/revoke", json={"reason": "left"})
    trust = TrustList.load(federation.trust_list_file.read_bytes(), federation.root_public_key)

    def key_for(code: int, kid: bytes) -> bytes | None:
        found = trust.issuer(code)
        key = found.keys.get(kid) if found else None
        return key.public_key if key else None

    listed = load_compact_status_list(_get(f"{chongqing.url}/status/500000/0/compact").content, key_for)
    assert listed.issuer_code == 500000 and listed.status(issued[500000]) is CredentialStatus.REVOKED
    for city, other in ((ningbo, 500000), (chongqing, 330200)):
        for path in (f"/status/{other}/0", f"/status/{other}/0/compact", f"/status/{other}/freshness"):
            assert requests.get(city.url + path, timeout=10).status_code == 404
        freshness = _get(f"{city.url}/status/{city.code}/freshness").text
        claims = jwt.decode(freshness, options={"verify_signature": False})
        assert claims["iss"] == str(city.code)
        assert all(s["url"].startswith(city.url + f"/status/{city.code}/") for s in claims["shards"])


def test_a_city_key_rotation_reaches_both_cities_through_the_regulator(federation: Federation) -> None:
    from anxinma.keys import KeyDirectory

    chongqing = federation.chongqing
    rotated = KeyDirectory(chongqing.keys_dir).rotate()
    federation.add_issuer(chongqing)
    published = federation.republish()
    federation.refresh()
    for city in federation.cities:
        served = _get(city.url + "/trust-list").content
        assert served == published
        assert rotated.kid in TrustList.load(served, federation.root_public_key).issuers[500000].keys
