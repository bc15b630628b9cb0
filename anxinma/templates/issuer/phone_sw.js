/* The worker's phone page's service worker (scope /w; anxinma/issuer/web/phone.py renders it).
 *
 * Keeps the page (/w) and its scripts so the dynamic code shows with no network: the key and
 * the credential are in IndexedDB (static/worker/holder.js), never here. /w itself is answered
 * from the cache at once and refreshed behind (stale-while-revalidate: the code is made on the
 * phone, the shell only carries scripts and words); an enrolment link /w/<secret> goes to the
 * network first (the issuer judges it) and falls back to the cached /w offline; no POST is
 * ever cached.
 */
"use strict";

var VERSION = {{ version | tojson }};
var SHELL = {{ shell | tojson }};
var ASSETS = {{ assets | tojson }};
var FALLBACK = "/static/verifier/vendor/nacl-fast.min.js";
var CACHE = "anxinma-phone-" + VERSION;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll([SHELL].concat(ASSETS)).then(function () {
        return cache.add(FALLBACK).catch(function () { return null; });
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("anxinma-phone-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (url.pathname === "/w" || url.pathname === "/w/")) {
    // The code page: from the cache at once (the code is made on the phone), refreshed behind.
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(SHELL).then(function (held) {
          var fresh = fetch(request).then(function (answer) {
            if (answer.ok) cache.put(SHELL, answer.clone());
            return answer;
          });
          if (held) {
            event.waitUntil(fresh.catch(function () { return null; }));
            return held;
          }
          return fresh;
        });
      })
    );
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (answer) {
        if (answer.ok && (url.pathname === "/w" || url.pathname === "/w/")) {
          var copy = answer.clone();
          caches.open(CACHE).then(function (cache) { cache.put(SHELL, copy); });
        }
        return answer;
      }).catch(function () {
        return caches.open(CACHE).then(function (cache) { return cache.match(SHELL); });
      })
    );
    return;
  }
  if (url.pathname.indexOf("/static/worker/") === 0 || url.pathname === FALLBACK) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(request).then(function (held) {
          return held || fetch(request).then(function (answer) {
            if (answer.ok) cache.put(request, answer.clone());
            return answer;
          });
        });
      })
    );
  }
});
