"""Every sentence the NFC desks say to the operator or the worker, by key: the catalog of ``anxinma.nfc``.

The encoding station (:mod:`anxinma.nfc.station`) and the check-in desk
(:mod:`anxinma.nfc.checkin`) give each refusal and note as an :class:`anxinma.messages.Message`:
a string ``"中文 / English"`` (what the screen, the journal and the JSON lines show, as before)
that also carries its key and parameters.
"""

from __future__ import annotations

from anxinma.messages import Catalog

MESSAGES = Catalog("nfc")
_ = MESSAGES.define

# -- the encoding station ----------------------------------------------------------------------
_(
    "batch_changed",
    zh="批次文件自上次运行后已更改：新增的行会加入，已完成的保留",
    en="the batch file changed since the last run: new rows are added, finished ones kept",
)
_("hook_failed", zh="卡片已写好，但后续处理失败：{error}", en="card done, hook failed: {error}")
_(
    "enterprise_mismatch",
    zh="批次文件写的企业是 {batch_name}（{batch_id}），但发证机构记录此服务员属于 {issuer_name}（{issuer_id}）："
    "此行不制卡；请改正批次文件（或从发证服务重新导出）后再运行",
    en="the batch file names enterprise {batch_id} ({batch_name}), but the issuer's record puts this worker in "
    "enterprise {issuer_id} ({issuer_name}): no card for this row; correct the batch file (or export it from the "
    "issuer again) and run again",
)
_(
    "card_random_uid",
    zh="此卡（或手机）每次出示的卡号都不同，无法绑定：请换一张实体卡",
    en="this card (or phone) shows a new random UID each time and cannot be bound: use a real card",
)
_(
    "card_of_other_worker",
    zh="此卡已写入本批次的服务员 {name}（{worker}）：请放到一边，换一张空白卡",
    en="this card already holds worker {worker} ({name}) of this batch: set it aside and present a blank card",
)
_(
    "card_not_formatted",
    zh="此卡未做 NDEF 格式化：换一张卡，或加 --format 格式化 NTAG21x",
    en="this card is not NDEF formatted: use another, or add --format for NTAG21x cards",
)
_(
    "card_read_only",
    zh="此卡已锁定（只读）：请换一张空白卡",
    en="this card is locked (read-only): use a blank card",
)
_(
    "card_not_genuine",
    zh="{why}：卡号可能被伪造，不能用于绑定；请放到一边",
    en="{why}: its UID may be forged, so it cannot be bound; set it aside",
)
_(
    "card_cannot_lock",
    zh="此卡（{product}）无法永久锁定：请换 NTAG21x 卡，或不加 --lock",
    en="this {product} cannot be locked: use NTAG21x cards, or drop --lock",
)
_(
    "card_too_small",
    zh="此卡只能容纳 {capacity} 字节，安心码需要约 {needed} 字节：请换更大的卡（{bigger}）",
    en="this card holds {capacity} bytes and the credential needs about {needed}: use a larger card ({bigger})",
)
_(
    "card_has_other_data",
    zh="此卡已有其他数据：请换一张空白卡，或加 --overwrite 覆盖",
    en="this card already carries other data: use a blank card, or add --overwrite",
)
_(
    "card_has_foreign_credential",
    zh="此卡已有一个不属于本批次的安心码（编号 {serial}）：请换空白卡，或加 --overwrite",
    en="this card already carries a credential (serial {serial}) from outside this batch: "
    "use a blank card, or add --overwrite",
)

# -- the check-in desk -------------------------------------------------------------------------
_(
    "checkin_enterprise_credential",
    zh="企业安心码不能打卡，请使用服务员本人的卡",
    en="an enterprise's credential does not check in",
)
_(
    "checkin_other_issuer",
    zh="此卡由其他平台（{issuer}）签发，请在其所属平台打卡",
    en="this card is from another issuer ({issuer}): check in with that issuer",
)
_(
    "checkin_not_bound",
    zh="此安心码未绑定卡片，不能用于打卡（请到制卡点换发绑定卡）",
    en="this credential is not bound to a card and cannot check in (have a bound card issued)",
)
_(
    "checkin_provisional",
    zh="已记录，联网后由发证机构核验",
    en="recorded; the issuer checks it when the station is online",
)
_(
    "checkin_no_token",
    zh="未提供令牌，打卡只保存在本机队列",
    en="no token: check-ins stay in this station's queue",
)
# The error is a repr for whoever reads the log: the Chinese half says what happened.
_("checkin_send_error", zh="上传打卡时出错", en="sending check-ins failed: {error}")
_("checkin_idle", zh="{seconds:g} 秒内无人刷卡", en="no card for {seconds:g} s")
_(
    "checkin_card_left",
    zh="卡片移开太快，请重新刷卡并停留一秒",
    en="the card left too soon: tap again and hold it",
)
_(
    "checkin_random_uid",
    zh="此卡（或手机）的卡号每次不同，无法核对绑定：请使用本人的实体卡",
    en="this card (or phone) shows a random UID: tap the worker's own card",
)
_(
    "checkin_not_genuine",
    zh="{why}：芯片可能是仿冒的复制卡",
    en="{why}: the chip may be a counterfeit copy",
)
_("checkin_no_credential", zh="卡内没有安心码", en="no 安心码 on this card")
_(
    "checkin_already",
    zh="本月已于 {first} 打卡，无需重复",
    en="already checked in this month ({first}): nothing new recorded",
)
_(
    "checkin_holder_proof_missing",
    zh="这是绑定服务员手机的安心码，单独出示不能打卡：请刷服务员本人的卡（或在本人手机上刷卡打卡）",
    en="this credential is bound to the worker's phone and does not check in on its own: tap the "
    "worker's own card (or tap the card on the worker's phone)",
)
_(
    "checkin_holder_proof_expired",
    zh="动态码已过期或时间不对（可能是截图或录制的）：不能打卡；请刷服务员本人的卡，并核对本机时间",
    en="the dynamic code is too old or dated ahead (a screenshot or a recording?): not checked in; "
    "tap the worker's own card, and check this desk's clock",
)
_(
    "checkin_bad_holder_proof",
    zh="动态码的证明无效（不是绑定的手机生成的）：不能打卡，请刷服务员本人的卡",
    en="the dynamic code's proof does not verify (not made by the bound phone): not checked in; "
    "tap the worker's own card",
)
