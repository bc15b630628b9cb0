"""Every reason a verifier gives, by key: the one catalog of the Python verifier.

The keys are verify.js's (the consumer page's verifier returns ``{key, params}`` with the same
names), so a verdict reads the same from the library, the CLI's JSON (``reason_keys``) and the
page. Each value is an :class:`anxinma.messages.Message`: a string ``"中文 / English"`` that also
carries its key and parameters.
"""

from __future__ import annotations

from anxinma.messages import Catalog, Message, Text

REASONS = Catalog("verifier")
_ = REASONS.define

_("valid", zh="签名有效，未吊销，在有效期内", en="genuine, not revoked, in validity")
_(
    "attention",
    zh="身份真实，但健康证或保险缺失或已过期",
    en="genuine, but a health certificate or insurance lapsed",
)
_("revoked", zh="此安心码已被吊销", en="this credential was revoked")
_("suspended", zh="此安心码已被暂停", en="this credential is suspended")
_("expired", zh="已于 {date} 过期", en="expired on {date}")
_("not_yet_valid", zh="尚未生效，生效日期 {date}", en="not valid until {date}")
_("unknown_issuer", zh="签发机构 {issuer} 不在信任列表中", en="issuer {issuer} is not in the trust list")
_(
    "trust_conflict",
    zh="信任列表 {anchors} 对签发机构 {issuer} 的密钥 {kid} 说法不一，无法确定应信任哪一个（请检查信任包）",
    en="the trust lists {anchors} disagree about key {kid} of issuer {issuer}: none can be trusted (check the bundle)",
)
_(
    "unknown_key",
    zh="信任数据中没有 {issuer} 的签名密钥 {kid}：请同步信任包后再核验；仍如此则不要信任此码",
    en="the trust data has no signing key {kid} of {issuer}: sync the bundle and check again; "
    "if it stays so, do not trust this code",
)
_(
    "key_compromised",
    zh="签名密钥 {kid} 已被宣告泄露{where}，其签发的安心码一律无效",
    en="signing key {kid} was declared compromised{where}; nothing it signed is trusted",
)
_(
    "key_retired",
    zh="签名密钥 {kid} 已停用，请持证人换发新证",
    en="signing key {kid} was retired; the holder needs a re-issued credential",
)
_("bad_signature", zh="签名无效：安心码被篡改或伪造", en="the signature does not verify: altered or forged")
_(
    "card_copy",
    zh="此安心码签发给另一张卡，这张卡可能是复制卡",
    en="this credential was issued for a different card: this card may be a copy",
)
_("binding_unchecked", zh="扫码无法核对卡号绑定", en="a QR scan cannot check the card binding")
_(
    "trust_list_expired",
    zh="信任列表已过期 {age}，无法确认密钥是否仍可信（请同步）",
    en="the trust list expired {age} ago: the key may since have been withdrawn (sync the bundle)",
)
_(
    "no_status_list",
    zh="没有该签发机构的状态列表，无法确认是否已吊销（请同步信任包）",
    en="no status list: revocation unknown (sync the bundle)",
)
_("genuine_unchecked", zh="签名有效，在有效期内", en="genuine and within its validity")
_("revocation_unchecked", zh="未核对吊销状态（没有状态列表）", en="revocation not checked (no status list)")
_(
    "status_stale",
    zh="状态列表已 {age} 未更新（上限 {limit}），无法确认是否已吊销{last}（请同步信任包）",
    en="the status list is {age} old (limit {limit}): status unknown{last} (sync the bundle)",
)
_("last_known", zh="；最后已知状态：{status}", en="; last known: {status}")
_(
    "serial_not_covered",
    zh="状态列表尚未包含此证（刚签发？）",
    en="the status list does not cover this serial yet",
)
_("unsupported", zh="{detail}", en="{detail}")
_("malformed", zh="无法识别的安心码: {detail}", en="not a readable 安心码: {detail}")
_(
    "not_on_record",
    zh="签名有效，但签发机构没有此安心码的记录：可能是伪造（密钥泄露或测试密钥），请勿放行",
    en="the signature verifies, but the issuer has no record of this credential: possibly forged "
    "with a leaked or test key — do not let them in",
)

