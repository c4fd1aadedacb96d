// Live charts: poll metrics.json, keep the last 60 samples, draw each
// series (a rate for counters) as an SVG polyline. No library.
"use strict";
(function () {
  const charts = document.querySelectorAll("svg.chart");
  if (!charts.length) return;
  const samples = [];
  const NS = "http://www.w3.org/2000/svg";

  function points(series, rate) {
    const out = [];
    for (let i = rate ? 1 : 0; i < samples.length; i++) {
      const s = samples[i];
      if (!rate) { out.push(s[series]); continue; }
      const p = samples[i - 1], dt = (s.t - p.t) / 1000;
      out.push(dt > 0 ? Math.max(0, (s[series] - p[series]) / dt) : 0);
    }
    return out;
  }

  function draw(svg) {
    const ys = points(svg.dataset.series, svg.dataset.rate === "1");
    const top = Math.max(1, ...ys);
    const w = 300, h = 70;
    const pts = ys.map((y, i) => (i * w / 59).toFixed(1) + "," + (h - y / top * (h - 5) + 5).toFixed(1));
    svg.replaceChildren();
    const line = document.createElementNS(NS, "polyline");
    line.setAttribute("points", pts.join(" "));
    const label = document.createElementNS(NS, "text");
    label.setAttribute("x", "2"); label.setAttribute("y", "78");
    const last = ys.length ? ys[ys.length - 1] : 0;
    label.textContent = "now " + Math.round(last) + ", max " + Math.round(top);
    svg.append(line, label);
    svg.setAttribute("aria-label", svg.getAttribute("aria-label").split(":")[0] + ": " + Math.round(last));
  }

  async function poll() {
    try {
      const r = await fetch("/console/metrics.json", { credentials: "same-origin" });
      if (r.ok) {
        samples.push(await r.json());
        if (samples.length > 61) samples.shift();
        charts.forEach(draw);
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  poll();
})();
