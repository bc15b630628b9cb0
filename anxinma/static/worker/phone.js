/* The worker's phone page (/w/<secret> enrols, /w shows the code; anxinma/issuer/web/phone.py).
 *
 * Enrolment runs as soon as a valid link opens (the phone makes its key pair and sends the
 * public key: AnxinmaHolder.enrol); then, and on every later visit, the page shows the dynamic
 * code inside [data-dynamic-code], a new one every refresh_seconds, made on the phone from the
 * credential and the key it holds (AnxinmaCode.make), so it needs no network. The service
 * worker (/w/sw.js) keeps the page itself for offline visits.
 */
(function () {
  "use strict";

  var settings = JSON.parse(document.body.getAttribute("data-settings") || "{}");
  var mode = document.body.getAttribute("data-mode");
  var timer = null;

  function say(key, params) {
    var pair = (settings.messages || {})[key] || [key, key];
    function fill(text) {
      return text.replace(/\{(\w+)\}/g, function (_, name) { return params && name in params ? params[name] : ""; });
    }
    return { zh: fill(pair[0]), en: fill(pair[1]) };
  }

  function show(element, key, params) {
    var words = say(key, params);
    element.textContent = "";
    var zh = document.createElement("span");
    zh.lang = "zh-CN";
    zh.textContent = words.zh;
    var en = document.createElement("span");
    en.lang = "en";
    en.className = "en";
    en.textContent = words.en;
    element.appendChild(zh);
    element.appendChild(document.createTextNode(" "));
    element.appendChild(en);
  }

  function $(selector) { return document.querySelector(selector); }

  function status(key, params) {
    var box = $("#status");
    if (!box) return;
    box.hidden = !key;
    if (key) show(box, key, params);
    box.setAttribute("data-key", key || "");
  }

  function clock(date) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  }

  function refresh() {
    var holder = window.AnxinmaHolder;
    var now = Math.floor(Date.now() / 1000);
    return window.AnxinmaCode.make(holder, now).then(function (code) {
      var box = $("[data-dynamic-code]");
      var drawn = window.AnxinmaCode.render(box, code.segments);
      box.setAttribute("data-time", String(code.time));
      box.setAttribute("data-url", code.url);
      show($("#code-time"), "made_at", { time: clock(new Date(code.time * 1000)) });
      document.body.setAttribute("data-code-ready", String(code.time));
      // The benchmark's mark (bench/bench_phone.py): ms from the navigation to the first code.
      window.__anxinmaPhone = window.__anxinmaPhone || { firstCodeAt: performance.now(), version: drawn.version };
      return drawn;
    });
  }

  function showCode() {
    var holder = window.AnxinmaHolder;
    var info = holder.info();
    $("#code").hidden = false;
    show($("#code-hint"), "code_hint", { seconds: settings.refresh_seconds });
    show($("#code-serial"), "credential_number", { serial: info.serial });
    if (holder.crypto() === "tweetnacl") status("no_webcrypto");
    document.body.setAttribute("data-crypto", holder.crypto());
    if (timer) clearInterval(timer);
    timer = setInterval(refresh, (settings.refresh_seconds || 30) * 1000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    return refresh().then(function () {
      document.dispatchEvent(new CustomEvent("anxinma:code-ready"));
    });
  }

  function enrolFromLink() {
    var token = decodeURIComponent(location.pathname.replace(/^\/w\//, ""));
    status("enrolling");
    return window.AnxinmaHolder.enrol(token).then(function () {
      history.replaceState(null, "", "/w");
      status("enrolled");
      document.body.setAttribute("data-enrolled", "true");
      return showCode();
    }, function (error) {
      var body = error && error.body && error.body.error;
      if (body) {
        status("enrol_failed", { reason: body.zh + " / " + body.en });
        document.body.setAttribute("data-enrol-error", body.reason || body.code || "error");
      } else {
        status("network_failed");
        document.body.setAttribute("data-enrol-error", "network");
      }
    });
  }

  function start() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/w/sw.js", { scope: "/w" }).catch(function () { /* best effort */ });
    }
    window.AnxinmaHolder.load().then(function (record) {
      if (mode === "enrol") return enrolFromLink();
      if (!record) {
        status("no_credential");
        document.body.setAttribute("data-enrolled", "false");
        return null;
      }
      return showCode();
    });
  }

  if (mode !== "refused") start();
})();
