"""The offline Verifier against credentials, trust lists and status lists made by the real signing code."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anxinma import credential as fmt
from anxinma import ed25519
from anxinma.keys import KeyDirectory, TrustList, build_trust_list
from anxinma.status_list import CredentialStatus, StatusArray, StatusList, load_status_list, sign_status_list
from anxinma.verifier import Source, Status, VerificationResult, Verifier
from anxinma.verifier.offline import TrustAnchor
from tests.verifier.publisher import day


@dataclass
class Issuer:
    """One issuer's real key directory and what it signed."""

    keys: KeyDirectory
    statuses: StatusArray

    @property
    def code(self) -> int:
        return self.keys.issuer.code

    def issue(
        self, serial: int, *, valid_from: int = -30, valid_days: int = 365, card_uid: bytes | None = None
    ) -> fmt.Credential:
        claims = fmt.Claims(
            issuer_code=self.code,
            serial=serial,
            subject_kind=fmt.SubjectKind.WORKER,
            archive_id=serial,
            enterprise_id=7,
            display_name="王*",
            categories=frozenset({fmt.Category.ELDERLY_CARE}),
            issued_at=day(valid_from),
            expires_at=day(valid_from + valid_days),
            card_uid=card_uid,
        )
        kid, key = self.keys.signing_key()
        self.statuses.grow(serial + 1)
        return fmt.sign(claims, key, kid)

    def trust_list(self, *, validity: timedelta = timedelta(days=30)) -> TrustList:
        return TrustList.load(
            build_trust_list(self.keys, validity=validity), self.keys.root_public_key, check_expiry=False
        )

    def status_list(self, trust_list: TrustList, *, now: datetime | None = None) -> StatusList:
        kid, key = self.keys.signing_key()
        token = sign_status_list(
            self.statuses,
            issuer_code=self.code,
            shard=0,
            uri=f"https://example.invalid/status/{self.code}/0",
            key=key.to_cryptography(),
            kid=kid,
            now=now,
        )

        def public_key_for(code: int, kid: bytes) -> bytes | None:
            issuer = trust_list.issuer(code)
            found = issuer.keys.get(kid) if issuer else None
            return found.public_key if found else None

        return load_status_list(token, public_key_for)

    def verifier(self, **policy: object) -> Verifier:
        trust_list = self.trust_list()
        return Verifier(
            trust_list, {(self.code, 0): self.status_list(trust_list)}, require_status=True, **policy
        )  # type: ignore[arg-type]


def make_issuer(path: Path, code: int = 330200, name: str = "宁波市商务局") -> Issuer:
    return Issuer(
        KeyDirectory.init(path, issuer_code=code, issuer_name=name, insecure_dev=True), StatusArray(0)
    )


@pytest.fixture
def ningbo(tmp_path: Path) -> Issuer:
    return make_issuer(tmp_path / "ningbo")


@pytest.fixture
def chongqing(tmp_path: Path) -> Issuer:
    return make_issuer(tmp_path / "chongqing", 500000, "重庆市商务委员会")


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_genuine_unrevoked_credential_is_valid_offline(ningbo: Issuer) -> None:
    cred = ningbo.issue(61442)
    result = ningbo.verifier().verify(cred.to_url("https://v.anxinma.cn"))
    assert result.status is Status.VALID and result.ok
    assert result.claims == cred.claims
    assert result.source.kind == "offline" and result.source.bundle_age_seconds is not None
    assert result.to_json()["status"] == "valid" and result.live is None


@pytest.mark.parametrize(
    ("bit", "status", "word"),
    [
        (CredentialStatus.REVOKED, Status.REVOKED, "吊销"),
        (CredentialStatus.SUSPENDED, Status.SUSPENDED, "暂停"),
        (CredentialStatus.ATTENTION, Status.ATTENTION, "健康证"),
    ],
)
def test_status_list_bit_decides_the_status_offline(
    ningbo: Issuer, bit: CredentialStatus, status: Status, word: str
) -> None:
    cred = ningbo.issue(5)
    ningbo.statuses.set(5, bit)
    result = ningbo.verifier().verify(cred.to_hex())
    assert result.status is status
    assert word in result.reasons[0]
    assert not result.ok


