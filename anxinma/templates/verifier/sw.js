/* The 安心码 page's service worker (anxinma/verifier/web.py renders it; docs/page.md).
 *
 * Registered twice, for the scopes /v (…/v/<digits>, /v#<digits>) and /V/ (the QR's upper
 * case). It answers every page navigation in those scopes with the one cached shell (the
 * payload is read by the page from its own location) and the shell's assets from the cache,
 * then refreshes them in the background, so a second visit opens with the network cut.
 *
 * Trust material (/trust-list, /status/…, /.well-known/anxinma) is cached in a cache of its own
 * (BUNDLE) by the page and prefetched here on activation; it is never trusted from the cache:
 * the page verifies every signature each time it reads it. Live records, visits and ratings
 * are never cached.
 */
"use strict";

var VERSION = {{ version | tojson }};
var SHELL = {{ shell | tojson }};
var ASSETS = {{ assets | tojson }};
var FALLBACK = {{ fallback | tojson }}; // tweetnacl: cached only where WebCrypto lacks Ed25519
var STATIC = "anxinma-page-" + VERSION;
var BUNDLE = "anxinma-bundle";

function webcryptoEd25519() {
  try {
    return crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])
      .then(function () { return true; }, function () { return false; });
  } catch (e) {
    return Promise.resolve(false);
  }
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    Promise.all([caches.open(STATIC), webcryptoEd25519()]).then(function (both) {
      return both[0].addAll([SHELL].concat(ASSETS, both[1] ? [] : [FALLBACK]));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("anxinma-page-") === 0 && name !== STATIC;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); }).then(prefetchBundle)
  );
});

/* The trust list, this issuer's freshness document and every compact shard it lists, so that a
 * worker on another shard than the first one scanned still gets an offline verdict. Best effort,
 * and only into empty slots: the page fetches what it needs, verifies every signature and keeps
 * its floors (never older data over newer), so nothing here is trusted. An issuer that serves no
 * freshness document yet: its JWT status lists, as before. */
function prefetchBundle() {
  return caches.open(BUNDLE).then(function (cache) {
    function fill(url) {
      return cache.match(url).then(function (held) {
        if (held) return null;
        return fetch(url, { cache: "no-cache" }).then(function (answer) {
          return answer.ok ? cache.put(url, answer) : null;
        });
      });
    }
    return fetch("/.well-known/anxinma", { cache: "no-cache" }).then(function (response) {
      if (!response.ok) return null;
      return response.clone().json().then(function (discovery) {
        var lists = discovery.status_lists || [];
        var urls = discovery.status_freshness
          ? [discovery.status_freshness].concat(lists.map(function (url) { return url + "/compact"; }))
          : lists;
        return Promise.all([discovery.trust_list].concat(urls).map(function (url) { return fill(url); }));
      });
    });
  }).catch(function () { return null; });
}

function isPage(url) {
  return url.pathname === "/v" || url.pathname.indexOf("/v/") === 0 || url.pathname.indexOf("/V/") === 0;
}

function fromCacheThenRefresh(event, key) {
  var cached = caches.open(STATIC).then(function (cache) { return cache.match(key); });
  var network = fetch(event.request.mode === "navigate" ? SHELL : event.request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(STATIC).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  });
  event.waitUntil(network.catch(function () { return null; }));
  return cached.then(function (hit) { return hit || network; });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && isPage(url)) {
    event.respondWith(fromCacheThenRefresh(event, SHELL));
  } else if (ASSETS.indexOf(url.pathname + url.search) >= 0 || url.pathname + url.search === FALLBACK) {
    event.respondWith(fromCacheThenRefresh(event, url.pathname + url.search));
  }
});
