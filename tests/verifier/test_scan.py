"""QR decoding of rendered screenshots and photographed badges (zxing-cpp), and every bad image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from anxinma import credential as fmt
from anxinma.ed25519 import SigningKey
from anxinma.status_list import CredentialStatus
from anxinma.verifier import Status, Verifier
from anxinma.verifier.errors import ImageError
from anxinma.verifier.scan import ImageScan, ScannedCode, classify, scan_image, verify_scan
from anxinma.verifier.sync import sync
from tests.verifier.images import badge, credential_qr, encoded, photograph, qr_image
from tests.verifier.publisher import Publisher


@pytest.fixture
def cred() -> fmt.Credential:
    """A credential signed with a fixed key: Ed25519 is deterministic, so every run renders the same image."""
    claims = fmt.Claims(
        issuer_code=330200,
        serial=61442,
        subject_kind=fmt.SubjectKind.WORKER,
        archive_id=123456,
        enterprise_id=253,
        display_name="李*霞",
        categories=frozenset({fmt.Category.INFANT_CARE, fmt.Category.ELDERLY_CARE}),
        issued_at=fmt.parse_when("2025-03-01", "issued_at"),
        expires_at=fmt.parse_when("2028-03-01", "expires_at"),
    )
    return fmt.sign(claims, SigningKey(bytes(range(32))))


def only_code(data: bytes | Image.Image, cred: fmt.Credential) -> None:
    scan = scan_image(data)
    assert [code.kind for code in scan.codes] == ["anxinma"]
    assert scan.chosen is not None
    assert fmt.parse_text(scan.chosen.text) == cred.to_bytes()
    assert scan.reasons() == []


def test_a_screenshot_png_decodes_to_the_credential(cred: fmt.Credential) -> None:
    only_code(encoded(credential_qr(cred, scale=3)), cred)


@pytest.mark.parametrize(("angle", "kind"), [(0, "PNG"), (90, "JPEG"), (180, "PNG"), (-23, "JPEG")])
def test_rotated_and_scaled_codes_decode(cred: fmt.Credential, angle: float, kind: str) -> None:
    image = credential_qr(cred, scale=5).rotate(angle, expand=True, fillcolor="white")
    image = image.resize((image.width * 2 // 3, image.height * 2 // 3), Image.Resampling.LANCZOS)
    only_code(encoded(image, kind), cred)


@pytest.mark.parametrize(
    ("angle", "blur", "scale", "kind"),
    [(12, 1.2, 0.9, "JPEG"), (35, 1.2, 0.7, "PNG"), (-45, 1.0, 0.6, "JPEG"), (20, 1.5, 0.9, "JPEG")],
)
def test_a_badge_photographed_at_an_angle_with_blur_and_noise_decodes(
    cred: fmt.Credential, angle: float, blur: float, scale: float, kind: str
) -> None:
    photo = photograph(badge(cred), angle=angle, blur=blur, scale=scale, noise=40)
    only_code(encoded(photo, kind, quality=75), cred)


def test_a_3_mb_phone_photo_decodes(cred: fmt.Credential, tmp_path: Path) -> None:
    photo = photograph(badge(cred), size=(4000, 3000), angle=-20, blur=2.0, noise=60, scale=0.5)
    path = tmp_path / "IMG_0001.jpg"
    photo.save(path, quality=95)
    assert os.path.getsize(path) > 2_500_000
    only_code(path.read_bytes(), cred)
    assert scan_image(path).width == 4000


def test_several_codes_in_one_image_pick_the_anxinma_and_say_which(cred: fmt.Credential) -> None:
    canvas = Image.new("RGB", (1500, 560), "white")
    canvas.paste(qr_image(segno.make("wxp://f2f0GAqFmWfXs-1oE4OaZZsJ0Znx0q3Ts1Nm"), 8), (20, 40))
    canvas.paste(qr_image(segno.make("https://mp.weixin.qq.com/s/some-company-page"), 8), (500, 40))
    canvas.paste(credential_qr(cred, scale=6), (1000, 40))
    scan = scan_image(encoded(canvas))
    assert sorted(code.kind for code in scan.codes) == ["anxinma", "payment", "url"]
    assert scan.chosen is not None and scan.chosen.kind == "anxinma"
    [reason] = scan.reasons()
    assert "3 个二维码" in reason and f"第 {scan.chosen.index} 个" in reason
    assert "微信支付码" in reason and "a WeChat Pay code" in reason
    assert scan.to_json()["chosen"] == scan.chosen.index


def test_only_another_systems_code_is_malformed_naming_what_it_is(cred: fmt.Credential) -> None:
    scan = scan_image(encoded(qr_image(segno.make("https://qr.alipay.com/fkx19384abcdef"), 6)))
    assert scan.chosen is None and scan.codes[0].kind == "payment"
    result = verify_scan(scan, lambda text: pytest.fail("nothing to verify"))
    assert result.status is Status.MALFORMED
    assert "支付宝付款码" in result.reasons[0] and "no 安心码" in result.reasons[0]


def test_a_damaged_anxinma_link_is_chosen_and_verifies_malformed(ningbo: Publisher, tmp_path: Path) -> None:
    ningbo.publish()
    sync(ningbo.base_url, tmp_path / "b")
    verifier = Verifier.from_bundle(tmp_path / "b")
    scan = scan_image(encoded(qr_image(segno.make("HTTPS://V.ANXINMA.CN/V/1234567890123456"), 6)))
    assert scan.chosen is not None and scan.chosen.kind == "anxinma_damaged"
    assert verify_scan(scan, verifier.verify).status is Status.MALFORMED


def test_a_photo_with_no_code_says_so(cred: fmt.Credential) -> None:
    scan = scan_image(encoded(photograph(Image.new("RGB", (800, 500), "white"))))
    assert scan.codes == () and scan.chosen is None
    assert "没有找到二维码" in scan.reasons()[0]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        os.urandom(4096),
        b"\x89PNG\r\n\x1a\n" + os.urandom(200),
        b"%PDF-1.7\n" * 20,
    ],
)
def test_bytes_that_are_not_an_image_raise_a_clear_image_error(data: bytes) -> None:
    with pytest.raises(ImageError) as caught:
        scan_image(data)
    assert "图片" in caught.value.explain()


def test_a_truncated_jpeg_is_a_clear_error(cred: fmt.Credential) -> None:
    data = encoded(photograph(badge(cred)), "JPEG")
    with pytest.raises(ImageError, match=r"damaged|not an image"):
        scan_image(data[: len(data) // 2])


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        scan_image(tmp_path / "nothing.png")


def test_an_image_of_too_many_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    Image.new("1", (9000, 8000), 1).save(path)
    with pytest.raises(ImageError, match="pixels"):
        scan_image(path)


def test_a_photographed_revoked_badge_verifies_revoked(ningbo: Publisher, tmp_path: Path) -> None:
    cred = ningbo.issue(61442)
    ningbo.set_status(61442, CredentialStatus.REVOKED)
    sync(ningbo.base_url, tmp_path / "b")
    scan = scan_image(encoded(photograph(badge(cred, ningbo.base_url), angle=8, blur=0.8), "JPEG"))
    result = verify_scan(scan, Verifier.from_bundle(tmp_path / "b").verify)
    assert result.status is Status.REVOKED and result.claims == cred.claims


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=400), st.from_regex(r"(?i)https?://[a-z.]{1,20}/v[/#][0-9]{0,120}", fullmatch=True)
    )
)
def test_any_qr_text_is_classified_and_verified_without_an_exception(text: str) -> None:
    kind, zh, en = classify(text)
    assert kind in {"anxinma", "anxinma_damaged", "payment", "url", "text"} and zh and en
    scan = ImageScan(10, 10, (ScannedCode(1, text, ((0, 0),) * 4, kind, zh, en),))
    result = verify_scan(scan, lambda code: Verifier(None).verify(code))
    assert result.status in {Status.MALFORMED, Status.UNKNOWN_ISSUER} and result.reasons
