/* 按月打卡 on the worker's own phone (docs/checkin.md, "Tap the card on the phone").
 *
 * Mounts on every element carrying [data-tap-checkin]. Where the browser has Web NFC (Chrome on
 * Android: window.NDEFReader) it offers one button: the worker taps their own card on the phone,
 * the module reads the card (its NDEF records and the chip's serial number), checks here that
 * the card carries a UID-bound worker credential of the same worker and issuer as the phone's
 * credential and that the chip is the one it is bound to, signs
 *   "anxinma-phone-check-in:v1:<issuer>:<sha256 of the card credential>:<serial hex>:<time>:<nonce>"
 * with the phone's holder key (window.AnxinmaHolder.sign) and posts it to
 * POST /api/v1/check-ins/phone, so one tap proves card and phone together. The issuer checks it
 * all again (anxinma/issuer/services/checkins.py) and records the month's check-in with source
 * "phone". Where Web NFC is missing (iPhone, other browsers) it says so and points to the desk.
 *
 * Needs window.AnxinmaVerify (static/verifier/verify.js: the credential decoder) and
 * window.AnxinmaHolder = {load(), sign(bytes) -> signature bytes, publicKey(), credential()}
 * (static/worker/holder.js). The element may carry data-endpoint (default
 * /api/v1/check-ins/phone) and data-texts (JSON {key: [zh, en]}: the page's own catalog words
 * replace the defaults below). Every sentence is shown Chinese first, English beside; the
 * result sits in [data-tap-result] with data-outcome = recorded | already | refused | failed |
 * unsupported and data-reason (a stable key) for scripts and tests.
 */
