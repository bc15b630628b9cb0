/* The 安心码 page: reads the code from its own address, shows the offline verdict at once (from
 * the trust data this phone holds), refreshes that data and adds the live record when online,
 * then offers 确认入户, the rating and the complaint. verify.js decides; this file only renders.
 *
 * The verdict element #verdict carries data-status (the verifier's status names), data-source
 * (offline | live), data-final (set once nothing more will change it) and data-crypto (which
 * Ed25519 ran). docs/page.md describes the flow.
 */
(function () {
  "use strict";

  var V = window.AnxinmaVerify;
  var config = JSON.parse(document.getElementById("anxinma-config").textContent);
  V.configure({ naclUrl: config.assets.nacl });
  var policy = config.policy;
  var BUNDLE = "anxinma-bundle";
  var SEQ_KEY = "anxinma.trust.seq";
  var FLOORS_KEY = "anxinma.floors";
  var VISITS_KEY = "anxinma.visits";
  var LANG_KEY = "anxinma.lang";
  var TONES = {
    valid: ["green", "valid", "advice.valid"], attention: ["yellow", "attention", "advice.attention"],
    revoked: ["red", "revoked", "advice.stop"], suspended: ["red", "suspended", "advice.stop"],
    unknown_credential: ["red", "unknown_credential", "advice.stop"],
    unknown_issuer: ["red", "cannot", "advice.cannot"], unknown_key: ["red", "cannot", "advice.cannot"],
    key_retired: ["red", "cannot", "advice.cannot"], bad_signature: ["red", "cannot", "advice.cannot"],
    malformed: ["red", "cannot", "advice.cannot"], expired: ["grey", "expired", "advice.expired"],
    not_yet_valid: ["grey", "not_yet_valid", "advice.stop"],
    status_unknown: ["unknown", "status_unknown", "advice.status_unknown"],
    // The dynamic code (docs/verifier.md, "The holder proof"): ask for the phone, never accuse.
    holder_proof_missing: ["unknown", "holder_proof_missing", "advice.holder_proof_missing"],
    holder_proof_expired: ["unknown", "holder_proof_expired", "advice.holder_proof_expired"],
    bad_holder_proof: ["red", "bad_holder_proof", "advice.stop"]
  };
  var $ = function (id) { return document.getElementById(id); };
  // list: a verified status list, with the token it came from (.text) and the trust list it was verified under (.trust)
  var state = { lang: "zh", result: null, cred: null, trust: null, views: { views: new Map(), conflicts: new Map() }, list: null, freshness: null,
    trustRefused: null, statusRefused: null, issuer: null,
    clockOffset: 0, serverOffset: 0, clockChecked: false, cardUid: null, online: null, final: false, engine: null, code: null };
  var probe = window.__anxinma = { verdictAt: null, finalAt: null, renders: 0, listsLoaded: 0 };

  // -- words ------------------------------------------------------------------------------

  function t(key, params) {
    var entry = config.messages[key];
    var text = entry ? entry[state.lang] : key;
    return text.replace(/\{(\w+)\}/g, function (_, name) {
      return params && params[name] !== undefined && params[name] !== null ? String(params[name]) : "";
    });
  }

  function age(seconds) {
    var total = Math.max(0, Math.floor(seconds)), d = Math.floor(total / 86400);
    var h = Math.floor((total % 86400) / 3600), m = Math.floor((total % 3600) / 60);
    if (d) return h ? t("age.days_hours", { d: d, h: h }) : t("age.days", { d: d });
    if (h) return t("age.hours_minutes", { h: h, m: m });
    return m ? t("age.minutes", { m: m }) : t("age.now");
  }

  function when(seconds) {
    var d = new Date(seconds * 1000), pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function word(status) { return t("word." + (TONES[status] || TONES.status_unknown)[1]); }

  function join(items) { return items.join(t("list.separator")); }

  function reasonText(r) {
    var p = Object.assign({}, r.params);
    if (p.age !== undefined) p.age = age(p.age);
    if (p.limit !== undefined) p.limit = age(p.limit);
    if (p.offset !== undefined) p.offset = age(Math.abs(p.offset));
    if (p.signed !== undefined) p.signed = when(p.signed);
    if (p.live && typeof p.live === "string") p.live = word(p.live);
    if (p.offline) p.offline = word(p.offline);
    if (r.key === "live_attention") {
      var items = (p.live.attention || []).map(function (a) { return t("item." + a.item); });
      p.items = join(items.length ? items : [t("item.health_certificate"), t("item.insurance")]);
    }
    if (r.key === "live_revoked") {
      var why = p.live.revocation && p.live.revocation.reason;
      p.why = why ? t("revocation.why", { why: config.messages["revocation." + why] ? t("revocation." + why) : why }) : "";
    }
    if (r.key === "live_failed" && p.why && p.why.key) p.why = t(p.why.key, p.why.params);
    if ((r.key === "trust_refused" || r.key === "status_refused") && p.why && p.why.key) p.why = t(p.why.key, p.why.params);
    var text = t("reason." + r.key, p);
    if (r.key === "status_stale" && r.params.last) text += " · " + t("reason.last_known", { last: word(r.params.last) });
    return text;
  }

  function applyWords() {
    var nodes = document.querySelectorAll("[data-msg]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i], key = node.getAttribute("data-msg");
      if (key === "rate.star") {
        node.querySelector(".sr-only").textContent = t(key, { n: node.getAttribute("data-n") });
        node.title = t(key, { n: node.getAttribute("data-n") });
      } else {
        node.textContent = t(key);
      }
    }
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    var link = $("lang-switch"), other = state.lang === "zh" ? "en" : "zh";
    link.textContent = other === "en" ? "English" : "中文";
    link.lang = other === "en" ? "en" : "zh-CN";
    link.href = "?lang=" + (other === "en" ? "en" : "zh-CN") + location.hash;
  }

  function chooseLanguage() {
    var asked = new URLSearchParams(location.search).get("lang");
    var stored = null;
    try { stored = localStorage.getItem(LANG_KEY); } catch (e) { stored = null; }
    var chosen = asked || stored || document.documentElement.lang;
    state.lang = /^en/i.test(chosen || "") ? "en" : "zh";
    if (asked) remember();
  }

  function remember() {
    try { localStorage.setItem(LANG_KEY, state.lang); } catch (e) { /* private mode */ }
  }

  function switchLanguage(event) {
    event.preventDefault();
    state.lang = state.lang === "zh" ? "en" : "zh";
    remember();
    applyWords();
    if (state.result) render(state.result);
    if (navigator.onLine !== false) {
      fetch(config.paths.lang + "?lang=" + (state.lang === "zh" ? "zh-CN" : "en"), { credentials: "same-origin" })
        .catch(function () { return null; });
    }
  }

  // -- where the code comes from ------------------------------------------------------------

  function payloadText() {
    var path = location.pathname, raw = "";
    var match = /^\/[vV]\/(.+)$/.exec(path);
    if (match) raw = match[1];
    else raw = location.hash.replace(/^#/, "");
    try { raw = decodeURIComponent(raw); } catch (e) { /* keep it as it came */ }
    return raw.trim();
  }

  // -- the network and the bundle cache -----------------------------------------------------

  function withTimeout(seconds) {
    var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, seconds * 1000) : null;
    return { signal: controller ? controller.signal : undefined, done: function () { clearTimeout(timer); } };
  }

  function request(url, options, seconds) {
    var limit = withTimeout(seconds);
    options.signal = limit.signal;
    return fetch(url, options).then(function (response) {
      limit.done();
      return response;
    }, function (error) {
      limit.done();
      var why = error && error.name === "AbortError" ? { key: "why.timeout", params: { seconds: seconds } }
        : { key: "why.offline" };
      throw why;
    });
  }

  function cached(url, binary) {
    if (!window.caches || !url) return Promise.resolve(null);  // no url: an issuer the trust list does not name
    return caches.open(BUNDLE).then(function (cache) { return cache.match(url); })
      .then(function (hit) {
        if (!hit) return null;
        return binary ? hit.arrayBuffer().then(function (b) { return new Uint8Array(b); }) : hit.text();
      })
      .catch(function () { return null; });
  }

  function store(url, body, type) {
    if (!window.caches) return Promise.resolve();
    return caches.open(BUNDLE).then(function (cache) {
      return cache.put(url, new Response(body, { headers: { "Content-Type": type } }));
    }).catch(function () { return null; });
  }

  // -- floors: the newest version of each piece of trust data this phone accepted ----------------
  // localStorage "anxinma.floors": {"trust": {version: seq, digest}, "freshness:<code>": …,
  // "shard:<code>:<shard>": …}. Anything older than its floor, or of the floor's version with
  // other bytes, is refused and the held data kept (V.judgeUpdate; anxinma.rollback). The Cache
  // API holds the bytes; the floors survive a cleared cache, so a replay cannot slip in then.

  function floors() {
    try { return JSON.parse(localStorage.getItem(FLOORS_KEY) || "{}") || {}; } catch (e) { return {}; }
  }

  function floor(name) {
    var held = floors()[name] || null;
    if (name === "trust") {  // before the floors: only the sequence number was kept
      var legacy = 0;
      try { legacy = parseInt(localStorage.getItem(SEQ_KEY) || "0", 10) || 0; } catch (e) { legacy = 0; }
      if (!held && legacy) return { version: legacy, digest: null, legacy: true };
    }
    return held;
  }

  function raise(name, candidate) {
    var all = floors();
    all[name] = { version: candidate.version, digest: candidate.digest };
    try {
      localStorage.setItem(FLOORS_KEY, JSON.stringify(all));
      if (name === "trust") localStorage.setItem(SEQ_KEY, String(candidate.version));
    } catch (e) { /* private mode: the floors last as long as the page */ }
  }

  /* judgeUpdate against the floor of ``name``: "new" | "newer" | "same" | "older" | "equivocal". */
  function judged(name, candidate) {
    var held = floor(name);
    if (held && held.legacy) {
      return candidate.version < held.version ? "older" : candidate.version > held.version ? "newer" : "same";
    }
    return V.judgeUpdate(held, candidate);
  }

  function refusedWhy(update) { return { key: update === "older" ? "why.older" : "why.equivocal" }; }

  function seqWhy(update) { return { key: update === "older" ? "why.replay" : "why.equivocal" }; }

  function now() { return Date.now() / 1000 + state.clockOffset; }

  function shardOf(cred) { return Math.floor(cred.claims.serial / V.SHARD_SIZE); }

  /* Where the credential's issuer publishes: the base URL its view in the trust list names
   * (docs/verifier.md, trust rules: status data only from the chosen view; a Chongqing worker's from Chongqing). */
  function issuerBase(cred) {
    var source = state.trust && V.statusSource(state.views, cred.claims.issuer_code);
    return source && source.baseUrl ? source.baseUrl : null;
  }

  function fill(path, cred) {
    return path.replace("{code}", cred.claims.issuer_code).replace("{shard}", shardOf(cred));
  }

  function freshnessUrl(cred) { var base = issuerBase(cred); return base && base + fill(config.paths.freshness, cred); }
  function compactUrl(cred) { var base = issuerBase(cred); return base && base + fill(config.paths.compact, cred); }
  function legacyUrl(cred) { var base = issuerBase(cred); return base && base + fill(config.paths.status, cred); }

  function freshnessName(cred) { return "freshness:" + cred.claims.issuer_code; }
  function shardName(cred) { return "shard:" + cred.claims.issuer_code + ":" + shardOf(cred); }

  /* The trust list in hand becomes the page's one anchor: pinned (the root the server put in
   * the page), and the views of verify.js's trust rules over it. */
  function adopt(trust) {
    var own = null;
    trust.issuers.forEach(function (entry, code) {
      try { if (entry.baseUrl && new URL(entry.baseUrl).origin === location.origin) own = code; } catch (e) { /* not a URL */ }
    });
    state.views = V.chooseViews([{ name: location.origin, rootSource: "pinned", issuerCode: own, trust: trust }]);
    state.trust = V.viewTrust(state.views, trust);
  }

  function verifiedTrust(text, rootKey) {
    return V.loadTrustList(text, rootKey).then(function (trust) {
      return V.digestOf(text).then(function (digest) { trust.digest = digest; return trust; });
    });
  }

  /* The clock a loader checks "not dated in the future" against: the server-corrected one for
   * data from the network; none for what this phone accepted before (a wrong phone clock is
   * named by the verdict, clock_behind, and must not throw the held data away). */
  function loaderClock(fromCache) { return fromCache ? Infinity : now(); }

  /* A verified freshness document of the credential's issuer, or null. */
  function loadFreshness(text, cred, fromCache) {
    if (!text || !state.trust) return Promise.resolve(null);
    return V.loadFreshness(text, state.trust, loaderClock(fromCache)).then(function (fresh) {
      return fresh.issuerCode === cred.claims.issuer_code ? fresh : null;
    }, function () { return null; });
  }

  /* A verified status list (compact bytes, or a legacy JWT text) for the credential's shard, or null. */
  function loadList(body, cred, fromCache) {
    if (!body || !state.trust) return Promise.resolve(null);
    var trust = state.trust;
    probe.listsLoaded++;
    var loading = typeof body === "string" ? V.loadStatusList(body, trust).then(function (list) {
      return V.digestOf(body).then(function (digest) { list.digest = digest; list.version = 0; list.text = body; return list; });
    }) : V.loadCompactStatusList(body, trust, loaderClock(fromCache));
    return loading.then(function (list) {
      if (list.issuerCode !== cred.claims.issuer_code || list.shard !== shardOf(cred)) return null;
      list.trust = trust;
      return list;
    }, function () { return null; });
  }

  /* What this phone holds, read from the cache and checked as if it came from the network:
   * signatures under the trust list in hand, and no older than the floors. */
  function loadHeld(rootKey, cred) {
    return cached(config.paths.trust_list).then(function (text) {
      return text ? verifiedTrust(text, rootKey).catch(function () { return null; }) : null;
    }).then(function (trust) {
      if (!trust) return null;
      var update = judged("trust", { version: trust.seq, digest: trust.digest });
      if (update === "older" || update === "equivocal") return null;
      if (update !== "same") raise("trust", { version: trust.seq, digest: trust.digest });
      adopt(trust);
      return cached(freshnessUrl(cred)).then(function (text) { return loadFreshness(text, cred, true); }).then(function (fresh) {
        if (fresh) {
          var seen = { version: fresh.seq, digest: fresh.digest }, update = judged(freshnessName(cred), seen);
          if (update === "older" || update === "equivocal") fresh = null;
          else if (update !== "same") raise(freshnessName(cred), seen);
        }
        state.freshness = fresh;
        return cached(compactUrl(cred), true);
      }).then(function (bytes) {
        if (bytes) return loadList(bytes, cred, true);
        return cached(legacyUrl(cred)).then(function (text) { return loadList(text, cred, true); });
      }).then(function (list) {
        if (list && list.version) {
          var seen = { version: list.version, digest: list.digest }, update = judged(shardName(cred), seen);
          if (update === "older" || update === "equivocal") list = null;
          else if (update !== "same") raise(shardName(cred), seen);
        }
        state.list = list;
      });
    });
  }

  function fetchIssuer(url, seconds) {
    return request(url, { cache: "no-cache", credentials: "omit" }, seconds);
  }

  function refreshTrust(rootKey, cred) {
    var started = Date.now();
    return request(config.paths.trust_list, { cache: "no-cache" }, policy.fetch_timeout).then(function (response) {
      state.online = true;
      var date = response.headers.get("Date");
      if (date) {
        var server = Date.parse(date) / 1000 + (Date.now() - started) / 2000;
        var offset = server - Date.now() / 1000;
        state.serverOffset = offset; // the dynamic code's proof is judged to the second
        state.clockChecked = true;
        state.clockOffset = Math.abs(offset) > policy.clock_skew ? offset : 0;
      }
      if (!response.ok) return null;
      return response.text().then(function (text) {
        return verifiedTrust(text, rootKey).then(function (trust) {
          var update = judged("trust", { version: trust.seq, digest: trust.digest });
          if (update === "older" || update === "equivocal") {
            state.trustRefused = { key: "trust_refused", params: { why: seqWhy(update) } };
            return null;
          }
          state.trustRefused = null;
          if (update === "same" && state.trust) return null;
          raise("trust", { version: trust.seq, digest: trust.digest });
          adopt(trust);
          return store(config.paths.trust_list, text, "application/jwt");
        }, function () {
          state.trustRefused = { key: "trust_refused", params: { why: { key: "why.bad_root" } } };
        });
      });
    }).then(function () {
      return state.trust ? refreshStatus(cred) : null;
    });
  }

  function refuseStatus(why) { state.statusRefused = { key: "status_refused", params: { why: why } }; }

  /* The freshness document, then the shard only when it lists another version than the held one. */
  function refreshStatus(cred) {
    var url = freshnessUrl(cred);
    if (!url) return Promise.resolve(null);
    state.statusRefused = null;
    return fetchIssuer(url, policy.fetch_timeout).then(function (response) {
      if (response.status === 404) return refreshLegacy(cred);  // an issuer before issue 15
      if (!response.ok) return null;
      return response.text().then(function (text) {
        return loadFreshness(text, cred).then(function (fresh) {
          if (!fresh) { refuseStatus({ key: "why.bad_status" }); return null; }
          var name = freshnessName(cred), update = judged(name, { version: fresh.seq, digest: fresh.digest });
          if (update === "older" || update === "equivocal") { refuseStatus(refusedWhy(update)); return null; }
          var stored = null;
          if (update !== "same") {
            raise(name, { version: fresh.seq, digest: fresh.digest });
            stored = store(url, text, "application/jwt");
          }
          state.freshness = fresh;
          return Promise.resolve(stored).then(function () { return refreshShard(cred, fresh); });
        });
      });
    });
  }

  function refreshShard(cred, fresh) {
    var listed = fresh.shards.get(shardOf(cred)), held = state.list;
    if (!listed) return null;
    var url = compactUrl(cred);
    if (held && held.version === listed.version && held.digest === listed.digest) {
      if (held.trust === state.trust) return null;
      // A newer trust list (a key retired since?): the held bytes are checked again, not downloaded again.
      return cached(url, true).then(function (bytes) { return loadList(bytes, cred, true); }).then(function (list) {
        state.list = list;
      });
    }
    return fetchIssuer(url, policy.fetch_timeout).then(function (response) {
      if (!response.ok) return null;
      return response.arrayBuffer().then(function (buffer) {
        var bytes = new Uint8Array(buffer);
        return loadList(bytes, cred).then(function (list) {
          if (!list) { refuseStatus({ key: "why.bad_status" }); return null; }
          // The listed version and bytes, or a newer one signed as well (published since); never older.
          if (list.version < listed.version || (list.version === listed.version && list.digest !== listed.digest)) {
            refuseStatus({ key: "why.not_listed" });
            return null;
          }
          var name = shardName(cred), update = judged(name, { version: list.version, digest: list.digest });
          if (update === "older" || update === "equivocal") { refuseStatus(refusedWhy(update)); return null; }
          state.list = list;
          if (update === "same") return null;
          raise(name, { version: list.version, digest: list.digest });
          return store(url, bytes, V.COMPACT_TYPE);
        });
      });
    });
  }

  /* An issuer that serves no freshness document yet: its JWT status list, as before issue 15
   * (a newer iat only), and never over a compact list this phone holds. */
  function refreshLegacy(cred) {
    // Once an issuer has served a freshness document, a 404 for it is no reason to fall back.
    if ((state.list && state.list.version) || floor(freshnessName(cred))) return null;
    var url = legacyUrl(cred);
    return fetchIssuer(url, policy.fetch_timeout).then(function (response) {
      if (!response.ok) return null;
      return response.text().then(function (text) {
        var had = state.list;
        if (had && had.text === text && had.trust === state.trust) return null;
        return loadList(text, cred).then(function (list) {
          if (list && (!state.list || list.issuedAt >= state.list.issuedAt)) {
            state.list = list;
            return store(url, text, "application/statuslist+jwt");
          }
          return null;
        });
      });
    });
  }

  // -- verdicts ----------------------------------------------------------------------------

  function malformedResult(kind, detail) {
    var reasons = [];
    if (kind === "payment") reasons.push({ key: "foreign_payment", params: { what: state.lang === "zh" ? detail.zh : detail.en } });
    else if (kind === "url") reasons.push({ key: "foreign_url", params: { shown: detail.shown } });
    else if (kind === "damaged") reasons.push({ key: "damaged" });
    else if (kind === "unsupported_version" || kind === "unsupported_algorithm") reasons.push({ key: kind });
    else if (kind === "format") reasons.push({ key: "malformed" });
    else reasons.push({ key: "foreign_text" });
    return { status: "malformed", reasons: reasons, claims: null, foreign: kind, detail: detail };
  }

  function offlineVerdict() {
    var cred = state.cred;
    return V.verifyOffline(cred, state.trust, state.list, now(), {
      clockSkew: policy.clock_skew, statusMaxAge: policy.status_max_age, leeway: policy.leeway,
      proofNow: Date.now() / 1000 + state.serverOffset
    }, state.cardUid, state.freshness).then(function (result) {
      result.source = "offline";
      // A stale or early dynamic code judged by a clock no server has checked: say the clock may
      // be wrong rather than blame the worker.
      if (result.status === "holder_proof_expired" && !state.clockChecked) {
        result.reasons = result.reasons.concat([{ key: "holder_proof_clock" }]);
      }
      if (state.clockOffset && Math.abs(state.clockOffset) > policy.clock_skew && result.clock !== "behind") {
        result.reasons = result.reasons.concat([{ key: "clock_corrected", params: { offset: state.clockOffset } }]);
      }
      if (state.trustRefused) result.reasons = result.reasons.concat([state.trustRefused]);
      if (state.statusRefused) result.reasons = result.reasons.concat([state.statusRefused]);
      return result;
    });
  }

  function show(result, final) {
    state.result = result;
    if (final) state.final = true;
    render(result);
  }

  // -- rendering ---------------------------------------------------------------------------

  function render(result) {
    var verdict = $("verdict"), tone = TONES[result.status] || TONES.status_unknown;
    verdict.className = "verdict tone-" + tone[0];
    verdict.setAttribute("data-status", result.status);
    verdict.setAttribute("data-source", result.live || result.source === "live" ? "live" : "offline");
    verdict.setAttribute("data-reason", result.reasons.length ? result.reasons[0].key : "");
    if (state.engine) verdict.setAttribute("data-crypto", state.engine);
    if (result.binding) verdict.setAttribute("data-binding", result.binding);
    else verdict.removeAttribute("data-binding");
    if (state.final) verdict.setAttribute("data-final", "true");
    // Whose code it is (一企一证一码): an enterprise's own code reads as the enterprise.
    if (result.claims && result.claims.subject_kind) verdict.setAttribute("data-subject", subjectOf(result));
    else verdict.removeAttribute("data-subject");
    $("verdict-icon").setAttribute("href", "#i-" + tone[0]);
    $("verdict-word").textContent = word(result.status);
    $("verdict-word").removeAttribute("data-msg");
    setText($("verdict-reason"), result.reasons.length ? reasonText(result.reasons[0]) : "");
    document.title = word(result.status) + " · " + t("title");
    var advice = $("advice");
    var adviceKey = result.clock === "behind" ? "advice.clock" : tone[2];
    if (subjectOf(result) === "enterprise" && config.messages[adviceKey + "_enterprise"]) adviceKey += "_enterprise";
    advice.textContent = t(adviceKey);
    advice.hidden = false;
    var notes = $("notes");
    notes.textContent = "";
    result.reasons.slice(1).forEach(function (r) {
      var item = document.createElement("li");
      setText(item, reasonText(r));
      item.className = "note-" + r.key;
      notes.appendChild(item);
    });
    notes.hidden = notes.children.length === 0;
    renderPerson(result);
    renderSource(result);
    renderActions(result);
    renderReport(result);
    probe.renders += 1;
    if (probe.verdictAt === null) probe.verdictAt = performance.now();
    if (state.final && probe.finalAt === null) probe.finalAt = performance.now();
  }

  /* Text with every date and time kept on one line (a phone breaks 2027-06-19 at a hyphen). */
  function setText(node, text) {
    node.textContent = "";
    var pattern = /\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?/g, at = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > at) node.appendChild(document.createTextNode(text.slice(at, match.index)));
      var span = document.createElement("span");
      span.className = "nowrap";
      span.textContent = match[0];
      node.appendChild(span);
      at = match.index + match[0].length;
    }
    if (at < text.length) node.appendChild(document.createTextNode(text.slice(at)));
  }

  function fact(list, label, value, lang) {
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = label;
    setText(dd, value);
    if (lang) dd.lang = lang;
    list.appendChild(dt);
    list.appendChild(dd);
    return dd;
  }

  function validity(item) {
    if (!item || !item.valid_until) return t("validity.missing");
    if (item.valid) return t("validity.until", { date: item.valid_until });
    var next = new Date(Date.parse(item.valid_until) + 86400000).toISOString().slice(0, 10);
    return t("validity.lapsed", { date: next });
  }

  function subjectOf(result) {
    return result.claims && result.claims.subject_kind === "enterprise" ? "enterprise" : "worker";
  }

  function renderPerson(result) {
    var claims = result.claims, live = result.live, person = $("person");
    // What a code that did not verify claims is no fact: a forger chooses it. Not shown.
    if (!claims || !V.genuine(result.status)) { person.hidden = true; return; }
    var inService = result.status === "valid" || result.status === "attention";
    person.hidden = false;
    var name = $("person-name");
    name.textContent = claims.display_name;
    name.lang = "zh-CN";
    var label = $("person-label"), enterpriseSubject = subjectOf(result) === "enterprise";
    label.setAttribute("data-msg", enterpriseSubject ? "label.enterprise_name" : "label.name");
    label.textContent = t(label.getAttribute("data-msg"));
    person.setAttribute("data-subject", enterpriseSubject ? "enterprise" : "worker");
    $("photo-frame").hidden = enterpriseSubject;
    if (enterpriseSubject) { renderEnterprise(result, inService); return; }
    $("enterprise").hidden = false;
    var enterprise = $("enterprise");
    if (live && live.enterprise) {
      enterprise.textContent = live.enterprise.name;
      enterprise.lang = "zh-CN";
    } else {
      enterprise.textContent = t("enterprise.offline", { id: claims.enterprise_id });
      enterprise.lang = state.lang === "zh" ? "zh-CN" : "en";
    }
    compareLink(enterprise, live && live.enterprise);
    var photo = $("photo"), placeholder = $("photo-placeholder");
    if (live && live.photo_url && /^https?:\/\//.test(live.photo_url)) {
      if (photo.getAttribute("src") !== live.photo_url) photo.src = live.photo_url;
      photo.alt = t("label.photo") + " · " + claims.display_name;
      photo.hidden = false;
      placeholder.hidden = true;
    } else {
      photo.hidden = true;
      placeholder.hidden = false;
    }
    placeholder.querySelector("figcaption").textContent = t(live ? "photo.none" : "photo.placeholder");
    var facts = $("facts");
    facts.textContent = "";
    var names = config.categories.filter(function (c) { return claims.category_bits & (1 << c.bit); })
      .map(function (c) { return t(c.key); });
    fact(facts, t("label.categories"), join(names));
    var online = t("online.only");
    if (!inService) {
      // Ratings and certificates of a revoked or expired card would only reassure wrongly.
    } else if (live) {
      var stars = live.star_level;
      var starCell = fact(facts, t("label.stars"), stars ? "★★★★★".slice(0, stars) + "☆☆☆☆☆".slice(0, 5 - stars) + " " + t("stars.value", { n: stars }) : t("stars.none"));
      starCell.className = "stars-value";
      var rating = live.rating || {};
      var rated = rating.count ? t("rating.value", { average: rating.average, count: rating.count }) : t("rating.none");
      if (rating.verified_count) rated += t("rating.verified", { n: rating.verified_count });
      fact(facts, t("label.rating"), rated);
      var training = (live.training || []).map(function (x) { return t("training.item", { name: x.name, date: x.issued_on }); });
      fact(facts, t("label.training"), training.length ? join(training) : t("training.none"));
      fact(facts, t("label.health"), validity(live.health_certificate)).className = live.health_certificate && live.health_certificate.valid ? "ok" : "lapsed";
      fact(facts, t("label.insurance"), validity(live.insurance)).className = live.insurance && live.insurance.valid ? "ok" : "lapsed";
    } else {
      [t("label.stars"), t("label.rating"), t("label.training"), t("label.health"), t("label.insurance")]
        .forEach(function (label) { fact(facts, label, online).className = "muted"; });
    }
    fact(facts, t("label.validity"), t("validity.range", { start: claims.issued_on, end: lastDay(claims) }));
    if (result.issuerName) fact(facts, t("label.issuer"), result.issuerName, "zh-CN");
    fact(facts, t("label.serial"), claims.issuer_code + "-" + claims.serial);
  }

  /* An enterprise's own code (一企一证一码): the enterprise, its 统一社会信用代码 and the public
   * directory's credit figures (the live record's "credit"; services/credit.py), and a link to its
   * public page. No worker fields: no photo, health certificate, insurance or 确认入户. Offline
   * the signed fields only (the credit code is not among them: it is shown online). */
  function renderEnterprise(result, inService) {
    var claims = result.claims, live = result.live;
    var line = $("enterprise");
    line.hidden = true;
    compareLink(line, null);
    var facts = $("facts");
    facts.textContent = "";
    var online = t("online.only");
    var muted = function (label) { fact(facts, label, online).className = "muted"; };
    var known = live && live.enterprise;
    if (known && known.credit_code) fact(facts, t("label.credit_code"), known.credit_code).className = "credit-code";
    else muted(t("label.credit_code"));
    var names = config.categories.filter(function (c) { return claims.category_bits & (1 << c.bit); })
      .map(function (c) { return t(c.key); });
    if (names.length) fact(facts, t("label.categories"), join(names));
    var credit = live && live.credit;
    var percent = function (x) { return x === null || x === undefined ? t("credit.none") : Math.round(x * 100) + "%"; };
    if (!inService) {
      // The figures of an enterprise whose own code is out of service would only reassure wrongly.
    } else if (credit) {
      var graded = credit.score !== null && credit.score !== undefined;
      fact(facts, t("label.credit_grade"), graded ? t("credit.grade", { grade: credit.grade, score: credit.score }) : t("credit.ungraded")).className = "credit-grade";
      fact(facts, t("label.workers"), t("credit.workers", { n: credit.workers_registered }));
      fact(facts, t("label.holding_rate"), percent(credit.holding_rate));
      fact(facts, t("label.display_rate"), percent(credit.display_rate));
      fact(facts, t("label.complaints"), t("credit.complaints", { n: credit.complaints, resolved: credit.complaints_resolved }));
      var listed = credit.blacklisted || 0;
      fact(facts, t("label.blacklist"), listed ? t("credit.blacklisted", { n: listed }) : t("credit.clean"))
        .className = listed ? "lapsed" : "ok";
    } else if (live) {
      // Online, yet the directory does not list it (not an active enterprise): say so, never "shown online".
      fact(facts, t("label.credit_grade"), t("credit.unlisted")).className = "lapsed";
    } else {
      [t("label.credit_grade"), t("label.workers"), t("label.holding_rate"), t("label.display_rate"),
        t("label.complaints"), t("label.blacklist")].forEach(muted);
    }
    fact(facts, t("label.validity"), t("validity.range", { start: claims.issued_on, end: lastDay(claims) }));
    if (result.issuerName) fact(facts, t("label.issuer"), result.issuerName, "zh-CN");
    fact(facts, t("label.serial"), claims.issuer_code + "-" + claims.serial);
    // The enterprise's public page (credit grade and why, history, comparison): its id is signed.
    var dd = fact(facts, t("label.public_page"), "");
    var link = document.createElement("a");
    link.id = "enterprise-page";
    link.href = apiBase() + "/enterprises/" + encodeURIComponent(String(claims.enterprise_id));
    link.textContent = t("enterprise.public_page");
    dd.appendChild(link);
  }

  // "Compare this enterprise": the public comparison of the issuer holding the record (docs/credit.md).
  // Online only (the live record names the enterprise); a self-contained block after the enterprise line.
  function compareLink(after, enterprise) {
    var line = $("enterprise-compare");
    if (!line) {
      line = document.createElement("p");
      line.id = "enterprise-compare";
      line.className = "enterprise-compare";
      line.appendChild(document.createElement("a"));
      after.parentNode.insertBefore(line, after.nextSibling);
    }
    var id = enterprise && enterprise.id;
    line.hidden = !id;
    if (!id) return;
    var link = line.firstChild;
    link.href = apiBase() + "/enterprises/compare?ids=" + encodeURIComponent(String(id));
    link.textContent = t("enterprise.compare");
  }

  function lastDay(claims) {
    return new Date((claims.expires_day - 1) * 86400 * 1000).toISOString().slice(0, 10);
  }

  function renderSource(result) {
    var source = $("source");
    if (!result.claims || !V.genuine(result.status) || result.clock === "behind") { source.hidden = true; return; }
    source.hidden = false;
    if (result.live) {
      source.textContent = t("source.live");
      source.className = "source live";
    } else if (result.evidence) {
      source.textContent = t("source.offline", { age: age(now() - result.evidence) });
      source.className = "source offline";
    } else {
      source.textContent = t("source.none");
      source.className = "source offline";
    }
  }

  function renderActions(result) {
    var inService = result.status === "valid" || result.status === "attention";
    var visit = storedVisit();
    $("entry").hidden = !(inService && result.claims && result.claims.subject_kind === "worker") && !visit;
    var button = $("entry-button"), hint = $("entry-hint");
    if (visit) {
      button.disabled = true;
      setText(hint, t("entry.done", { time: when(Date.parse(visit.confirmed_at) / 1000) }));
    } else if (navigator.onLine === false || state.online === false) {
      button.disabled = true;
      hint.textContent = t("entry.offline");
    } else {
      button.disabled = !inService;
      if (!state.entryError) hint.textContent = t("entry.hint");
    }
    $("feedback").hidden = !visit;
    if (visit) {
      $("rate-submit").disabled = !!visit.rated;
      if (visit.rated && !$("rate-status").textContent) $("rate-status").textContent = t("rate.thanks");
      $("complain-submit").disabled = !!visit.complained;
      if (visit.complained && !$("complain-status").textContent) $("complain-status").textContent = t("complain.sent");
    }
    renderCardCheck(result);
  }

  // -- confirm entry, rate, complain ---------------------------------------------------------

  function visits() {
    try { return JSON.parse(localStorage.getItem(VISITS_KEY) || "{}"); } catch (e) { return {}; }
  }

  function visitKey() {
    var claims = state.cred && state.cred.claims;
    return claims ? claims.issuer_code + "-" + claims.serial : null;
  }

  function storedVisit() {
    var key = visitKey();
    return key ? visits()[key] || null : null;
  }

  function saveVisit(visit) {
    var all = visits();
    all[visitKey()] = visit;
    try { localStorage.setItem(VISITS_KEY, JSON.stringify(all)); } catch (e) { /* private mode */ }
  }

  function apiBase() {
    var issuer = state.trust && state.trust.issuers.get(state.cred.claims.issuer_code);
    return issuer && issuer.baseUrl ? issuer.baseUrl : location.origin;
  }

  function post(path, body) {
    return request(apiBase() + path, {
      method: "POST", headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: JSON.stringify(body),
      cache: "no-store", credentials: "omit"
    }, policy.fetch_timeout).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function failure(answer) {
    var error = answer.data && answer.data.error;
    if (error) {
      var fields = error.fields ? Object.keys(error.fields).map(function (k) { return error.fields[k][state.lang]; }) : [];
      return [state.lang === "zh" ? error.zh : error.en].concat(fields).join(" · ");
    }
    return t("why.http", { status: answer.status });
  }

  function confirmEntry() {
    var button = $("entry-button"), hint = $("entry-hint");
    button.disabled = true;
    // A dynamic code goes as it was shown: its holder proof makes the visit a verified one. Its
    // proof was fresh when the page judged it; tapped later than the window, the issuer refuses
    // it (holder_proof_expired) and the visit is confirmed without it, as an unverified one.
    var shown = state.cred.presentation ? state.cred.presentation.bytes : state.cred.bytes;
    post(config.paths.visits, { code: V.hex(shown) }).then(function (answer) {
      var code = answer.data && answer.data.error ? answer.data.error.code : "";
      if (code === "holder_proof_expired" && state.cred.presentation) {
        return post(config.paths.visits, { code: V.hex(state.cred.bytes) });
      }
      return answer;
    }).then(function (answer) {
      if (answer.status !== 201) {
        state.entryError = true;
        hint.textContent = t("entry.failed", { why: failure(answer) });
        button.disabled = false;
        return;
      }
      saveVisit({ visit_id: answer.data.visit_id, token: answer.data.rating_token,
        confirmed_at: answer.data.confirmed_at, rate_until: answer.data.rate_until });
      render(state.result);
      $("feedback").scrollIntoView({ block: "start" });
    }, function (why) {
      state.entryError = true;
      hint.textContent = t("entry.failed", { why: t(why.key, why.params) });
      button.disabled = false;
    });
  }

  function submitRating(event) {
    event.preventDefault();
    var visit = storedVisit(), status = $("rate-status"), button = $("rate-submit");
    if (!visit) return;
    var checked = document.querySelector("input[name=score]:checked");
    var body = { token: visit.token, score: parseInt(checked ? checked.value : "5", 10) };
    var comment = $("rate-comment").value.trim();
    if (comment) body.comment = comment;
    button.disabled = true;
    post("/api/v1/visits/" + visit.visit_id + "/rating", body).then(function (answer) {
      if (answer.status === 201) {
        visit.rated = true;
        saveVisit(visit);
        status.className = "form-status ok";
        status.textContent = t("rate.thanks");
        return;
      }
      if (answer.data && answer.data.error && answer.data.error.code === "already_rated") {
        visit.rated = true;
        saveVisit(visit);
      } else {
        button.disabled = false;
      }
      status.className = "form-status refused";
      status.setAttribute("data-code", answer.data && answer.data.error ? answer.data.error.code : "");
      status.textContent = t("rate.failed", { why: failure(answer) });
    }, function (why) {
      button.disabled = false;
      status.className = "form-status refused";
      status.textContent = t("rate.failed", { why: t(why.key, why.params) });
    });
  }

  function submitComplaint(event) {
    event.preventDefault();
    var visit = storedVisit(), status = $("complain-status"), button = $("complain-submit");
    if (!visit) return;
    var body = { token: visit.token, category: $("complain-category").value, summary: $("complain-summary").value.trim() };
    button.disabled = true;
    post("/api/v1/visits/" + visit.visit_id + "/complaint", body).then(function (answer) {
      if (answer.status === 201) {
        visit.complained = true;
        saveVisit(visit);
        status.className = "form-status ok";
        status.textContent = t("complain.done", { id: answer.data.id });
        return;
      }
      button.disabled = false;
      status.className = "form-status refused";
      status.textContent = t("complain.failed", { why: failure(answer) });
    }, function (why) {
      button.disabled = false;
      status.className = "form-status refused";
      status.textContent = t("complain.failed", { why: t(why.key, why.params) });
    });
  }

  // -- report a fake (举报假码; docs/page.md, "Report a fake") --------------------------------

  /* The verdicts a consumer may report: a code out of service or one that does not verify.
   * Not a valid or yellow one, not "go online" (status_unknown), not "ask for the phone". */
  var REPORTABLE = ["revoked", "suspended", "expired", "unknown_issuer", "unknown_key", "key_retired",
    "bad_signature", "malformed", "unknown_credential", "bad_holder_proof"];

  function renderReport(result) {
    var section = $("report");
    if (!section) return;
    // A payment code, another site's link or plain text is not a fake 安心码: nothing to report.
    var foreign = result.foreign === "payment" || result.foreign === "url" || result.foreign === "text";
    var show = state.final && REPORTABLE.indexOf(result.status) >= 0 && !foreign && !!payloadText();
    section.hidden = !show;
    if (show) section.setAttribute("data-status", result.status);
    $("report-submit").disabled = !!state.reported;
  }

  function submitReport(event) {
    event.preventDefault();
    var result = state.result, status = $("report-status"), button = $("report-submit");
    if (!result || state.reported) return;
    var body = { code: payloadText(), status: result.status, reason: $("report-reason").value };
    if (result.reasons.length && /^[a-z][a-z0-9_]{0,47}$/.test(result.reasons[0].key)) body.reason_key = result.reasons[0].key;
    var note = $("report-note").value.trim();
    if (note) body.note = note;
    // To the code's issuer when the trust list names it, otherwise to the city that served the page.
    var base = state.cred && state.trust && state.cred.claims ? apiBase() : location.origin;
    button.disabled = true;
    request(base + "/api/v1/reports", {
      method: "POST", headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: JSON.stringify(body),
      cache: "no-store", credentials: "omit"
    }, policy.fetch_timeout).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 201) {
          state.reported = true;
          status.className = "form-status ok";
          status.textContent = t("report.done", { id: data.id });
          return;
        }
        button.disabled = false;
        status.className = "form-status refused";
        status.textContent = t("report.failed", { why: failure({ status: response.status, data: data }) });
      });
    }, function (why) {
      button.disabled = false;
      status.className = "form-status refused";
      status.textContent = t("report.failed", { why: t(why.key, why.params) });
    });
  }

  // -- the card (Web NFC: Android Chrome's NDEFReader gives the tag's serial number) ---------
  // A page opened by tapping a card (the NFC URI record's link is /v/…, lower case; the QR's is
  // /V/…) asks for a second tap: the chip's serial number is compared with the credential's card
  // binding, so a copied card (the same NDEF on another chip) is caught. Where this phone cannot
  // read it, the page says the card could not be checked. docs/page.md, "Card binding (NFC)".
  var cameFromCard = /^\/v\//.test(location.pathname);
  var card = { reading: false, unread: false, other: false };

  function cardCheck(result) {
    if (result.binding === "match" || result.binding === "mismatch") return result.binding;
    if (!result.claims || !result.claims.card_uid || !V.genuine(result.status)) return null;
    if ("NDEFReader" in window) return card.other ? "other" : card.unread ? "unread" : "offered";
    return cameFromCard ? "impossible" : null;
  }

  function renderCardCheck(result) {
    var section = $("card-check"), check = cardCheck(result), status = $("card-status");
    section.hidden = !check;
    section.setAttribute("data-card-check", check || "");
    section.setAttribute("data-from-card", cameFromCard ? "true" : "false");
    section.className = "actions card-check" + (check ? " card-" + check : "");
    $("card-button").hidden = !("NDEFReader" in window);
    // Opened from a card, "a QR scan cannot check the binding" is not what happened: this says it.
    var note = document.querySelector("#notes .note-binding_unchecked");
    if (note && cameFromCard && check) note.hidden = true;
    if (card.reading) return; // "hold the card…" stays until the tap
    var words = { impossible: "card.impossible", mismatch: "card.copy", match: "card.match", unread: "card.no_serial",
      other: "card.other",
      offered: cameFromCard ? "card.again" : null }[check];
    status.textContent = words ? t(words) : "";
  }

  function checkCard() {
    var status = $("card-status");
    var stop = function (why) { card.reading = false; status.textContent = t("card.failed", { why: why }); };
    var reader;
    try { reader = new window.NDEFReader(); } catch (e) { stop(String(e && e.message || e)); return; }
    card.reading = true;
    status.textContent = t("card.prompt");
    var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    reader.onreading = function (event) {
      if (controller) controller.abort();
      card.reading = false;
      var uid = V.serialNumberUid(event.serialNumber), carried = V.ndefCredential(event.message);
      // Another genuine card is not this page's card (a copy carries the very same bytes).
      card.other = !!carried && !!state.cred && V.hex(carried) !== V.hex(state.cred.bytes);
      card.unread = !card.other && uid === null; // no serial number: the binding cannot be checked
      if (card.other || card.unread) { renderCardCheck(state.result); return; }
      state.cardUid = uid;
      offlineVerdict().then(function (result) {
        if (state.result && state.result.live && result.binding === "match") result = V.mergeLive(result, state.result.live);
        show(result, true);
      });
    };
    reader.onreadingerror = function () { stop("NDEF"); };
    reader.scan(controller ? { signal: controller.signal } : {}).catch(function (e) {
      stop(String(e && e.message || e));
    });
  }

  // -- the check -----------------------------------------------------------------------------

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    ["/v", "/V/"].forEach(function (scope) {
      navigator.serviceWorker.register(config.paths.worker, { scope: scope }).catch(function () { return null; });
    });
  }

  function liveRecord(offline) {
    var cred = state.cred;
    if (!V.askLive(offline.status) || !state.trust) return Promise.resolve(offline);
    var seconds = policy.live_timeout;
    return request(apiBase() + config.paths.live, {
      method: "POST", headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({ code: V.hex(cred.bytes) }), cache: "no-store", credentials: "omit"
    }, seconds).then(function (response) {
      if (response.status === 404) return { notOnRecord: true };
      if (response.status === 429) throw { key: "why.rate_limited" };
      if (!response.ok) throw { key: "why.http", params: { status: response.status } };
      return response.json().then(function (data) {
        return V.verifyLive(data.token, state.trust, cred, now(), policy.leeway).catch(function () {
          throw { key: "why.bad_token" };
        });
      });
    }).then(function (live) {
      if (live.notOnRecord) return V.notOnRecord(offline);
      return V.mergeLive(offline, live);
    }, function (why) {
      var copy = Object.assign({}, offline);
      copy.reasons = offline.reasons.concat([{ key: "live_failed", params: { why: why && why.key ? why : { key: "why.offline" } } }]);
      return copy;
    });
  }

  function check() {
    var text = payloadText();
    if (!text) {
      $("verdict").className = "verdict tone-scan";
      $("verdict-icon").setAttribute("href", "#i-pending");
      $("verdict-word").setAttribute("data-msg", "word.scan");
      $("verdict-word").textContent = t("word.scan");
      $("advice").setAttribute("data-msg", "advice.scan");
      $("advice").textContent = t("advice.scan");
      $("advice").hidden = false;
      $("manual").hidden = false;
      return Promise.resolve();
    }
    var found = V.classify(text, config.payments);
    if (found.kind !== "anxinma") {
      $("manual").hidden = false;
      show(malformedResult(found.kind, found), true);
      return Promise.resolve();
    }
    try {
      state.cred = V.decodeCode(found.bytes); // a credential, or a dynamic code (its .presentation)
    } catch (err) {
      if (!(err instanceof V.Refused)) throw err;
      $("manual").hidden = false;
      show(malformedResult(err.code === "malformed" ? "format" : err.code, err), true);
      return Promise.resolve();
    }
    state.code = text;
    if (!config.root_key) {
      show({ status: "status_unknown", reasons: [{ key: "no_root" }], claims: state.cred.claims }, true);
      return Promise.resolve();
    }
    var rootKey = V.b64urlDecode(config.root_key), cred = state.cred;
    return V.cryptoEngine().then(function (engine) {
      state.engine = engine;
      return loadHeld(rootKey, cred);
    }, function () {
      throw { fatal: "internal" }; // no Ed25519 at all: say so, never guess
    }).then(function () {
      return state.trust ? offlineVerdict().then(function (result) { show(result, false); }) : null;
    }).then(function () {
      if (navigator.onLine === false) throw { key: "why.offline" };
      return refreshTrust(rootKey, cred);
    }).then(function () {
      return offlineVerdict();
    }).then(function (offline) {
      show(offline, false);
      return liveRecord(offline);
    }).then(function (result) {
      show(result, true);
    }, function (why) {
      if (why && why.fatal) {
        show({ status: "status_unknown", reasons: [{ key: why.fatal }], claims: cred.claims }, true);
        return;
      }
      state.online = false;
      return offlineVerdict().then(function (offline) {
        var copy = Object.assign({}, offline);
        if (V.genuine(offline.status)) {
          copy.reasons = offline.reasons.concat([{ key: "live_failed", params: { why: why && why.key ? why : { key: "why.offline" } } }]);
        }
        show(copy, true);
      });
    });
  }

  function start() {
    chooseLanguage();
    applyWords();
    $("lang-switch").addEventListener("click", switchLanguage);
    $("entry-button").addEventListener("click", confirmEntry);
    $("rate-form").addEventListener("submit", submitRating);
    $("complain-form").addEventListener("submit", submitComplaint);
    if ($("report-form")) $("report-form").addEventListener("submit", submitReport);
    $("card-button").addEventListener("click", checkCard);
    $("photo").addEventListener("error", function () {  // an unreachable photo host: the placeholder
      $("photo").hidden = true;
      $("photo-placeholder").hidden = false;
    });
    $("manual").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = $("manual-code").value.trim();
      if (value) location.assign("/v#" + encodeURIComponent(value));
    });
    window.addEventListener("hashchange", function () { location.reload(); });
    check().catch(function () {
      show({ status: "status_unknown", reasons: [{ key: "internal" }], claims: state.cred ? state.cred.claims : null }, true);
    }).then(registerWorker);
  }

  start();
})();
