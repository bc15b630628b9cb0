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

# -- the worker's own page ------------------------------------------------------------------------
define("record_title", zh="我的记录", en="My record")
define("record_age", zh="记录更新于 {age}", en="Record as of {age}")
define("age_now", zh="刚刚", en="just now")
define("age_minutes", zh="{n} 分钟前", en="{n} min ago")
define("age_hours", zh="{n} 小时前", en="{n} h ago")
define("age_days", zh="{n} 天前", en="{n} days ago")
define(
    "record_offline", zh="离线：显示的是本机保存的记录", en="Offline: this is the record kept on the phone"
)
define("record_failed", zh="无法更新记录：{reason}", en="Could not update the record: {reason}")
define("credentials", zh="我的安心码", en="My credentials")
define("form_card", zh="卡片安心码", en="Card credential")
define("form_phone", zh="手机安心码", en="Phone credential")
define("status_active", zh="有效", en="valid")
define("status_suspended", zh="已暂停", en="suspended")
define("status_revoked", zh="已吊销", en="revoked")
define("enterprise", zh="所在企业", en="Enterprise")
define("health", zh="健康证", en="Health certificate")
define("insurance", zh="保险", en="Insurance")
define("valid_days", zh="有效期至 {date}（还有 {days} 天）", en="valid until {date} ({days} days left)")
define(
    "remind",
    zh="还有 {days} 天到期，请尽快续期并交给企业更新",
    en="runs out in {days} days: renew it and give it to your enterprise",
)
define(
    "lapsed",
    zh="已过期（{date}），安心码显示为需注意，请尽快续期",
    en="lapsed on {date}: your code shows attention; renew it",
)
define("missing", zh="未登记，请交给企业登记", en="not on record: give it to your enterprise")
define("rating", zh="顾客评价", en="Customer ratings")
define(
    "rating_summary", zh="{count} 条评价，平均 {average} 星", en="{count} ratings, {average} stars on average"
)
define("rating_none", zh="还没有顾客评价", en="No customer ratings yet")
define("months", zh="每月入户与打卡", en="Visits and check-ins by month")
define("month_row", zh="{month}：入户 {visits} 次 · {checked}", en="{visits} visits · {checked}")
define("checked_yes", zh="已打卡", en="checked in")
define("checked_no", zh="未打卡", en="no check-in")
define("rate_title", zh="评价所在企业", en="Rate your enterprise")
define("rate_visit", zh="{time} 的入户", en="The visit of {time}")
define("rate_score", zh="评分（1–5 星）", en="Score (1–5 stars)")
define("rate_comment", zh="评语（可不填）", en="Comment (optional)")
define("rate_button", zh="提交评价", en="Send the rating")
define("rate_done", zh="评价已提交，谢谢", en="Rating sent, thank you")
define("rate_failed", zh="评价未能提交：{reason}", en="The rating was not sent: {reason}")
define(
    "rate_none",
    zh="暂无可评价的入户（用手机动态码确认入户后可评价）",
    en="No visit to rate (visits confirmed from the phone's code can be rated)",
)
define(
    "clock_ahead",
    zh="这部手机的时间比标准时间快 {seconds} 秒：顾客扫码会显示动态码已过期，请在设置中打开“自动设置时间”",
    en="This phone's clock is {seconds} s ahead: customers will see the code as expired; turn on automatic time in the settings",
)
define(
    "clock_behind",
    zh="这部手机的时间比标准时间慢 {seconds} 秒：顾客扫码会显示动态码已过期，请在设置中打开“自动设置时间”",
    en="This phone's clock is {seconds} s behind: customers will see the code as expired; turn on automatic time in the settings",
)
