/* Tempest UI: live updates (poll /ui/changes with If-None-Match; on a change, re-render <main>
   from the server), charts, and small progressive enhancements. Every page works without it. */
(function () {
  "use strict";
  var T = window.Tempest = window.Tempest || {};
  var POLL_MS = 4000, MAX_BACKOFF_MS = 60000;
  var delay = POLL_MS, timer = null, refreshes = 0;

  function main() { return document.getElementById("main"); }
  function say(text) {
    var s = document.getElementById("live-status");
    if (s) { s.textContent = text; }
  }
  function edited(root) {
    return Array.prototype.some.call(root.querySelectorAll("input, textarea, select"), function (f) {
      if (f.type === "hidden" || f.type === "submit") { return false; }
      if (f.type === "radio" || f.type === "checkbox") { return false; }
      if (f.tagName === "SELECT") {
        return Array.prototype.some.call(f.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return f.value !== f.defaultValue;
    });
  }

  function init(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) { T.drawChart(el); });
    root.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); }
      });
    });
    root.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
      s.addEventListener("change", function () { s.form.requestSubmit(); });
    });
    var cal = root.querySelector("#calendar");
    root.querySelectorAll("[data-cal-mode]").forEach(function (r) {
      if (T.calMode) { r.checked = r.value === T.calMode; }
      r.addEventListener("change", function () {
        T.calMode = r.value;
        cal.classList.toggle("by-energy", r.value === "energy");
        cal.classList.toggle("by-completeness", r.value !== "energy");
      });
    });
    if (cal && T.calMode === "energy") {
      cal.classList.add("by-energy");
      cal.classList.remove("by-completeness");
    }
    root.querySelectorAll("[data-agent-config]").forEach(function (b) {
      b.addEventListener("click", function () {
        var status = document.getElementById("agent-load-status");
        status.textContent = "Asking the agent…";
        fetch(b.dataset.agentConfig, { credentials: "same-origin", cache: "no-store" })
          .then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
          .then(function (rj) {
            if (!rj[0].ok) { throw new Error(rj[1].reason || ("HTTP " + rj[0].status)); }
            document.getElementById(b.dataset.target).value = rj[1].text;
            status.textContent = "Loaded the agent's config.";
          })
          .catch(function (e) { status.textContent = "Could not load it: " + e.message; });
      });
    });
  }

  function refresh() {
    var old = main();
    if (edited(old)) {
      say("New data arrived; it shows when you leave or reload this page (a form here has unsaved changes).");
      return Promise.resolve();
    }
    return fetch(window.location.href, { headers: { "X-Fragment": "main" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (!fresh) { return; }
        var focusedId = document.activeElement && old.contains(document.activeElement) ? document.activeElement.id : null;
        var x = window.scrollX, y = window.scrollY;
        T.destroyCharts(old);
        var node = document.importNode(fresh, true);
        old.replaceWith(node);
        init(node);
        window.scrollTo(x, y);
        if (focusedId && document.getElementById(focusedId)) { document.getElementById(focusedId).focus(); }
        refreshes++;
        document.documentElement.dataset.refreshes = String(refreshes);
        say("Updated at " + new Date().toLocaleTimeString() + ".");
      });
  }

  function poll() {
    timer = null;
    var m = main();
    if (!m || !m.dataset.live) { return; }
    if (document.hidden) { schedule(); return; }
    var token = m.dataset.token;
    fetch("/ui/changes?scope=" + encodeURIComponent(m.dataset.live), {
      headers: { "If-None-Match": '"' + token + '"' }, credentials: "same-origin", cache: "no-store"
    }).then(function (r) {
      delay = POLL_MS;
      if (r.status === 304) { return null; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (doc) {
      if (doc && doc.token !== token) { return refresh(); }
    }).catch(function () {
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      say("Live updates paused: Tempest did not answer; retrying.");
    }).then(schedule);
  }
  function schedule() {
    if (!timer) { timer = window.setTimeout(poll, delay); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(main());
    schedule();
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer) { window.clearTimeout(timer); timer = null; poll(); }
    });
  });
  T.refresh = refresh;
})();
