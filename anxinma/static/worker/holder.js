/* The worker's holder key and phone credential, kept on the phone (docs/page.md, "The worker's phone").
 *
 * The one module other page code uses to reach the holder key (the Web NFC check-in, the
 * worker's page, the rating): it defines
 *
 *   window.AnxinmaHolder = {
 *     load()         -> Promise<record | null>  what this phone holds (null: not enrolled);
 *                       call it once before the others
 *     sign(bytes)    -> Promise<Uint8Array>     Ed25519 (RFC 8032) by the holder key over bytes;
 *                       sign only messages with a context string of their own (the dynamic code
 *                       signs ["anxinma-presentation-v1", …], the rating "anxinma-worker-rating:v1:…")
 *     publicKey()    -> Uint8Array | null       the holder key's 32 bytes (the credential's cnf)
 *     credential()   -> Uint8Array | null       the phone credential's exact bytes (84 47 …)
 *     info()         -> object | null           serial, worker_id, enterprise_id, verify_base, enrolled_at
 *     crypto()       -> "webcrypto" | "tweetnacl" | null  where the private key lives
 *     enrol(token)   -> Promise<record>         make a key pair, send the public key to
 *                       POST /w/<token>, keep the credential the issuer answers
 *     remember(name, value) -> Promise          keep a value beside the key (the worker's record)
 *   }
 *
 * The key pair is made by WebCrypto (`{name: "Ed25519"}`) with the private key NOT extractable:
 * the CryptoKey object is stored in IndexedDB (structured clone keeps it non-extractable), so no
 * script, not even this one, can read its bytes; it can only sign on this phone. Where WebCrypto
 * lacks Ed25519 the fallback is tweetnacl-js with a random seed stored in IndexedDB: the key then
 * is readable by any script running on this origin (an XSS) and by whoever copies the browser's
 * storage (a backup), so a copied phone could show the code; docs/page.md says so, and
 * crypto() tells the page which one is in use.
 */
(function () {
  "use strict";

  var DB_NAME = "anxinma-holder";
  var STORE = "holder";
  var KEY = "me";
  var FALLBACK = "/static/verifier/vendor/nacl-fast.min.js";
  var held = null;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function read() { return withStore("readonly", function (store) { return store.get(KEY); }); }
  function write(record) { return withStore("readwrite", function (store) { store.put(record, KEY); return null; }); }

  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  function b64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function loadNacl() {
    if (window.nacl) return Promise.resolve(window.nacl);
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = FALLBACK;
      script.onload = function () { resolve(window.nacl); };
      script.onerror = function () { reject(new Error("tweetnacl could not be loaded")); };
      document.head.appendChild(script);
    });
  }

  /* A new key pair: WebCrypto Ed25519 with the private key not extractable, or tweetnacl. */
  function makeKeyPair() {
    var made;
    try {
      made = crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    } catch (e) {
      made = Promise.reject(e);
    }
    return made.then(function (pair) {
      return crypto.subtle.exportKey("raw", pair.publicKey).then(function (raw) {
        return { crypto: "webcrypto", privateKey: pair.privateKey, publicRaw: new Uint8Array(raw) };
      });
    }, function () {
      return loadNacl().then(function (nacl) {
        var seed = crypto.getRandomValues(new Uint8Array(32));
        var pair = nacl.sign.keyPair.fromSeed(seed);
        return { crypto: "tweetnacl", seed: seed, publicRaw: pair.publicKey };
      });
    });
  }

  function sign(bytes) {
    if (!held) return Promise.reject(new Error("no holder key on this phone"));
    if (held.crypto === "webcrypto") {
      return crypto.subtle.sign({ name: "Ed25519" }, held.privateKey, bytes).then(function (sig) {
        return new Uint8Array(sig);
      });
    }
    return loadNacl().then(function (nacl) {
      return nacl.sign.detached(bytes, nacl.sign.keyPair.fromSeed(held.seed).secretKey);
    });
  }

  function enrol(token) {
    return makeKeyPair().then(function (pair) {
      return fetch("/w/" + encodeURIComponent(token), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ holder_key: b64url(pair.publicRaw) }),
        cache: "no-store",
        credentials: "omit",
      }).then(function (answer) {
        return answer.json().then(function (data) {
          if (!answer.ok) {
            var error = new Error((data.error && data.error.en) || "enrolment failed");
            error.body = data;
            throw error;
          }
          var record = {
            crypto: pair.crypto,
            privateKey: pair.privateKey || null,
            seed: pair.seed || null,
            publicRaw: pair.publicRaw,
            credential: fromHex(data.credential_hex),
            serial: data.serial,
            worker_id: data.worker_id,
            enterprise_id: data.enterprise_id,
            verify_base: data.verify_base,
            expires_at: data.expires_at,
            enrolled_at: new Date().toISOString(),
            extra: {},
          };
          // Ask the browser not to evict the key under storage pressure (best effort; Safari
          // may still clear a site's storage after weeks unused: docs/page.md, Known limits).
          if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () { return false; });
          return write(record).then(function () { held = record; return record; });
        });
      });
    });
  }

  function load() {
    return read().then(function (record) { held = record || null; return held; }, function () { held = null; return null; });
  }

  function remember(name, value) {
    if (!held) return Promise.reject(new Error("no holder key on this phone"));
    held.extra = held.extra || {};
    held.extra[name] = value;
    return write(held);
  }

  window.AnxinmaHolder = {
    load: load,
    sign: sign,
    publicKey: function () { return held ? held.publicRaw : null; },
    credential: function () { return held ? held.credential : null; },
    info: function () {
      if (!held) return null;
      return {
        serial: held.serial, worker_id: held.worker_id, enterprise_id: held.enterprise_id,
        verify_base: held.verify_base, expires_at: held.expires_at, enrolled_at: held.enrolled_at,
        extra: held.extra || {},
      };
    },
    crypto: function () { return held ? held.crypto : null; },
    enrol: enrol,
    remember: remember,
  };
})();
