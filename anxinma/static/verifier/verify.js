/* 安心码 verification in the browser: the credential format of docs/format.md, the trust list,
 * status lists and the live record of docs/interfaces.md, and the order of checks of
 * docs/verifier.md — the same verdicts as anxinma.verifier, computed on the consumer's phone.
 *
 * No DOM here: page.js renders what these functions return. Every result is
 * {status, reasons: [{key, params}], claims, kid, ...}; a reason key names a message of the page's
 * catalog (anxinma/verifier/web.py), so this file holds no language.
 *
 * Ed25519: WebCrypto (crypto.subtle, name "Ed25519") when the browser has it; otherwise the
 * vendored tweetnacl-js (vendor/nacl-fast.min.js, public domain, audited by Cure53), loaded only
 * then. Status lists: base64url + zlib, inflated with DecompressionStream("deflate"), or where a
 * browser lacks it (Safari before 16.4, older WebViews) by inflateZlib below (RFC 1950/1951).
 * tests/verifier/test_page_verify.py runs this file on every test vector of tests/vectors/.
 */
(function (global) {
  "use strict";

  var MAX_TEXT = 4096;
  var MAX_CREDENTIAL = 1024;
  var MAX_DAY = 2932896; // 9999-12-31
  var MAX_SAFE = 9007199254740991;
  var SHARD_SIZE = 1 << 20;
  var MAX_INFLATED = SHARD_SIZE / 4;
  var CST_OFFSET = 8 * 3600; // credential dates are whole days in UTC+8
  var KEYS = { cnf: 8, type: -1, issuer: -2, serial: -3, archive: -4, enterprise: -5, name: -6,
    categories: -7, issued: -8, expires: -9, card: -10 };
  var REQUIRED = [-2, -3, -4, -5, -6, -7, -8, -9];
  var TYPES = { 1: "worker", 2: "enterprise" };
  var STATUS_VALUES = ["valid", "revoked", "suspended", "attention"];
  var GENUINE = { valid: 1, attention: 1, revoked: 1, suspended: 1, expired: 1, not_yet_valid: 1,
    status_unknown: 1 };
  var LIVE_STATUSES = { valid: 1, attention: 1, revoked: 1, suspended: 1, expired: 1 };
  var OVERRIDABLE = { valid: 1, attention: 1, revoked: 1, suspended: 1, status_unknown: 1 };
  // The dynamic code (docs/format.md §12; anxinma/verifier/holder.py is the same rule): fresh for
  // 60 s, 30 s of clock difference either way; tests/vectors/holder-proof-rules.json drives both.
  var PROOF_MAX_AGE = 90, PROOF_MAX_AHEAD = 30;
  var PROOF_CHECKED_UNDER = { valid: 1, attention: 1, status_unknown: 1 };
  var HOLDER_STATUSES = { holder_proof_missing: 1, holder_proof_expired: 1, bad_holder_proof: 1 };
  var PRESENTATION_CONTEXT = "anxinma-presentation-v1";

  function Refused(code, key, params) {
    this.code = code; // malformed | unsupported_version | unsupported_algorithm
    this.key = key;
    this.params = params || {};
  }

  function refuse(key, params, code) {
    throw new Refused(code || "malformed", key, params);
  }

  // -- bytes ------------------------------------------------------------------------------

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  /* A chip's serial number as Web NFC gives it (NDEFReadingEvent.serialNumber, "04:a2:24:5a:9b:6c:80")
   * as the lower-case hex of a card UID, or null when there is none or it is not 4 to 10 bytes
   * of hex pairs (an emulated tag, a browser that hides it). tests/vectors/card-serial-rules.json
   * holds the rule; anxinma/ndef.py serial_number_uid is the issuer's copy. */
  function serialNumberUid(serialNumber) {
    var text = typeof serialNumber === "string" ? serialNumber : "";
    if (!/^[0-9a-fA-F]{2}(?::?[0-9a-fA-F]{2})*$/.test(text)) return null;
    var digits = text.replace(/:/g, "").toLowerCase();
    return digits.length >= 8 && digits.length <= 20 ? digits : null;
  }

  /* The credential bytes an NDEF message carries as Web NFC delivers it (NDEFMessage.records):
   * the external record axm.cn:c (anxinma/ndef.py), else the credential in a URI record's link;
   * null when there is none. anxinma.ndef.decode_message is the desk's reading of the same. */
  function ndefCredential(message) {
    var records = (message && message.records) || [], fromUrl = null;
    var bytesOf = function (view) {
      return view ? new Uint8Array(view.buffer, view.byteOffset || 0, view.byteLength) : new Uint8Array(0);
    };
    for (var i = 0; i < records.length; i++) {
      var record = records[i];
      if (record.recordType === "axm.cn:c") return bytesOf(record.data);
      if (fromUrl === null && (record.recordType === "url" || record.recordType === "absolute-url")) {
        try { fromUrl = parseText(new TextDecoder().decode(bytesOf(record.data))); } catch (e) { /* another link */ }
      }
    }
    return fromUrl;
  }

  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function concat(parts) {
    var size = 0, i;
    for (i = 0; i < parts.length; i++) size += parts[i].length;
    var out = new Uint8Array(size), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function utf8(text) { return new TextEncoder().encode(text); }

  function b64urlDecode(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function b64urlEncode(bytes) {
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // -- text forms (docs/format.md §5) -----------------------------------------------------

  var DIGITS_FOR = {}, BYTES_FOR = {};
  (function () {
    for (var k = 1; k <= 7; k++) {
      var digits = (BigInt(256) ** BigInt(k) - BigInt(1)).toString().length;
      DIGITS_FOR[k] = digits; BYTES_FOR[digits] = k;
    }
  })();

  function fromDecimal(text) {
    if (!/^[0-9]+$/.test(text)) refuse("malformed_digits");
    var full = Math.floor(text.length / 17), rest = text.length % 17;
    if (rest && !BYTES_FOR[rest]) refuse("malformed_length");
    var groups = [];
    for (var g = 0; g <= full; g++) {
      var chunk = text.substr(g * 17, g < full ? 17 : rest);
      if (!chunk) break;
      var size = g < full ? 7 : BYTES_FOR[rest];
      var value = BigInt(chunk);
      if (value >= BigInt(256) ** BigInt(size)) refuse("malformed_group");
      var bytes = new Uint8Array(size);
      for (var i = size - 1; i >= 0; i--) { bytes[i] = Number(value & BigInt(255)); value >>= BigInt(8); }
      groups.push(bytes);
    }
    return concat(groups);
  }

  function toDecimal(bytes) {
    var out = "";
    for (var at = 0; at < bytes.length; at += 7) {
      var group = bytes.subarray(at, at + 7), value = BigInt(0);
      for (var i = 0; i < group.length; i++) value = (value << BigInt(8)) | BigInt(group[i]);
      var digits = value.toString();
      while (digits.length < DIGITS_FOR[group.length]) digits = "0" + digits;
      out += digits;
    }
    return out;
  }

  /* What a scanned or typed text is: {kind: "anxinma", bytes} for any text form of a credential,
   * or {kind: "payment" | "damaged" | "url" | "text" | "empty", label} for anything else (never an
   * exception): the page says what it is instead of failing. ``payments`` lists
   * [prefix, 中文, English] (anxinma.verifier.scan, handed over by the server). */
  function classify(text, payments) {
    var value = typeof text === "string" ? text.trim() : "";
    if (!value) return { kind: "empty" };
    try {
      return { kind: "anxinma", bytes: parseText(value) };
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      var lower = value.toLowerCase();
      if (/^https?:\/\/[^\/?#]+(?:\/[^?#]*)?\/v[\/#]\d+$/i.test(value)) {
        return { kind: "damaged", reason: err };
      }
      for (var i = 0; i < (payments || []).length; i++) {
        if (lower.indexOf(payments[i][0]) === 0) return { kind: "payment", zh: payments[i][1], en: payments[i][2] };
      }
      if (/^[a-z][a-z0-9+.-]*:/.test(lower)) return { kind: "url", shown: value.slice(0, 60) };
      return { kind: "text", reason: err };
    }
  }

  function parseText(value) {
    if (value.length > MAX_TEXT) refuse("malformed_long");
    var lower = value.slice(0, 8).toLowerCase();
    if (lower.indexOf("https://") === 0 || lower.indexOf("http://") === 0) {
      return fromDecimal(payloadFromUrl(value));
    }
    // Hex begins 84 (a credential: an array of four) or 83 (a dynamic code: an array of three).
    if ((value.slice(0, 2) === "84" || value.slice(0, 2) === "83") && /^[0-9a-fA-F]+$/.test(value)) {
      if (value.length % 2 === 0) return fromHex(value);
      if (!/^[0-9]+$/.test(value)) refuse("malformed_odd_hex");
    }
    if (/^[0-9]+$/.test(value)) return fromDecimal(value);
    refuse("malformed_not_ours");
  }

  function payloadFromUrl(url) {
    var rest = url.replace(/^[a-zA-Z]+:\/\/[^\/?#]*/, "");
    var hashAt = rest.indexOf("#"), fragment = hashAt >= 0 ? rest.slice(hashAt + 1) : "";
    var beforeHash = hashAt >= 0 ? rest.slice(0, hashAt) : rest;
    var queryAt = beforeHash.indexOf("?"), query = queryAt >= 0 ? beforeHash.slice(queryAt + 1) : "";
    var path = queryAt >= 0 ? beforeHash.slice(0, queryAt) : beforeHash;
    var lowerPath = path.toLowerCase();
    if (fragment && (/\/v$/.test(lowerPath) || /\/v\/$/.test(lowerPath))) return fragment;
    var marker = lowerPath.lastIndexOf("/v/");
    if (marker < 0 || queryAt >= 0) refuse("malformed_not_our_link");
    void query;
    return path.slice(marker + 3);
  }

  // -- deterministic CBOR, the subset the format uses (RFC 8949 §4.2.1) -------------------

  function Reader(bytes) { this.bytes = bytes; this.at = 0; }

  Reader.prototype.byte = function () {
    if (this.at >= this.bytes.length) refuse("malformed_cbor");
    return this.bytes[this.at++];
  };

  Reader.prototype.argument = function (info) {
    if (info < 24) return info;
    var size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!size) refuse("malformed_cbor"); // indefinite lengths and reserved values
    var value = 0;
    for (var i = 0; i < size; i++) {
      value = value * 256 + this.byte();
    }
    if (size === 8 && value > MAX_SAFE) refuse("malformed_cbor");
    var least = { 1: 24, 2: 256, 4: 65536, 8: 4294967296 }[size];
    if (value < least) refuse("malformed_not_deterministic"); // not the shortest head
    return value;
  };

  Reader.prototype.item = function (depth) {
    if (depth > 4) refuse("malformed_cbor");
    var start = this.at, initial = this.byte(), major = initial >> 5, info = initial & 31;
    var value, n, i;
    if (major === 7 || major === 6) refuse("malformed_cbor"); // no floats, simple values or tags
    n = this.argument(info);
    if (major === 0) value = n;
    else if (major === 1) value = -1 - n;
    else if (major === 2 || major === 3) {
      if (this.at + n > this.bytes.length) refuse("malformed_cbor");
      var raw = this.bytes.slice(this.at, this.at + n);
      this.at += n;
      if (major === 2) value = raw;
      else {
        try { value = new TextDecoder("utf-8", { fatal: true }).decode(raw); }
        catch (e) { refuse("malformed_cbor"); }
      }
    } else if (major === 4) {
      value = [];
      for (i = 0; i < n; i++) value.push(this.item(depth + 1).value);
    } else {
      value = new Map();
      var previous = null;
      for (i = 0; i < n; i++) {
        var key = this.item(depth + 1);
        if (previous && compareBytes(previous, key.raw) >= 0) refuse("malformed_not_deterministic");
        previous = key.raw;
        value.set(key.value, this.item(depth + 1).value);
      }
    }
    return { value: value, raw: this.bytes.subarray(start, this.at) };
  };

  function compareBytes(a, b) {
    for (var i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  function decodeCbor(bytes) {
    var reader = new Reader(bytes), item = reader.item(0);
    if (reader.at !== bytes.length) refuse("malformed_cbor"); // trailing bytes
    return item.value;
  }

  function head(major, value) {
    if (value < 24) return new Uint8Array([(major << 5) | value]);
    if (value < 256) return new Uint8Array([(major << 5) | 24, value]);
    if (value < 65536) return new Uint8Array([(major << 5) | 25, value >> 8, value & 255]);
    return new Uint8Array([(major << 5) | 26, (value >>> 24) & 255, (value >> 16) & 255, (value >> 8) & 255, value & 255]);
  }

  // RFC 9052 §4.4: the Sig_structure of a COSE_Sign1 with no external data.
  function sigStructure(protectedBytes, payload) {
    return concat([new Uint8Array([0x84, 0x6a]), utf8("Signature1"), head(2, protectedBytes.length),
      protectedBytes, new Uint8Array([0x40]), head(2, payload.length), payload]);
  }

  function isUint(v) { return typeof v === "number" && v >= 0 && Math.floor(v) === v; }

  // -- the credential (docs/format.md §2–§4) ----------------------------------------------

  function dateOfDay(day) { return new Date((day * 86400 - CST_OFFSET) * 1000); }

  function isoDay(day) {
    var d = new Date(day * 86400 * 1000);
    return d.toISOString().slice(0, 10);
  }

  /* The credential's parts and claims, checked as strictly as the Python decoder; throws a
   * Refused naming the rule (the signature is NOT checked here). */
  function decodeCredential(bytes) {
    if (!bytes || !bytes.length) refuse("malformed_empty");
    if (bytes.length > MAX_CREDENTIAL) refuse("malformed_long");
    if (bytes[0] === 0xd2) refuse("malformed_tagged");
    var outer = decodeCbor(bytes);
    if (!Array.isArray(outer) || outer.length !== 4) refuse("malformed_structure");
    var protectedBytes = outer[0], unprotected = outer[1], payload = outer[2], signature = outer[3];
    if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) ||
        !(signature instanceof Uint8Array)) refuse("malformed_structure");
    if (!(unprotected instanceof Map) || unprotected.size !== 0) refuse("malformed_unprotected");
    if (signature.length !== 64) refuse("malformed_signature");
    var header = decodeCbor(protectedBytes);
    if (!(header instanceof Map)) refuse("malformed_header");
    if (header.get(1) !== -8) refuse("unsupported_algorithm", {}, "unsupported_algorithm");
    var kid = header.get(4);
    if (header.size !== 2 || !(kid instanceof Uint8Array) || kid.length !== 2) refuse("malformed_header");
    var claims = decodeClaims(payload);
    return {
      claims: claims,
      kid: kid,
      kidHex: hex(kid),
      signature: signature,
      protectedBytes: protectedBytes,
      payload: payload,
      bytes: bytes,
      signed: sigStructure(protectedBytes, payload)
    };
  }

  // -- the dynamic code (docs/format.md §12) ----------------------------------------------

  /* What the holder key signs: ["anxinma-presentation-v1", h'<credential>', time], deterministic. */
  function proofInput(credential, time) {
    return concat([new Uint8Array([0x83]), head(3, PRESENTATION_CONTEXT.length), utf8(PRESENTATION_CONTEXT),
      head(2, credential.length), credential, head(0, time)]);
  }

  /* A presentation 83 <credential> 1a <time> 58 40 <proof>: the credential decoded as
   * decodeCredential does, with .presentation = {time, proof, signed, bytes}; throws a Refused. */
  function decodePresentation(bytes) {
    if (!bytes || bytes[0] !== 0x83) refuse("malformed_structure");
    if (bytes.length > MAX_CREDENTIAL) refuse("malformed_long");
    if (bytes.length < 13 || bytes[1] !== 0x84 || bytes[11] !== 0x58) refuse("malformed_presentation");
    var end = 1 + 78 + bytes[12];
    if (bytes.length !== end + 71) refuse("malformed_presentation");
    var cred = decodeCredential(bytes.slice(1, end));
    if (!cred.claims.holder_key) refuse("malformed_presentation");
    var tail = bytes.subarray(end), time = ((tail[1] << 24) >>> 0) + (tail[2] << 16) + (tail[3] << 8) + tail[4];
    if (tail[0] !== 0x1a || time < 65536 || tail[5] !== 0x58 || tail[6] !== 0x40) refuse("malformed_presentation");
    cred.presentation = { time: time, proof: tail.slice(7), signed: proofInput(cred.bytes, time), bytes: bytes };
    return cred;
  }

  /* Any binary code: a dynamic code by its first byte (83), else a credential (84 …). */
  function decodeCode(bytes) {
    return bytes && bytes[0] === 0x83 ? decodePresentation(bytes) : decodeCredential(bytes);
  }

  /* The holder proof rule (anxinma.verifier.holder.judge_holder_proof): {status, reason} that
   * replaces the credential's verdict ``base``, or null when it stands. proof: "none" | "bad" |
   * "good"; age: now - time in whole seconds (negative: dated ahead). */
  function holderRule(base, holderBound, proof, age) {
    if (!PROOF_CHECKED_UNDER[base] || !holderBound) return null;
    if (proof === "none") return { status: "holder_proof_missing", reason: reason("holder_proof_missing") };
    if (proof === "bad") return { status: "bad_holder_proof", reason: reason("bad_holder_proof") };
    if (age > PROOF_MAX_AGE) {
      return { status: "holder_proof_expired", reason: reason("holder_proof_expired", { seconds: age, max: PROOF_MAX_AGE }) };
    }
    if (-age > PROOF_MAX_AHEAD) {
      return { status: "holder_proof_expired", reason: reason("holder_proof_future", { ahead: -age, max: PROOF_MAX_AHEAD }) };
    }
    return null;
  }

  /* The credential's verdict held to its proof: one more Ed25519 verification, under the holder
   * key of a credential whose own signature verified (only then is the verdict valid, attention
   * or status_unknown). ``now``: seconds. */
  function withHolderProof(result, cred, now) {
    if (!cred.claims.holder_key || !PROOF_CHECKED_UNDER[result.status]) return Promise.resolve(result);
    var shown = cred.presentation;
    var checked = shown ? verifySignature(fromHex(cred.claims.holder_key), shown.proof, shown.signed)
      : Promise.resolve(null);
    return checked.then(function (ok) {
      var proof = ok === null ? "none" : ok ? "good" : "bad";
      var judged = holderRule(result.status, true, proof, shown ? Math.floor(now) - shown.time : null);
      if (!judged) return result;
      return Object.assign({}, result, { status: judged.status, reasons: [judged.reason].concat(result.reasons) });
    });
  }

  function decodeClaims(payload) {
    var map = decodeCbor(payload);
    if (!(map instanceof Map)) refuse("malformed_claims");
    var type = map.get(KEYS.type);
    if (type === undefined) refuse("malformed_claims");
    if (typeof type !== "number") refuse("malformed_claims");
    if (!TYPES[type]) refuse("unsupported_version", { type: type }, "unsupported_version");
    map.forEach(function (_, key) {
      if ([8, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10].indexOf(key) < 0) refuse("malformed_claims");
    });
    REQUIRED.forEach(function (key) { if (!map.has(key)) refuse("malformed_claims"); });
    [-2, -3, -4, -5, -7, -8, -9].forEach(function (key) { if (!isUint(map.get(key))) refuse("malformed_claims"); });
    var name = map.get(KEYS.name), card = map.get(KEYS.card), cnf = map.get(KEYS.cnf);
    if (typeof name !== "string") refuse("malformed_claims");
    if (card !== undefined && !(card instanceof Uint8Array)) refuse("malformed_claims");
    if (cnf !== undefined && !(cnf instanceof Map)) refuse("malformed_claims");
    var bits = map.get(KEYS.categories);
    if (bits & ~127 || bits > 127) refuse("malformed_claims");
    var issued = map.get(KEYS.issued), expires = map.get(KEYS.expires);
    if (issued > MAX_DAY || expires > MAX_DAY) refuse("malformed_claims");
    var holderKey = null;
    if (cnf !== undefined) {
      var key = cnf.size === 1 ? cnf.get(1) : undefined;
      if (!(key instanceof Map) || key.size !== 3 || key.get(1) !== 1 || key.get(-1) !== 6 ||
          !(key.get(-2) instanceof Uint8Array) || key.get(-2).length !== 32) refuse("malformed_claims");
      holderKey = key.get(-2);
    }
    var kind = TYPES[type], issuer = map.get(KEYS.issuer), serial = map.get(KEYS.serial);
    // The rules of anxinma.credential.Claims (values.py), in its order.
    if (issuer < 110000 || issuer > 829999) refuse("malformed_claims");
    if (serial > 4294967295) refuse("malformed_claims");
    if (!name.trim() || name.normalize("NFC") !== name || /\p{C}/u.test(name)) refuse("malformed_claims");
    if (utf8(name).length > (kind === "worker" ? 24 : 64)) refuse("malformed_claims");
    if (/\p{Nd}{6,}/u.test(name)) refuse("malformed_claims");
    if (kind === "worker" && name.indexOf("*") < 0) refuse("malformed_claims");
    if (kind === "worker" && !bits) refuse("malformed_claims");
    if (expires <= issued) refuse("malformed_claims");
    if (card !== undefined && (card.length < 4 || card.length > 10)) refuse("malformed_claims");
    return {
      subject_kind: kind,
      issuer_code: issuer,
      serial: serial,
      archive_id: map.get(KEYS.archive),
      enterprise_id: map.get(KEYS.enterprise),
      display_name: name,
      category_bits: bits,
      issued_day: issued,
      expires_day: expires,
      issued_at: dateOfDay(issued),
      expires_at: dateOfDay(expires),
      issued_on: isoDay(issued),
      expires_on: isoDay(expires),
      card_uid: card === undefined ? null : hex(card),
      holder_key: holderKey ? hex(holderKey) : null
    };
  }

  // -- Ed25519 ----------------------------------------------------------------------------

  // RFC 8032 §7.1, test 1: the empty message. A browser that cannot verify it does not get trusted.
  var PROBE_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  var PROBE_SIG = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
  var engine = null, naclUrl = null, keyCache = new Map();

  function configure(options) { naclUrl = options.naclUrl || naclUrl; }

  function webcryptoVerify(publicKey, signature, message) {
    var id = hex(publicKey), cached = keyCache.get(id);
    if (!cached) {
      cached = crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      keyCache.set(id, cached);
    }
    return cached.then(function (key) {
      return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    });
  }

  function loadNacl() {
    if (global.nacl && global.nacl.sign) return Promise.resolve(global.nacl);
    if (typeof document === "undefined" || !naclUrl) return Promise.reject(new Error("no Ed25519 available"));
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = naclUrl;
      script.onload = function () { global.nacl ? resolve(global.nacl) : reject(new Error("tweetnacl did not load")); };
      script.onerror = function () { reject(new Error("tweetnacl did not load")); };
      document.head.appendChild(script);
    });
  }

  /* Which Ed25519 the page uses: "webcrypto", or "tweetnacl" where the browser lacks it. */
  function cryptoEngine() {
    if (!engine) {
      var probe = Promise.resolve().then(function () {
        if (!global.crypto || !crypto.subtle) throw new Error("no WebCrypto");
        return webcryptoVerify(fromHex(PROBE_KEY), fromHex(PROBE_SIG), new Uint8Array(0));
      });
      engine = probe.then(function (ok) {
        if (!ok) throw new Error("WebCrypto Ed25519 failed its test vector");
        return "webcrypto";
      }).catch(function () {
        keyCache.clear();
        return loadNacl().then(function (nacl) {
          if (!nacl.sign.detached.verify(new Uint8Array(0), fromHex(PROBE_SIG), fromHex(PROBE_KEY))) {
            throw new Error("tweetnacl failed its test vector");
          }
          return "tweetnacl";
        });
      });
    }
    return engine;
  }

  function verifySignature(publicKey, signature, message) {
    if (!publicKey || publicKey.length !== 32 || signature.length !== 64) return Promise.resolve(false);
    return cryptoEngine().then(function (which) {
      if (which === "webcrypto") return webcryptoVerify(publicKey, signature, message);
      return global.nacl.sign.detached.verify(message, signature, publicKey);
    });
  }

  // The kid is the first 2 bytes of the RFC 9679 thumbprint: SHA-256 of {1: 1, -1: 6, -2: x}.
  function deriveKid(publicKey) {
    if (!global.crypto || !crypto.subtle || !crypto.subtle.digest) return Promise.resolve(null);
    var coseKey = concat([new Uint8Array([0xa3, 0x01, 0x01, 0x20, 0x06, 0x21, 0x58, 0x20]), publicKey]);
    return crypto.subtle.digest("SHA-256", coseKey).then(function (digest) {
      return hex(new Uint8Array(digest).subarray(0, 2));
    });
  }

  // -- JWS (compact, EdDSA) ----------------------------------------------------------------

  function jwsParts(token) {
    var parts = typeof token === "string" ? token.trim().split(".") : [];
    if (parts.length !== 3) throw new Error("not a compact JWS");
    var header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0])));
    var claims = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1])));
    return { header: header, claims: claims, signed: utf8(parts[0] + "." + parts[1]),
      signature: b64urlDecode(parts[2]) };
  }

  function verifyJws(parts, publicKey) {
    if (parts.header.alg !== "EdDSA") return Promise.resolve(false);
    return verifySignature(publicKey, parts.signature, parts.signed);
  }

  // -- the trust list (docs/keys.md) --------------------------------------------------------

  /* A trust list verified against the pinned root key; rejects with an Error saying why. */
  function loadTrustList(token, rootKey) {
    var parts;
    try { parts = jwsParts(token); } catch (e) { return Promise.reject(new Error("malformed trust list")); }
    if (parts.header.typ !== "anxinma-trust-list+jwt") return Promise.reject(new Error("not a trust list"));
    return verifyJws(parts, rootKey).then(function (ok) {
      if (!ok) throw new Error("the trust list is not signed by the pinned root key");
      var c = parts.claims;
      if (c.iss !== "anxinma-root" || !isUint(c.seq) || !isUint(c.iat) || !isUint(c.exp) || !Array.isArray(c.issuers)) {
        throw new Error("malformed trust list");
      }
      var issuers = new Map(), checks = [];
      c.issuers.forEach(function (entry) {
        var keys = new Map();
        (entry.keys || []).forEach(function (key) {
          var status = key.status, x = null;
          if (status !== "active" && status !== "retired" && status !== "compromised") throw new Error("malformed trust list");
          if (status !== "compromised") {
            if (key.kty !== "OKP" || key.crv !== "Ed25519") throw new Error("malformed trust list");
            x = b64urlDecode(key.x);
            if (x.length !== 32) throw new Error("malformed trust list");
            checks.push(deriveKid(x).then(function (kid) {
              if (kid !== null && kid !== key.kid) throw new Error("a kid of the trust list is not derived from its key");
            }));
          }
          keys.set(String(key.kid), { x: x, status: status, validTo: key.valid_to || null });
        });
        issuers.set(Number(entry.code), { code: Number(entry.code), name: String(entry.name),
          baseUrl: String(entry.base_url || "").replace(/\/+$/, ""), keys: keys });
      });
      return Promise.all(checks).then(function () {
        return { seq: c.seq, issuedAt: c.iat, expiresAt: c.exp, issuers: issuers, token: token };
      });
    });
  }

  /* The key that may sign a status list or a live record: active in the trust list. */
  function liveKey(trust, issuerCode, kidHex) {
    var issuer = trust.issuers.get(issuerCode), key = issuer && issuer.keys.get(kidHex);
    return key && key.status === "active" ? key.x : null;
  }

  // -- status lists (draft-ietf-oauth-status-list, 2 bits a serial) -------------------------

  // -- inflate without DecompressionStream (RFC 1950 zlib around RFC 1951 deflate) -----------
  // Canonical Huffman decoding one bit at a time, as zlib's puff.c: small and exact rather
  // than fast (a province's 100 KB list inflates in tens of milliseconds). Every malformed
  // input throws; so does output beyond ``limit`` and a wrong Adler-32.

  var LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
    131, 163, 195, 227, 258];
  var LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  var DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  var DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
  var CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  var fixedCodes = null;

  function huffman(lengths) {
    var counts = new Uint16Array(16), offsets = new Uint16Array(16), symbols = new Uint16Array(lengths.length);
    var i, left = 1;
    for (i = 0; i < lengths.length; i++) counts[lengths[i]]++;
    counts[0] = 0;
    for (i = 1; i < 16; i++) {
      left = (left << 1) - counts[i];
      if (left < 0) throw new Error("deflate: over-subscribed Huffman code");
    }
    for (i = 1; i < 16; i++) offsets[i] = offsets[i - 1] + counts[i - 1];
    for (i = 0; i < lengths.length; i++) if (lengths[i]) symbols[offsets[lengths[i]]++] = i;
    return { counts: counts, symbols: symbols, incomplete: left > 0 };
  }

  // zlib's rule (puff.c): the code-length code is complete; a literal/length or distance code
  // may be incomplete only when it is a single code of one bit (or no distance code at all).
  function complete(code, lengths, oneCodeAllowed) {
    var used = 0;
    for (var i = 0; i < lengths.length; i++) if (lengths[i]) used++;
    if (code.incomplete && !(oneCodeAllowed && used === code.counts[1] && used <= 1)) {
      throw new Error("deflate: incomplete Huffman code");
    }
    return code;
  }

  function inflateZlib(data, limit) {
    var pos = 2, bitBuf = 0, bitCnt = 0, out = new Uint8Array(Math.min(limit, 4096)), outLen = 0;
    if (data.length < 6 || (data[0] & 15) !== 8 || data[0] >> 4 > 7 || ((data[0] << 8) | data[1]) % 31 || data[1] & 32) {
      throw new Error("not a zlib stream");
    }
    function bits(n) {
      while (bitCnt < n) {
        if (pos >= data.length) throw new Error("deflate: truncated");
        bitBuf |= data[pos++] << bitCnt;
        bitCnt += 8;
      }
      var value = bitBuf & ((1 << n) - 1);
      bitBuf >>>= n;
      bitCnt -= n;
      return value;
    }
    function room(extra) {
      if (outLen + extra > limit) throw new Error("the status list inflates beyond one shard");
      if (outLen + extra > out.length) {
        var bigger = new Uint8Array(Math.min(limit, Math.max(out.length * 2, outLen + extra)));
        bigger.set(out.subarray(0, outLen));
        out = bigger;
      }
    }
    function decode(code) {
      var value = 0, first = 0, index = 0;
      for (var len = 1; len < 16; len++) {
        value |= bits(1);
        var count = code.counts[len];
        if (value - first < count) return code.symbols[index + value - first];
        index += count;
        first = (first + count) << 1;
        value <<= 1;
      }
      throw new Error("deflate: invalid Huffman code");
    }
    function block(lit, dist) {
      for (;;) {
        var symbol = decode(lit);
        if (symbol < 256) {
          room(1);
          out[outLen++] = symbol;
        } else if (symbol === 256) {
          return;
        } else {
          symbol -= 257;
          if (symbol >= 29) throw new Error("deflate: invalid length");
          var length = LBASE[symbol] + bits(LEXT[symbol]), d = decode(dist);
          var distance = DBASE[d] + bits(DEXT[d]);
          if (distance > outLen) throw new Error("deflate: distance too far back");
          room(length);
          for (var k = 0; k < length; k++, outLen++) out[outLen] = out[outLen - distance];
        }
      }
    }
    function dynamic() {
      var nlit = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4, i;
      if (nlit > 286 || ndist > 30) throw new Error("deflate: bad code counts");
      var order = new Uint8Array(19);
      for (i = 0; i < ncode; i++) order[CL_ORDER[i]] = bits(3);
      var lencode = complete(huffman(order), order, false), lengths = new Uint8Array(nlit + ndist);
      for (i = 0; i < nlit + ndist;) {
        var symbol = decode(lencode), repeat, value = 0;
        if (symbol < 16) {
          lengths[i++] = symbol;
          continue;
        }
        if (symbol === 16) {
          if (i === 0) throw new Error("deflate: repeat with no first length");
          value = lengths[i - 1];
          repeat = 3 + bits(2);
        } else {
          repeat = symbol === 17 ? 3 + bits(3) : 11 + bits(7);
        }
        if (i + repeat > nlit + ndist) throw new Error("deflate: too many lengths");
        while (repeat--) lengths[i++] = value;
      }
      if (!lengths[256]) throw new Error("deflate: no end-of-block code");
      var lit = lengths.subarray(0, nlit), dist = lengths.subarray(nlit);
      block(complete(huffman(lit), lit, true), complete(huffman(dist), dist, true));
    }
    var last;
    do {
      last = bits(1);
      var type = bits(2);
      if (type === 0) {
        bitBuf = 0;
        bitCnt = 0; // fewer than 8 bits are ever buffered: this is the byte boundary
        if (pos + 4 > data.length) throw new Error("deflate: truncated");
        var len = data[pos] | (data[pos + 1] << 8), nlen = data[pos + 2] | (data[pos + 3] << 8);
        pos += 4;
        if (len !== (~nlen & 0xffff) || pos + len > data.length) throw new Error("deflate: bad stored block");
        room(len);
        out.set(data.subarray(pos, pos + len), outLen);
        outLen += len;
        pos += len;
      } else if (type === 1) {
        if (!fixedCodes) {
          var lit = new Uint8Array(288), dist = new Uint8Array(30);
          lit.fill(8, 0, 144); lit.fill(9, 144, 256); lit.fill(7, 256, 280); lit.fill(8, 280, 288);
          dist.fill(5);
          fixedCodes = [huffman(lit), huffman(dist)];
        }
        block(fixedCodes[0], fixedCodes[1]);
      } else if (type === 2) {
        dynamic();
      } else {
        throw new Error("deflate: invalid block type");
      }
    } while (!last);
    if (pos + 4 > data.length) throw new Error("zlib: no checksum");
    var a = 1, b = 0;
    for (var i = 0; i < outLen; i++) {
      a = (a + out[i]) % 65521;
      b = (b + a) % 65521;
    }
    var sum = ((data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]) >>> 0;
    if (((b << 16) | a) >>> 0 !== sum) throw new Error("zlib: checksum mismatch");
    return out.slice(0, outLen);
  }

  function inflate(bytes) {
    if (typeof DecompressionStream === "undefined") {
      return new Promise(function (resolve) { resolve(inflateZlib(bytes, MAX_INFLATED)); });
    }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    var reader = stream.getReader(), chunks = [], size = 0;
    function pump() {
      return reader.read().then(function (step) {
        if (step.done) return concat(chunks);
        size += step.value.length;
        if (size > MAX_INFLATED) { reader.cancel(); throw new Error("the status list inflates beyond one shard"); }
        chunks.push(step.value);
        return pump();
      });
    }
    return pump();
  }

  function loadStatusList(token, trust) {
    var parts;
    try { parts = jwsParts(token); } catch (e) { return Promise.reject(new Error("malformed status list")); }
    var info = parts.claims.anxinma || {}, issuerCode = Number(info.issuer_code);
    if (parts.header.typ !== "statuslist+jwt") return Promise.reject(new Error("not a status list"));
    var kid = String(parts.header.kid), key = liveKey(trust, issuerCode, kid);
    if (!key) return Promise.reject(new Error("the status list is signed by a key the trust list does not hold"));
    return verifyJws(parts, key).then(function (ok) {
      if (!ok) throw new Error("the status list signature does not verify");
      var c = parts.claims, list = c.status_list || {};
      if (list.bits !== 2 || !isUint(c.iat) || !isUint(c.exp) || !isUint(info.size) || info.size > SHARD_SIZE) {
        throw new Error("malformed status list");
      }
      return inflate(b64urlDecode(list.lst)).then(function (packed) {
        if (packed.length * 4 < info.size) throw new Error("the status list is shorter than its size");
        return { issuerCode: issuerCode, shard: Number(info.shard), size: info.size, issuedAt: c.iat,
          expiresAt: c.exp, ttl: c.ttl || 0, packed: packed, kid: kid };
      });
    });
  }

  function statusOf(list, serial) {
    var shard = Math.floor(serial / SHARD_SIZE), index = serial % SHARD_SIZE;
    if (shard !== list.shard || index >= list.size) return null;
    return STATUS_VALUES[(list.packed[index >> 2] >> ((index & 3) * 2)) & 3];
  }

  // -- versioned data: never older over newer (anxinma.rollback, anxinma/rollback.py) -----------------

  /* What to do with ``candidate`` ({version, digest}) given ``held`` (the same, or null):
   * "new" | "newer" (take it), "same" (nothing changes), "older" | "equivocal" (refuse it: a
   * replay, a rollback, or other bytes under a version already seen). As anxinma.rollback.judge. */
  function judgeUpdate(held, candidate) {
    if (!held) return "new";
    if (candidate.version > held.version) return "newer";
    if (candidate.version < held.version) return "older";
    return candidate.digest === held.digest ? "same" : "equivocal";
  }

  function accepted(update) { return update === "new" || update === "newer"; }

  /* Lower-case hex SHA-256 of the exact bytes as served (a JWT as ASCII). */
  function digestOf(data) {
    var bytes = typeof data === "string" ? utf8(data) : data;
    return crypto.subtle.digest("SHA-256", bytes).then(function (d) { return hex(new Uint8Array(d)); });
  }

  // -- the compact status list (application/vnd.anxinma.status+cose, docs/interfaces.md, status data) ----------
  // The checks, their order and their words are anxinma.status_list.compact's, so the same
  // vectors (tests/vectors/status-compact.json) are refused for the same reasons.

  var COMPACT_TYPE = "application/vnd.anxinma.status+cose";
  var MAX_K = 24;
  var MAX_COMPACT = 4 << 20; // far beyond a full shard's streams even at 100 % non-valid
  var LEEWAY = 300; // seconds: an iat this far in the future is a clock, not a forgery

  function refusal(message) { return new Error(message); }

  function malformedCompact(why) { return refusal("malformed compact status list: " + why); }

  /* One deterministic CBOR item filling ``bytes`` (what: its name in the refusal). */
  function cborOf(bytes, what) {
    var reader = new Reader(bytes), item;
    try { item = reader.item(0); } catch (e) {
      if (!(e instanceof Refused)) throw e;
      throw malformedCompact(what + (e.key === "malformed_not_deterministic" ? " is not in deterministic CBOR" : " is not CBOR or is truncated"));
    }
    if (reader.at !== bytes.length) throw malformedCompact("bytes after " + what);
    return item.value;
  }

  function uintOf(value, name, atLeast, atMost) {
    if (!isUint(value) || value < (atLeast || 0)) throw malformedCompact(name + " " + value + " is not an int >= " + (atLeast || 0));
    if (atMost !== undefined && value > atMost) throw malformedCompact(name + " " + value + " is above " + atMost);
    return value;
  }

  function envelopeOf(bytes) {
    if (!(bytes instanceof Uint8Array)) throw malformedCompact("not bytes");
    if (bytes.length > MAX_COMPACT) throw malformedCompact("larger than any shard's streams");
    if (bytes[0] !== 0xd2) throw malformedCompact("not a tagged COSE_Sign1 (tag 18)");
    var outer = cborOf(bytes.subarray(1), "the envelope");
    if (!Array.isArray(outer) || outer.length !== 4) throw malformedCompact("a COSE_Sign1 is an array of 4");
    if (!(outer[0] instanceof Uint8Array) || !(outer[2] instanceof Uint8Array) || !(outer[3] instanceof Uint8Array)) {
      throw malformedCompact("header, payload and signature are byte strings");
    }
    if (!(outer[1] instanceof Map) || outer[1].size !== 0) throw malformedCompact("the unprotected header is not empty");
    if (outer[3].length !== 64) throw malformedCompact("an Ed25519 signature is 64 bytes");
    var header = cborOf(outer[0], "the protected header");
    if (!(header instanceof Map) || header.size !== 3 || !header.has(1) || !header.has(4) || !header.has(16)) {
      throw malformedCompact("the protected header is not {1: alg, 4: kid, 16: typ}");
    }
    if (header.get(16) !== COMPACT_TYPE) throw refusal("not a compact status list (typ " + JSON.stringify(header.get(16)) + ")");
    if (header.get(1) !== -8) throw refusal("compact status list algorithm " + header.get(1) + " is not EdDSA (-8)");
    var kid = header.get(4);
    if (!(kid instanceof Uint8Array) || kid.length !== 2) throw malformedCompact("a kid is 2 bytes");
    return { protectedBytes: outer[0], kid: hex(kid), payload: outer[2], signature: outer[3] };
  }

  /* One stream's entries (ascending indices) from its Rice code, refused as the Python decoder
   * refuses: short, ending before its count, a gap or an index beyond the size, bytes after the
   * last entry, padding bits that are not zero. */
  function riceIndices(data, k, count, size) {
    if (data.length * 8 < count * (k + 1)) throw malformedCompact("a stream shorter than its count");
    var bitLength = data.length * 8, pos = 0, gaps = new Float64Array(count), scale = Math.pow(2, k);
    for (var j = 0; j < count; j++) {
      var quotient = 0, low = 0, i;
      for (;;) {
        if (pos >= bitLength) throw malformedCompact("a stream ends before its count");
        if (!((data[pos >> 3] >> (7 - (pos & 7))) & 1)) { pos++; break; }
        quotient++;
        pos++;
      }
      if (pos + k > bitLength) throw malformedCompact("a stream ends before its count");
      for (i = 0; i < k; i++, pos++) low = low * 2 + ((data[pos >> 3] >> (7 - (pos & 7))) & 1);
      gaps[j] = quotient * scale + low;
    }
    var total = count;
    if (k > 0) {
      for (j = 0; j < count; j++) {
        if (gaps[j] >= size) throw malformedCompact("a gap of " + gaps[j] + " in a shard of " + size);
        total += gaps[j];
      }
      if (total > size) throw malformedCompact("an index beyond the size " + size);
    } else {
      for (j = 0; j < count; j++) total += gaps[j];
    }
    if (Math.ceil(pos / 8) !== data.length) throw malformedCompact("bytes after a stream's last entry");
    for (var p = pos; p < bitLength; p++) {
      if ((data[p >> 3] >> (7 - (p & 7))) & 1) throw malformedCompact("padding bits that are not zero");
    }
    if (total > size) throw malformedCompact("index " + (total - 1) + " is not below the size " + size);
    var indices = new Uint32Array(count), at = -1;
    for (j = 0; j < count; j++) { at += gaps[j] + 1; indices[j] = at; }
    return indices;
  }

  function decodeStreams(streams, size) {
    if (!Array.isArray(streams)) throw malformedCompact("the streams are not an array");
    var parsed = [], previous = 0, total = 0;
    streams.forEach(function (stream) {
      if (!Array.isArray(stream) || stream.length !== 4) throw malformedCompact("a stream is [value, k, count, bytes]");
      var value = uintOf(stream[0], "a stream's value", 1, 3);
      if (value <= previous) throw malformedCompact("stream of value " + value + " after value " + previous + " (ascending, once each)");
      previous = value;
      var k = uintOf(stream[1], "a stream's k", 0, MAX_K), count = uintOf(stream[2], "a stream's count", 1, size);
      if (!(stream[3] instanceof Uint8Array)) throw malformedCompact("a stream's code is not a byte string");
      if (stream[3].length > Math.floor((count * (k + 1) + Math.floor(size / Math.pow(2, k)) + 7) / 8)) {
        throw malformedCompact("a stream longer than its count and size allow");
      }
      total += count;
      if (total > size) throw malformedCompact("more entries than serials");
      parsed.push([value, k, count, stream[3]]);
    });
    var packed = new Uint8Array(Math.ceil(size / 4)), twice = false;
    parsed.forEach(function (s) {
      var indices = riceIndices(s[3], s[1], s[2], size);
      for (var i = 0; i < indices.length; i++) {
        var index = indices[i], at = index >> 2, shift = (index & 3) * 2;
        if ((packed[at] >> shift) & 3) twice = true;
        packed[at] |= s[0] << shift;
      }
    });
    if (twice) throw malformedCompact("an index listed in two streams");
    return packed;
  }

  /* A compact status list verified under an active key of its issuer in ``trust`` (a
   * loadTrustList() or viewTrust() object), decoded into the same packed 2-bit array statusOf
   * reads; ``now`` (seconds, default the device clock) refuses an iat in the future. Rejects
   * with an Error saying why, in anxinma.status_list's words. */
  function loadCompactStatusList(bytes, trust, now) {
    var envelope, payload, fields;
    try {
      envelope = envelopeOf(bytes);
      payload = cborOf(envelope.payload, "the payload");
      var keys = payload instanceof Map ? Array.from(payload.keys()).sort() : [];
      if (!(payload instanceof Map) || keys.join() !== "1,2,3,4,5,6") throw malformedCompact("the payload's keys are not 1 to 6");
      fields = { issuerCode: uintOf(payload.get(1), "the issuer code"), shard: uintOf(payload.get(2), "the shard"),
        size: uintOf(payload.get(3), "the size", 0, SHARD_SIZE), version: uintOf(payload.get(4), "the version", 1),
        issuedAt: uintOf(payload.get(5), "iat") };
    } catch (e) {
      return Promise.reject(e);
    }
    var key = liveKey(trust, fields.issuerCode, envelope.kid);
    if (!key) {
      return Promise.reject(refusal("status list signed by key " + envelope.kid + " that issuer " + fields.issuerCode + " does not hold"));
    }
    return verifySignature(key, envelope.signature, sigStructure(envelope.protectedBytes, envelope.payload)).then(function (ok) {
      if (!ok) throw refusal("the status list signature does not verify");
      if (fields.issuedAt > (now === undefined ? Date.now() / 1000 : now) + LEEWAY) {
        throw refusal("the compact status list is dated in the future");
      }
      var packed = decodeStreams(payload.get(6), fields.size);
      return digestOf(bytes).then(function (digest) {
        return Object.assign(fields, { expiresAt: Infinity, ttl: 0, packed: packed, kid: envelope.kid, digest: digest,
          compact: true });
      });
    });
  }

  // -- the freshness document (anxinma-status-freshness+jwt, docs/interfaces.md, status data) ------------------

  function malformedFreshness(why) { return refusal("malformed freshness document: " + why); }

  function intOf(value, name, atLeast, atMost) {
    if (!isUint(value) || value < (atLeast || 0)) throw malformedFreshness(name + " " + JSON.stringify(value) + " is not an int >= " + (atLeast || 0));
    if (atMost !== undefined && value > atMost) throw malformedFreshness(name + " " + value + " is above " + atMost);
    return value;
  }

  var SHARD_FIELDS = "digest,shard,size,url,version";

  /* The freshness document verified under an active key of its issuer in ``trust``: {issuerCode,
   * seq, issuedAt, expiresAt, ttl, shards: Map(shard -> {shard, version, size, digest, url}),
   * kid, token, digest}. Rejects with an Error saying why, in anxinma.status_list's words; its
   * age is the caller's to judge (an iat in the future beyond the leeway is refused here). */
  function loadFreshness(token, trust, now) {
    var parts, c;
    try { parts = jwsParts(token); } catch (e) { return Promise.reject(malformedFreshness("not a compact JWS")); }
    c = parts.claims;
    if (parts.header.typ !== "anxinma-status-freshness+jwt") {
      return Promise.reject(refusal("not a freshness document (typ " + JSON.stringify(parts.header.typ) + ")"));
    }
    if (parts.header.alg !== "EdDSA") return Promise.reject(refusal("freshness document algorithm is not EdDSA"));
    var issuer = c && c.iss;
    if (typeof issuer !== "string" || !/^[0-9]{1,12}$/.test(issuer)) {
      return Promise.reject(malformedFreshness("iss " + JSON.stringify(issuer) + " is not an issuer code"));
    }
    var kid = parts.header.kid;
    if (typeof kid !== "string" || !/^([0-9a-fA-F]{2})*$/.test(kid)) return Promise.reject(malformedFreshness("kid is not hex"));
    kid = kid.toLowerCase();
    var issuerCode = Number(issuer), key = liveKey(trust, issuerCode, kid);
    if (!key) {
      return Promise.reject(refusal("freshness document signed by key " + kid + " that issuer " + issuerCode + " does not hold"));
    }
    return verifyJws(parts, key).then(function (ok) {
      if (!ok) throw refusal("the freshness document's signature does not verify");
      var missing = ["iss", "seq", "iat", "exp", "ttl", "shards"].filter(function (name) { return !(name in c); });
      if (missing.length) throw malformedFreshness("the claims " + missing.join(", ") + " are missing");
      var seq = intOf(c.seq, "seq", 1), iat = intOf(c.iat, "iat"), exp = intOf(c.exp, "exp", iat), ttl = intOf(c.ttl, "ttl", 1);
      if (iat > (now === undefined ? Date.now() / 1000 : now) + LEEWAY) throw refusal("the freshness document is dated in the future");
      if (!Array.isArray(c.shards)) throw malformedFreshness("shards is not a list");
      var shards = new Map();
      c.shards.forEach(function (s) {
        if (!s || typeof s !== "object" || Object.keys(s).sort().join() !== SHARD_FIELDS) {
          throw malformedFreshness("a shard entry has exactly the fields ['digest', 'shard', 'size', 'url', 'version']");
        }
        if (typeof s.digest !== "string" || !/^[0-9a-f]{64}$/.test(s.digest)) throw malformedFreshness("a shard's digest is 64 lower-case hex digits");
        if (typeof s.url !== "string" || !s.url) throw malformedFreshness("a shard's url is a non-empty string");
        var entry = { shard: intOf(s.shard, "shard"), version: intOf(s.version, "version", 1),
          size: intOf(s.size, "size", 0, SHARD_SIZE), digest: s.digest, url: s.url };
        if (shards.has(entry.shard)) throw malformedFreshness("shard " + entry.shard + " listed twice");
        shards.set(entry.shard, entry);
      });
      return digestOf(token).then(function (digest) {
        return { issuerCode: issuerCode, seq: seq, issuedAt: iat, expiresAt: exp, ttl: ttl, shards: shards,
          kid: kid, token: token, digest: digest };
      });
    });
  }

  /* The time a held shard's statuses are vouched current: the freshness document's iat when that
   * document (of the shard's issuer, under a key the trust list in hand holds active, not past
   * its exp) lists exactly the held version and digest; otherwise the shard's own iat. */
  function vouchedAt(list, freshness, trust, now) {
    if (freshness && freshness.issuerCode === list.issuerCode && now < freshness.expiresAt &&
        liveKey(trust, freshness.issuerCode, freshness.kid)) {
      var listed = freshness.shards.get(list.shard);
      if (listed && listed.version === list.version && listed.digest === list.digest) {
        return Math.max(freshness.issuedAt, list.issuedAt);
      }
    }
    return list.issuedAt;
  }

  // -- trust rules (docs/verifier.md, trust rules; anxinma.verifier.trust; tests/vectors/trust-rules.json) ---

  function isPinned(anchor) { return anchor.rootSource !== "tofu"; }

  // Rules 1 and 2 as one sortable number: pinned first, then the issuer's own origin.
  function rankOf(anchor, code) { return (isPinned(anchor) ? 2 : 0) + (anchor.issuerCode === code ? 1 : 0); }

  /* A kid the two entries give different public keys (a compromised entry states none), or null. */
  function conflictingKid(a, b) {
    var found = null;
    a.keys.forEach(function (key, kid) {
      var other = b.keys.get(kid);
      if (found === null && other && key.x && other.x && !equal(key.x, other.x)) found = kid;
    });
    return found;
  }

  function newest(candidates) {
    return candidates.reduce(function (best, a) {
      var d = (a.trust.issuedAt - best.trust.issuedAt) || (a.trust.seq - best.trust.seq) ||
        (a.name > best.name ? 1 : a.name < best.name ? -1 : 0);
      return d > 0 ? a : best;
    });
  }

  /* The view's key that may sign status data or a live record: listed, active, and declared
   * compromised by no anchor that counts; its public key, or null. */
  function usableKey(view, kid) {
    if (view.compromisedElsewhere.has(kid)) return null;
    var key = view.keys.get(kid);
    return key && key.status === "active" && key.x ? key.x : null;
  }

  /* The trust rules over ``anchors`` ([{name, rootSource: "pinned" | "tofu", issuerCode (the
   * code its origin speaks for, or null), trust (a loadTrustList() object), status: Map
   * "code:shard" -> a loaded status list, freshness: Map code -> a loaded freshness document}]):
   * {views: Map code -> {code, anchor, issuer, keys, compromisedElsewhere: Map kid -> anchor name,
   * statusLists: Map shard -> list, freshness}, conflicts: Map code -> {code, anchors, kid}}.
   * 1. pinned outranks first use; 2. then the issuer's own origin a peer entry; 3. among equals,
   * one kid with two public keys is a conflict (no view), else the newest list (iat, seq) wins;
   * 4. a compromise counts when the chosen or any pinned anchor declares it; 5. status data only
   * from the chosen anchor, under a usable key of the view. As anxinma.verifier.trust.choose_views. */
  function chooseViews(anchors) {
    var named = new Map(), views = new Map(), conflicts = new Map();
    anchors.forEach(function (anchor) {
      anchor.trust.issuers.forEach(function (_, code) {
        if (!named.has(code)) named.set(code, []);
        named.get(code).push(anchor);
      });
    });
    named.forEach(function (candidates, code) {
      var best = Math.max.apply(null, candidates.map(function (a) { return rankOf(a, code); }));
      var top = candidates.filter(function (a) { return rankOf(a, code) === best; });
      for (var i = 0; i < top.length; i++) {
        for (var j = i + 1; j < top.length; j++) {
          var kid = conflictingKid(top[i].trust.issuers.get(code), top[j].trust.issuers.get(code));
          if (kid !== null) {
            conflicts.set(code, { code: code, anchors: [top[i].name, top[j].name].sort(), kid: kid });
            return;
          }
        }
      }
      var chosen = newest(top), entry = chosen.trust.issuers.get(code), elsewhere = new Map();
      anchors.forEach(function (anchor) {
        if (anchor === chosen || !isPinned(anchor) || !anchor.trust.issuers.has(code)) return;
        anchor.trust.issuers.get(code).keys.forEach(function (key, kid) {
          var own = entry.keys.get(kid);
          if (key.status === "compromised" && !(own && own.status === "compromised") && !elsewhere.has(kid)) {
            elsewhere.set(kid, anchor.name);
          }
        });
      });
      var view = { code: code, anchor: chosen, issuer: entry, keys: entry.keys, compromisedElsewhere: elsewhere,
        statusLists: new Map(), freshness: null };
      (chosen.status || new Map()).forEach(function (list) {
        if (list.issuerCode === code && usableKey(view, list.kid)) view.statusLists.set(list.shard, list);
      });
      var fresh = (chosen.freshness || new Map()).get(code);
      if (fresh && usableKey(view, fresh.kid)) view.freshness = fresh;
      views.set(code, view);
    });
    return { views: views, conflicts: conflicts };
  }

  /* A trust-list-shaped object of the chosen views (what verifyOffline, liveKey and the loaders
   * take): each issuer with its view's keys, a key compromised elsewhere marked compromised;
   * ``conflicts`` beside them (verifyOffline says unknown_issuer, trust_conflict). */
  function viewTrust(chosen, base) {
    var issuers = new Map();
    chosen.views.forEach(function (view, code) {
      var keys = new Map();
      view.keys.forEach(function (key, kid) {
        keys.set(kid, view.compromisedElsewhere.has(kid) ? { x: null, status: "compromised", validTo: key.validTo } : key);
      });
      issuers.set(code, { code: code, name: view.issuer.name, baseUrl: view.issuer.baseUrl, keys: keys });
    });
    var conflicts = new Map();
    chosen.conflicts.forEach(function (c, code) { conflicts.set(code, c.anchors); });
    return Object.assign({}, base, { issuers: issuers, conflicts: conflicts });
  }

  /* The pinned origin that forbids admitting ``candidate`` ({name, rootSource, issuerCode}) beside
   * ``held`` ([{name, rootSource, codes: [issuer codes its list names]}]), or null: only a
   * first-use origin is ever refused, when it claims a code a pinned origin already names (as
   * anxinma.verifier.trust.admission_refusal; the page itself holds one pinned anchor). */
  function admissionRefusal(held, candidate) {
    if (candidate.rootSource !== "tofu") return null;
    for (var i = 0; i < held.length; i++) {
      var other = held[i];
      if (other.name !== candidate.name && other.rootSource !== "tofu" && other.codes.indexOf(candidate.issuerCode) >= 0) return other;
    }
    return null;
  }

  /* Where status data of issuer ``code`` is fetched from (the base URL its view names: the
   * issuer's own origin, as the chosen list states it) and the kids that may sign it; null
   * without a view. */
  function statusSource(chosen, code) {
    var view = chosen.views.get(code);
    if (!view) return null;
    var kids = [];
    view.keys.forEach(function (_, kid) { if (usableKey(view, kid)) kids.push(kid); });
    return { code: code, anchor: view.anchor.name, baseUrl: view.issuer.baseUrl, kids: kids.sort() };
  }

  // -- the offline verdict (docs/verifier.md, "Order of the offline checks") ----------------

  function reason(key, params) { return { key: key, params: params || {} }; }

  /* cred: decodeCredential(); trust: loadTrustList() (or viewTrust()) or null; list:
   * loadCompactStatusList() / loadStatusList() or null; now: seconds (the device clock, or the
   * server's when it is known to differ); policy: {clockSkew, statusMaxAge, leeway}; cardUid: hex
   * read from the card, or null; freshness: loadFreshness() of the credential's issuer, or null
   * (when it lists the held shard's version, the revocation data's age is counted from it). */
  function verifyOffline(cred, trust, list, now, policy, cardUid, freshness) {
    // The holder proof is judged by policy.proofNow when the page knows the server's clock
    // to the second (its ``now`` is corrected only beyond the clock skew of the dates).
    var proofNow = policy.proofNow !== undefined && policy.proofNow !== null ? policy.proofNow : now;
    return credentialVerdict(cred, trust, list, now, policy, cardUid, freshness).then(function (result) {
      return withHolderProof(result, cred, proofNow);
    });
  }

  function credentialVerdict(cred, trust, list, now, policy, cardUid, freshness) {
    var claims = cred.claims;
    function result(status, reasons, extra) {
      var out = { status: status, reasons: reasons, claims: claims, kid: cred.kidHex, binding: null };
      for (var k in extra || {}) out[k] = extra[k];
      return Promise.resolve(out);
    }
    if (!trust) return result("status_unknown", [reason("no_bundle")], { evidence: null });
    var conflict = trust.conflicts && trust.conflicts.get(claims.issuer_code);
    if (conflict) {
      return result("unknown_issuer", [reason("trust_conflict", { issuer: claims.issuer_code, anchors: conflict.join(", ") })]);
    }
    var issuer = trust.issuers.get(claims.issuer_code);
    if (!issuer) return result("unknown_issuer", [reason("unknown_issuer", { issuer: claims.issuer_code })]);
    var key = issuer.keys.get(cred.kidHex);
    if (!key) return result("unknown_key", [reason("unknown_key", { issuer: issuer.name, kid: cred.kidHex })]);
    if (key.status === "compromised" || !key.x) {
      return result("unknown_key", [reason("key_compromised", { kid: cred.kidHex })]);
    }
    return verifySignature(key.x, cred.signature, cred.signed).then(function (ok) {
      if (!ok) return result("bad_signature", [reason("bad_signature")]);
      if (key.status === "retired") return result("key_retired", [reason("key_retired", { kid: cred.kidHex })]);
      var binding = null, notes = [];
      if (claims.card_uid) {
        if (!cardUid) { binding = "unchecked"; notes.push(reason("binding_unchecked")); }
        else if (cardUid.toLowerCase() === claims.card_uid) binding = "match";
        else return result("bad_signature", [reason("card_copy")], { binding: "mismatch" });
      }
      // A list is evidence only for its own shard and under a key the trust list in hand still
      // holds active: one loaded under an older trust list whose key has since been retired or
      // withdrawn is no list at all (neither for the verdict nor for the "data updated" age).
      var usable = list && list.issuerCode === claims.issuer_code && list.shard === Math.floor(claims.serial / SHARD_SIZE) &&
        liveKey(trust, list.issuerCode, list.kid) ? list : null;
      var vouched = usable ? vouchedAt(usable, freshness || null, trust, now) : null;
      var extra = { binding: binding, issuerName: issuer.name, issuer: issuer,
        evidence: usable ? vouched : trust.issuedAt };
      // A clock behind the trust list's signing time is wrong, not a sign of a future credential.
      if (now + policy.leeway < trust.issuedAt) {
        return result("status_unknown", [reason("clock_behind", { signed: trust.issuedAt })].concat(notes),
          Object.assign(extra, { clock: "behind" }));
      }
      var issuedAt = claims.issued_at.getTime() / 1000, expiresAt = claims.expires_at.getTime() / 1000;
      if (now + policy.clockSkew < issuedAt) {
        return result("not_yet_valid", [reason("not_yet_valid", { date: claims.issued_on })], extra);
      }
      if (now - policy.clockSkew >= expiresAt) {
        var last = new Date((claims.expires_day - 1) * 86400 * 1000).toISOString().slice(0, 10);
        return result("expired", [reason("expired", { date: claims.expires_on, last: last })], extra);
      }
      if (now >= trust.expiresAt) {
        return result("status_unknown", [reason("trust_list_expired", { age: now - trust.expiresAt })].concat(notes), extra);
      }
      if (!usable) return result("status_unknown", [reason("no_status_list")].concat(notes), extra);
      var age = now - vouched, value = statusOf(usable, claims.serial);
      if (age > policy.statusMaxAge || now >= usable.expiresAt) {
        return result("status_unknown", [reason("status_stale", { age: age, limit: policy.statusMaxAge,
          last: value && value !== "valid" ? value : null })].concat(notes), extra);
      }
      if (value === null) return result("status_unknown", [reason("serial_not_covered")].concat(notes), extra);
      return result(value, [reason(value)].concat(notes), extra);
    });
  }

  // -- the live record ------------------------------------------------------------------------

  /* The live record's claims when its JWS verifies under an active key of the issuer, for this
   * serial, within iat/exp (``now`` corrected by the server's clock); rejects saying why. */
  function verifyLive(token, trust, cred, now, leeway) {
    var parts;
    try { parts = jwsParts(token); } catch (e) { return Promise.reject(new Error("the live record is not a JWS")); }
    if (parts.header.typ !== "anxinma-live+jwt") return Promise.reject(new Error("not a live record"));
    var key = liveKey(trust, cred.claims.issuer_code, String(parts.header.kid));
    if (!key) return Promise.reject(new Error("the live record is not signed by an active key of its issuer"));
    return verifyJws(parts, key).then(function (ok) {
      var c = parts.claims;
      if (!ok) throw new Error("the live record's signature does not verify");
      if (String(c.iss) !== String(cred.claims.issuer_code) || c.serial !== cred.claims.serial) {
        throw new Error("the live record is for another credential");
      }
      if (!(now - leeway < c.exp && c.iat < now + leeway)) throw new Error("the live record is outside its validity");
      if (!LIVE_STATUSES[c.status]) throw new Error("the live record has an unknown status");
      return c;
    });
  }

  /* The offline verdict with the live record merged in: the live status wins, except over the
   * signed dates (expired, not yet valid), as anxinma.verifier.online does. */
  function mergeLive(offline, live) {
    if (HOLDER_STATUSES[offline.status]) return mergeLiveHolder(offline, live);
    var merged = Object.assign({}, offline, { live: live });
    var binding = offline.reasons.filter(function (r) { return r.key === "binding_unchecked"; });
    if (live.status === offline.status) {
      // The same verdict; the live record says more about why (which item lapsed, why revoked).
      var first = live.status === "attention" || live.status === "revoked"
        ? [reason("live_" + live.status, { live: live })] : offline.reasons.slice(0, 1);
      merged.reasons = first.concat(offline.reasons.slice(1), [reason("confirmed_live")]);
      merged.source = "live_confirmed";
    } else if (!OVERRIDABLE[offline.status]) {
      merged.reasons = offline.reasons.concat([reason("live_dates_stand", { live: live.status })]);
    } else {
      merged.status = live.status;
      merged.source = "live";
      merged.reasons = [reason("live_" + live.status, { live: live })].concat(
        [reason("offline_said", { offline: offline.status })], binding);
    }
    return merged;
  }

  /* A holder-proof verdict with the live record: a credential the issuer revoked or suspended
   * since the last sync reads so (never "show the dynamic code"); any other live status leaves
   * the holder verdict as it was, and the record is not attached (the phone was not shown). */
  function mergeLiveHolder(offline, live) {
    if (live.status !== "revoked" && live.status !== "suspended") return offline;
    return Object.assign({}, offline, { live: live, status: live.status, source: "live",
      reasons: [reason("live_" + live.status, { live: live })].concat(offline.reasons) });
  }

  /* Whether the live record is worth asking for: a genuine verdict, or a holder-proof verdict
   * (whose credential's own signature verified) that a live revocation must overrule. */
  function askLive(status) { return !!GENUINE[status] || !!HOLDER_STATUSES[status]; }

  /* The issuer's live record answered "no record" (404) for a credential whose signature
   * verified: a genuine signature the issuer never recorded is an alarm (a leaked or test key),
   * not a reason to retry (docs/verifier.md). Other verdicts stand as they are. */
  function notOnRecord(offline) {
    if (!genuine(offline.status)) return offline;
    var binding = offline.reasons.filter(function (r) { return r.key === "binding_unchecked"; });
    return Object.assign({}, offline, { status: "unknown_credential", source: "live",
      reasons: [reason("not_on_record")].concat([reason("offline_said", { offline: offline.status })], binding) });
  }

  function genuine(status) { return !!GENUINE[status]; }

  global.AnxinmaVerify = {
    Refused: Refused,
    b64urlDecode: b64urlDecode,
    b64urlEncode: b64urlEncode,
    chooseViews: chooseViews,
    COMPACT_TYPE: COMPACT_TYPE,
    digestOf: digestOf,
    judgeUpdate: judgeUpdate,
    accepted: accepted,
    admissionRefusal: admissionRefusal,
    loadCompactStatusList: loadCompactStatusList,
    loadFreshness: loadFreshness,
    notOnRecord: notOnRecord,
    statusSource: statusSource,
    usableKey: usableKey,
    viewTrust: viewTrust,
    vouchedAt: vouchedAt,
    classify: classify,
    configure: configure,
    cryptoEngine: cryptoEngine,
    decodeCredential: decodeCredential,
    decodeCode: decodeCode,
    askLive: askLive,
    decodePresentation: decodePresentation,
    holderRule: holderRule,
    proofInput: proofInput,
    withHolderProof: withHolderProof,
    PROOF_MAX_AGE: PROOF_MAX_AGE,
    PROOF_MAX_AHEAD: PROOF_MAX_AHEAD,
    fromDecimal: fromDecimal,
    genuine: genuine,
    hex: hex,
    fromHex: fromHex,
    serialNumberUid: serialNumberUid,
    ndefCredential: ndefCredential,
    inflateZlib: inflateZlib,
    loadStatusList: loadStatusList,
    loadTrustList: loadTrustList,
    mergeLive: mergeLive,
    parseText: parseText,
    statusOf: statusOf,
    toDecimal: toDecimal,
    verifyLive: verifyLive,
    verifyOffline: verifyOffline,
    verifySignature: verifySignature,
    SHARD_SIZE: SHARD_SIZE
  };
})(typeof self !== "undefined" ? self : this);
