// monitor443 report page: builds uPlot charts from the JSON in
// #report-data (a report) or from api/v1/report (the live page). Each
// chart's section gets data-points (points with a value) and data-spans
// (the alert kinds drawn on it), which the browser test reads.
(function () {
  "use strict";
  var errors = document.getElementById("errors");
  function fail(msg) {
    errors.hidden = false;
    var li = document.createElement("li");
    li.textContent = msg;
    errors.appendChild(li);
  }
  window.addEventListener("error", function (e) { fail("script error: " + (e.message || e)); });
  document.addEventListener("securitypolicyviolation", function (e) { fail("blocked request: " + e.blockedURI); });

  var charts = [
    { id: "bytes", title: "Bytes/s by direction", bytes: true,
      series: [["bytes_in", "client → server", "#1f77b4"], ["bytes_out", "server → client", "#d62728"]] },
    { id: "conns", title: "New connections/s", series: [["new_conns", "new flows", "#2ca02c"]] },
    { id: "syn", title: "SYN/s against completed handshakes/s",
      series: [["syn", "SYN", "#d62728"], ["handshakes", "completed handshakes", "#2ca02c"]] },
    { id: "hellos", title: "TLS ClientHellos/s", series: [["client_hellos", "ClientHellos", "#9467bd"]] },
    { id: "quic", title: "QUIC Initials/s", series: [["quic_initials", "QUIC client Initials", "#8c564b"]] }
  ];

  function si(v) {
    if (v == null) return "";
    var a = Math.abs(v), u = ["", "k", "M", "G", "T"], i = 0;
    while (a >= 1000 && i < u.length - 1) { a /= 1000; v /= 1000; i++; }
    return (Math.round(v * 10) / 10) + u[i];
  }

  // spansPlugin shades each alert's time span and, where the detector had
  // learned one, its normal band, using uPlot's canvas coordinates.
  function spansPlugin(spans) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          spans.forEach(function (s) {
            var x0 = Math.max(u.bbox.left, u.valToPos(s.start, "x", true));
            var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(s.end, "x", true));
            if (x1 < x0) return;
            x1 = Math.max(x1, x0 + 2);
            ctx.fillStyle = "rgba(220, 40, 40, 0.15)";
            ctx.fillRect(x0, top, x1 - x0, h);
            if (s.lower != null && s.upper != null) {
              var y0 = u.valToPos(s.upper, "y", true), y1 = u.valToPos(s.lower, "y", true);
              y0 = Math.max(top, y0); y1 = Math.min(top + h, y1);
              if (y1 > y0) {
                ctx.fillStyle = "rgba(40, 160, 40, 0.25)";
                ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
              }
            }
          });
          ctx.restore();
        }]
      }
    };
  }

  var plots = [], live = !!document.body.dataset.live;

  function bytesText(n) {
    return si(n).replace(/([0-9.]+)(\D*)$/, "$1 $2") + "B";
  }

  // chart draws one chart of c's columns from tl into box, with spans.
  // xr, when set, fixes the time axis (a server's charts share the
  // global one's range).
  function chart(box, id, c, tl, spans, width, height, xr) {
    var sec = document.createElement("section");
    sec.className = "chart";
    sec.id = "chart-" + id;
    var h = document.createElement("h3");
    h.textContent = c.title;
    sec.appendChild(h);
    box.appendChild(sec);
    var cols = [tl.t], series = [{}], points = 0;
    c.series.forEach(function (s) {
      var col = tl.columns[s[0]] || [];
      cols.push(col);
      col.forEach(function (v) { if (v != null) points++; });
      series.push({ label: s[1], stroke: s[2], width: 1.5, value: function (u, v) { return si(v); } });
    });
    var opts = {
      width: width, height: height, series: series, plugins: [spansPlugin(spans)],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      axes: [{}, { size: 60, values: function (u, vals) { return vals.map(si); } }],
      scales: { y: { range: function (u, lo, hi) {
        spans.forEach(function (s) { if (s.upper != null) hi = Math.max(hi, s.upper); });
        return [0, hi > 0 ? hi * 1.1 : 1];
      } } }
    };
    if (xr) opts.scales.x = { time: true, range: function () { return xr; } };
    var p = new uPlot(opts, cols, sec);
    plots.push(p);
    if (!live) p.over.addEventListener("click", function (e) {
      var t = p.posToVal(e.offsetX, "x");
      spans.forEach(function (s) { if (t >= s.start && t <= s.end) location.hash = "incident-" + s.id; });
    });
    var legend = document.createElement("p");
    legend.className = "spans";
    spans.forEach(function (s) {
      var a = document.createElement(live ? "span" : "a");
      if (!live) a.href = "#incident-" + s.id;
      a.textContent = "▮ " + s.label.trim() + " " + new Date(s.start * 1e3).toISOString().slice(11, 19) + "Z";
      legend.appendChild(a);
    });
    sec.appendChild(legend);
    sec.dataset.points = String(points);
    sec.dataset.spans = spans.map(function (s) { return s.kind; }).join(",");
    return sec;
  }

  function clearBox(id) {
    var box = document.getElementById(id);
    box.style.minHeight = box.offsetHeight + "px"; // keep the scroll position across a refresh
    box.textContent = "";
    return box;
  }

  function render(data) {
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    var box = clearBox("charts");
    var tl = data.timeline, width = Math.max(400, box.clientWidth || 1000);
    var spans = data.spans || [];
    charts.forEach(function (c) {
      chart(box, c.id, c, tl, spans.filter(function (s) { return !s.server && s.chart === c.id; }), width, 220);
    });
    // The busiest servers: each its five charts, smaller, on the global
    // time axis.
    var servers = data.servers || [], sbox = clearBox("server-charts");
    document.getElementById("servers").hidden = !servers.length;
    var xr = tl.t.length ? [tl.t[0], tl.t[tl.t.length - 1]] : null;
    var sw = Math.max(300, Math.floor((width - 32) / 3));
    servers.forEach(function (sv, i) {
      var div = document.createElement("div");
      div.className = "server";
      div.id = "server-" + i;
      div.dataset.server = sv.server;
      var h = document.createElement("h3");
      var code = document.createElement("code");
      code.textContent = sv.server;
      h.appendChild(code);
      var note = " · " + (sv.exact ? "" : "at most ") + bytesText(sv.bytes) + " over the run";
      if (sv.by_alert) note += " · charted as the target of an alert";
      if (sv.from) {
        note += " · tracked from " + new Date(sv.from * 1e3).toISOString().slice(11, 19) + "Z";
      }
      h.appendChild(document.createTextNode(note));
      div.appendChild(h);
      var grid = document.createElement("div");
      grid.className = "grid";
      div.appendChild(grid);
      sbox.appendChild(div);
      charts.forEach(function (c) {
        chart(grid, "s" + i + "-" + c.id, c, sv.timeline, spans.filter(function (s) {
          return s.server === sv.server && s.chart === c.id;
        }), sw, 150, xr);
      });
    });
    document.body.dataset.charts = String(plots.length);
    // Requests other than the live page's own data: a report makes none.
    document.body.dataset.requests = String(performance.getEntriesByType("resource").filter(function (e) {
      return !/\/api\/v1\/report$/.test(e.name);
    }).length);
  }

  function alertsTable(alerts) {
    var body = document.getElementById("alert-rows");
    body.textContent = "";
    if (!alerts.length) {
      var tr = body.insertRow(), td = tr.insertCell();
      td.colSpan = 6;
      td.textContent = "none";
      return;
    }
    alerts.forEach(function (a) {
      var tr = body.insertRow();
      [a.kind, a.severity, a.scope, a.target, a.start, a.summary].forEach(function (v) {
        tr.insertCell().textContent = v || "";
      });
    });
  }

  if (live) {
    var refresh = function () {
      fetch("api/v1/report", { cache: "no-store" }).then(function (r) {
        if (!r.ok) throw new Error("api/v1/report: " + r.status);
        return r.json();
      }).then(function (d) {
        render(d);
        alertsTable(d.alerts || []);
        document.body.dataset.ready = "1";
        setTimeout(refresh, Math.max(1, d.timeline.interval || 1) * 1000);
      }).catch(function (e) {
        fail(String(e));
        setTimeout(refresh, 5000);
      });
    };
    refresh();
  } else {
    render(JSON.parse(document.getElementById("report-data").textContent));
    document.body.dataset.ready = "1";
  }
})();
