/* promv5-lab report charts: inline SVG drawn from the JSON beside each chart. No dependencies, no network.
   Hover shows values, click a legend entry to hide a series, drag to zoom, double-click to reset.
   Text from the data is only ever set with textContent. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, String(attrs[k])); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) { return "n/a"; }
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) { return v.toExponential(2); }
    return String(Math.round(v * 1e4) / 1e4);
  }
  function hhmm(t) { var d = new Date(t * 1000); return d.toISOString().substring(11, 16); }
  function ticks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log(span / n) / Math.LN10)), out = [];
    var err = n / span * step;
    if (err <= 0.15) { step *= 10; } else if (err <= 0.35) { step *= 5; } else if (err <= 0.75) { step *= 2; }
    for (var x = Math.ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) { out.push(x); }
    return out;
  }
  function timeTicks(lo, hi) {
    var steps = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400], span = hi - lo, step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) { if (span / steps[i] <= 8) { step = steps[i]; break; } }
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi; t += step) { out.push(t); }
    return out;
  }
  function draw(box, data) {
    var W = box.clientWidth || 900, H = 260, m = {l: 56, r: 12, t: 10, b: 26};
    var hidden = box._hidden || {}, view = box._view || null;
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, role: "img"}, box);
    var title = el("title", {}, svg); title.textContent = data.title || "";
    var tmin = Infinity, tmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    function seeT(t) { if (t < tmin) { tmin = t; } if (t > tmax) { tmax = t; } }
    data.series.forEach(function (s) { s.t.forEach(seeT); });
    if (data.band) { data.band.t.forEach(seeT); }
    if (view) { tmin = view[0]; tmax = view[1]; }
    function seeY(v) { if (v !== null && isFinite(v)) { if (v < ymin) { ymin = v; } if (v > ymax) { ymax = v; } } }
    data.series.forEach(function (s, i) {
      if (hidden[i]) { return; }
      for (var j = 0; j < s.t.length; j++) { if (s.t[j] >= tmin && s.t[j] <= tmax) { seeY(s.v[j]); } }
    });
    if (data.band) { for (var j = 0; j < data.band.t.length; j++) { if (data.band.t[j] >= tmin && data.band.t[j] <= tmax) { seeY(data.band.lo[j]); seeY(data.band.hi[j]); } } }
    if (data.threshold !== null) { seeY(data.threshold); }
    if (!isFinite(tmin) || !isFinite(ymin)) {
      var nd = el("text", {x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#5b6470"}, svg); nd.textContent = "no data";
      return;
    }
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    var pad = (ymax - ymin) * 0.06; ymin -= pad; ymax += pad;
    if (tmax === tmin) { tmax = tmin + 60; }
    function X(t) { return m.l + (t - tmin) / (tmax - tmin) * (W - m.l - m.r); }
    function Y(v) { return H - m.b - (v - ymin) / (ymax - ymin) * (H - m.t - m.b); }
    var clipId = "clip-" + data.id;
    var defs = el("defs", {}, svg), cp = el("clipPath", {id: clipId}, defs);
    el("rect", {x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b}, cp);
    var plot = el("g", {"clip-path": "url(#" + clipId + ")"}, svg);
    (data.shade || []).forEach(function (s) {
      el("rect", {"class": "shade", x: X(s[0]), y: m.t, width: Math.max(1, X(s[1]) - X(s[0])), height: H - m.t - m.b,
                  fill: "#d62728", "fill-opacity": 0.12}, plot);
    });
    ticks(ymin, ymax, 5).forEach(function (v) {
      el("line", {x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), stroke: "#e5e7eb"}, svg);
      var tx = el("text", {x: m.l - 4, y: Y(v) + 3, "text-anchor": "end", "font-size": 10, fill: "#5b6470"}, svg);
      tx.textContent = fmt(v);
    });
    timeTicks(tmin, tmax).forEach(function (t) {
      el("line", {x1: X(t), x2: X(t), y1: H - m.b, y2: H - m.b + 4, stroke: "#5b6470"}, svg);
      var tx = el("text", {x: X(t), y: H - m.b + 15, "text-anchor": "middle", "font-size": 10, fill: "#5b6470"}, svg);
      tx.textContent = hhmm(t);
    });
    el("line", {x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, stroke: "#5b6470"}, svg);
    if (data.band) {
      var up = [], dn = [];
      for (var k = 0; k < data.band.t.length; k++) {
        if (data.band.lo[k] === null || data.band.hi[k] === null) { continue; }
        up.push(X(data.band.t[k]).toFixed(1) + "," + Y(data.band.hi[k]).toFixed(1));
        dn.unshift(X(data.band.t[k]).toFixed(1) + "," + Y(data.band.lo[k]).toFixed(1));
      }
      if (up.length) { el("polygon", {"class": "band", points: up.concat(dn).join(" "), fill: "#1f77b4", "fill-opacity": 0.18}, plot); }
    }
    data.series.forEach(function (s, i) {
      if (hidden[i]) { return; }
      var d = "", pen = false;
      for (var j = 0; j < s.t.length; j++) {
        if (s.v[j] === null) { pen = false; continue; }
        d += (pen ? "L" : "M") + X(s.t[j]).toFixed(1) + "," + Y(s.v[j]).toFixed(1);
        pen = true;
      }
      el("path", {"class": "line", d: d, fill: "none", stroke: s.color, "stroke-width": 1.5}, plot);
    });
    if (data.threshold !== null) {
      el("line", {"class": "threshold", x1: m.l, x2: W - m.r, y1: Y(data.threshold), y2: Y(data.threshold),
                  stroke: "#444", "stroke-dasharray": "5,4"}, plot);
    }
    var cursor = el("line", {y1: m.t, y2: H - m.b, stroke: "#999", visibility: "hidden"}, svg);
    var sel = el("rect", {y: m.t, height: H - m.t - m.b, fill: "#1f77b4", "fill-opacity": 0.1, visibility: "hidden"}, svg);
    var tip = document.createElement("div"); tip.className = "p5-tip"; box.appendChild(tip);
    var legend = document.createElement("div"); legend.className = "p5-legend"; box.appendChild(legend);
    data.series.forEach(function (s, i) {
      var sp = document.createElement("span");
      sp.textContent = "\u25A0 " + s.name; sp.style.color = s.color; if (hidden[i]) { sp.className = "off"; }
      sp.addEventListener("click", function () { hidden[i] = !hidden[i]; box._hidden = hidden; draw(box, data); });
      legend.appendChild(sp);
    });
    function tAt(evt) {
      var r = svg.getBoundingClientRect(), px = (evt.clientX - r.left) * W / r.width;
      return tmin + (px - m.l) / (W - m.l - m.r) * (tmax - tmin);
    }
    var drag = null;
    svg.addEventListener("mousedown", function (evt) { drag = tAt(evt); });
    svg.addEventListener("mouseup", function (evt) {
      var t = tAt(evt);
      if (drag !== null && Math.abs(X(t) - X(drag)) > 8) { box._view = [Math.min(t, drag), Math.max(t, drag)]; drag = null; draw(box, data); return; }
      drag = null; sel.setAttribute("visibility", "hidden");
    });
    svg.addEventListener("dblclick", function () { box._view = null; draw(box, data); });
    svg.addEventListener("mouseleave", function () { cursor.setAttribute("visibility", "hidden"); tip.style.display = "none"; });
    svg.addEventListener("mousemove", function (evt) {
      var t = tAt(evt);
      if (t < tmin || t > tmax) { return; }
      cursor.setAttribute("x1", X(t)); cursor.setAttribute("x2", X(t)); cursor.setAttribute("visibility", "visible");
      if (drag !== null) {
        sel.setAttribute("x", Math.min(X(t), X(drag))); sel.setAttribute("width", Math.abs(X(t) - X(drag)));
        sel.setAttribute("visibility", "visible");
      }
      while (tip.firstChild) { tip.removeChild(tip.firstChild); }
      var head = document.createElement("div"); head.textContent = new Date(t * 1000).toISOString().replace("T", " ").substring(0, 19) + " UTC";
      tip.appendChild(head);
      data.series.forEach(function (s, i) {
        if (hidden[i] || !s.t.length) { return; }
        var best = 0;
        for (var j = 1; j < s.t.length; j++) { if (Math.abs(s.t[j] - t) < Math.abs(s.t[best] - t)) { best = j; } }
        var row = document.createElement("div"); row.style.color = s.color;
        row.textContent = s.name + ": " + fmt(s.v[best]); tip.appendChild(row);
      });
      tip.style.display = "block";
      var r = svg.getBoundingClientRect();
      tip.style.left = Math.min(evt.clientX - r.left + 12, r.width - tip.offsetWidth - 4) + "px";
      tip.style.top = "8px";
    });
    box.setAttribute("data-drawn", "1");
  }
  function init() {
    var boxes = document.querySelectorAll(".p5-chart");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i], src = document.getElementById("data-" + box.getAttribute("data-chart"));
      if (!src) { continue; }
      var data = JSON.parse(src.textContent);
      draw(box, data);
      (function (b, d) { window.addEventListener("resize", function () { draw(b, d); }); })(box, data);
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