def test_expired_and_not_yet_valid_credentials_are_told_apart(ningbo: Issuer) -> None:
    expired = ningbo.issue(1, valid_from=-400, valid_days=300)
    future = ningbo.issue(2, valid_from=3)
    verifier = ningbo.verifier()
    assert verifier.verify(expired.to_decimal()).status is Status.EXPIRED
    result = verifier.verify(future.to_url("https://v.anxinma.cn"))
    assert result.status is Status.NOT_YET_VALID
    assert future.claims.issued_at.date().isoformat() in result.reasons[0]


def test_clock_skew_tolerates_a_verifier_clock_minutes_behind(ningbo: Issuer) -> None:
    cred = ningbo.issue(1, valid_from=0)
    behind = cred.claims.issued_at - timedelta(minutes=3)
    status_now = ningbo.verifier(clock=lambda: behind).verify(cred.to_hex()).status
    assert status_now is Status.VALID
    far_behind = cred.claims.issued_at - timedelta(minutes=30)
    assert ningbo.verifier(clock=lambda: far_behind).verify(cred.to_hex()).status is Status.NOT_YET_VALID


@pytest.mark.parametrize("zone", [UTC, fmt.CHINA_TZ, timezone(timedelta(hours=-5))])
def test_validity_ends_exactly_at_its_boundaries_whatever_the_clocks_zone(
    ningbo: Issuer, zone: timezone
) -> None:
    """The claims' days are China time; the verifier compares in it, whatever zone its clock gives."""
    cred = ningbo.issue(7, valid_from=0, valid_days=1)  # today 00:00 to tomorrow 00:00, China time
    skew = timedelta(minutes=5)
    tick = timedelta(microseconds=1)
    cases = [
        (cred.claims.issued_at - skew - tick, Status.NOT_YET_VALID),
        (cred.claims.issued_at - skew, Status.VALID),
        (cred.claims.expires_at + skew - tick, Status.VALID),
        (cred.claims.expires_at + skew, Status.EXPIRED),
    ]
    for moment, expected in cases:
        clock = lambda moment=moment: moment.astimezone(zone)  # noqa: E731
        verifier = ningbo.verifier(clock=clock, clock_skew=skew, status_max_age=timedelta(days=3))
        assert verifier.verify(cred.to_url("https://v.anxinma.cn")).status is expected, (moment, zone)


def test_the_verdict_is_the_result_its_constructor_builds(ningbo: Issuer) -> None:
    """The verifier builds results without the dataclass __init__ (result.new_result): the same object."""
    cred = ningbo.issue(8)
    result = ningbo.verifier().verify(cred.to_bytes())
    rebuilt = VerificationResult(
        result.status, result.reasons, result.claims, result.kid, result.source, None, None, result.credential
    )
    assert result == rebuilt and repr(result) == repr(rebuilt) and result.to_json() == rebuilt.to_json()
    assert result.source == Source("offline", result.source.bundle_age_seconds, bundle=result.source.bundle)
    assert replace(result, live={"status": "valid"}).live == {"status": "valid"}
    with pytest.raises(FrozenInstanceError):
        result.status = Status.REVOKED  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        result.source.kind = "live"  # type: ignore[misc]


def test_credential_of_an_issuer_missing_from_the_trust_list_is_unknown_issuer(
    ningbo: Issuer, chongqing: Issuer
) -> None:
    result = ningbo.verifier().verify(chongqing.issue(9).to_hex())
    assert result.status is Status.UNKNOWN_ISSUER
    assert "500000" in result.reasons[0]
    assert result.claims is not None  # readable, but not trusted


def test_key_the_trust_list_does_not_name_is_unknown_key(ningbo: Issuer) -> None:
    verifier = ningbo.verifier()  # trust list built before the rotation
    ningbo.keys.rotate()
    result = verifier.verify(ningbo.issue(3).to_hex())
    assert result.status is Status.UNKNOWN_KEY


def test_credential_signed_by_a_retired_key_is_key_retired(ningbo: Issuer) -> None:
    cred = ningbo.issue(4)
    old_kid = cred.kid
    ningbo.keys.rotate()
    ningbo.keys.retire(old_kid)
    result = ningbo.verifier().verify(cred.to_hex())
    assert result.status is Status.KEY_RETIRED
    assert old_kid.hex() in result.reasons[0]


def test_credential_signed_by_a_compromised_key_never_verifies(ningbo: Issuer) -> None:
    cred = ningbo.issue(4)
    ningbo.keys.rotate()
    ningbo.keys.compromised(cred.kid)
    result = ningbo.verifier().verify(cred.to_hex())
    assert result.status is Status.UNKNOWN_KEY
    assert "泄露" in result.reasons[0] and "compromised" in result.reasons[0]


