/* Anxinma consoles: small enhancements only. Every page works without this file
   (the import page reloads itself; forms post normally). */
(function () {
  "use strict";

  // Import progress: poll the job's status and move the bar; reload when it has finished.
  var box = document.querySelector("[data-import-status]");
  if (box) {
    var url = box.getAttribute("data-import-status");
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    var counts = {
      created: box.querySelector("[data-count=created]"),
      existing: box.querySelector("[data-count=existing]"),
      failed: box.querySelector("[data-count=failed]")
    };
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) {
          if (bar) { bar.max = s.total || 1; bar.value = s.processed; }
          if (text) { text.textContent = s.percent + "%"; }
          Object.keys(counts).forEach(function (k) { if (counts[k]) { counts[k].textContent = s[k]; } });
          if (s.state === "running") { setTimeout(tick, 800); } else { window.location.reload(); }
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 500);
  }

  // "Select all on this page" for the card operator's batch.
  var all = document.querySelector("[data-select-all]");
  if (all) {
    var boxes = document.querySelectorAll("input[name=" + all.getAttribute("data-select-all") + "]");
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
  }
  var allLabel = document.querySelector("[data-select-all-label]");
  if (allLabel) { allLabel.hidden = false; }

  // Copy buttons (a token shown once, a credential's code).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied") || "✓";
      });
    });
  });
})();
