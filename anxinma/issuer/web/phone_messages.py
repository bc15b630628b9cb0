"""Every sentence the worker's phone page says, by key (Chinese first, English beside it): the
page renders them from the shell, the scripts read them from its ``data-settings``."""

from __future__ import annotations

from anxinma.messages import Catalog

MESSAGES = Catalog("phone")
define = MESSAGES.define

define("title", zh="我的安心码", en="My 安心码")
define("enrol_title", zh="在这部手机上登记安心码", en="Enrol this phone for your 安心码")
define(
    "enrol_explain",
    zh="这部手机会生成一把只保存在本机的密钥，签发机构据此签发你的手机安心码。密钥不会离开手机。",
    en="This phone makes a key that stays on it; the issuer binds your phone 安心码 to it. The key never leaves the phone.",
)
define("enrol_button", zh="登记这部手机", en="Enrol this phone")
define("enrolling", zh="正在登记…", en="Enrolling…")
define("enrolled", zh="登记成功：这是你的动态安心码", en="Enrolled: this is your dynamic 安心码")
define("refused_title", zh="无法登记", en="Cannot enrol")
define(
    "no_credential",
    zh="这部手机还没有登记安心码。请让所在企业在管理后台为你生成登记二维码，用手机扫码登记。",
    en="This phone holds no 安心码 yet. Ask your enterprise for an enrolment QR in its console and scan it with this phone.",
)
define(
    "code_hint",
    zh="请顾客用手机相机或微信扫描此码。此码每 {seconds} 秒更新一次，截图过一会儿就会失效。",
    en="Let the customer scan this code with a phone camera or WeChat. It changes every {seconds} s; a screenshot soon stops working.",
)
define("made_at", zh="此码生成于 {time}", en="Made at {time}")
define(
    "offline",
    zh="离线：此码由本机生成，无需网络即可核验",
    en="Offline: this code is made on the phone and verifies without a network",
)
define(
    "no_webcrypto",
    zh="此浏览器不支持安全密钥（WebCrypto Ed25519），改用软件密钥：安全性较低，建议使用最新版浏览器",
    en="This browser lacks WebCrypto Ed25519; a software key is used instead (weaker): use an up-to-date browser",
)
define("enrol_failed", zh="登记失败：{reason}", en="Enrolment failed: {reason}")
define(
    "network_failed",
    zh="无法连接签发机构，请联网后重试",
    en="Cannot reach the issuer: go online and try again",
)
define("credential_number", zh="安心码编号 {serial}", en="Credential No. {serial}")
define("valid_until", zh="有效期至 {date}", en="Valid until {date}")
