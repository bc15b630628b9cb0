/* The worker's own page (docs/page.md, "The worker's own page"), under the code on /w.
 *
 * The record is read with a request signed by the holder key (AnxinmaHolder.sign over
 * "anxinma-worker-record:v1:<issuer>:<serial>:<time>", POST /w/record): no password. The last
 * record is kept on the phone (AnxinmaHolder.remember) and shown offline with its age. Rating
 * the enterprise after a visit is the existing holder-signed rating
 * (POST /api/v1/visits/<id>/rating/worker, "anxinma-worker-rating:v1:…"), made here.
 */
(function () {
  "use strict";

  var settings = JSON.parse(document.body.getAttribute("data-settings") || "{}");

  /* A message's [zh, en]; a parameter given as [zh, en] is filled in each language's own words. */
  function words(key, params) {
    var pair = (settings.messages || {})[key] || [key, key];
    function fill(text, language) {
      return text.replace(/\{(\w+)\}/g, function (_, name) {
        if (!params || !(name in params)) return "";
        var value = params[name];
        return Array.isArray(value) ? value[language] : value;
      });
    }
    return [fill(pair[0], 0), fill(pair[1], 1)];
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* "中文 English" as two spans: Chinese first, English beside it. */
  function both(key, params, tag) {
    var pair = words(key, params);
    return el(tag || "span", {}, [el("span", { lang: "zh-CN" }, [pair[0]]), " ", el("span", { lang: "en", class: "en" }, [pair[1]])]);
  }

  function b64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function hexOf(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function age(iso) {
    var minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
    if (minutes < 1) return words("age_now");
    if (minutes < 60) return words("age_minutes", { n: minutes });
    if (minutes < 48 * 60) return words("age_hours", { n: Math.floor(minutes / 60) });
    return words("age_days", { n: Math.floor(minutes / 1440) });
  }

  function validity(key, item) {
    var line = el("li", { "data-validity": key }, [both(key, null, "strong"), " "]);
    if (!item.valid_until) {
      line.appendChild(both("missing"));
      line.setAttribute("data-remind", "true");
    } else if (item.lapsed) {
      line.appendChild(both("lapsed", { date: item.valid_until }));
      line.setAttribute("data-remind", "true");
    } else {
      line.appendChild(both("valid_days", { date: item.valid_until, days: item.days_left }));
      if (item.remind) {
        line.appendChild(el("br"));
        line.appendChild(both("remind", { days: item.days_left }, "span"));
        line.setAttribute("data-remind", "true");
      }
    }
    if (line.getAttribute("data-remind")) line.className = "remind";
    return line;
  }

  function render(kept, offline, problem) {
    var box = document.querySelector("#record");
    var data = kept.data;
    box.hidden = false;
    box.textContent = "";
    box.setAttribute("data-as-of", data.as_of);
    box.appendChild(both("record_title", null, "h2"));
    var ageWords = age(kept.at);
    var stamp = el("p", { id: "record-age", class: "muted" }, [both("record_age", { age: ageWords })]);
    box.appendChild(stamp);
    if (offline) box.appendChild(el("p", { class: "muted", "data-record-offline": "" }, [both("record_offline")]));
    if (problem) box.appendChild(el("p", { class: "muted" }, [both("record_failed", { reason: problem })]));

    box.appendChild(both("credentials", null, "h3"));
    var list = el("ul", { "data-credentials": "" });
    data.credentials.forEach(function (c) {
      list.appendChild(el("li", { "data-serial": String(c.serial), "data-status": c.status, "data-form": c.form }, [
        both("form_" + c.form), " No. " + c.serial + " · ", both("status_" + c.status),
        " · " + c.issued_on + " – " + c.expires_on,
      ]));
    });
    box.appendChild(list);

    box.appendChild(both("enterprise", null, "h3"));
    box.appendChild(el("p", { "data-enterprise": "" }, [el("span", { lang: "zh-CN" }, [data.enterprise.name])]));

    var certificates = el("ul", { "data-certificates": "" }, [
      validity("health", data.health_certificate), validity("insurance", data.insurance),
    ]);
    box.appendChild(certificates);

    box.appendChild(both("rating", null, "h3"));
    box.appendChild(el("p", { "data-rating-summary": "" }, [
      data.rating.count ? both("rating_summary", { count: data.rating.count, average: Number(data.rating.average).toFixed(1) }) : both("rating_none"),
    ]));
    var ratings = el("ul", { "data-ratings": "" });
    data.ratings.forEach(function (r) {
      ratings.appendChild(el("li", {}, ["★".repeat(r.score) + "☆".repeat(5 - r.score) + " " + (r.comment || "") + " · " + r.created_at.slice(0, 10)]));
    });
    box.appendChild(ratings);

    box.appendChild(both("months", null, "h3"));
    var months = el("ul", { "data-months": "" });
    data.months.forEach(function (m) {
      var checked = words(m.checked_in ? "checked_yes" : "checked_no");
      months.appendChild(el("li", { "data-month": m.month, "data-visits": String(m.visits), "data-checked": String(m.checked_in) }, [
        both("month_row", { month: m.month, visits: m.visits, checked: checked }),
      ]));
    });
    box.appendChild(months);

    box.appendChild(both("rate_title", null, "h3"));
    var rate = el("div", { "data-rate": "" });
    if (!data.to_rate.length) rate.appendChild(el("p", { class: "muted" }, [both("rate_none")]));
    data.to_rate.forEach(function (v) { rate.appendChild(rateForm(data, v, offline)); });
    box.appendChild(rate);
  }

  function rateForm(data, visit, offline) {
    var id = "rate-" + visit.visit_id;
    var form = el("form", { "data-visit": String(visit.visit_id), class: "rate" });
    var when = new Date(visit.confirmed_at);
    form.appendChild(both("rate_visit", { time: when.toLocaleString("zh-CN", { hour12: false }) }, "p"));
    var select = el("select", { id: id + "-score", name: "score" });
    [5, 4, 3, 2, 1].forEach(function (n) { select.appendChild(el("option", { value: String(n) }, ["★".repeat(n)])); });
    form.appendChild(el("label", { for: id + "-score" }, [both("rate_score")]));
    form.appendChild(select);
    var comment = el("input", { id: id + "-comment", name: "comment", maxlength: "200", type: "text" });
    form.appendChild(el("label", { for: id + "-comment" }, [both("rate_comment")]));
    form.appendChild(comment);
    var button = el("button", { type: "submit" }, [both("rate_button")]);
    if (offline) button.disabled = true;
    form.appendChild(button);
    var said = el("p", { role: "status", "data-rate-result": "" });
    form.appendChild(said);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      rateEnterprise(data.issuer_code, visit.visit_id, Number(select.value), comment.value).then(function () {
        said.textContent = "";
        said.appendChild(both("rate_done"));
        form.setAttribute("data-rated", "true");
      }, function (error) {
        said.textContent = "";
        said.appendChild(both("rate_failed", { reason: error.message }));
        button.disabled = false;
      });
    });
    return form;
  }

  function rateEnterprise(issuerCode, visitId, score, comment) {
    var holder = window.AnxinmaHolder;
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(comment)).then(function (digest) {
      var message = "anxinma-worker-rating:v1:" + issuerCode + ":" + visitId + ":" + score + ":" + hexOf(digest);
      return holder.sign(new TextEncoder().encode(message));
    }).then(function (signature) {
      return fetch("/api/v1/visits/" + visitId + "/rating/worker", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ score: score, comment: comment, signature: b64url(signature) }),
        credentials: "omit",
      });
    }).then(function (answer) {
      if (answer.ok) return answer.json();
      return answer.json().then(function (body) {
        var e = body.error || {};
        throw new Error((e.zh || "") + " / " + (e.en || answer.status));
      });
    });
  }

  function fetchRecord() {
    var holder = window.AnxinmaHolder;
    var info = holder.info();
    var issuer = settings.issuer_code;
    var now = Math.floor(Date.now() / 1000);
    var message = "anxinma-worker-record:v1:" + issuer + ":" + info.serial + ":" + now;
    return holder.sign(new TextEncoder().encode(message)).then(function (signature) {
      return fetch("/w/record", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ serial: info.serial, time: now, signature: b64url(signature) }),
        cache: "no-store",
        credentials: "omit",
      });
    }).then(function (answer) {
      checkClock(answer.headers.get("Date"));
      return answer.json().then(function (body) {
        if (!answer.ok) {
          var e = body.error || {};
          var error = new Error((e.zh || "") + " / " + (e.en || answer.status));
          error.answered = true;
          throw error;
        }
        return body;
      });
    });
  }

  /* The codes carry this phone's clock: more than the verifiers' tolerance off the issuer's
   * (its Date header, to the second) and every code would read expired, so say so. */
  function checkClock(header) {
    var server = header ? Date.parse(header) : NaN;
    if (isNaN(server)) return;
    var skew = Math.round((Date.now() - server) / 1000);
    document.body.setAttribute("data-clock-skew", String(skew));
    var box = document.querySelector("#clock");
    if (!box) return;
    box.hidden = Math.abs(skew) <= (settings.tolerance_seconds || 30);
    box.textContent = "";
    if (!box.hidden) box.appendChild(both(skew > 0 ? "clock_ahead" : "clock_behind", { seconds: Math.abs(skew) }));
  }

  /* Show the kept record at once, then a fresh one when the issuer answers. */
  function show() {
    var holder = window.AnxinmaHolder;
    var kept = (holder.info().extra || {}).record || null;
    if (kept) render(kept, !navigator.onLine);
    return fetchRecord().then(function (data) {
      var fresh = { data: data, at: data.as_of };
      return holder.remember("record", fresh).then(function () {
        render(fresh, false);
        document.body.setAttribute("data-record", "fresh");
      });
    }, function (error) {
      if (kept) {
        render(kept, !error.answered, error.answered ? error.message : null);
        document.body.setAttribute("data-record", "kept");
      } else {
        document.body.setAttribute("data-record", "none");
      }
    });
  }

  document.addEventListener("anxinma:code-ready", show);
  window.AnxinmaRecord = { show: show };
})();
