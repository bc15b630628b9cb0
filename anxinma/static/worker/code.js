/* The dynamic code's bytes and its QR (docs/format.md §12), made on the phone.
 *
 *   window.AnxinmaCode = {
 *     proofInput(credential, time)  -> Uint8Array   ["anxinma-presentation-v1", h'<credential>', time]
 *     present(credential, time, proof) -> Uint8Array 83 <credential> 1a <time> 58 40 <proof>
 *     make(holder, time)            -> Promise<{bytes, url, segments, time}>  signed by the holder key
 *     toDecimal(bytes)              -> string       the decimal form of §5 (7-byte groups)
 *     render(element, segments)     -> {version, modules}  the QR (level M) as an <img> in element
 *   }
 *
 * The Python side is anxinma.credential.presentation: tests/worker/test_phone_page.py
 * requires the Python verifier to accept what this file makes.
 */
(function () {
  "use strict";

  var CONTEXT = "anxinma-presentation-v1";
  var GROUP = 7;
  var DIGITS = [0, 3, 5, 8, 10, 13, 15, 17]; // len(str(256**k - 1)) for k bytes

  function concat(parts) {
    var size = 0;
    parts.forEach(function (p) { size += p.length; });
    var out = new Uint8Array(size);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function bstrHead(length) {
    if (length < 24) return new Uint8Array([0x40 | length]);
    if (length < 256) return new Uint8Array([0x58, length]);
    return new Uint8Array([0x59, length >> 8, length & 0xff]);
  }

  function timeItem(time) {
    if (!(time >= 0x10000 && time <= 0xffffffff) || Math.floor(time) !== time) {
      throw new Error("the time is whole seconds since 1970 (65536 … 2**32 - 1)");
    }
    return new Uint8Array([0x1a, (time >>> 24) & 0xff, (time >>> 16) & 0xff, (time >>> 8) & 0xff, time & 0xff]);
  }

  function proofInput(credential, time) {
    var context = new TextEncoder().encode(CONTEXT);
    return concat([new Uint8Array([0x83, 0x60 | context.length]), context, bstrHead(credential.length), credential, timeItem(time)]);
  }

  function present(credential, time, proof) {
    if (credential[0] !== 0x84) throw new Error("not a credential (84 …)");
    if (proof.length !== 64) throw new Error("an Ed25519 proof is 64 bytes");
    return concat([new Uint8Array([0x83]), credential, timeItem(time), new Uint8Array([0x58, 0x40]), proof]);
  }

  function toDecimal(bytes) {
    var out = "";
    for (var at = 0; at < bytes.length; at += GROUP) {
      var group = bytes.subarray(at, Math.min(at + GROUP, bytes.length));
      var value = BigInt(0);
      for (var i = 0; i < group.length; i++) value = value * BigInt(256) + BigInt(group[i]);
      out += value.toString().padStart(DIGITS[group.length], "0");
    }
    return out;
  }

  function segments(base, bytes) {
    return [base.replace(/\/+$/, "").toUpperCase() + "/V/", toDecimal(bytes)];
  }

  function make(holder, time) {
    var credential = holder.credential();
    var info = holder.info();
    return holder.sign(proofInput(credential, time)).then(function (proof) {
      var bytes = present(credential, time, proof);
      var parts = segments(info.verify_base, bytes);
      return {
        bytes: bytes,
        segments: parts,
        url: info.verify_base.replace(/\/+$/, "") + "/v/" + parts[1],
        time: time,
      };
    });
  }

  /* The QR of the URL in two segments (alphanumeric prefix, numeric digits), level M, the
   * smallest version that fits (a phone credential's code: version 12), drawn as an image. */
  function render(element, parts) {
    var qr = window.qrcode(0, "M");
    qr.addData(parts[0], "Alphanumeric");
    qr.addData(parts[1], "Numeric");
    qr.make();
    var modules = qr.getModuleCount();
    var img = element.querySelector("img") || document.createElement("img");
    img.src = qr.createDataURL(4, 4);
    img.alt = "安心码动态码 / dynamic 安心码";
    img.width = (modules + 8) * 4;
    img.height = (modules + 8) * 4;
    if (!img.parentNode) element.appendChild(img);
    var version = (modules - 17) / 4;
    element.setAttribute("data-qr-version", String(version));
    return { version: version, modules: modules };
  }

  window.AnxinmaCode = {
    proofInput: proofInput,
    present: present,
    make: make,
    toDecimal: toDecimal,
    segments: segments,
    render: render,
  };
})();