def test_altered_signature_is_bad_signature(ningbo: Issuer) -> None:
    raw = bytearray(ningbo.issue(8).to_bytes())
    raw[-1] ^= 0x01
    assert ningbo.verifier().verify(bytes(raw)).status is Status.BAD_SIGNATURE


def test_altered_claims_do_not_verify(ningbo: Issuer) -> None:
    cred = ningbo.issue(8)
    forged_claims = fmt.Claims(
        **{**{f: getattr(cred.claims, f) for f in cred.claims.__dataclass_fields__}, "serial": 9}
    )
    forged = fmt.sign(forged_claims, ed25519.SigningKey.generate(), cred.kid)
    assert ningbo.verifier().verify(forged.to_hex()).status is Status.BAD_SIGNATURE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "https://qr.alipay.com/fkx1234567890",
        "wxp://f2f0abcdef",
        "https://example.com/v/12",
        "84" + "00" * 40,
    ],
)
def test_text_that_is_not_a_credential_is_malformed_with_a_reason(ningbo: Issuer, text: str) -> None:
    result = ningbo.verifier().verify(text)
    assert result.status is Status.MALFORMED
    assert result.reasons and result.claims is None


def test_stale_status_list_is_status_unknown_with_its_age_never_valid(ningbo: Issuer) -> None:
    cred = ningbo.issue(2)
    ningbo.statuses.set(2, CredentialStatus.REVOKED)
    verifier = ningbo.verifier(clock=lambda: later(30))
    result = verifier.verify(cred.to_hex())
    assert result.status is Status.STATUS_UNKNOWN
    assert "1 天 6 小时" in result.reasons[0] and "1 d 6 h" in result.reasons[0]
    assert "已吊销" in result.reasons[0]  # the last known status is still said
    fresh = ningbo.issue(3)
    assert verifier.verify(fresh.to_hex()).status is Status.STATUS_UNKNOWN


def test_status_max_age_is_configurable(ningbo: Issuer) -> None:
    cred = ningbo.issue(2)
    assert ningbo.verifier(clock=lambda: later(2)).verify(cred.to_hex()).status is Status.VALID
    strict = ningbo.verifier(clock=lambda: later(2), status_max_age=timedelta(hours=1))
    assert strict.verify(cred.to_hex()).status is Status.STATUS_UNKNOWN


def test_expired_trust_list_makes_a_genuine_credential_status_unknown(ningbo: Issuer) -> None:
    cred = ningbo.issue(2)
    trust_list = ningbo.trust_list(validity=timedelta(hours=1))
    status = ningbo.status_list(trust_list)
    verifier = Verifier(trust_list, {(ningbo.code, 0): status}, require_status=True, clock=lambda: later(2))
    result = verifier.verify(cred.to_hex())
    assert result.status is Status.STATUS_UNKNOWN
    assert "信任列表已过期" in result.reasons[0]


def test_missing_status_list_is_status_unknown_when_required(ningbo: Issuer) -> None:
    cred = ningbo.issue(2)
    trust_list = ningbo.trust_list()
    assert Verifier(trust_list, require_status=True).verify(cred.to_hex()).status is Status.STATUS_UNKNOWN
    lenient = Verifier(trust_list).verify(cred.to_hex())
    assert lenient.status is Status.VALID and "未核对吊销状态" in lenient.reasons[1]


def test_serial_beyond_the_status_list_is_status_unknown(ningbo: Issuer) -> None:
    verifier = ningbo.verifier()  # status list covers serials 0..0
    ningbo.issue(0)
    late = ningbo.issue(70000)
    assert verifier.verify(late.to_hex()).status is Status.STATUS_UNKNOWN


def test_bound_credential_from_another_card_is_rejected(ningbo: Issuer) -> None:
    uid = bytes.fromhex("04a1b2c3d4e5f6")
    cred = ningbo.issue(11, card_uid=uid)
    verifier = ningbo.verifier()
    same = verifier.verify(cred.to_bytes(), card_uid=uid)
    assert same.status is Status.VALID and same.card_binding == "match"
    other = verifier.verify(cred.to_bytes(), card_uid=bytes.fromhex("04ffffffffffff"))
    assert other.status is Status.BAD_SIGNATURE and other.card_binding == "mismatch"
    assert "复制卡" in other.reasons[0]
    scanned = verifier.verify(cred.to_url("https://v.anxinma.cn"))
    assert scanned.status is Status.VALID and scanned.card_binding == "unchecked"
    assert any("卡号绑定" in r for r in scanned.reasons)


