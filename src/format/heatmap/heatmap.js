/* strobe heat map pages (index and per-file); no network, no libraries. */
(function () {
  'use strict';
  var root = document.documentElement;
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* file:// may refuse */ } }
  };
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  /* theme: saved choice, else the system's */
  var saved = store.get('strobe-heatmap-theme');
  if (saved === 'dark' || (!saved && window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches))
    root.setAttribute('data-theme', 'dark');
  function wireTheme() {
    var b = $('theme');
    if (!b) return;
    b.addEventListener('click', function () {
      var dark = root.getAttribute('data-theme') !== 'dark';
      if (dark) root.setAttribute('data-theme', 'dark'); else root.removeAttribute('data-theme');
      store.set('strobe-heatmap-theme', dark ? 'dark' : 'light');
    });
  }

  /* ---------------------------------------------------------------- index */
  function initIndex() {
    var api = window.strobeHeatmap = { ready: false, page: 'index' };
    /* group each kind's file rows into folders by module name */
    var lists = document.querySelectorAll('details.kind > .files');
    for (var i = 0; i < lists.length; i++) buildTree(lists[i]);

    var filter = $('filter');
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      var rows = document.querySelectorAll('.file');
      for (var j = 0; j < rows.length; j++) {
        var a = rows[j].querySelector('a');
        var hay = (rows[j].getAttribute('data-module') + ' ' + a.title).toLowerCase();
        rows[j].classList.toggle('hidden', q !== '' && hay.indexOf(q) < 0);
      }
      var folders = document.querySelectorAll('details.folder');
      for (var k = folders.length - 1; k >= 0; k--) {
        var any = folders[k].querySelector('.file:not(.hidden)');
        folders[k].classList.toggle('hidden', !any);
        if (q !== '') folders[k].open = true;
      }
      if (q !== '') setAll(true);
    });
    function setAll(open) {
      var d = document.querySelectorAll('details');
      for (var j = 0; j < d.length; j++) d[j].open = open;
    }
    $('expand-all').addEventListener('click', function () { setAll(true); });
    $('collapse-all').addEventListener('click', function () { setAll(false); });
    api.files = function () {
      return Array.prototype.map.call(document.querySelectorAll('.file'), function (r) {
        return { module: r.getAttribute('data-module'), href: r.querySelector('a').getAttribute('href'),
                 path: r.querySelector('a').title, total: +r.getAttribute('data-total'),
                 self: +r.getAttribute('data-self') };
      });
    };
    api.ready = true;
  }

  function buildTree(list) {
    var rows = Array.prototype.slice.call(list.children);
    var nested = rows.some(function (r) { return r.getAttribute('data-module').indexOf('.') > 0; });
    if (!nested) return;
    var top = { kids: {}, files: [], samples: 0, count: 0 };
    rows.forEach(function (r) {
      var parts = r.getAttribute('data-module').split('.');
      var n = top, t = +r.getAttribute('data-total');
      n.samples += t; n.count++;
      for (var i = 0; i < parts.length - 1; i++) {
        var p = parts[i];
        if (!n.kids.hasOwnProperty(p)) n.kids[p] = { kids: {}, files: [], samples: 0, count: 0 };
        n = n.kids[p];
        n.samples += t; n.count++;
      }
      n.files.push(r);
    });
    while (list.firstChild) list.removeChild(list.firstChild);
    render(top, list, 0);
  }

  function render(node, into, depth) {
    Object.keys(node.kids).sort(function (a, b) {
      return node.kids[b].samples - node.kids[a].samples || (a < b ? -1 : 1);
    }).forEach(function (name) {
      var k = node.kids[name];
      var d = el('details', 'folder');
      var s = el('summary');
      s.appendChild(document.createTextNode('\uD83D\uDCC1 ' + name));
      s.appendChild(el('span', 'muted', '(' + plural(k.count, 'file') + ', ' + plural(k.samples, 'sample') + ')'));
      d.appendChild(s);
      render(k, d, depth + 1);
      into.appendChild(d);
    });
    node.files.forEach(function (r) { into.appendChild(r); });
  }

  /* ----------------------------------------------------------------- file */
  function initFile() {
    var data = JSON.parse($('heatmap-data').textContent);
    var body = document.body;
    var code = $('code');
    var rows = Array.prototype.slice.call(code.querySelectorAll('.ln[id]'));
    var hot = rows.filter(function (r) { return !r.classList.contains('c'); });
    var api = window.strobeHeatmap = { ready: false, page: 'file', data: data };

    function setMode(m) {
      body.classList.toggle('m-self', m === 'self');
      body.classList.toggle('m-total', m !== 'self');
      $('mode-self').classList.toggle('on', m === 'self');
      $('mode-total').classList.toggle('on', m !== 'self');
      store.set('strobe-heatmap-mode', m);
    }
    $('mode-self').addEventListener('click', function () { setMode('self'); });
    $('mode-total').addEventListener('click', function () { setMode('total'); });
    if (store.get('strobe-heatmap-mode') === 'self') setMode('self');

    var coldBtn = $('cold');
    function setCold(hide) {
      body.classList.toggle('hide-cold', hide);
      coldBtn.classList.toggle('on', hide);
      coldBtn.textContent = hide ? 'Show cold lines' : 'Hide cold lines';
      drawMinimap();
    }
    coldBtn.addEventListener('click', function () { setCold(!body.classList.contains('hide-cold')); });

    /* next / previous line with samples, from the one at the top of the view */
    function jump(dir) {
      if (!hot.length) return;
      var y = window.scrollY + 90, target = null;
      if (dir > 0) {
        for (var i = 0; i < hot.length && !target; i++)
          if (hot[i].getBoundingClientRect().top + window.scrollY > y + 2) target = hot[i];
        target = target || hot[0];
      } else {
        for (var j = hot.length - 1; j >= 0 && !target; j--)
          if (hot[j].getBoundingClientRect().top + window.scrollY < y - 2) target = hot[j];
        target = target || hot[hot.length - 1];
      }
      location.hash = '#' + target.id;
    }
    $('next-hot').addEventListener('click', function () { jump(1); });
    $('prev-hot').addEventListener('click', function () { jump(-1); });

    /* bytecode panels */
    var bcAll = $('bc-all');
    if (data.opcodes) bcAll.hidden = false;
    function lineOf(row) { return row.id.slice(5); }
    function togglePanel(row, open) {
      var btn = row.querySelector('.bc');
      if (!btn) return;
      var next = row.nextElementSibling;
      var has = next && next.classList.contains('bcpanel');
      if (open === undefined) open = !has;
      if (open && !has) row.parentNode.insertBefore(panel(row), row.nextSibling);
      if (!open && has) next.parentNode.removeChild(next);
      btn.classList.toggle('open', open);
    }
    function panel(row) {
      var info = data.lines[lineOf(row)] || {};
      var ops = info.ops || [];
      var sum = 0, spec = 0;
      ops.forEach(function (o) { sum += o[3]; if (o[2]) spec += o[3]; });
      var p = el('div', 'bcpanel');
      p.appendChild(el('div', 'muted', plural(ops.length, 'instruction') + ', ' + plural(sum, 'sample') +
        (sum ? ', ' + Math.round(100 * spec / sum) + '% specialized' : '')));
      var t = el('table'), h = el('tr');
      ['Opcode', 'Base', 'Samples', '', 'Columns'].forEach(function (x) { h.appendChild(el('th', '', x)); });
      t.appendChild(h);
      var max = ops.reduce(function (m, o) { return Math.max(m, o[3]); }, 1);
      ops.forEach(function (o) {
        var tr = el('tr', 'op'), td = el('td');
        td.appendChild(el('span', 'op-name', o[0]));
        if (o[2]) td.appendChild(el('span', 'spec', 'specialized'));
        tr.appendChild(td);
        tr.appendChild(el('td', 'op-name muted', o[1]));
        tr.appendChild(el('td', 'n', String(o[3])));
        var bar = el('td'), b = el('span', 'pbar');
        b.style.width = Math.max(1, Math.round(80 * o[3] / max)) + 'px';
        bar.appendChild(b);
        tr.appendChild(bar);
        tr.appendChild(el('td', 'muted', o[4].map(function (s) {
          return (s[0] !== +lineOf(row) && s[0] >= 0 ? 'to line ' + s[0] + ' ' : '') + s[1] + '-' + s[2];
        }).join(', ')));
        tr.addEventListener('mouseenter', function () { mark(row, o[4]); });
        tr.addEventListener('mouseleave', function () { unmark(row); });
        t.appendChild(tr);
      });
      p.appendChild(t);
      return p;
    }
    /* highlight an instruction's columns (UTF-8 byte offsets) in the source */
    var enc = window.TextEncoder ? new TextEncoder() : null;
    function mark(row, spans) {
      var c = row.querySelector('code');
      if (!c || !enc || !spans.length) return;
      if (c.dataset.text === undefined) c.dataset.text = c.textContent;
      var text = c.dataset.text, line = +lineOf(row);
      var s = spans[0], start = s[1], end = (s[0] === line || s[0] < 0) ? s[2] : 1e9;
      var a = -1, b = text.length, off = 0;
      for (var i = 0; i <= text.length; i++) {
        if (a < 0 && off >= start) a = i;
        if (off >= end) { b = i; break; }
        if (i < text.length) {
          var cp = text.codePointAt(i);
          off += enc.encode(String.fromCodePoint(cp)).length;
          if (cp > 0xffff) i++;
        }
      }
      if (a < 0) return;
      c.textContent = '';
      c.appendChild(document.createTextNode(text.slice(0, a)));
      c.appendChild(el('mark', 'span', text.slice(a, b)));
      c.appendChild(document.createTextNode(text.slice(b)));
    }
    function unmark(row) {
      var c = row.querySelector('code');
      if (c && c.dataset.text !== undefined) c.textContent = c.dataset.text;
    }
    code.addEventListener('click', function (ev) {
      var btn = ev.target.closest('.bc');
      if (btn) { togglePanel(btn.closest('.ln'), undefined); return; }
      var nav = ev.target.closest('button.nav');
      if (nav) { ev.stopPropagation(); openMenu(nav); }
    });
    var allOpen = false;
    function toggleAll() {
      allOpen = !allOpen;
      rows.forEach(function (r) { if (r.querySelector('.bc')) togglePanel(r, allOpen); });
      bcAll.classList.toggle('on', allOpen);
      drawMinimap();
    }
    bcAll.addEventListener('click', toggleAll);

    /* caller / callee menus */
    var menu = $('menu');
    function openMenu(btn) {
      var row = btn.closest('.ln'), info = data.lines[lineOf(row)] || {};
      var caller = btn.classList.contains('caller');
      var items = info.callees;
      if (caller) {
        /* the call sites of the line's functions, most samples first */
        items = [];
        (info.fns || []).forEach(function (id) { items = items.concat(data.fns[id] || []); });
        items.sort(function (a, b) { return b[4] - a[4]; });
      }
      if (!items || !items.length) return;
      menu.textContent = '';
      menu.appendChild(el('div', 'mh', caller ? 'Called from' : 'Calls into'));
      items.forEach(function (it) {
        var a = el('a');
        a.href = it[0] + '#line-' + it[1];
        a.appendChild(el('span', 'f', it[2]));
        a.appendChild(el('span', 'w', it[3] + ':' + it[1]));
        a.appendChild(el('span', 'c', plural(it[4], 'sample')));
        menu.appendChild(a);
      });
      menu.hidden = false;
      var r = btn.getBoundingClientRect();
      var left = Math.min(r.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - menu.offsetWidth - 16);
      menu.style.left = Math.max(4, left) + 'px';
      menu.style.top = (r.bottom + window.scrollY + 4) + 'px';
      var first = menu.querySelector('a');
      if (first) first.focus({ preventScroll: true });
    }
    function closeMenu() { menu.hidden = true; }
    document.addEventListener('click', function (ev) { if (!menu.contains(ev.target)) closeMenu(); });

    /* minimap: where the hot lines are */
    var mm = $('minimap');
    function drawMinimap() {
      mm.textContent = '';
      var h = code.scrollHeight || 1, top = code.getBoundingClientRect().top + window.scrollY;
      var mode = body.classList.contains('m-self') ? '--s' : '--t';
      hot.forEach(function (r) {
        var v = parseFloat(r.style.getPropertyValue(mode)) || 0;
        if (v <= 0 || r.offsetParent === null) return;
        var m = el('i');
        m.style.top = (100 * (r.getBoundingClientRect().top + window.scrollY - top) / h) + '%';
        m.style.opacity = String(0.25 + 0.75 * v);
        m.dataset.line = r.id;
        mm.appendChild(m);
      });
    }
    mm.addEventListener('click', function (ev) {
      var t = ev.target.dataset && ev.target.dataset.line;
      if (t) { location.hash = '#' + t; return; }
      var f = (ev.clientY - mm.getBoundingClientRect().top) / mm.clientHeight;
      window.scrollTo(0, code.getBoundingClientRect().top + window.scrollY + f * code.scrollHeight - 80);
    });
    window.addEventListener('resize', drawMinimap);

    document.addEventListener('keydown', function (ev) {
      if (ev.target && (ev.target.tagName === 'INPUT' || ev.target.tagName === 'TEXTAREA')) return;
      if (ev.key === 'Escape') closeMenu();
      else if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      else if (ev.key === 'n') jump(1);
      else if (ev.key === 'p') jump(-1);
      else if (ev.key === 'c') coldBtn.click();
      else if (ev.key === 's') setMode('self');
      else if (ev.key === 't') setMode('total');
      else if (ev.key === 'b' && data.opcodes) toggleAll();
    });

    /* a link into a hidden cold line shows the cold lines again */
    function showTarget() {
      var t = location.hash && document.getElementById(location.hash.slice(1));
      if (t && t.classList.contains('c') && body.classList.contains('hide-cold')) setCold(false);
      if (t) t.scrollIntoView({ block: 'center' });
    }
    window.addEventListener('hashchange', showTarget);
    drawMinimap();
    if (location.hash) showTarget();

    api.rows = function () {
      return hot.map(function (r) {
        return { line: +lineOf(r), self: +r.getAttribute('data-self'), total: +r.getAttribute('data-total') };
      });
    };
    api.setMode = setMode;
    api.setCold = setCold;
    api.toggleBytecode = function (line) { togglePanel($('line-' + line), undefined); return !!document.querySelector('.bcpanel'); };
    api.ready = true;
  }

  wireTheme();
  if (document.body.classList.contains('hm-file')) initFile(); else initIndex();
})();
