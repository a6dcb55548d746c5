/**
 * The report page's inline script (plain ES2020, no library, nothing fetched): sorting the gallery
 * by a metric of one method or by the difference between two methods, and a full-size viewer that
 * shows every column of an image side by side with one zoom and pan shared by all panes.
 *
 * It reads the per-image values from the page's JSON block (#report-data), the same numbers as
 * per-image.csv. After each sort, body[data-sorted] names the sort key (the tests wait on it).
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var tbody = document.querySelector('#gallery tbody');
  var trByStem = {};
  Array.prototype.forEach.call(tbody.rows, function (tr) { trByStem[tr.dataset.stem] = tr; });
  var $ = function (id) { return document.getElementById(id); };
  var metricSel = $('sort-metric'), aSel = $('sort-a'), bSel = $('sort-b'), orderSel = $('sort-order');
  var metricInfo = {};
  data.metrics.forEach(function (m) { metricInfo[m.name] = m; });

  function value(row, method, metric) {
    var v = row.values[method];
    return v && typeof v[metric] === 'number' ? v[metric] : null;
  }
  function key(row, metric, a, b) {
    var va = value(row, a, metric);
    if (va === null || !b) return va;
    var vb = value(row, b, metric);
    return vb === null ? null : va - vb;
  }
  function fmt(v) {
    if (v === null) return '–';
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toFixed(4);
  }

  function sortRows() {
    var metric = metricSel.value, a = aSel.value, b = bSel.value === a ? '' : bSel.value;
    var order = data.rows.slice();
    if (metric) {
      var best = orderSel.value === 'best';
      var descending = best === metricInfo[metric].higherIsBetter;
      order.sort(function (x, y) {
        var kx = key(x, metric, a, b), ky = key(y, metric, a, b);
        if (kx === null || ky === null) return (kx === null) - (ky === null);
        return descending ? ky - kx : kx - ky;
      });
    }
    order.forEach(function (row) {
      var tr = trByStem[row.stem];
      tbody.appendChild(tr);
      tr.querySelector('.key').textContent = metric ? fmt(key(row, metric, a, b)) : '';
      var shown = metric ? data.columns.map(function (c) { return value(row, c, metric); }) : [];
      var ranked = shown.filter(function (v, i) { return v !== null && !data.sourceColumns[i]; });
      var top = ranked.length < 2 ? null : (metricInfo[metric].higherIsBetter ? Math.max : Math.min).apply(null, ranked);
      Array.prototype.forEach.call(tr.querySelectorAll('figcaption'), function (fc, i) {
        var v = metric ? shown[i] : null;
        fc.textContent = v === null ? '' : metric + ' ' + fmt(v);
        fc.classList.toggle('best', v !== null && v === top && !data.sourceColumns[i]);
      });
    });
    $('key-header').textContent = metric ? (b ? metric + ' ' + a + ' − ' + b : metric + ' ' + a) : '';
    document.body.dataset.sorted = [metric, a, b, orderSel.value].join('|');
  }
  [metricSel, aSel, bSel, orderSel].forEach(function (s) { s.addEventListener('change', sortRows); });
  $('sort-reset').addEventListener('click', function () { metricSel.value = ''; bSel.value = ''; sortRows(); });

  // Full-size viewer: one transform (scale s, offset tx/ty in frame pixels) shared by every pane.
  var viewer = $('viewer'), panes = viewer.querySelector('.panes');
  var view = { s: 1, tx: 0, ty: 0, fit: 1 }, currentStem = null, imgs = [], frames = [];
  function apply() {
    imgs.forEach(function (img) {
      img.style.transform = 'translate(' + view.tx + 'px,' + view.ty + 'px) scale(' + view.s + ')';
      img.classList.toggle('pixelated', view.s >= 2);
    });
    $('viewer-zoom').textContent = Math.round(view.s * 100) + ' %';
  }
  function layout() {
    var n = data.columns.length, W = panes.clientWidth, H = window.innerHeight - viewer.querySelector('.bar').offsetHeight - 12;
    var row = data.rows.filter(function (r) { return r.stem === currentStem; })[0];
    var iw = row.cells[0].width, ih = row.cells[0].height, bestCols = 1, bestScale = 0;
    for (var cols = 1; cols <= n; cols++) {
      var rows = Math.ceil(n / cols), sc = Math.min((W - 6 * cols) / cols / iw, ((H - 6 * rows) / rows - 22) / ih);
      if (sc > bestScale) { bestScale = sc; bestCols = cols; }
    }
    var rowsN = Math.ceil(n / bestCols);
    panes.style.gridTemplateColumns = 'repeat(' + bestCols + ', 1fr)';
    panes.style.gridTemplateRows = 'repeat(' + rowsN + ', 1fr)';
    var fw = frames[0].clientWidth, fh = frames[0].clientHeight;
    view.fit = Math.min(fw / iw, fh / ih);
    view.s = view.fit; view.tx = (fw - iw * view.s) / 2; view.ty = (fh - ih * view.s) / 2;
    apply();
  }
  function zoomAt(cx, cy, factor) {
    var s = Math.min(64, Math.max(view.fit / 2, view.s * factor)), f = s / view.s;
    view.tx = cx - (cx - view.tx) * f; view.ty = cy - (cy - view.ty) * f; view.s = s;
    apply();
  }
  function open(stem, clickedCol) {
    currentStem = stem;
    var row = data.rows.filter(function (r) { return r.stem === stem; })[0];
    panes.textContent = '';
    imgs = []; frames = [];
    data.columns.forEach(function (name, i) {
      var pane = document.createElement('div'); pane.className = 'pane' + (i === clickedCol ? ' clicked' : '');
      var label = document.createElement('div'); label.className = 'label'; label.textContent = name;
      var frame = document.createElement('div'); frame.className = 'frame';
      var img = document.createElement('img'); img.src = row.cells[i].full; img.alt = name + ' ' + stem; img.draggable = false;
      img.width = row.cells[i].width; img.height = row.cells[i].height;
      frame.appendChild(img); pane.appendChild(label); pane.appendChild(frame); panes.appendChild(pane);
      imgs.push(img); frames.push(frame);
    });
    $('viewer-title').textContent = stem;
    viewer.hidden = false;
    document.body.style.overflow = 'hidden';
    layout();
  }
  function close() { viewer.hidden = true; panes.textContent = ''; imgs = []; frames = []; currentStem = null; document.body.style.overflow = ''; }
  function step(d) {
    var order = Array.prototype.map.call(tbody.rows, function (tr) { return tr.dataset.stem; });
    var i = order.indexOf(currentStem) + d;
    if (i >= 0 && i < order.length) open(order[i], -1);
  }
  tbody.addEventListener('click', function (e) {
    var img = e.target.closest('img[data-col]');
    if (img) open(img.closest('tr').dataset.stem, Number(img.dataset.col));
  });
  panes.addEventListener('wheel', function (e) {
    var frame = e.target.closest('.frame');
    if (!frame) return;
    e.preventDefault();
    var r = frame.getBoundingClientRect();
    zoomAt(e.clientX - r.left, e.clientY - r.top, Math.min(1.25, Math.max(0.8, Math.exp(-e.deltaY * 0.002))));
  }, { passive: false });
  var drag = null;
  panes.addEventListener('pointerdown', function (e) {
    if (!e.target.closest('.frame')) return;
    drag = { x: e.clientX, y: e.clientY };
    e.target.setPointerCapture && e.target.setPointerCapture(e.pointerId);
  });
  window.addEventListener('pointermove', function (e) {
    if (!drag) return;
    view.tx += e.clientX - drag.x; view.ty += e.clientY - drag.y; drag = { x: e.clientX, y: e.clientY };
    apply();
  });
  window.addEventListener('pointerup', function () { drag = null; });
  panes.addEventListener('dblclick', function () { layout(); });
  $('viewer-close').addEventListener('click', close);
  $('viewer-prev').addEventListener('click', function () { step(-1); });
  $('viewer-next').addEventListener('click', function () { step(1); });
  window.addEventListener('resize', function () { if (currentStem) layout(); });
  document.addEventListener('keydown', function (e) {
    if (viewer.hidden) return;
    var f = frames[0];
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowLeft') step(-1);
    else if (e.key === '+' || e.key === '=') zoomAt(f.clientWidth / 2, f.clientHeight / 2, 1.5);
    else if (e.key === '-') zoomAt(f.clientWidth / 2, f.clientHeight / 2, 1 / 1.5);
    else if (e.key === '0') layout();
  });
  sortRows();
})();
`;
