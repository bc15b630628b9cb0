"""Cities under one regulator's root, seen by a kiosk's verifier through the real command line.

The kiosk pins the regulator's root once (``--root-key``) and syncs Ningbo's service; ``--follow``
brings Chongqing from the base URL the regulator's list gives it, pinned to the same root. Then a
Chongqing worker verifies in Ningbo offline, a Chongqing revocation arrives with the next sync
from Chongqing's own service, and a first-use origin claiming Chongqing's code is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from anxinma.cli import main
from anxinma.verifier import Status, Verifier
from anxinma.verifier import bundle as layout
from tests.conftest import LiveIssuer
from tests.federation.conftest import Federation


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def verify(code: str, bundle: Path, *extra: str) -> tuple[str, int]:
    result = cli("verify", code, "--bundle", str(bundle), "--json", *extra)
    return json.loads(result.stdout)["status"], result.exit_code


def revoke(issuer: LiveIssuer, serial: int) -> None:
    response = issuer.api("POST", f"/api/v1/credentials/{serial}/revoke", json={"reason": "left"})
    assert response.status_code == 200, response.text


def test_a_kiosk_pinned_to_the_regulator_verifies_both_cities_and_sees_a_chongqing_revocation(
    federation: Federation, tmp_path: Path
) -> None:
    ningbo, chongqing = federation.ningbo, federation.chongqing
    worker = chongqing.issuer.credential()
    local = ningbo.issuer.credential()
    root = federation.root_pem  # the PEM file of the regulator's root public key
    bundle = tmp_path / "bundles"

    synced = cli(
        "verifier", "sync", "--issuer", ningbo.url, "--dir", str(bundle), "--root-key", str(root), "--follow"
    )
    assert synced.exit_code == 0, synced.output
    origins = {p.name for p in bundle.iterdir() if p.is_dir()}
    assert origins == {layout.origin_name(ningbo.url), layout.origin_name(chongqing.url)}

    assert verify(str(worker["code"]), bundle, "--offline") == ("valid", 0)
    assert verify(str(local["code"]), bundle, "--offline") == ("valid", 0)
    verifier = Verifier.from_bundle(bundle)
    found = verifier.trusted_issuer(500000)
    assert found is not None and found[1].name == layout.origin_name(chongqing.url)  # its own origin

    revoke(chongqing.issuer, int(worker["serial"]))  # type: ignore[call-overload]
    assert verify(str(worker["code"]), bundle) == ("revoked", 1)  # online: the live record from Chongqing
    again = cli("verifier", "sync", "--issuer", chongqing.url, "--dir", str(bundle))
    assert again.exit_code == 0, again.output
    assert verify(str(worker["code"]), bundle, "--offline") == ("revoked", 1)
    assert Verifier.from_bundle(bundle).verify(str(local["code"])).status is Status.VALID


def test_a_first_use_origin_claiming_a_federated_city_is_refused(
    federation: Federation, tmp_path: Path, live_issuer: LiveIssuer
) -> None:
    """A development service (its own root, code 330200 as every dev home has) asked for without
    --root-key, after the kiosk pinned the regulator: refused, the bundle as it was."""
    root = federation.root_pem  # the PEM file of the regulator's root public key
    bundle = tmp_path / "bundles"
    assert (
        cli(
            "verifier",
            "sync",
            "--issuer",
            federation.ningbo.url,
            "--dir",
            str(bundle),
            "--root-key",
            str(root),
        ).exit_code
        == 0
    )
    before = layout.TrustBundle.current_state(bundle)
    refused = cli("verifier", "sync", "--issuer", live_issuer.url, "--dir", str(bundle))
    assert refused.exit_code != 0
    assert layout.origin_name(federation.ningbo.url) in refused.output and "--root-key" in refused.output
    assert layout.TrustBundle.current_state(bundle) == before
