/* Tempest charts (uPlot): a meter's daily energy and a day's readings at their native interval.
   Times are the meter's local time with its UTC offset, taken from the data's own labels, so
   days when clocks change (23 or 25 hours) draw right whatever the browser's zone. */
(function () {
  "use strict";
  var T = window.Tempest = window.Tempest || {};
  var live = [];
  var PALETTE = ["#0969da", "#1a7f37", "#bf3989", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#6e7781"];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function pad(n) { return String(n).padStart(2, "0"); }
  function fmtOffset(off) {
    var sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    return sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }
  /* "2023-05-26T00:05:00+12:00" -> [unix seconds, offset minutes] */
  function parseIso(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:Z|([+-])(\d{2}):(\d{2}))?$/.exec(text);
    if (!m) { return [Date.parse(text) / 1000, 0]; }
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
    var off = m[7] ? (m[7] === "-" ? -1 : 1) * (+m[8] * 60 + +m[9]) : 0;
    return [wall - off * 60, off];
  }
  /* The offset in force at `ts`, from sorted instants and their offsets. */
  function offsetFinder(times, offsets) {
    return function (ts) {
      var lo = 0, hi = times.length - 1;
      if (hi < 0) { return 0; }
      if (ts <= times[0]) { return offsets[0]; }
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (times[mid] <= ts) { lo = mid; } else { hi = mid - 1; }
      }
      return offsets[lo];
    };
  }
  /* A Date whose local fields show the meter's wall clock (uPlot's tzDate contract). */
  function wallDate(offsetAt) {
    return function (ts) {
      var d = new Date((ts + offsetAt(ts) * 60) * 1000);
      return new Date(d.getTime() + d.getTimezoneOffset() * 60000);
    };
  }
  function fmtWall(offsetAt, ts, withDate) {
    var d = new Date((ts + offsetAt(ts) * 60) * 1000);
    var hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    var day = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    return (withDate ? day + " " : "") + hm + " " + fmtOffset(offsetAt(ts));
  }
  function kwh(v) { return v == null ? "—" : v.toFixed(3) + " kWh"; }
  function width(el) { return Math.max(280, el.clientWidth - 8); }
  function height(el) { return el.clientWidth < 600 ? 240 : 320; }
  function axisStyle() {
    var fg = cssVar("--muted") || "#57606a", grid = cssVar("--line") || "#d0d7de";
    return { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  }
  function mark(el, u, n) {
    el.dataset.points = String(n);
    el.dataset.series = String(u.series.length - 1);
    el.dataset.ready = "1";
  }
  function fail(el, message) {
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "chart-error";
    p.textContent = message;
    el.appendChild(p);
    el.dataset.ready = "error";
  }
  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }
  function resizeWith(el, u) {
    var last = el.clientWidth;
    var ro = new ResizeObserver(function () {
      if (Math.abs(el.clientWidth - last) > 4) {
        last = el.clientWidth;
        u.setSize({ width: width(el), height: height(el) });
      }
    });
    ro.observe(el);
    u._tempestObserver = ro;
  }

  /* Keyboard: arrows move the cursor (the legend shows the values), +/- zoom, Home resets. */
  function keyboard(el, u, step) {
    var idx = 0;
    el.addEventListener("keydown", function (e) {
      var xs = u.data[0];
      if (!xs.length) { return; }
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        idx = u.cursor.idx != null ? u.cursor.idx : idx;
        idx = Math.max(0, Math.min(xs.length - 1, idx + (e.key === "ArrowRight" ? step : -step)));
        u.setCursor({ left: u.valToPos(xs[idx], "x"), top: u.over.clientHeight / 2 });
        e.preventDefault();
      } else if (e.key === "+" || e.key === "=") { zoom(u, "in"); e.preventDefault(); }
      else if (e.key === "-") { zoom(u, "out"); e.preventDefault(); }
      else if (e.key === "Home" || e.key === "Escape") { zoom(u, "reset"); e.preventDefault(); }
    });
  }
  function zoom(u, how) {
    var xs = u.data[0];
    var full = [xs[0], xs[xs.length - 1]];
    var min = u.scales.x.min, max = u.scales.x.max, span = max - min, mid = (min + max) / 2;
    if (how === "in") { span = Math.max(span / 2, 1800); min = mid - span / 2; max = mid + span / 2; }
    else if (how === "out") { span = span * 2; min = mid - span / 2; max = mid + span / 2; }
    else if (how === "left") { min -= span / 4; max -= span / 4; }
    else if (how === "right") { min += span / 4; max += span / 4; }
    else { min = full[0]; max = full[1]; }
    if (max - min >= full[1] - full[0]) { min = full[0]; max = full[1]; }
    if (min < full[0]) { max += full[0] - min; min = full[0]; }
    if (max > full[1]) { min -= max - full[1]; max = full[1]; }
    u.setScale("x", { min: min, max: max });
  }

  /* Shade missing, estimated and not-yet-reached intervals behind the lines. */
  function qualityBands(xs, quality, intervalS) {
    var fills = {
      missing: cssVar("--q-missing"), estimated: cssVar("--q-estimated"), pending: cssVar("--q-pending")
    };
    return function (u) {
      var ctx = u.ctx, b = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      for (var i = 0; i < xs.length; i++) {
        var q = quality[i] === null ? "pending" : quality[i];
        if (q === "actual") { continue; }
        var x0 = u.valToPos(xs[i] - intervalS, "x", true), x1 = u.valToPos(xs[i], "x", true);
        ctx.fillStyle = fills[q];
        ctx.fillRect(x0, b.top, Math.max(1, x1 - x0), b.height);
      }
      ctx.restore();
    };
  }

  function dayChart(el, data) {
    var parsed = data.timestamps.map(parseIso);
    var xs = parsed.map(function (p) { return p[0]; });
    var offsetAt = offsetFinder(xs, parsed.map(function (p) { return p[1]; }));
    var series = [{ label: "Interval end", value: function (u, v) { return v == null ? "—" : fmtWall(offsetAt, v, true); } }];
    var columns = [xs];
    data.channel_names.forEach(function (name, i) {
      var ch = data.channels[name];
      columns.push(ch.values);
      series.push({
        label: name + " (" + (ch.role || "channel") + ")", stroke: PALETTE[i % PALETTE.length], width: 1.5,
        spanGaps: false, paths: uPlot.paths.stepped({ align: -1 }), points: { show: false },
        value: function (u, v) { return kwh(v); }
      });
    });
    var axis = axisStyle();
    var opts = {
      width: width(el), height: height(el), tzDate: wallDate(offsetAt),
      cursor: { drag: { x: true, y: false, setScale: true }, focus: { prox: 16 } },
      scales: { x: { time: true } },
      series: series,
      axes: [Object.assign({ values: function (u, splits) { return splits.map(function (v) { return fmtWall(offsetAt, v, false).slice(0, 5); }); } }, axis),
        Object.assign({ label: "kWh", values: function (u, v) { return v.map(function (x) { return x.toFixed(3); }); } }, axis)],
      legend: { live: true },
      hooks: { drawClear: [qualityBands(xs, data.quality, data.interval * 60)] }
    };
    el.textContent = "";
    var u = new uPlot(opts, columns, el);
    live.push({ el: el, u: u });
    mark(el, u, xs.length);
    el.dataset.offsets = Array.from(new Set(parsed.map(function (p) { return fmtOffset(p[1]); }))).join(" ");
    keyboard(el, u, 1);
    resizeWith(el, u);
    var tools = document.querySelector('[aria-controls="' + el.id + '"]');
    if (tools) {
      tools.querySelectorAll("[data-zoom]").forEach(function (b) {
        b.onclick = function () { zoom(u, b.dataset.zoom); };
      });
    }
    return u;
  }

  // A sensor meter's measurements (temperature, humidity): one scale per unit, each axis
  // labelled with its unit; never kWh, never stacked with the energy chart.
  function measureChart(el, data) {
    var parsed = data.timestamps.map(parseIso);
    var xs = parsed.map(function (p) { return p[0]; });
    var offsetAt = offsetFinder(xs, parsed.map(function (p) { return p[1]; }));
    var series = [{ label: "Interval end", value: function (u, v) { return v == null ? "—" : fmtWall(offsetAt, v, true); } }];
    var columns = [xs];
    var units = [];
    Object.keys(data.measurements).forEach(function (name, i) {
      var m = data.measurements[name];
      if (units.indexOf(m.unit) < 0) { units.push(m.unit); }
      columns.push(m.values);
      series.push({
        label: name + " (" + m.unit + ")", scale: m.unit, stroke: PALETTE[i % PALETTE.length], width: 1.5,
        spanGaps: false, paths: uPlot.paths.stepped({ align: -1 }), points: { show: false },
        value: function (u, v) { return v == null ? "—" : v.toFixed(m.decimals) + " " + m.unit; }
      });
    });
    var axis = axisStyle();
    var scales = { x: { time: true } };
    var axes = [Object.assign({ values: function (u, splits) { return splits.map(function (v) { return fmtWall(offsetAt, v, false).slice(0, 5); }); } }, axis)];
    units.forEach(function (unit, k) {
      scales[unit] = { auto: true };
      axes.push(Object.assign({ scale: unit, label: unit, side: k % 2 ? 1 : 3, grid: { show: k === 0 } }, axis));
    });
    var opts = {
      width: width(el), height: height(el), tzDate: wallDate(offsetAt),
      cursor: { drag: { x: true, y: false, setScale: true }, focus: { prox: 16 } },
      scales: scales, series: series, axes: axes, legend: { live: true }
    };
    el.textContent = "";
    var u = new uPlot(opts, columns, el);
    live.push({ el: el, u: u });
    mark(el, u, xs.length);
    el.dataset.units = units.join(" ");
    keyboard(el, u, 1);
    resizeWith(el, u);
    return u;
  }

  function dailyChart(el, data) {
    var xs = data.days.map(function (d) { return Date.parse(d + "T12:00:00Z") / 1000; });
    var utc = function () { return 0; };
    var series = [{ label: "Day", value: function (u, v) { return v == null ? "—" : new Date(v * 1000).toISOString().slice(0, 10); } }];
    var columns = [xs];
    var shown = 0;
    data.channels.forEach(function (ch, i) {
      var main = ch.role === "import" || (shown === 0 && i === data.channels.length - 1);
      var visible = ch.role !== "sub";
      if (main) { shown++; }
      columns.push(data.kwh[ch.name]);
      series.push({
        label: ch.name + " (" + (ch.role || "channel") + ")", stroke: PALETTE[i % PALETTE.length],
        fill: main ? PALETTE[i % PALETTE.length] + "99" : undefined, width: main ? 0 : 1.5, show: visible,
        paths: main ? uPlot.paths.bars({ size: [0.85, 30], align: 0 }) : undefined,
        points: { show: false }, value: function (u, v) { return kwh(v); }
      });
    });
    columns.push(data.coverage.map(function (c) { return c == null ? null : c * 100; }));
    series.push({
      label: "Recorded", scale: "pct", stroke: cssVar("--muted") || "#57606a", width: 1, dash: [4, 3],
      points: { show: false }, value: function (u, v) { return v == null ? "no file" : v.toFixed(1) + "%"; }
    });
    var axis = axisStyle();
    var opts = {
      width: width(el), height: height(el), tzDate: wallDate(utc),
      cursor: { drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: true }, pct: { range: [0, 100] } },
      series: series,
      axes: [Object.assign({}, axis), Object.assign({ label: "kWh per day" }, axis),
        Object.assign({ scale: "pct", side: 1, label: "% recorded", grid: { show: false } }, axis)],
      legend: { live: true }
    };
    el.textContent = "";
    var u = new uPlot(opts, columns, el);
    live.push({ el: el, u: u });
    mark(el, u, xs.length);
    keyboard(el, u, 1);
    resizeWith(el, u);
    var dayUrl = el.dataset.dayUrl;
    u.over.addEventListener("click", function () {
      var i = u.cursor.idx;
      if (dayUrl && i != null && data.status[i] != null) {
        window.location.href = dayUrl.replace("DAY", data.days[i]);
      }
    });
    el.addEventListener("keydown", function (e) {
      var i = u.cursor.idx;
      if (e.key === "Enter" && dayUrl && i != null && data.status[i] != null) {
        window.location.href = dayUrl.replace("DAY", data.days[i]);
      }
    });
    return u;
  }

  T.drawChart = function (el) {
    if (typeof uPlot === "undefined") { fail(el, "The chart library did not load."); return; }
    var kind = el.dataset.chart;
    fetchJson(el.dataset.src).then(function (data) {
      if (!el.isConnected) { return; }
      if (kind === "day") { dayChart(el, data); } else if (kind === "measurements") { measureChart(el, data); } else { dailyChart(el, data); }
    }).catch(function (err) { fail(el, "The chart's data could not be loaded (" + err.message + ")."); });
  };
  T.destroyCharts = function (root) {
    live = live.filter(function (c) {
      if (root.contains(c.el)) {
        if (c.u._tempestObserver) { c.u._tempestObserver.disconnect(); }
        c.u.destroy();
        return false;
      }
      return true;
    });
  };
  T.charts = function () { return live.slice(); };
})();
