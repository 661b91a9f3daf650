/* archsim HTML report: renders the data embedded in <script id="archsim-data"> into tables
   and SVG charts. No dependencies, no network. archsim/report/html.py writes the page.
   Marks of every chart carry class "mark"; every chart <svg> has data-chart=NAME; tables are
   <table class="dt" data-table=NAME> (the browser test relies on these hooks). */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("archsim-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"];

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function sv(tag, attrs, parent, text) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v, digits) {
    if (v === null || v === undefined || v === "") return "";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v !== "number") return String(v);
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e9) return v.toLocaleString("en-US");
    var a = Math.abs(v), d = digits || 4;
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(d - 1).replace(/\.?0+e/, "e");
    return String(parseFloat(v.toPrecision(d)));
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function section(id, title, parent) {
    var s = el("section", { "class": "card", id: id }, parent || document.getElementById("main"));
    el("h2", null, s, title);
    var nav = document.getElementById("toc");
    if (nav) el("a", { href: "#" + id }, nav, title);
    return s;
  }
  function note(parent, text) { return el("p", { "class": "note" }, parent, text); }
  function colorMap(names) { var m = {}; names.forEach(function (n, i) { m[n] = PALETTE[i % PALETTE.length]; }); return m; }

  // ------------------------------------------------------------------ tooltip
  var TIP = el("div", { id: "tooltip", role: "tooltip" }, document.body);
  function tipShow(evt, text) {
    TIP.textContent = text;
    TIP.classList.add("show");
    tipMove(evt);
  }
  function tipMove(evt) {
    var x = evt.clientX + 14, y = evt.clientY + 12;
    var w = TIP.offsetWidth, h = TIP.offsetHeight;
    if (x + w > window.innerWidth - 4) x = evt.clientX - w - 14;
    if (y + h > window.innerHeight - 4) y = evt.clientY - h - 12;
    TIP.style.left = Math.max(2, x) + "px";
    TIP.style.top = Math.max(2, y) + "px";
  }
  function tipHide() { TIP.classList.remove("show"); }
  /* marks carry data-i; one listener per chart gives the text of mark i */
  function bindTips(svg, textOf, onClick) {
    svg.addEventListener("mouseover", function (e) {
      var t = e.target; if (!t.getAttribute) return;
      var i = t.getAttribute("data-i");
      if (i !== null) tipShow(e, textOf(+i, t));
    });
    svg.addEventListener("mousemove", function (e) { if (TIP.classList.contains("show")) tipMove(e); });
    svg.addEventListener("mouseout", function (e) { if (e.target.getAttribute && e.target.getAttribute("data-i") !== null) tipHide(); });
    if (onClick) svg.addEventListener("click", function (e) {
      var i = e.target.getAttribute && e.target.getAttribute("data-i");
      if (i !== null && i !== undefined) onClick(+i, e.target);
    });
  }

  // ------------------------------------------------------------------ scales and axes
  function niceStep(span, n) {
    var step = Math.pow(10, Math.floor(Math.log10(span / n)));
    var err = n / span * step;
    if (err <= 0.15) step *= 10; else if (err <= 0.35) step *= 5; else if (err <= 0.75) step *= 2;
    return step;
  }
  function scale(dom, range, log) {
    var d0 = dom[0], d1 = dom[1];
    if (log) { d0 = Math.log10(d0); d1 = Math.log10(d1); }
    if (d1 === d0) { d0 -= 0.5; d1 += 0.5; }
    var f = function (v) {
      var t = log ? Math.log10(v) : v;
      return range[0] + (t - d0) / (d1 - d0) * (range[1] - range[0]);
    };
    f.log = !!log; f.dom = dom;
    f.ticks = function (n) {
      var out = [], lo = Math.min(dom[0], dom[1]), hi = Math.max(dom[0], dom[1]);
      if (log) {
        var e0 = Math.ceil(Math.log10(lo) - 1e-9), e1 = Math.floor(Math.log10(hi) + 1e-9);
        if (e1 - e0 >= 1) {
          var every = Math.max(1, Math.ceil((e1 - e0 + 1) / (n || 6)));
          for (var e = e0; e <= e1; e += every) out.push(Math.pow(10, e));
          return out;
        }
        [1, 2, 5].forEach(function (m) {
          for (var e2 = Math.floor(Math.log10(lo)); e2 <= Math.ceil(Math.log10(hi)); e2++) {
            var v = m * Math.pow(10, e2); if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
          }
        });
        out.sort(function (a, b) { return a - b; });
        if (out.length >= 2) return out;
        return [lo, hi];
      }
      var step = niceStep(hi - lo || 1, n || 6);
      for (var v2 = Math.ceil(lo / step) * step; v2 <= hi + step * 1e-9; v2 += step) out.push(Math.abs(v2) < step * 1e-9 ? 0 : v2);
      return out;
    };
    return f;
  }
  function extent(vals, log, pad) {
    var v = vals.filter(function (x) { return isNum(x) && (!log || x > 0); });
    if (!v.length) return log ? [1, 10] : [0, 1];
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
    if (log) { pad = pad === undefined ? 1.25 : pad; if (lo === hi) { lo /= 2; hi *= 2; } return [lo / pad, hi * pad]; }
    pad = pad === undefined ? 0.05 : pad;
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    var span = hi - lo;
    return [lo - span * pad, hi + span * pad];
  }
  function wantLog(vals) {
    var v = vals.filter(isNum);
    if (!v.length || v.some(function (x) { return x <= 0; })) return false;
    return Math.max.apply(null, v) / Math.min.apply(null, v) > 50;
  }
  /* an SVG with margins, axes and grid; returns {svg, plot, x, y, W, H} */
  function frame(parent, o) {
    var W = o.width || 640, H = o.height || 360;
    var m = Object.assign({ l: 72, r: 16, t: 14, b: 42 }, o.margin || {});
    var box = el("div", { "class": "chart-box" }, parent);
    if (o.title) el("h3", null, box, o.title);
    if (o.legend) legend(box, o.legend);
    var svg = sv("svg", { "class": "chart", "data-chart": o.name, viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img" }, box);
    var x = o.xcat ? null : scale(o.xdom, [m.l, W - m.r], o.xlog);
    var y = scale(o.ydom, [H - m.b, m.t], o.ylog);
    var grid = sv("g", { "class": "grid" }, svg), axes = sv("g", { "class": "axis" }, svg);
    y.ticks(6).forEach(function (t) {
      var yy = y(t);
      sv("line", { x1: m.l, x2: W - m.r, y1: yy, y2: yy }, grid);
      sv("text", { x: m.l - 5, y: yy + 3.5, "text-anchor": "end" }, axes, (o.yfmt || fmt)(t, 3));
    });
    if (x) x.ticks(o.xticks || 7).forEach(function (t) {
      var xx = x(t);
      sv("line", { x1: xx, x2: xx, y1: m.t, y2: H - m.b }, grid);
      sv("text", { x: xx, y: H - m.b + 14, "text-anchor": "middle" }, axes, (o.xfmt || fmt)(t, 3));
    });
    sv("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, axes);
    sv("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }, axes);
    if (o.xlab) sv("text", { x: (m.l + W - m.r) / 2, y: H - 6, "text-anchor": "middle" }, axes, o.xlab + (o.xlog ? " (log)" : ""));
    if (o.ylab) sv("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (m.t + H - m.b) / 2 + ")" }, axes, o.ylab + (o.ylog ? " (log)" : ""));
    var plot = sv("g", { "class": "plot" }, svg);
    return { svg: svg, plot: plot, x: x, y: y, W: W, H: H, m: m, box: box };
  }
  function legend(parent, items) {
    var lg = el("div", { "class": "legend" }, parent);
    items.forEach(function (it) {
      var s = el("span", null, lg);
      el("span", { "class": "sw", style: "background:" + it.color + (it.outline ? ";outline:2px solid " + it.outline : "") }, s);
      s.appendChild(document.createTextNode(it.label));
    });
    return lg;
  }

  // ------------------------------------------------------------------ charts
  /* groups: [{label, color, r, pts: [[x, y, i], ...]}]; lines: [{pts: [[x,y],...], color, dash, label, step}] */
  function scatter(parent, o) {
    var xs = [], ys = [];
    o.groups.forEach(function (g) { g.pts.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
    (o.lines || []).forEach(function (l) { l.pts.forEach(function (p) { if (!l.noExtent) { xs.push(p[0]); ys.push(p[1]); } }); });
    var xlog = o.xlog === undefined ? wantLog(xs) : o.xlog, ylog = o.ylog === undefined ? wantLog(ys) : o.ylog;
    var f = frame(parent, Object.assign({}, o, {
      xdom: o.xdom || extent(xs, xlog), ydom: o.ydom || extent(ys, ylog), xlog: xlog, ylog: ylog,
      legend: o.legend || o.groups.map(function (g) { return { label: g.label + " (" + g.pts.length + ")", color: g.color }; })
    }));
    var clipId = "clip" + Math.random().toString(36).slice(2);
    var cp = sv("clipPath", { id: clipId }, f.svg);
    sv("rect", { x: f.m.l, y: f.m.t, width: f.W - f.m.l - f.m.r, height: f.H - f.m.t - f.m.b }, cp);
    var under = sv("g", { "clip-path": "url(#" + clipId + ")", "pointer-events": "none" }, f.plot);
    var marks = sv("g", null, f.plot);
    var over = sv("g", { "clip-path": "url(#" + clipId + ")", "pointer-events": "none" }, f.plot);
    (o.lines || []).forEach(function (l) {
      var lines = l.over ? over : under;       // a summary line over dense points (with a halo), else beneath them
      var pts = l.pts.filter(function (p) { return isNum(p[0]) && isNum(p[1]) && (!xlog || p[0] > 0) && (!ylog || p[1] > 0); });
      if (pts.length < 2) return;
      var d = "";
      pts.forEach(function (p, k) {
        var X = f.x(p[0]), Y = f.y(p[1]);
        if (k === 0) d += "M" + X + "," + Y;
        else if (l.step) d += "H" + X + "V" + Y;
        else d += "L" + X + "," + Y;
      });
      if (l.over) sv("path", { d: d, fill: "none", stroke: "#fff", "stroke-opacity": 0.8, "stroke-width": (l.width || 1.3) + 2 }, lines);
      sv("path", { d: d, fill: "none", stroke: l.color || "#333", "stroke-width": l.width || 1.3, "stroke-dasharray": l.dash || null, "class": "line" }, lines);
    });
    o.groups.forEach(function (g) {
      g.pts.forEach(function (p) {
        if (!isNum(p[0]) || !isNum(p[1]) || (xlog && p[0] <= 0) || (ylog && p[1] <= 0)) return;
        sv("circle", { cx: f.x(p[0]).toFixed(2), cy: f.y(p[1]).toFixed(2), r: g.r || 3.5, fill: g.color, "fill-opacity": g.opacity || 0.85,
          stroke: g.stroke || "none", "class": "mark " + (g.cls || ""), "data-i": p[2] }, marks);
      });
    });
    if (o.tip) bindTips(f.svg, o.tip, o.click);
    return f;
  }
  /* vertical stacked bars: labels[], series {name: [values]} */
  function stackedBars(parent, o) {
    var names = Object.keys(o.series), n = o.labels.length;
    var tot = o.labels.map(function (_, i) { return names.reduce(function (s, k) { return s + (o.series[k][i] || 0); }, 0); });
    var colors = colorMap(names);
    var W = Math.max(640, Math.min(1400, 60 + n * 16));
    var f = frame(parent, { name: o.name, title: o.title, width: W, height: o.height || 380, margin: { b: 120, l: 70 },
      xcat: true, ydom: [0, (Math.max.apply(null, tot.concat([0])) || 1) * 1.05], ylab: o.ylab,
      legend: names.map(function (k) { return { label: k, color: colors[k] }; }) });
    var bw = (f.W - f.m.l - f.m.r) / Math.max(1, n);
    o.labels.forEach(function (lab, i) {
      var y0 = 0, X = f.m.l + i * bw;
      names.forEach(function (k) {
        var v = o.series[k][i] || 0;
        if (v <= 0) return;
        sv("rect", { x: X + bw * 0.1, width: Math.max(0.8, bw * 0.8), y: f.y(y0 + v), height: Math.max(0.5, f.y(y0) - f.y(y0 + v)),
          fill: colors[k], "class": "mark", "data-i": i, "data-series": k }, f.plot);
        y0 += v;
      });
      if (n <= 80) sv("text", { x: X + bw / 2, y: f.H - f.m.b + 8, "text-anchor": "end", transform: "rotate(-60 " + (X + bw / 2) + " " + (f.H - f.m.b + 8) + ")", "font-size": 9.5 }, f.svg, lab);
    });
    bindTips(f.svg, function (i, t) {
      var k = t.getAttribute("data-series");
      return o.labels[i] + "\n" + k + ": " + fmt(o.series[k][i] * (o.scale || 1)) + " " + (o.unit || "") + "\ntotal: " + fmt(tot[i] * (o.scale || 1)) + " " + (o.unit || "");
    });
    return f;
  }
  /* horizontal stacked bars: rows [{label, parts: {k: v}}] */
  function hStack(parent, o) {
    var parts = [];
    o.rows.forEach(function (r) { Object.keys(r.parts).forEach(function (k) { if (parts.indexOf(k) < 0) parts.push(k); }); });
    var colors = colorMap(parts);
    var tot = o.rows.map(function (r) { return Object.keys(r.parts).reduce(function (s, k) { return s + r.parts[k]; }, 0); });
    var H = 60 + 34 * o.rows.length;
    var f = frame(parent, { name: o.name, title: o.title, width: o.width || 720, height: H, margin: { l: 170, b: 36 },
      xdom: [0, (Math.max.apply(null, tot.concat([0])) || 1) * 1.05], ydom: [0, 1], ylab: "", xlab: o.xlab, yfmt: function () { return ""; },
      legend: parts.map(function (k) { return { label: k, color: colors[k] }; }) });
    var bh = (f.H - f.m.t - f.m.b) / Math.max(1, o.rows.length);
    o.rows.forEach(function (r, i) {
      var x0 = 0, Y = f.m.t + i * bh;
      sv("text", { x: f.m.l - 6, y: Y + bh / 2 + 4, "text-anchor": "end" }, f.svg, r.label);
      parts.forEach(function (k) {
        var v = r.parts[k];
        if (!(v > 0)) return;
        sv("rect", { x: f.x(x0), width: Math.max(0.8, f.x(x0 + v) - f.x(x0)), y: Y + bh * 0.15, height: bh * 0.7, fill: colors[k],
          "class": "mark", "data-i": i, "data-series": k }, f.plot);
        x0 += v;
      });
    });
    bindTips(f.svg, function (i, t) {
      var k = t.getAttribute("data-series"), v = o.rows[i].parts[k];
      return o.rows[i].label + "\n" + k + ": " + fmt(v) + " " + (o.unit || "") + " (" + fmt(100 * v / tot[i], 3) + " %)\ntotal: " + fmt(tot[i]) + " " + (o.unit || "");
    });
    return f;
  }
  /* Gantt: lanes [label], bars [{lane, s, e, label, crit, i}] */
  function gantt(parent, o) {
    var H = 70 + 30 * o.lanes.length;
    var xmax = o.bars.reduce(function (m, b) { return Math.max(m, b.e); }, 0) || 1;
    var f = frame(parent, { name: o.name, title: o.title, width: o.width || 1100, height: H, margin: { l: 190, b: 40 },
      xdom: [0, xmax], ydom: [0, 1], xlab: o.xlab, yfmt: function () { return ""; }, legend: o.legend });
    var lh = (f.H - f.m.t - f.m.b) / Math.max(1, o.lanes.length);
    o.lanes.forEach(function (lab, i) {
      sv("text", { x: f.m.l - 6, y: f.m.t + i * lh + lh / 2 + 4, "text-anchor": "end" }, f.svg, lab);
    });
    o.bars.forEach(function (b, k) {
      var X0 = f.x(b.s), X1 = f.x(b.e);
      sv("rect", { x: X0, width: Math.max(0.6, X1 - X0), y: f.m.t + b.lane * lh + lh * 0.18, height: lh * 0.64,
        fill: b.color, stroke: b.crit ? "#d62728" : "#fff", "stroke-width": b.crit ? 1.6 : 0.4,
        "class": "mark" + (b.crit ? " critical" : ""), "data-i": k }, f.plot);
    });
    bindTips(f.svg, function (k) { return o.tip(o.bars[k]); }, o.click ? function (k) { o.click(o.bars[k]); } : null);
    return f;
  }
  /* step line over time: segs [[t0, t1, v]] */
  function stepChart(parent, o) {
    var xs = [0], ys = [0];
    o.segs.forEach(function (s) { xs.push(s[0], s[1]); ys.push(s[2]); });
    (o.hlines || []).forEach(function (h) { ys.push(h.y); });
    var f = frame(parent, { name: o.name, title: o.title, width: o.width || 1000, height: o.height || 320,
      xdom: [0, Math.max.apply(null, xs) || 1], ydom: [0, Math.max.apply(null, ys) * 1.08 || 1], xlab: o.xlab, ylab: o.ylab,
      legend: [{ label: o.label, color: "#1f77b4" }].concat((o.hlines || []).map(function (h) { return { label: h.label, color: h.color }; })) });
    var d = "";
    o.segs.forEach(function (s, k) {
      d += (k === 0 ? "M" : "L") + f.x(s[0]) + "," + f.y(s[2]) + "L" + f.x(s[1]) + "," + f.y(s[2]);
    });
    if (d) sv("path", { d: d, fill: "none", stroke: "#1f77b4", "stroke-width": 1.4, "class": "mark line" }, f.plot);
    // invisible hover targets, one per segment
    o.segs.forEach(function (s, k) {
      sv("rect", { x: f.x(s[0]), width: Math.max(1, f.x(s[1]) - f.x(s[0])), y: f.m.t, height: f.H - f.m.t - f.m.b,
        fill: "transparent", "data-i": k, "class": "hover" }, f.plot);
    });
    (o.hlines || []).forEach(function (h) {
      sv("line", { x1: f.m.l, x2: f.W - f.m.r, y1: f.y(h.y), y2: f.y(h.y), stroke: h.color, "stroke-dasharray": h.dash || null, "stroke-width": 1.2, "class": "mark" }, f.plot);
    });
    bindTips(f.svg, function (k) { return o.tip(k); });
    return f;
  }

  // ------------------------------------------------------------------ table
  /* columns [{key, label, num, fmt, cls}], rows: arrays aligned with columns */
  function Table(parent, o) {
    var self = this;
    this.o = o; this.rows = o.rows; this.cols = o.columns;
    this.pageSize = o.pageSize || 100; this.page = 0; this.sortCol = -1; this.sortDir = 1; this.query = "";
    var tools = el("div", { "class": "dt-tools" }, parent);
    this.search = el("input", { type: "search", placeholder: "filter rows (text in any column)", "aria-label": "filter " + o.name }, tools);
    this.info = el("span", { "class": "dt-info" }, tools);
    this.prev = el("button", { type: "button" }, tools, "\u2039 prev");
    this.next = el("button", { type: "button" }, tools, "next \u203a");
    var wrap = el("div", { "class": "dt-wrap", style: o.maxHeight ? "max-height:" + o.maxHeight + "px" : null }, parent);
    this.table = el("table", { "class": "dt", "data-table": o.name }, wrap);
    var thead = el("thead", null, this.table), tr = el("tr", null, thead);
    this.ths = this.cols.map(function (c, j) {
      var th = el("th", { "class": c.num ? "num" : "", title: c.title || "click to sort", "data-col": c.key }, tr, c.label || c.key);
      th.addEventListener("click", function () { self.sortBy(j); });
      return th;
    });
    this.tbody = el("tbody", null, this.table);
    this.search.addEventListener("input", function () { self.query = self.search.value.trim().toLowerCase(); self.page = 0; self.refresh(); });
    this.prev.addEventListener("click", function () { self.page--; self.render(); });
    this.next.addEventListener("click", function () { self.page++; self.render(); });
    this.refresh();
  }
  Table.prototype.text = function (i) {
    if (!this._text) this._text = [];
    if (this._text[i] === undefined) {
      var r = this.rows[i], cols = this.cols;
      this._text[i] = r.map(function (v, j) { return cols[j] && cols[j].fmt ? cols[j].fmt(v) + " " + (v === null ? "" : v) : fmt(v) + " " + (v === null ? "" : v); }).join(" | ").toLowerCase();
    }
    return this._text[i];
  };
  Table.prototype.refresh = function () {
    var self = this, q = this.query;
    var idx = [];
    for (var i = 0; i < this.rows.length; i++) if (!q || this.text(i).indexOf(q) >= 0) idx.push(i);
    if (this.sortCol >= 0) {
      var j = this.sortCol, dir = this.sortDir;
      idx.sort(function (a, b) {
        var va = self.rows[a][j], vb = self.rows[b][j];
        var na = va === null || va === undefined || va === "", nb = vb === null || vb === undefined || vb === "";
        if (na || nb) return na && nb ? a - b : (na ? 1 : -1);            // blanks last
        if (typeof va === "number" && typeof vb === "number") return (va - vb) * dir || a - b;
        return String(va).localeCompare(String(vb), undefined, { numeric: true }) * dir || a - b;
      });
    }
    this.view = idx;
    this.render();
  };
  Table.prototype.sortBy = function (j) {
    if (this.sortCol === j) this.sortDir = -this.sortDir; else { this.sortCol = j; this.sortDir = 1; }
    this.ths.forEach(function (th, k) { th.classList.remove("sorted-asc", "sorted-desc"); });
    this.ths[j].classList.add(this.sortDir > 0 ? "sorted-asc" : "sorted-desc");
    this.page = 0;
    this.refresh();
  };
  Table.prototype.render = function () {
    var o = this.o, n = this.view.length, pages = Math.max(1, Math.ceil(n / this.pageSize));
    this.page = Math.max(0, Math.min(this.page, pages - 1));
    var a = this.page * this.pageSize, b = Math.min(n, a + this.pageSize);
    this.tbody.textContent = "";
    var frag = document.createDocumentFragment(), cols = this.cols;
    for (var k = a; k < b; k++) {
      var i = this.view[k], r = this.rows[i];
      var tr = document.createElement("tr");
      tr.setAttribute("data-row", i);
      var rc = o.rowClass ? o.rowClass(i) : "";
      if (rc) tr.className = rc;
      if (i === this.hl) tr.classList.add("hl");
      for (var j = 0; j < cols.length; j++) {
        var td = document.createElement("td"), c = cols[j];
        td.textContent = c.fmt ? c.fmt(r[j], i) : fmt(r[j]);
        var cls = (c.num ? "num " : "") + (c.cls ? (typeof c.cls === "function" ? c.cls(r[j], i) : c.cls) : "");
        if (cls.trim()) td.className = cls.trim();
        tr.appendChild(td);
      }
      if (o.onClick) tr.addEventListener("click", o.onClick.bind(null, i));
      frag.appendChild(tr);
    }
    this.tbody.appendChild(frag);
    this.info.textContent = n ? "rows " + (a + 1) + "\u2013" + b + " of " + n + (n !== this.rows.length ? " (filtered from " + this.rows.length + ")" : "") : "no rows match";
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
    var hide = this.rows.length <= this.pageSize;
    this.prev.style.display = this.next.style.display = hide ? "none" : "";
  };
  /* bring row i into view: clear a filter that hides it, go to its page, highlight it */
  Table.prototype.showRow = function (i) {
    if (this.view.indexOf(i) < 0) { this.search.value = ""; this.query = ""; this.refresh(); }
    var pos = this.view.indexOf(i);
    if (pos < 0) return;
    this.hl = i;
    this.page = Math.floor(pos / this.pageSize);
    this.render();
    var tr = this.tbody.querySelector('tr[data-row="' + i + '"]');
    if (tr) tr.scrollIntoView({ block: "center" });
  };

  function kvTable(parent, name, rows, opts) {
    return new Table(parent, Object.assign({ name: name, columns: [{ key: "key", label: "key" }, { key: "value", label: "value", cls: "wrap" }],
      rows: rows, pageSize: 50 }, opts || {}));
  }

  // ------------------------------------------------------------------ run report
  function renderRun(R) {
    var main = document.getElementById("main");
    // summary
    var s = section("summary", "Summary", main);
    var cards = el("div", { "class": "cards" }, s);
    R.summary.forEach(function (m) {
      var c = el("div", { "class": "metric", "data-metric": m.key }, cards);
      el("div", { "class": "k" }, c, m.label);
      el("div", { "class": "v" }, c, fmt(m.value) + (m.unit ? " " + m.unit : ""));
      if (m.baseline !== undefined && m.baseline !== null) el("div", { "class": "s" }, c, "baseline " + fmt(m.baseline) + " " + (m.unit || "") + (isNum(m.ratio) ? "  (" + fmt(m.ratio, 3) + "\u00d7 " + m.ratio_label + ")" : ""));
      if (m.limit !== undefined && m.limit !== null) {
        var b = el("div", { "class": "s" }, c, "budget " + fmt(m.limit) + " " + (m.unit || "") + " ");
        el("span", { "class": "badge " + (m.within ? "ok" : "bad") }, b, m.within ? "within" : "over");
      }
    });
    if (R.budget) {
      var p = el("p", null, s, "Budget check: ");
      el("span", { "class": "badge " + (R.budget.ok ? "ok" : "bad") }, p, R.budget.ok ? "ok" : "exceeded: " + (R.budget.exceeded || []).join(", "));
    } else note(s, "No [budget] in the arch: nothing to check against.");
    if (R.baseline) note(s, "Baseline: " + R.baseline.arch + " on the same ops. Ratios are baseline \u00f7 this design (speedup " + fmt(R.speedup, 3) + "\u00d7, energy gain " + fmt(R.energy_gain, 3) + "\u00d7).");
    (R.warnings || []).forEach(function (w) { note(s, "warning: " + w); });

    // ops table
    var so = section("ops", "Per-op results", main);
    note(so, R.ops.rows.length + " ops. Click a header to sort, type to filter. Columns in SI units (s, J, FLOP, bytes).");
    var opCols = R.ops.columns.map(function (c) { return { key: c, label: c, num: R.ops.numeric.indexOf(c) >= 0 }; });
    var critCol = R.ops.columns.indexOf("critical");
    var opsTable = new Table(so, { name: "ops", columns: opCols, rows: R.ops.rows, pageSize: 100,
      rowClass: function (i) { return critCol >= 0 && R.ops.rows[i][critCol] ? "critical" : ""; } });

    // schedule
    var sg = section("schedule", "Schedule (Gantt per resource)", main);
    var G = R.gantt;
    note(sg, G.note);
    // colour by component, or by op kind when one component runs everything
    var comps = [], kinds = [];
    G.bars.forEach(function (b) { if (comps.indexOf(b.component) < 0) comps.push(b.component); if (kinds.indexOf(b.kind) < 0) kinds.push(b.kind); });
    var byKind = comps.length === 1 && kinds.length > 1, groups = byKind ? kinds : comps;
    var cc = colorMap(groups), colorOf = function (b) { return cc[byKind ? b.kind : b.component]; };
    var leg = groups.map(function (c) { return { label: (byKind ? "op " : "") + c, color: cc[c] }; });
    if (G.has_critical) leg.push({ label: "critical path (red outline)", color: "#fff", outline: "#d62728" });
    gantt(sg, { name: "gantt", lanes: G.lanes.map(function (l) { return l.label; }), xlab: "time (ms)", legend: leg,
      bars: G.bars.map(function (b) { return { lane: b.lane, s: b.start_s * 1e3, e: b.end_s * 1e3, crit: b.critical, op: b.op, color: colorOf(b), b: b }; }),
      tip: function (bar) {
        var b = bar.b;
        return b.name + " (" + b.kind + ")\nresource: " + G.lanes[b.lane].name + "\nstart " + fmt(b.start_s) + " s, end " + fmt(b.end_s) + " s\nlatency " + fmt(b.end_s - b.start_s) + " s" + (b.critical ? "\non the critical path" : "");
      },
      click: function (bar) { opsTable.showRow(bar.b.op); } });
    if (G.lanes.some(function (l) { return isNum(l.utilization); })) {
      new Table(sg, { name: "resources", columns: [{ key: "resource" }, { key: "busy_s", num: true }, { key: "utilization", num: true, fmt: function (v) { return isNum(v) ? fmt(100 * v, 3) + " %" : ""; } }],
        rows: G.lanes.map(function (l) { return [l.name, l.busy_s, l.utilization]; }), pageSize: 50 });
    }
    if (G.critical_path && G.critical_path.length) note(sg, "Critical path: " + G.critical_path.join(" \u2192 "));

    // energy / area / power
    var se = section("energy", "Energy and area", main);
    if (R.energy && R.energy.labels.length) {
      stackedBars(se, { name: "energy", title: "Energy per op by action class (" + R.energy.unit + ")" + (R.energy.grouped ? " \u2014 grouped by op name" : ""),
        labels: R.energy.labels, series: R.energy.series, ylab: "energy (" + R.energy.unit + ")", unit: R.energy.unit });
      note(se, "Leakage is the static power times each op's latency. Total " + fmt(R.totals.energy_j) + " J.");
    } else note(se, "No energy model priced this run (report.json has no energy_j per op).");
    var g2 = el("div", { "class": "grid2" }, se);
    if (R.area && R.area.length) hStack(g2, { name: "area", title: "Area by component and part (mm\u00b2)", rows: R.area, xlab: "area (mm\u00b2)", unit: "mm\u00b2" });
    if (R.energy_components && R.energy_components.length) hStack(g2, { name: "energy_components", title: "Energy by component and class (J)", rows: R.energy_components, xlab: "energy (J)", unit: "J" });

    var sp = section("power", "Power over time", main);
    if (R.power && R.power.segs.length) {
      var hl = [];
      if (isNum(R.power.avg_w)) hl.push({ y: R.power.avg_w, label: "average " + fmt(R.power.avg_w) + " W", color: "#2ca02c", dash: "5,4" });
      if (isNum(R.power.limit_w)) hl.push({ y: R.power.limit_w, label: R.power.limit_label + " " + fmt(R.power.limit_w) + " W", color: "#d62728" });
      stepChart(sp, { name: "power", label: "power", segs: R.power.segs.map(function (s) { return [s[0] * 1e3, s[1] * 1e3, s[2]]; }),
        hlines: hl, xlab: "time (ms)", ylab: "power (W)",
        tip: function (k) { var s2 = R.power.segs[k]; return fmt(s2[2]) + " W from " + fmt(s2[0]) + " s to " + fmt(s2[1]) + " s" + (s2[3] ? "\nop: " + s2[3] : "") + (s2[4] > 1 ? " (" + s2[4] + " ops active)" : ""); } });
      note(sp, R.power.note);
    } else note(sp, "No power trace in report.json.");

    // roofline
    var sr = section("roofline", "Roofline of the ops", main);
    var RF = R.roofline;
    if (RF.points.length) {
      var bounds = [];
      RF.points.forEach(function (p) { if (bounds.indexOf(p[3]) < 0) bounds.push(p[3]); });
      var bc = colorMap(bounds);
      var xs = RF.points.map(function (p) { return p[0]; }), ys = RF.points.map(function (p) { return p[1]; });
      var xd = extent(xs, true, 3), yd = extent(ys.concat(RF.roofs.map(function (r) { return r.peak_flop_s; })), true, 2);
      var lines = RF.roofs.map(function (r, k) {
        var knee = r.peak_flop_s / r.bandwidth_bytes_s, pts = [];
        [xd[0], knee, xd[1]].sort(function (a, b) { return a - b; }).forEach(function (x) { if (x >= xd[0] && x <= xd[1]) pts.push([x, Math.min(r.peak_flop_s, r.bandwidth_bytes_s * x)]); });
        return { pts: pts, color: ["#444", "#888", "#b55"][k % 3], dash: r.observed ? "6,4" : null, noExtent: true, width: 1.6 };
      });
      scatter(sr, { name: "roofline", xlab: "arithmetic intensity (FLOP / DRAM byte)", ylab: "achieved FLOP/s", width: 860, height: 400,
        xlog: true, ylog: true, xdom: xd, yd: null, ydom: yd, lines: lines,
        groups: bounds.map(function (bd) { return { label: "bound: " + bd, color: bc[bd], r: 4, pts: RF.points.filter(function (p) { return p[3] === bd; }).map(function (p) { return [p[0], p[1], p[2]]; }) }; }),
        tip: function (i) { var r = R.ops.rows[i], c = R.ops.columns; var get = function (k) { return r[c.indexOf(k)]; };
          return get("name") + " (" + get("op") + " on " + get("component") + ")\nintensity " + fmt(get("flops") / get("dram_bytes")) + " FLOP/B\nachieved " + fmt(get("flops") / get("latency_s")) + " FLOP/s\nbound: " + get("bound"); },
        click: function (i) { opsTable.showRow(i); } });
      note(sr, RF.note + " " + RF.roofs.map(function (r) { return r.label + ": " + fmt(r.peak_flop_s) + " FLOP/s, " + fmt(r.bandwidth_bytes_s) + " B/s"; }).join("; ") + ". Ops without DRAM traffic or FLOPs are left out (" + RF.skipped + ").");
    } else note(sr, "No op has both FLOPs and DRAM bytes.");

    // provenance and manifest
    var spv = section("provenance", "Provenance (source of every number)", main);
    if (R.provenance.scalars.length) kvTable(spv, "provenance_scalars", R.provenance.scalars);
    if (R.provenance.sources.length) {
      el("h3", null, spv, "sources");
      new Table(spv, { name: "sources", columns: [{ key: "key" }, { key: "source", cls: "wrap" }], rows: R.provenance.sources, pageSize: 40 });
    }
    var sm = section("manifest", "Manifest (how to rerun)", main);
    if (R.manifest) {
      if (R.manifest.rerun) { el("div", { "class": "note" }, sm, "rerun:"); el("pre", null, sm, R.manifest.rerun); }
      kvTable(sm, "manifest", R.manifest.fields);
      if (R.manifest.inputs.length) new Table(sm, { name: "inputs", columns: [{ key: "input" }, { key: "copy" }, { key: "sha256" }], rows: R.manifest.inputs });
    } else note(sm, "No manifest.json in the folder (a report.json written with --json alone).");
  }

  // ------------------------------------------------------------------ sweep report
  function renderSweep(S) {
    var main = document.getElementById("main");
    var s = section("summary", "Summary", main);
    var cards = el("div", { "class": "cards" }, s);
    [["points", S.counts.points], ["ok", S.counts.ok], ["failed", S.counts.failed], ["feasible", S.counts.feasible], ["on a Pareto front", S.counts.pareto]].forEach(function (kv) {
      var c = el("div", { "class": "metric", "data-metric": kv[0] }, cards);
      el("div", { "class": "k" }, c, kv[0]); el("div", { "class": "v" }, c, fmt(kv[1]));
    });
    note(s, "Objectives: " + S.objectives.map(function (o) { return o[0] + " (" + o[1] + ")"; }).join(", ") + ". Constraints: " + (S.constraints.length ? S.constraints.join("; ") : "none") + (S.budget ? "; the arch's [budget]" : "") + ".");
    if (S.description) note(s, S.description);
    if (S.truncated) note(s, S.truncated);

    var C = S.columns, col = function (k) { return C.indexOf(k); };
    var iIdx = col("idx"), iWl = col("workload"), iSt = col("status"), iFe = col("feasible"), iPa = col("pareto");
    var pointsSection, table;
    function tipText(i) {
      var r = S.rows[i], lines = ["point " + r[iIdx] + " \u2014 " + r[iWl]];
      S.param_keys.forEach(function (k) { lines.push(S.short[k] + " = " + fmt(r[col(k)])); });
      S.objectives.forEach(function (o) { lines.push(o[0] + " = " + fmt(r[col(o[0])])); });
      lines.push(r[iSt] !== "ok" ? "failed" : (r[iPa] ? "on the Pareto front" : (r[iFe] ? "feasible" : "infeasible: " + r[col("violations")])));
      return lines.join("\n");
    }
    function openRow(i) { table.showRow(i); }

    // Pareto
    var sp = section("pareto", "Pareto front", main);
    var ctl = el("div", { "class": "dt-tools" }, sp);
    var holder = el("div", null, sp);
    var wls = S.workloads;
    var sel = null;
    if (wls.length > 1) {
      el("span", null, ctl, "workload: ");
      sel = el("select", { "aria-label": "workload" }, ctl);
      wls.forEach(function (w) { el("option", { value: w }, sel, w); });
    }
    var X = S.pareto_axes[0], Y = S.pareto_axes[1];
    function drawPareto() {
      holder.textContent = "";
      var wl = sel ? sel.value : wls[0];
      var groups = { inf: [], fea: [], par: [] };
      S.rows.forEach(function (r, i) {
        if (r[iSt] !== "ok" || r[iWl] !== wl) return;
        var x = r[col(X)], y = r[col(Y)];
        if (!isNum(x) || !isNum(y)) return;
        (r[iPa] ? groups.par : r[iFe] ? groups.fea : groups.inf).push([x, y, i]);
      });
      var front = groups.par.map(function (p) { return [p[0], p[1]]; }).sort(function (a, b) { return a[0] - b[0]; });
      scatter(holder, { name: "pareto", xlab: X, ylab: Y, width: 900, height: 440,
        groups: [{ label: "infeasible", color: "#b0b6c0", r: 2.6, pts: groups.inf, cls: "infeasible" },
                 { label: "feasible", color: "#1f77b4", r: 3.2, pts: groups.fea, cls: "feasible" },
                 { label: "Pareto front", color: "#d62728", r: 5, pts: groups.par, stroke: "#fff", cls: "front" }],
        lines: S.objectives.length === 2 && front.length > 1 ? [{ pts: front, color: "#d62728", step: true }] : [],
        tip: tipText, click: openRow });
    }
    if (sel) sel.addEventListener("change", drawPareto);
    drawPareto();
    note(sp, (S.objectives.length > 2 ? "First two of " + S.objectives.length + " objectives shown. " : "") + (S.objectives.length === 1 ? "One objective: plotted against the first swept parameter. " : "") + "Hover a point for its design; click it to open its row in the table below.");

    // sensitivity
    var ss = section("sensitivity", "Sensitivity", main);
    var obj = S.objectives[0][0];
    note(ss, obj + " (" + S.objectives[0][1] + ") against each swept parameter: every point (dots) and the median per value (line; per bin of 20 when a parameter takes many values).");
    var g = el("div", { "class": "grid2" }, ss);
    S.sensitivity.forEach(function (k) {
      var ci = col(k), oi = col(obj), byVal = new Map(), numeric = true;
      S.rows.forEach(function (r) {
        var v = r[ci];
        if (!byVal.has(v)) byVal.set(v, []);
        if (!isNum(v)) numeric = false;
        if (r[iSt] === "ok" && isNum(r[oi])) byVal.get(v).push(r[oi]);
      });
      var vals = Array.from(byVal.keys()).sort(function (a, b) { return numeric ? a - b : String(a).localeCompare(String(b)); });
      var catIndex = new Map(vals.map(function (v, j) { return [v, j + 1]; }));
      var pos = function (v) { return numeric ? v : catIndex.get(v); };
      var fea = [], inf = [], med = [];
      S.rows.forEach(function (r, i) {
        if (r[iSt] !== "ok" || !isNum(r[oi])) return;
        (r[iFe] ? fea : inf).push([pos(r[ci]), r[oi], i]);
      });
      var median = function (ys) { ys.sort(function (a, b) { return a - b; }); var n = ys.length; return n % 2 ? ys[(n - 1) / 2] : 0.5 * (ys[n / 2 - 1] + ys[n / 2]); };
      var xlog = numeric && wantLog(vals);
      if (numeric && vals.length > 24) {
        // many distinct values (random sampling): medians over 20 equal-width bins (log-spaced on a log axis)
        var lo = vals[0], hi = vals[vals.length - 1], nb = 20, tr = xlog ? Math.log : function (x) { return x; };
        var bins = []; for (var b = 0; b < nb; b++) bins.push([]);
        byVal.forEach(function (ys, v) { var b2 = Math.min(nb - 1, Math.floor((tr(v) - tr(lo)) / ((tr(hi) - tr(lo)) || 1) * nb)); Array.prototype.push.apply(bins[b2], ys); });
        bins.forEach(function (ys, b3) { if (ys.length) { var c = tr(lo) + (b3 + 0.5) * (tr(hi) - tr(lo)) / nb; med.push([xlog ? Math.exp(c) : c, median(ys)]); } });
      } else {
        vals.forEach(function (v) { var ys = byVal.get(v).slice(); if (ys.length) med.push([pos(v), median(ys)]); });
      }
      scatter(g, { name: "sensitivity", title: k, xlab: S.short[k], ylab: obj, width: 560, height: 300, xlog: xlog,
        xdom: numeric ? null : [0.5, vals.length + 0.5], xticks: numeric ? 7 : vals.length,
        xfmt: numeric ? null : function (t) { return Number.isInteger(t) && t >= 1 && t <= vals.length ? String(vals[t - 1]) : ""; },
        groups: [{ label: "infeasible", color: "#b0b6c0", r: 2.4, pts: inf }, { label: "feasible", color: "#1f77b4", r: 2.8, pts: fea, opacity: 0.6 }],
        lines: [{ pts: med, color: "#ff7f0e", width: 2, over: true }], tip: tipText, click: openRow });
    });
    if (!S.sensitivity.length) note(ss, "No parameter takes more than one value.");

    // best points
    var sb = section("best", "Best point per objective", main);
    new Table(sb, { name: "best", columns: [{ key: "workload" }, { key: "objective" }, { key: "goal" }, { key: "value", num: true }, { key: "point", num: true }, { key: "parameters", cls: "wrap" }],
      rows: S.best, onClick: function (k) { openRow(S.best_rows[k]); } });
    note(sb, "Among feasible points, per workload. Click a row to open the point below.");

    // all points
    pointsSection = section("points", "All points", main);
    note(pointsSection, "Every stored point (the table of points.csv). Red edge: on the Pareto front; red text: failed.");
    table = new Table(pointsSection, { name: "points", columns: C.map(function (c) { return { key: c, label: S.short[c] || c, num: S.numeric.indexOf(c) >= 0, title: c }; }), rows: S.rows, pageSize: 50,
      rowClass: function (i) { var r = S.rows[i]; return (r[iPa] ? "pareto " : "") + (r[iSt] !== "ok" ? "failed" : ""); } });

    var sf = section("failed", "Failed points", main);
    if (S.failed.length) new Table(sf, { name: "failed", columns: [{ key: "point", num: true }, { key: "workload" }, { key: "parameters", cls: "wrap" }, { key: "error", cls: "wrap" }], rows: S.failed, pageSize: 50 });
    else note(sf, "None: every point ran.");
  }

  // ------------------------------------------------------------------ reproduction report
  function renderReproduce(P) {
    var main = document.getElementById("main");
    var s = section("summary", "Summary", main);
    var cards = el("div", { "class": "cards" }, s);
    [["quantities", P.rows.length], ["with a paper value", P.counts.paired], ["within 10 %", P.counts.good], ["within 10\u201350 %", P.counts.fair], ["off by > 50 %", P.counts.poor]].forEach(function (kv) {
      var c = el("div", { "class": "metric", "data-metric": kv[0] }, cards);
      el("div", { "class": "k" }, c, kv[0]); el("div", { "class": "v" }, c, fmt(kv[1]));
    });
    note(s, "Agreement colours: green = archsim within 10 % of the paper, amber = within 50 %, red = further off. Ratio = archsim \u00f7 paper.");
    var C = P.columns, ri = C.indexOf("ratio");
    var sc = section("compare", "Paper vs archsim", main);
    var pts = [];
    P.rows.forEach(function (r, i) { if (isNum(r[C.indexOf("paper")]) && isNum(r[C.indexOf("archsim")]) && r[C.indexOf("paper")] > 0 && r[C.indexOf("archsim")] > 0) pts.push([r[C.indexOf("paper")], r[C.indexOf("archsim")], i]); });
    var table;
    if (pts.length) {
      var all = pts.map(function (p) { return p[0]; }).concat(pts.map(function (p) { return p[1]; }));
      var dom = extent(all, true, 2);
      var cls = function (i) { return P.agree[i]; };
      var colors = { good: "#2ca02c", fair: "#e0a100", poor: "#d62728" };
      scatter(sc, { name: "paper_vs_archsim", xlab: "paper value", ylab: "archsim value", width: 620, height: 440, xlog: true, ylog: true, xdom: dom, ydom: dom,
        lines: [{ pts: [dom, dom].map(function (d, k) { return [dom[k], dom[k]]; }), color: "#555", dash: "4,3", noExtent: true },
                { pts: [[dom[0], dom[0] * 1.1], [dom[1], dom[1] * 1.1]], color: "#9c9", noExtent: true },
                { pts: [[dom[0], dom[0] / 1.1], [dom[1], dom[1] / 1.1]], color: "#9c9", noExtent: true }],
        groups: ["good", "fair", "poor"].map(function (k) { return { label: { good: "within 10 %", fair: "within 50 %", poor: "> 50 % off" }[k], color: colors[k], r: 4.5, pts: pts.filter(function (p) { return cls(p[2]) === k; }) }; }),
        tip: function (i) { var r = P.rows[i]; return r[0] + " [" + r[2] + "]\n" + r[1] + "\npaper " + fmt(r[3]) + ", archsim " + fmt(r[4]) + ", ratio " + fmt(r[5], 3); },
        click: function (i) { table.showRow(i); } });
      note(sc, "Dashed: equal; green lines: \u00b110 %. Units differ between quantities (each row has its own).");
    } else note(sc, "No quantity has both a paper value and an archsim value.");
    var st = section("quantities", "Every quantity", main);
    table = new Table(st, { name: "quantities", columns: C.map(function (c) { return { key: c, label: c, num: ["paper", "archsim", "ratio"].indexOf(c) >= 0, cls: c === "ratio" ? function (v, i) { return P.agree[i] ? "agree-" + P.agree[i] : ""; } : (c === "params" ? "wrap" : "") }; }),
      rows: P.rows, pageSize: 100 });
    var sn = section("notes", "Notes", main);
    if (P.notes.length) { var ul = el("ul", { "class": "notes" }, sn); P.notes.forEach(function (n) { el("li", null, ul, n); }); } else note(sn, "No notes.");
    var spl = section("plots", "The study's plots", main);
    if (P.plots.length) { var gp = el("div", { "class": "grid2" }, spl); P.plots.forEach(function (p) { var b = el("div", null, gp); el("h3", null, b, p.name); el("img", { "class": "plot", src: p.src, alt: p.name }, b); }); }
    else note(spl, "No plot files found in the folder.");
  }

  // ------------------------------------------------------------------ comparison report
  function renderCompare(Cm) {
    var main = document.getElementById("main");
    var s = section("runs", "Runs", main);
    new Table(s, { name: "runs", columns: [{ key: "label" }, { key: "folder" }, { key: "arch" }, { key: "workload" }, { key: "latency_s", num: true }, { key: "energy_j", num: true }], rows: Cm.runs });
    note(s, "Ratios are each run \u00f7 " + Cm.labels[0] + " (the first folder): below 1 means smaller (faster, less energy).");
    var sd = section("inputs", "What differs in the inputs", main);
    if (Cm.diff.rows.length) new Table(sd, { name: "diff", columns: Cm.diff.columns.map(function (c) { return { key: c, label: c, cls: "wrap" }; }), rows: Cm.diff.rows, pageSize: 100 });
    else note(sd, "The resolved configs, workloads and overrides are identical.");
    (Cm.diff.notes || []).forEach(function (n) { note(sd, n); });
    var st = section("totals", "Totals", main);
    new Table(st, { name: "totals", columns: Cm.totals.columns.map(function (c, j) { return { key: c, label: c, num: j > 0 }; }), rows: Cm.totals.rows });
    var ratios = Cm.totals.rows.filter(function (r) { return Cm.labels.slice(1).some(function (l, k) { return isNum(r[Cm.totals.columns.indexOf(l + " / " + Cm.labels[0])]); }); });
    if (ratios.length && Cm.labels.length > 1) {
      var series = {};
      Cm.labels.slice(1).forEach(function (l) { series[l] = ratios.map(function (r) { var v = r[Cm.totals.columns.indexOf(l + " / " + Cm.labels[0])]; return isNum(v) ? v : 0; }); });
      groupedBars(st, { name: "totals_ratio", title: "Totals relative to " + Cm.labels[0], labels: ratios.map(function (r) { return r[0]; }), series: series, ylab: "ratio to " + Cm.labels[0] });
    }
    var so = section("ops", "Per op", main);
    note(so, Cm.ops.note);
    new Table(so, { name: "compare_ops", columns: Cm.ops.columns.map(function (c, j) { return { key: c, label: c, num: j > 1 }; }), rows: Cm.ops.rows, pageSize: 100 });
  }
  function groupedBars(parent, o) {
    var names = Object.keys(o.series), n = o.labels.length, colors = colorMap(names);
    var all = []; names.forEach(function (k) { all = all.concat(o.series[k]); });
    var f = frame(parent, { name: o.name, title: o.title, width: Math.max(600, 90 * n + 100), height: 320, margin: { b: 70 }, xcat: true,
      ydom: [0, Math.max(1.1, Math.max.apply(null, all) * 1.1)], ylab: o.ylab, legend: names.map(function (k) { return { label: k, color: colors[k] }; }) });
    var bw = (f.W - f.m.l - f.m.r) / Math.max(1, n);
    sv("line", { x1: f.m.l, x2: f.W - f.m.r, y1: f.y(1), y2: f.y(1), stroke: "#555", "stroke-dasharray": "4,3" }, f.plot);
    o.labels.forEach(function (lab, i) {
      names.forEach(function (k, j) {
        var v = o.series[k][i], w = bw * 0.8 / names.length, X = f.m.l + i * bw + bw * 0.1 + j * w;
        sv("rect", { x: X, width: w, y: f.y(v), height: Math.max(0.5, f.y(0) - f.y(v)), fill: colors[k], "class": "mark", "data-i": i, "data-series": k }, f.plot);
      });
      sv("text", { x: f.m.l + i * bw + bw / 2, y: f.H - f.m.b + 14, "text-anchor": "middle" }, f.svg, lab);
    });
    bindTips(f.svg, function (i, t) { var k = t.getAttribute("data-series"); return o.labels[i] + "\n" + k + ": " + fmt(o.series[k][i], 4) + "\u00d7"; });
  }

  // ------------------------------------------------------------------ go
  var renderers = { run: renderRun, sweep: renderSweep, reproduce: renderReproduce, compare: renderCompare };
  try {
    renderers[D.kind](D);
    document.body.setAttribute("data-rendered", "1");
  } catch (err) {
    var m = document.getElementById("main");
    el("pre", { "class": "render-error" }, m, "The report could not be drawn: " + err + "\n" + (err.stack || ""));
    document.body.setAttribute("data-rendered", "error");
    throw err;
  }
})();