(function (global) {
  "use strict";

  var CONTEXT = "anxinma-phone-check-in:v1";
  var TEXTS = {
    button: ["贴卡打卡", "Tap your card to check in"],
    intro: ["把本人的服务卡贴在手机背面，即可完成本月打卡", "Hold your own card to the back of this phone to check in for the month"],
    prompt: ["请把本人的服务卡贴在手机背面，保持一秒…", "Hold your own card to the back of the phone for a second…"],
    unsupported: ["此手机或浏览器不能读取 NFC 卡（需要安卓手机上的 Chrome）：请到企业或街道服务站的刷卡机上刷卡打卡",
      "This phone or browser cannot read NFC cards (Chrome on Android can): check in at the card reader of your enterprise or service point"],
    not_enrolled: ["此手机尚未登记为服务员本人的手机：请先登记", "This phone is not enrolled as the worker's phone yet: enrol it first"],
    no_credential: ["卡内没有安心码：请贴本人的服务卡", "No 安心码 on this card: tap your own service card"],
    not_a_worker: ["这不是服务员的卡：请贴本人的服务卡", "This is not a worker's card: tap your own service card"],
    not_bound: ["这张卡的安心码没有绑定卡片，不能打卡：请到制卡点换发绑定卡", "This card's credential is not bound to the card and cannot check in: have a bound card issued"],
    other_worker: ["这张卡属于另一位服务员：请贴本人的卡", "This card is another worker's: tap your own card"],
    copy: ["卡号与卡内安心码绑定的卡号不一致，可能是复制卡：不能打卡", "The chip's serial number is not the one its credential is bound to (a copy?): not checked in"],
    no_serial: ["读不到卡号：请重新贴卡并停留一秒", "The card's serial number could not be read: tap again and hold it"],
    read_failed: ["读卡失败，请重试：{why}", "Could not read the card, try again: {why}"],
    sending: ["正在提交打卡…", "Sending the check-in…"],
    recorded: ["打卡成功：{month}（{name}）", "Checked in for {month} ({name})"],
    already: ["本月已打卡（{when}），无需重复", "Already checked in this month ({when}): nothing new"],
    offline: ["没有网络，打卡未提交：联网后请重新贴卡", "No network, not sent: tap again when online"],
    refused: ["未打卡：{zh}", "Not checked in: {en}"],
    failed: ["打卡失败，请稍后重试或到服务站刷卡", "Check-in failed: try again later, or at a desk reader"]
  };

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return params && params[name] !== undefined ? String(params[name]) : all;
    });
  }

  function words(texts, key, params) {
    var pair = texts[key] || TEXTS[key];
    return [fill(pair[0], params), fill(pair[1], params)];
  }

  function b64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function bytesOf(view) {
    if (!view) return new Uint8Array(0);
    if (view instanceof Uint8Array) return view;
    return new Uint8Array(view.buffer, view.byteOffset || 0, view.byteLength);
  }

  function credentialBytes(value, V) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (typeof value === "string") return V.parseText(value.trim());
    if (value && (value.hex || value.code)) return V.parseText(String(value.hex || value.code));
    return null;
  }

  /* What this module decides before anything is sent: the reason key of a refusal, or null. */
  function localCheck(card, phone, serial) {
    if (!card) return "no_credential";
    if (card.claims.subject_kind !== "worker") return "not_a_worker";
    if (card.claims.issuer_code !== phone.claims.issuer_code || card.claims.archive_id !== phone.claims.archive_id) {
      return "other_worker";
    }
    if (!card.claims.card_uid) return "not_bound";
    if (serial === null) return "no_serial";
    if (serial !== card.claims.card_uid) return "copy";
    return null;
  }

  function nonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return b64url(bytes);
  }

  function message(issuer, cardBytes, serial, time, once) {
    return crypto.subtle.digest("SHA-256", cardBytes).then(function (digest) {
      var V = global.AnxinmaVerify;
      var text = [CONTEXT, issuer, V.hex(new Uint8Array(digest)), serial, time, once].join(":");
      return new TextEncoder().encode(text);
    });
  }

  function mount(element) {
    if (element.getAttribute("data-tap-mounted")) return;
    element.setAttribute("data-tap-mounted", "1");
    var texts = {};
    try { texts = JSON.parse(element.getAttribute("data-texts") || "{}"); } catch (e) { texts = {}; }
    var endpoint = element.getAttribute("data-endpoint") || "/api/v1/check-ins/phone";
    var doc = element.ownerDocument;

    function line(pair, className) {
      var p = doc.createElement("p");
      if (className) p.className = className;
      var zh = doc.createElement("span");
      zh.setAttribute("lang", "zh-CN");
      zh.textContent = pair[0];
      var en = doc.createElement("span");
      en.setAttribute("lang", "en");
      en.className = "en";
      en.textContent = pair[1];
      p.appendChild(zh);
      p.appendChild(doc.createTextNode(" / "));
      p.appendChild(en);
      return p;
    }

    var result = doc.createElement("div");
    result.setAttribute("data-tap-result", "");
    result.setAttribute("aria-live", "polite");

    function show(outcome, reason, pair) {
      result.setAttribute("data-outcome", outcome);
      result.setAttribute("data-reason", reason);
      result.textContent = "";
      result.appendChild(line(pair, "tap-" + outcome));
    }

    if (!("NDEFReader" in global)) {
      element.appendChild(result);
      show("unsupported", "unsupported", words(texts, "unsupported"));
      return;
    }
    element.appendChild(line(words(texts, "intro"), "hint"));
    var button = doc.createElement("button");
    button.type = "button";
    button.className = "button";
    button.setAttribute("data-tap-button", "");
    var label = words(texts, "button");
    button.textContent = label[0] + " / " + label[1];
    element.appendChild(button);
    element.appendChild(result);

    function send(cardBytes, serial) {
      var V = global.AnxinmaVerify, holder = global.AnxinmaHolder;
      var time = Math.floor(Date.now() / 1000), once = nonce();
      return Promise.resolve(holder.credential()).then(function (phoneValue) {
        var phoneBytes = credentialBytes(phoneValue, V);
        return message(V.decodeCredential(phoneBytes).claims.issuer_code, cardBytes, serial, time, once)
          .then(function (bytes) { return holder.sign(bytes); })
          .then(function (signature) {
            show("sending", "sending", words(texts, "sending"));
            return fetch(endpoint, {
              method: "POST",
              credentials: "same-origin",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({
                credential: V.hex(phoneBytes),
                card: V.hex(cardBytes),
                serial_number: serial,
                time: time,
                nonce: once,
                signature: b64url(bytesOf(signature))
              })
            });
          });
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.status === 201) {
            show("recorded", "recorded", words(texts, "recorded", { month: body.month, name: body.display_name }));
          } else if (response.status === 200) {
            var when = String(body.tapped_at || "").slice(0, 10);
            show("already", "already", words(texts, "already", { when: when }));
          } else if (body && body.error) {
            var error = body.error, fields = error.fields || {}, zh = error.zh, en = error.en;
            var names = Object.keys(fields);
            if (names.length) {
              zh = names.map(function (n) { return fields[n].zh; }).join("；");
              en = names.map(function (n) { return fields[n].en; }).join("; ");
            }
            show("refused", error.code || "refused", words(texts, "refused", { zh: zh, en: en }));
          } else {
            show("failed", "http_" + response.status, words(texts, "failed"));
          }
        });
      }, function () {
        show("failed", "offline", words(texts, "offline"));
      });
    }

    function onReading(event) {
      var V = global.AnxinmaVerify, holder = global.AnxinmaHolder;
      var cardBytes = V.ndefCredential(event.message), card = null, phone = null;
      try { if (cardBytes) card = V.decodeCredential(cardBytes); } catch (e) { card = null; }
      return Promise.resolve(holder.credential()).then(function (phoneValue) {
        try { phone = V.decodeCredential(credentialBytes(phoneValue, V)); } catch (e) { phone = null; }
        if (!phone || !phone.claims.holder_key) {
          show("refused", "not_enrolled", words(texts, "not_enrolled"));
          return null;
        }
        var serial = V.serialNumberUid(event.serialNumber);
        var refusal = localCheck(card, phone, serial);
        if (refusal) {
          show("refused", refusal, words(texts, refusal));
          return null;
        }
        return send(cardBytes, serial);
      });
    }

    button.addEventListener("click", function () {
      var holder = global.AnxinmaHolder;
      if (!holder || !global.AnxinmaVerify) {
        show("refused", "not_enrolled", words(texts, "not_enrolled"));
        return;
      }
      show("waiting", "prompt", words(texts, "prompt"));
      var reader;
      try { reader = new global.NDEFReader(); } catch (e) {
        show("failed", "read_failed", words(texts, "read_failed", { why: String((e && e.message) || e) }));
        return;
      }
      var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
      button.disabled = true;
      reader.onreading = function (event) {
        if (controller) controller.abort(); // one tap, one check-in: stop listening
        Promise.resolve(holder.load ? holder.load() : null).then(function () { return onReading(event); })
          .catch(function (e) {
            show("failed", "read_failed", words(texts, "read_failed", { why: String((e && e.message) || e) }));
          })
          .then(function () { button.disabled = false; });
      };
      reader.onreadingerror = function () {
        show("failed", "read_failed", words(texts, "read_failed", { why: "NDEF" }));
        button.disabled = false;
      };
      reader.scan(controller ? { signal: controller.signal } : {}).catch(function (e) {
        show("failed", "read_failed", words(texts, "read_failed", { why: String((e && e.message) || e) }));
        button.disabled = false;
      });
    });
  }

  function mountAll(root) {
    var found = (root || document).querySelectorAll("[data-tap-checkin]");
    for (var i = 0; i < found.length; i++) mount(found[i]);
  }

  global.AnxinmaTapCheckIn = { mount: mount, mountAll: mountAll, localCheck: localCheck,
    CONTEXT: CONTEXT };
  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { mountAll(); });
    else mountAll();
  }
})(typeof self !== "undefined" ? self : this);
