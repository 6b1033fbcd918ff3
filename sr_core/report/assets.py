"""The report's inline CSS and JavaScript (vanilla, no network)."""

CSS = """
:root { --fg:#1d1d1f; --muted:#6e6e73; --line:#d9d9de; --bg:#fafafa; --card:#fff; --bad:#b3261e;
        --badbg:#fdecea; --good:#1e7a34; --note:#fff8e1; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1280px; margin: 0 auto; padding: 18px 24px 60px; }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.muted { color: var(--muted); } .mono { font-family: ui-monospace, Menlo, Consolas, monospace; }
nav a { margin-right: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px;
        margin: 12px 0; }
table { border-collapse: collapse; width: auto; background: var(--card); }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f3; position: sticky; top: 0; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-dir="asc"]::after { content: " \\25B2"; font-size: 10px; }
table.sortable th[data-dir="desc"]::after { content: " \\25BC"; font-size: 10px; }
td.best { font-weight: 700; } .pos { color: var(--good); } .neg { color: var(--bad); }
.banner { border: 2px solid var(--bad); background: var(--badbg); color: var(--bad); border-radius: 8px;
          padding: 10px 16px; margin: 14px 0; font-weight: 600; }
.banner ul { margin: 6px 0 0; font-weight: 400; }
.notes { background: var(--note); border: 1px solid #f0d98c; border-radius: 8px; padding: 8px 16px; }
.notes li { margin: 2px 0; }
.scroll { overflow-x: auto; max-width: 100%; }
.strip { display: flex; flex-wrap: nowrap; gap: 6px; align-items: flex-start; overflow-x: auto;
         padding-bottom: 4px; }
figure { flex: none; }
figure { margin: 0; text-align: center; }
figure img, .slider img { image-rendering: pixelated; image-rendering: crisp-edges; display: block;
                          border: 1px solid var(--line); background: #eee; }
figcaption { font-size: 12px; margin-top: 3px; }
figcaption b { display: block; font-size: 13px; }
.slider { position: relative; display: inline-block; }
.slider .top { position: absolute; left: 0; top: 0; clip-path: inset(0 50% 0 0); }
.slider .handle { position: absolute; top: 0; bottom: 0; left: 50%; width: 2px; background: #fff;
                  box-shadow: 0 0 3px #000; pointer-events: none; }
.slider input { width: 100%; margin: 6px 0 0; }
.slider .tag { position: absolute; top: 4px; background: rgba(0,0,0,.6); color: #fff; font-size: 11px;
               padding: 1px 5px; border-radius: 3px; }
.image-section { border-top: 1px solid var(--line); padding-top: 6px; }
.plot { width: 100%; max-width: 760px; height: auto; background: var(--card); }
.plot .grid { stroke: #e6e6ea; } .plot .tick { font-size: 11px; fill: #444; }
.plot .axis-label { font-size: 11px; fill: #444; } .plot .now { stroke: #999; stroke-dasharray: 4 3; }
pre { background: #f4f4f6; padding: 10px; overflow: auto; max-height: 420px; font-size: 12px; }
.status-failed { color: var(--bad); font-weight: 700; }
.status-complete { color: var(--good); }
"""

JS = r"""
(function () {
  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-value");
    if (raw === null) raw = cell.textContent.trim();
    var num = parseFloat(raw);
    if (raw === "inf") return Infinity;
    return isNaN(num) ? raw.toLowerCase() : num;
  }
  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = th.getAttribute("data-dir") === "desc" ? "asc" : "desc";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("data-dir"); });
    th.setAttribute("data-dir", dir);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      var r = x < y ? -1 : x > y ? 1 : 0;
      return dir === "asc" ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.addEventListener("click", function () { sortTable(table, index, th); });
    });
  });
  document.querySelectorAll(".slider").forEach(function (slider) {
    var input = slider.querySelector("input");
    var top = slider.querySelector(".top");
    var handle = slider.querySelector(".handle");
    function update() {
      var v = input.value;
      top.style.clipPath = "inset(0 " + (100 - v) + "% 0 0)";
      handle.style.left = v + "%";
    }
    input.addEventListener("input", update);
    update();
  });
  // A machine-readable render check (used by the browser test): images decoded, rows present.
  window.addEventListener("load", function () {
    var imgs = document.querySelectorAll("img");
    var ok = 0;
    imgs.forEach(function (img) { if (img.complete && img.naturalWidth > 0) ok += 1; });
    var check = document.getElementById("render-check");
    if (check) {
      check.setAttribute("data-images-total", String(imgs.length));
      check.setAttribute("data-images-ok", String(ok));
      check.setAttribute("data-table-rows",
        String(document.querySelectorAll("table.sortable tbody tr").length));
      check.setAttribute("data-svg", String(document.querySelectorAll("svg.plot").length));
      check.setAttribute("data-ready", "1");
    }
  });
})();
"""