def test_two_cities_under_their_own_roots_verify_side_by_side(ningbo: Issuer, chongqing: Issuer) -> None:
    cq = chongqing.issue(61442)
    nb = ningbo.issue(59216)
    anchors = []
    for issuer, name in ((ningbo, "nb"), (chongqing, "cq")):
        trust_list = issuer.trust_list()
        anchors.append(
            TrustAnchor(trust_list, {(issuer.code, 0): issuer.status_list(trust_list)}, name, issuer.code)
        )
    verifier = Verifier(anchors=anchors, require_status=True)
    assert verifier.issuer_codes == [330200, 500000]
    cq_result = verifier.verify(cq.to_hex())
    assert cq_result.status is Status.VALID and cq_result.source.bundle == "cq"
    nb_result = verifier.verify(nb.to_hex())
    assert nb_result.status is Status.VALID and nb_result.source.bundle == "nb"


def test_compromise_declared_in_any_trust_list_wins_over_an_older_list(
    ningbo: Issuer, chongqing: Issuer
) -> None:
    cq = chongqing.issue(1)
    ningbo.keys.add_peer(chongqing.keys.descriptor())  # Ningbo's list vouches for Chongqing's key
    ningbo_list = ningbo.trust_list()
    chongqing.keys.rotate()
    chongqing.keys.compromised(cq.kid)
    chongqing_list = chongqing.trust_list()
    status = chongqing.status_list(chongqing_list)
    # Ningbo's (stale) view says the key is active; Chongqing's own list says compromised.
    verifier = Verifier(
        anchors=[
            TrustAnchor(ningbo_list, {}, "nb", ningbo.code),
            TrustAnchor(chongqing_list, {(chongqing.code, 0): status}, "cq-peer", None),
        ],
        require_status=True,
    )
    assert verifier.verify(cq.to_hex()).status is Status.UNKNOWN_KEY
    only_ningbo = Verifier(
        anchors=[TrustAnchor(ningbo_list, {(chongqing.code, 0): status}, "nb", ningbo.code)]
    )
    assert only_ningbo.verify(cq.to_hex()).status is Status.VALID


def test_an_issuers_own_list_is_preferred_to_a_peer_list_naming_it(ningbo: Issuer, chongqing: Issuer) -> None:
    chongqing.issue(1)
    ningbo.keys.add_peer(chongqing.keys.descriptor())
    own = TrustAnchor(chongqing.trust_list(), {}, "cq", chongqing.code)
    peer = TrustAnchor(ningbo.trust_list(), {}, "nb", ningbo.code)  # issued later
    verifier = Verifier(anchors=[own, peer])
    found = verifier.trusted_issuer(chongqing.code)
    assert found is not None and found[1].name == "cq"


def test_explicit_source_is_kept(ningbo: Issuer) -> None:
    result = ningbo.verifier().verify(ningbo.issue(1).to_hex(), source=Source("offline", 5, "kiosk"))
    assert result.source == Source("offline", 5, "kiosk")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_input_at_all_gives_a_result_never_an_exception(ningbo: Issuer, data: str | bytes) -> None:
    result = ningbo.verifier().verify(data)
    assert isinstance(result, VerificationResult)
    assert result.status in {
        Status.MALFORMED,
        Status.UNKNOWN_ISSUER,
        Status.UNKNOWN_KEY,
        Status.BAD_SIGNATURE,
    }
    assert result.reasons


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10_000), bit=st.integers(min_value=0, max_value=7))
def test_no_single_bit_flip_of_a_credential_verifies(ningbo: Issuer, position: int, bit: int) -> None:
    raw = bytearray(ningbo.issue(61442).to_bytes())
    raw[position % len(raw)] ^= 1 << bit
    result = ningbo.verifier().verify(bytes(raw))
    assert result.status is not Status.VALID
    assert result.status in {
        Status.MALFORMED,
        Status.BAD_SIGNATURE,
        Status.UNKNOWN_KEY,
        Status.UNKNOWN_ISSUER,
    }
