"""Web NFC at its lowest layer, for the page tests: an init script that stands in for Chrome's
``NDEFReader`` (no NFC hardware here). Each ``scan()`` takes the next tap of a queue — the raw
NDEF message bytes from the project's own encoder (anxinma/ndef.py) and a chip serial number —
and fires ``reading`` with the records parsed the way Web NFC parses a tag's message (NFC Forum
NDEF 1.0: short and long records; a well-known "U" record becomes ``recordType "url"`` with its
prefix expanded, an external type ``"domain:type"``; ``data`` a DataView of the payload).
Everything above ``NDEFReader`` is the page's real code.

Also a stand-in for the phone's holder-key module (``window.AnxinmaHolder``, built by
static/worker/holder.js at merge): a WebCrypto Ed25519 key imported non-extractable from a
PKCS#8 seed the test chose, so the issuer can bind a credential to it beforehand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from anxinma import ed25519

_READER = r"""
(() => {
  const PREFIXES = ["", "http://www.", "https://www.", "http://", "https://", "tel:", "mailto:",
    "ftp://anonymous:anonymous@", "ftp://ftp.", "ftps://", "sftp://", "smb://", "nfs://", "ftp://",
    "dav://", "news:", "telnet://", "imap:", "rtsp://", "urn:", "pop:", "sip:", "sips:", "tftp:",
    "btspp://", "btl2cap://", "btgoep://", "tcpobex://", "irdaobex://", "file://", "urn:epc:id:",
    "urn:epc:tag:", "urn:epc:pat:", "urn:epc:raw:", "urn:epc:", "urn:nfc:"];
  function fromHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function parse(bytes) {
    const records = [];
    let at = 0;
    while (at < bytes.length) {
      const head = bytes[at++], tnf = head & 7, short = head & 0x10, hasId = head & 0x08;
      const typeLength = bytes[at++];
      let length;
      if (short) length = bytes[at++];
      else { length = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0; at += 4; }
      const idLength = hasId ? bytes[at++] : 0;
      const type = new TextDecoder().decode(bytes.slice(at, at + typeLength)); at += typeLength;
      const id = new TextDecoder().decode(bytes.slice(at, at + idLength)); at += idLength;
      const payload = bytes.slice(at, at + length); at += length;
      let record;
      if (tnf === 1 && type === "U") {
        const url = PREFIXES[payload[0]] + new TextDecoder().decode(payload.slice(1));
        record = { recordType: "url", data: new DataView(new TextEncoder().encode(url).buffer) };
      } else if (tnf === 4) {
        record = { recordType: type, data: new DataView(payload.buffer) };
      } else {
        record = { recordType: "unknown", data: new DataView(payload.buffer) };
      }
      record.id = id; record.mediaType = null; record.encoding = null; record.lang = null;
      records.push(record);
      if (head & 0x40) break; // ME: the last record
    }
    return records;
  }
  window.__nfcTaps = %s;
  window.__nfcScans = 0;
  window.NDEFReader = class {
    constructor() { this.onreading = null; this.onreadingerror = null; }
    async scan(options) {
      window.__nfcScans++;
      const tap = window.__nfcTaps.shift();
      if (!tap) return; // no card comes near: the scan waits
      setTimeout(() => {
        if (options && options.signal && options.signal.aborted) return;
        const event = new Event("reading");
        event.serialNumber = tap.serial;
        event.message = { records: parse(fromHex(tap.ndef)) };
        if (this.onreading) this.onreading(event);
      }, 50);
    }
  };
})();
"""

_HOLDER = r"""
(() => {
  const PKCS8 = "%s", CREDENTIAL = "%s", PUBLIC = "%s";
  function fromHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  let key = null;
  window.__holderSigned = 0;
  window.AnxinmaHolder = {
    load() {
      if (!key) key = crypto.subtle.importKey("pkcs8", fromHex(PKCS8), { name: "Ed25519" }, false, ["sign"]);
      return key.then(() => true);
    },
    async sign(bytes) {
      await this.load();
      window.__holderSigned++;
      return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, await key, bytes));
    },
    publicKey() { return PUBLIC; },
    credential() { return CREDENTIAL; },
  };
})();
"""


def ndef_reader(taps: Sequence[tuple[bytes, str]]) -> str:
    """The ``NDEFReader`` stand-in, with ``taps`` (NDEF message, serial number) queued in order."""
    queue = [{"ndef": message.hex(), "serial": serial} for message, serial in taps]
    return _READER % json.dumps(queue)


def holder(key: ed25519.SigningKey, credential_hex: str) -> str:
    """The ``AnxinmaHolder`` stand-in over ``key`` (WebCrypto, non-extractable) and the phone
    credential bound to it."""
    pkcs8 = key.to_cryptography().private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return _HOLDER % (pkcs8.hex(), credential_hex, key.public_key.hex())


def serial_number(uid: bytes) -> str:
    """A chip's UID as Web NFC's ``serialNumber`` writes it: ``04:a2:24:…``."""
    return ":".join(f"{byte:02x}" for byte in uid)