# -- the online step (online.py): verify.js's ``live_*`` keys where the page has one -------------
_(
    "no_live_url",
    zh="信任列表未给出该签发机构的在线地址，仅离线结果",
    en="the trust list gives no URL for this issuer: offline result only",
)
_(
    "live_failed",
    zh="在线核对失败，以离线结果为准：{why}",
    en="live check failed, the offline result stands: {why}",
)
_(
    "live_error",
    zh="在线核对出错，以离线结果为准",
    en="live check failed ({error}), the offline result stands",
)
_("confirmed_live", zh="签发机构在线核对一致", en="confirmed live by the issuer")
_(
    "live_dates_stand",
    zh="在线状态为{live}，但安心码上签名的日期为准",
    en="the issuer says {live} live, but the signed dates stand",
)
_(
    "offline_said",
    zh="离线结果为{offline}，以签发机构的在线状态为准",
    en="offline said {offline}; the issuer's live status wins",
)
_("live_revoked", zh="签发机构在线确认：此安心码已被吊销{why}", en="the issuer says live: revoked{why}")
_("revocation_why", zh="（原因：{why}）", en=" (reason: {why})")
_(
    "live_attention",
    zh="身份真实，但{items}缺失或已过期（在线）",
    en="genuine, but {items} lapsed (live)",
)
_("live_valid", zh="签发机构在线确认：有效", en="the issuer says live: valid")
_("live_suspended", zh="签发机构在线确认：已暂停", en="the issuer says live: suspended")
_("live_expired", zh="签发机构在线确认：已过期", en="the issuer says live: expired")

# -- finding the code in an image (scan.py) ------------------------------------------------------
_(
    "image_no_qr",
    zh="图片中没有找到二维码（请对准安心码、保持清晰再拍）",
    en="no QR code found in the image (hold the camera on the 安心码, in focus)",
)
_(
    "image_no_anxinma",
    zh="图片中有 {count} 个二维码，但没有安心码：{others}",
    en="{count} QR code(s) in the image but no 安心码: {others}",
)
_(
    "image_chosen",
    zh="图片中有 {count} 个二维码，使用第 {chosen} 个（安心码）；{others}",
    en="{count} QR codes in the image, using #{chosen} (the 安心码); {others}",
)

# -- the dynamic code (holder.py; docs/format.md §12) ----------------------------------------------
_(
    "holder_proof_missing",
    zh="这张安心码绑定了服务员的手机：请服务员打开手机上的动态码再扫（截图、链接或卡片不能代替）",
    en="this credential is bound to the worker's phone: ask the worker to open the dynamic code on "
    "their phone and scan that (a screenshot, the link or the card does not count)",
)
_(
    "holder_proof_expired",
    zh="动态码是 {seconds} 秒前生成的（上限 {max} 秒）：可能是截图，请服务员在手机上刷新后再扫",
    en="the dynamic code was made {seconds} s ago (limit {max} s): possibly a screenshot; ask the worker "
    "to refresh it on their phone and scan again",
)
_(
    "holder_proof_future",
    zh="动态码的时间比本机时间晚 {ahead} 秒（允许 {max} 秒）：服务员手机或本机的时钟不准，请校准时间后再扫",
    en="the dynamic code is dated {ahead} s ahead of this device's clock (tolerance {max} s): the "
    "worker's phone or this device has a wrong clock; set the time and scan again",
)
_(
    "bad_holder_proof",
    zh="动态码的证明无效：不是这张安心码绑定的手机生成的，请勿放行",
    en="the dynamic code's proof does not verify: it was not made by the phone this credential is "
    "bound to — do not let them in",
)

#: The last-known status words of the stale reason (the statuses' own labels).
LAST_KNOWN = {
    "revoked": Text("已吊销", "revoked"),
    "suspended": Text("已暂停", "suspended"),
    "attention": Text("需注意", "attention"),
    "valid": Text("有效", "valid"),
}


def age(seconds: float) -> Text:
    """A duration as people say it: ``3 天 2 小时`` / ``3 d 2 h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        if not hours:
            return Text(f"{days} 天", f"{days} d")
        return Text(f"{days} 天 {hours} 小时", f"{days} d {hours} h")
    if hours:
        return Text(f"{hours} 小时 {minutes} 分钟", f"{hours} h {minutes} min")
    return Text(f"{minutes} 分钟", f"{minutes} min")


def reason(key: str, /, **params: object) -> Message:
    """One reason of the catalog (``REASONS(key, **params)``)."""
    return REASONS(key, **params)
