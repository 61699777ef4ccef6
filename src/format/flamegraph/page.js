/* strobe flame graph: draws the data tree embedded in this page on a canvas.
 *
 * The data is Tachyon's flamegraph tree: every node has name/label/filename/
 * module/funcname as indices into `strings`, value (inclusive samples),
 * self, thread_values {tid: [inclusive, self]}, optional source lines,
 * opcodes and differential fields.  The tree is flattened once into typed
 * arrays; drawing walks only the frames at least half a pixel wide and the
 * rows on screen, so a profile with a hundred thousand frames stays fast.
 * No dependencies, no network. */
(function () {
  'use strict';

  var ROW = 18;            // css px per stack level
  var MIN_W = 0.5;         // narrower frames (and their callees) are not drawn
  var TEXT_W = 26;         // frames narrower than this get no text
  var FONT = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace';
  var THEME_KEY = 'strobe-flamegraph-theme';

  function $(id) { return document.getElementById(id); }

  var DATA = JSON.parse($('strobe-data').textContent);
  var STATS = DATA.stats || {};
  var DIFF = !!STATS.is_differential;
  var OPMAP = DATA.opcode_mapping || { names: {}, deopt: {} };
  var MS_PER_SAMPLE = (STATS.sample_interval_usec || 1000) / 1000;

  /* ------------------------------------------------------------------ */
  /* Trees                                                               */

  // Flatten a JSON tree into arrays, pre-order: node 0 is the root, the
  // children of node i are kids[kidStart[i] .. kidStart[i] + kidCount[i]).
  function flatten(root, strings) {
    var objs = [], par = [], dep = [];
    var stack = [root], pstack = [-1], dstack = [0];
    while (stack.length) {
      var o = stack.pop(), p = pstack.pop(), d = dstack.pop();
      var i = objs.length;
      objs.push(o); par.push(p); dep.push(d);
      var ch = o.children;
      if (ch) {
        for (var k = ch.length - 1; k >= 0; k--) {
          stack.push(ch[k]); pstack.push(i); dstack.push(d + 1);
        }
      }
    }
    var n = objs.length;
    var T = {
      n: n, strings: strings, objs: objs,
      parent: Int32Array.from(par), depth: Int32Array.from(dep),
      kidStart: new Int32Array(n), kidCount: new Int32Array(n), kids: new Int32Array(Math.max(n - 1, 1)),
      value: new Float64Array(n), self: new Float64Array(n),
      name: new Int32Array(n), label: new Int32Array(n), file: new Int32Array(n),
      func: new Int32Array(n), module: new Int32Array(n), line: new Int32Array(n),
      maxDepth: 0
    };
    for (var j = 0; j < n; j++) {
      var ob = objs[j];
      T.value[j] = +ob.value || 0;
      T.self[j] = +ob.self || 0;
      T.name[j] = typeof ob.name === 'number' ? ob.name : -1;
      T.label[j] = typeof ob.label === 'number' ? ob.label : T.name[j];
      T.file[j] = typeof ob.filename === 'number' ? ob.filename : -1;
      T.func[j] = typeof ob.funcname === 'number' ? ob.funcname : -1;
      T.module[j] = typeof ob.module === 'number' ? ob.module : -1;
      T.line[j] = ob.lineno | 0;
      if (dep[j] > T.maxDepth) T.maxDepth = dep[j];
      if (j > 0) T.kidCount[par[j]]++;
    }
    var off = 0;
    for (var a = 0; a < n; a++) { T.kidStart[a] = off; off += T.kidCount[a]; }
    var fill = new Int32Array(n);
    for (var b = 1; b < n; b++) {
      var q = par[b];
      T.kids[T.kidStart[q] + fill[q]++] = b;
    }
    return T;
  }

  function str(T, idx) { return idx >= 0 && idx < T.strings.length ? T.strings[idx] : ''; }

  // Values of one thread (tid) or of all (null).
  function valuesFor(T, tid) {
    if (tid === null) return { v: T.value, s: T.self };
    var v = new Float64Array(T.n), s = new Float64Array(T.n);
    for (var i = 0; i < T.n; i++) {
      var tv = T.objs[i].thread_values;
      var e = tv && tv[tid];
      if (e) { v[i] = e[0]; s[i] = e[1]; }
    }
    return { v: v, s: s };
  }

  // The inverted (icicle) tree: where time was spent at the top, callers
  // below.  Merged by function identity (name).
  function invert(T, vals) {
    var synthetic = T.func[0] < 0;
    var nodes = [{ text: 'All samples (inverted)', value: 0, self: 0, children: [], src: T.objs[0], map: new Map() }];
    for (var i = 0; i < T.n; i++) {
      var s = vals.s[i];
      if (!(s > 0)) continue;
      var cur = nodes[0];
      cur.value += s;
      for (var j = i; j >= 0; j = T.parent[j]) {
        if (j === 0 && synthetic) break;
        var key = T.name[j];
        var c = cur.map.get(key);
        if (c === undefined) {
          var o = T.objs[j];
          c = { name: o.name, label: o.label, filename: o.filename, module: o.module,
                funcname: o.funcname, lineno: o.lineno, value: 0, self: 0, children: [],
                src: o, map: new Map() };
          cur.map.set(key, c);
          cur.children.push(c);
          nodes.push(c);
        }
        c.value += s;
        cur = c;
      }
      cur.self += s;
    }
    for (var k = 0; k < nodes.length; k++) {
      nodes[k].map = null;
      nodes[k].children.sort(function (x, y) { return y.value - x.value; });
    }
    var R = flatten(nodes[0], T.strings);
    R.inverted = true;
    return R;
  }

  /* ------------------------------------------------------------------ */
  /* State                                                               */

  var S = {
    base: null,       // the tree of the current data (full or elided)
    baseData: DATA,
    view: null,       // base, or its inversion
    v: null, s: null, // values of the view for the thread shown
    zoom: 0,
    inverted: false,
    elided: false,
    thread: null,
    modules: false,
    match: null,      // Uint8Array per view node, or null
    query: '',
    matchCount: 0,
    matchSamples: 0,
    hover: -1,
    colors: {},
    drawn: 0,
    drawMs: 0,
    maxRow: 0
  };

  function textOf(T, i) {
    var o = T.objs[i];
    if (o.text) return o.text;
    return str(T, S.modules ? T.label[i] : T.name[i]);
  }

  function funcOf(T, i) {
    var o = T.objs[i];
    if (o.text) return o.text;
    return T.func[i] >= 0 ? str(T, T.func[i]) : str(T, T.name[i]);
  }

  /* ------------------------------------------------------------------ */
  /* Colours                                                             */

  function readColors() {
    var cs = getComputedStyle(document.documentElement);
    var names = ['heat-1', 'heat-2', 'heat-3', 'heat-4', 'heat-5', 'heat-6', 'heat-7', 'heat-8',
      'diff-neutral', 'diff-new', 'diff-up-1', 'diff-up-2', 'diff-up-3', 'diff-up-4',
      'diff-down-1', 'diff-down-2', 'diff-down-3', 'diff-down-4', 'diff-elided',
      'frame-text', 'match', 'match-text', 'hover', 'bg', 'ancestor', 'muted'];
    for (var i = 0; i < names.length; i++) S.colors[names[i]] = cs.getPropertyValue('--' + names[i]).trim();
  }

  function heat(frac) {
    var lvl = frac >= 0.6 ? 8 : frac >= 0.35 ? 7 : frac >= 0.18 ? 6 : frac >= 0.12 ? 5 :
      frac >= 0.06 ? 4 : frac >= 0.03 ? 3 : frac >= 0.01 ? 2 : 1;
    return S.colors['heat-' + lvl];
  }

  function diffColor(o) {
    if (S.elided) return S.colors['diff-elided'];
    if (o.src) o = o.src;
    var pct = o.diff_pct;
    if (typeof pct !== 'number') return S.colors['diff-neutral'];
    var self = o.self_time !== undefined ? o.self_time : o.self;
    if (pct === 100 && self > 0 && Math.abs(o.diff - self) < 0.1) return S.colors['diff-new'];
    if (Math.abs(pct) < 15) return S.colors['diff-neutral'];
    if (pct > 0) return S.colors[pct >= 100 ? 'diff-up-4' : pct > 50 ? 'diff-up-3' : pct > 30 ? 'diff-up-2' : 'diff-up-1'];
    return S.colors[pct <= -100 ? 'diff-down-4' : pct < -50 ? 'diff-down-3' : pct < -30 ? 'diff-down-2' : 'diff-down-1'];
  }

  function colorOf(i) {
    if (DIFF) return diffColor(S.view.objs[i]);
    var root = S.v[0];
    return heat(root > 0 ? S.v[i] / root : 0);
  }

  /* ------------------------------------------------------------------ */
  /* Drawing                                                             */

  var canvas = $('chart'), scroller = $('chart-scroll'), spacer = $('chart-spacer');
  var ctx = canvas.getContext('2d', { alpha: false });
  var charW = 7, W = 0, H = 0, dpr = 1;
  var pending = false;

  function resize() {
    W = scroller.clientWidth;
    H = scroller.clientHeight;
    // keep the backing store within browser limits
    dpr = Math.min(window.devicePixelRatio || 1, 2);
    canvas.width = Math.max(1, Math.floor(W * dpr));
    canvas.height = Math.max(1, Math.floor(H * dpr));
    canvas.style.width = W + 'px';
    canvas.style.height = H + 'px';
    ctx.font = FONT;
    charW = ctx.measureText('MMMMMMMMMM').width / 10 || 7;
  }

  function requestDraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  function fit(text, avail) {
    var max = Math.floor(avail / charW);
    if (text.length <= max) return text;
    if (max < 3) return '';
    return text.slice(0, max - 1) + '\u2026';
  }

  function paint(i, x, w, y) {
    var T = S.view;
    var matched = S.match ? S.match[i] === 1 : false;
    ctx.globalAlpha = S.match && !matched ? 0.3 : 1;
    ctx.fillStyle = matched ? S.colors.match : colorOf(i);
    ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
    if (w >= TEXT_W) {
      var t = fit(textOf(T, i), w - 6);
      if (t) {
        ctx.fillStyle = matched ? S.colors['match-text'] : S.colors['frame-text'];
        ctx.fillText(t, x + 3, y + ROW / 2);
      }
    }
    if (i === S.hover) {
      ctx.globalAlpha = 1;
      ctx.strokeStyle = S.colors.hover;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x + 0.75, y + 0.75, Math.max(w - 2.5, 0.5), ROW - 2.5);
    }
  }

  function draw() {
    var t0 = performance.now();
    var T = S.view, v = S.v;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = S.colors.bg;
    ctx.fillRect(0, 0, W, H);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    var top = scroller.scrollTop;
    var firstRow = Math.floor(top / ROW), lastRow = Math.ceil((top + H) / ROW);
    var z = S.zoom, dz = T.depth[z];
    var drawn = 0, maxRow = dz;
    // the zoomed frame's callers, full width
    for (var a = T.parent[z], d = dz - 1; a >= 0; a = T.parent[a], d--) {
      if (d >= firstRow && d <= lastRow) { paint(a, 0, W, d * ROW - top); drawn++; }
    }
    var total = v[z];
    if (total > 0) {
      var scale = W / total;
      // explicit stack: node, x
      var ns = [z], xs = [0];
      while (ns.length) {
        var i = ns.pop(), x = xs.pop();
        var w = v[i] * scale;
        var row = T.depth[i];
        if (row > maxRow) maxRow = row;
        if (row >= firstRow && row <= lastRow) { paint(i, x, w, row * ROW - top); drawn++; }
        var ks = T.kidStart[i], kc = T.kidCount[i], cx = x;
        for (var k = 0; k < kc; k++) {
          var c = T.kids[ks + k];
          var cw = v[c] * scale;
          if (cw >= MIN_W) { ns.push(c); xs.push(cx); }
          cx += cw;
        }
      }
    }
    ctx.globalAlpha = 1;
    S.drawn = drawn;
    S.drawMs = performance.now() - t0;
    var h = (maxRow + 2) * ROW;
    if (h !== S.maxRow) {
      S.maxRow = h;
      spacer.style.height = h + 'px';
    }
  }

  // The node under (px, py) in canvas css pixels, or -1.
  function hit(px, py) {
    var T = S.view, v = S.v;
    var row = Math.floor((py + scroller.scrollTop) / ROW);
    var z = S.zoom, dz = T.depth[z];
    if (row < 0) return -1;
    if (row < dz) {
      var a = z;
      while (a >= 0 && T.depth[a] > row) a = T.parent[a];
      return a;
    }
    if (!(v[z] > 0)) return -1;
    var scale = W / v[z], node = z, x0 = 0;
    for (var d = dz; d < row; d++) {
      var ks = T.kidStart[node], kc = T.kidCount[node], x = x0, found = -1;
      for (var k = 0; k < kc; k++) {
        var c = T.kids[ks + k], w = v[c] * scale;
        if (px >= x && px < x + w) { if (w >= MIN_W) found = c; x0 = x; break; }
        x += w;
      }
      if (found < 0) return -1;
      node = found;
    }
    return node;
  }

  // Where node i is drawn (viewport coordinates), or null.
  function rectOf(i) {
    var T = S.view, v = S.v, z = S.zoom;
    var r = canvas.getBoundingClientRect();
    var y = T.depth[i] * ROW - scroller.scrollTop + r.top;
    if (i !== z && isAncestor(i, z)) return { x: r.left, y: y, w: W, h: ROW };
    if (!isAncestor(z, i) || !(v[z] > 0)) return null;
    var scale = W / v[z], x = 0;
    for (var node = i; node !== z; node = T.parent[node]) {
      var parent = T.parent[node], ks = T.kidStart[parent], kc = T.kidCount[parent];
      for (var k = 0; k < kc; k++) {
        var c = T.kids[ks + k];
        if (c === node) break;
        x += v[c] * scale;
      }
    }
    return { x: r.left + x, y: y, w: v[i] * scale, h: ROW };
  }

  function isAncestor(a, i) {
    var T = S.view;
    for (var j = i; j >= 0; j = T.parent[j]) if (j === a) return true;
    return false;
  }

  /* ------------------------------------------------------------------ */
  /* Zoom and breadcrumbs                                                */

  function zoomTo(i) {
    if (i < 0 || i >= S.view.n) return;
    S.zoom = i;
    var row = S.view.depth[i] * ROW;
    if (row < scroller.scrollTop || row > scroller.scrollTop + H - ROW) scroller.scrollTop = Math.max(0, row - ROW * 2);
    crumbs();
    requestDraw();
  }

  function crumbs() {
    var nav = $('crumbs'), T = S.view;
    nav.textContent = '';
    var path = [];
    for (var a = S.zoom; a >= 0; a = T.parent[a]) path.push(a);
    path.reverse();
    var show = path;
    if (path.length > 9) show = path.slice(0, 2).concat([-1], path.slice(path.length - 6));
    show.forEach(function (i) {
      var b = document.createElement('button');
      if (i < 0) { b.textContent = '\u2026'; b.disabled = true; nav.appendChild(b); return; }
      b.textContent = funcOf(T, i);
      b.title = textOf(T, i);
      b.addEventListener('click', function () { zoomTo(i); });
      nav.appendChild(b);
    });
    var info = document.createElement('span');
    info.className = 'muted';
    info.style.alignSelf = 'center';
    info.textContent = fmtInt(S.v[S.zoom]) + ' samples' + (S.thread !== null ? ' (thread ' + S.thread + ')' : '');
    nav.appendChild(info);
  }

  /* ------------------------------------------------------------------ */
  /* Search                                                              */

  function runSearch(q) {
    S.query = q = (q || '').trim();
    var T = S.view;
    if (!q) {
      S.match = null; S.matchCount = 0; S.matchSamples = 0;
    } else {
      var m = new Uint8Array(T.n);
      var memo = new Int8Array(T.strings.length);
      var lm = /^(\S+):(\d+)$/.exec(q), test;
      if (lm) {
        var path = lm[1], line = +lm[2];
        test = function (i) {
          if (T.line[i] !== line) return false;
          var f = str(T, T.file[i]), mod = str(T, T.module[i]);
          return mod === path || f === path || f.slice(-path.length - 1) === '/' + path;
        };
      } else {
        var lq = q.toLowerCase();
        var has = function (idx) {
          if (idx < 0) return false;
          var r = memo[idx];
          if (r === 0) { r = T.strings[idx].toLowerCase().indexOf(lq) >= 0 ? 1 : 2; memo[idx] = r; }
          return r === 1;
        };
        test = function (i) {
          var o = T.objs[i];
          if (o.text) return o.text.toLowerCase().indexOf(lq) >= 0;
          return has(T.name[i]) || has(T.label[i]) || has(T.file[i]);
        };
      }
      var count = 0, samples = 0;
      for (var i = 0; i < T.n; i++) {
        if (!(S.v[i] > 0) || !test(i)) continue;
        m[i] = 1;
        count++;
        var covered = false;
        for (var a = T.parent[i]; a >= 0; a = T.parent[a]) if (m[a]) { covered = true; break; }
        if (!covered) samples += S.v[i];
      }
      S.match = m; S.matchCount = count; S.matchSamples = samples;
    }
    var info = $('search-info'), input = $('search');
    if (!q) info.textContent = '';
    else if (!S.matchCount) info.textContent = 'no matches';
    else info.textContent = fmtInt(S.matchCount) + ' match' + (S.matchCount === 1 ? '' : 'es') + ' \u00b7 ' +
      pct(S.matchSamples, S.v[0]) + ' of samples';
    info.dataset.matches = String(S.matchCount);
    input.classList.toggle('has-matches', S.matchCount > 0);
    requestDraw();
    return { matches: S.matchCount, samples: S.matchSamples };
  }

  /* ------------------------------------------------------------------ */
  /* Views                                                               */

  function rebuild(keepZoom) {
    var vals = valuesFor(S.base, S.thread);
    if (S.inverted) {
      S.view = invert(S.base, vals);
      S.v = S.view.value; S.s = S.view.self;
    } else {
      S.view = S.base;
      S.v = vals.v; S.s = vals.s;
    }
    if (!keepZoom || S.zoom >= S.view.n) S.zoom = 0;
    S.hover = -1;
    S.maxRow = -1;
    scroller.scrollTop = 0;
    runSearch($('search').value);
    crumbs();
    hotspots();
    runtime();
    requestDraw();
  }

  function setBase(data) {
    S.baseData = data;
    S.base = flatten(data, data.strings || []);
    S.zoom = 0;
  }

  function setInverted(on) {
    S.inverted = !!on;
    $('toggle-invert').setAttribute('aria-pressed', String(S.inverted));
    rebuild(false);
  }

  function setThread(tid) {
    S.thread = tid === null || tid === '' || tid === undefined ? null : String(tid);
    $('thread-filter').value = S.thread === null ? '' : S.thread;
    rebuild(false);
  }

  function setModules(on) {
    S.modules = !!on;
    $('toggle-names').setAttribute('aria-pressed', String(S.modules));
    crumbs();
    requestDraw();
  }

  function setElided(on) {
    if (!STATS.elided_flamegraph) return;
    S.elided = !!on;
    $('toggle-elided').setAttribute('aria-pressed', String(S.elided));
    setBase(S.elided ? STATS.elided_flamegraph : DATA);
    rebuild(false);
  }

  function setTheme(theme) {
    document.documentElement.dataset.theme = theme;
    try { localStorage.setItem(THEME_KEY, theme); } catch (e) { /* file:// may refuse */ }
    readColors();
    requestDraw();
  }

  /* ------------------------------------------------------------------ */
  /* Side panel                                                          */

  function fmtInt(n) { return Math.round(n).toLocaleString('en-US'); }
  function pct(a, b) { return b > 0 ? (a / b * 100).toFixed(a / b >= 0.1 ? 1 : 2) + '%' : '0%'; }
  function fmtMs(samples) {
    var ms = samples * MS_PER_SAMPLE;
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + ' s';
    return ms.toFixed(ms >= 100 ? 0 : ms >= 10 ? 1 : 2) + ' ms';
  }
  function num(x, digits, suffix) {
    return typeof x === 'number' && isFinite(x) ? x.toFixed(digits) + (suffix || '') : '-';
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;';
    });
  }

  function summary() {
    var T = S.base;
    $('stat-samples').textContent = fmtInt(DATA.value || 0);
    $('stat-duration').textContent = typeof STATS.duration_sec === 'number' ? STATS.duration_sec.toFixed(2) + ' s' : '-';
    $('stat-rate').textContent = typeof STATS.sample_rate === 'number' ? fmtInt(STATS.sample_rate) + '/s' : '-';
    $('stat-errors').textContent = num(STATS.error_rate, 2, '%');
    $('stat-missed').textContent = num(STATS.missed_samples, 2, '%');
    var seen = new Set();
    for (var i = 0; i < T.n; i++) if (T.func[i] >= 0) seen.add(T.func[i] + ':' + T.file[i]);
    $('stat-functions').textContent = fmtInt(seen.size);
    if (DIFF) {
      $('diff-summary').hidden = false;
      var t = 'Baseline: ' + fmtInt(STATS.baseline_samples || 0) + ' samples';
      if (STATS.baseline_scale && STATS.baseline_scale !== 1) t += ' (\u00d7' + (+STATS.baseline_scale).toFixed(3) + ' for the interval)';
      t += '. Current: ' + fmtInt(STATS.current_samples || 0) + ' samples. ';
      t += fmtInt(STATS.elided_count || 0) + ' stack' + (STATS.elided_count === 1 ? '' : 's') + ' only in the baseline';
      t += STATS.elided_flamegraph ? ' (Elided view).' : '.';
      $('diff-text').textContent = t;
      if (STATS.elided_flamegraph) $('toggle-elided').hidden = false;
    }
  }

  function runtime() {
    var box = $('runtime-bars');
    box.textContent = '';
    var st = STATS.thread_stats;
    if (S.thread !== null && STATS.per_thread_stats && STATS.per_thread_stats[S.thread]) st = STATS.per_thread_stats[S.thread];
    if (!st || !st.total) { $('runtime').hidden = true; return; }
    $('runtime').hidden = false;
    var held = st.has_gil_pct || 0, wait = st.gil_requested_pct || 0;
    var rows = [];
    if (STATS.mode !== 2) {
      rows.push(['GIL held', held, '--bar-gil']);
      rows.push(['GIL released', Math.max(0, 100 - held - wait), '--bar-free']);
      rows.push(['Waiting for GIL', wait, '--bar-wait']);
    }
    rows.push(['Garbage collection', st.gc_pct || 0, '--bar-gc']);
    rows.push(['Exception', st.has_exception_pct || 0, '--bar-exc']);
    rows.forEach(function (r) {
      var d = document.createElement('div');
      d.className = 'meter';
      d.innerHTML = '<div class="label"><span>' + esc(r[0]) + '</span><span>' + r[1].toFixed(1) +
        '%</span></div><div class="track"><div class="fill" style="width:' + Math.min(100, r[1]).toFixed(2) +
        '%;background:var(' + r[2] + ')"></div></div>';
      box.appendChild(d);
    });
  }

  function hotspots() {
    var T = S.view, list = $('hotspots');
    list.textContent = '';
    var by = new Map();
    for (var i = 0; i < T.n; i++) {
      var s = S.s[i];
      if (!(s > 0) || T.name[i] < 0) continue;
      var e = by.get(T.name[i]);
      if (!e) by.set(T.name[i], e = { node: i, self: 0 });
      e.self += s;
    }
    var total = S.v[0] || 0;
    var top = Array.from(by.values()).sort(function (a, b) { return b.self - a.self; }).slice(0, 3);
    top.forEach(function (e) {
      if (!(total > 0) || e.self / total < 0.005) return;
      var li = document.createElement('li');
      var file = str(T, T.file[e.node]), base = file.slice(file.lastIndexOf('/') + 1);
      var q = base && T.line[e.node] > 0 ? base + ':' + T.line[e.node] : funcOf(T, e.node);
      li.innerHTML = '<div class="fn">' + esc(funcOf(T, e.node)) + '</div><div class="muted small">' +
        esc(base ? base + ':' + T.line[e.node] : '') + ' \u00b7 ' + pct(e.self, total) + ' self</div>';
      li.title = 'Search for ' + q;
      li.addEventListener('click', function () { $('search').value = q; runSearch(q); });
      list.appendChild(li);
    });
    if (!list.children.length) list.innerHTML = '<li class="muted">none above 0.5%</li>';
  }

  function legend() {
    var box = $('legend');
    if (DIFF) {
      var rows = [['diff-up-4', 'slower: +100% or more'], ['diff-up-2', 'slower: +30% to +50%'],
        ['diff-neutral', 'within \u00b115%'], ['diff-down-2', 'faster: -30% to -50%'],
        ['diff-down-4', 'faster: -100%'], ['diff-new', 'new in this profile'],
        ['diff-elided', 'only in the baseline (Elided)']];
      box.innerHTML = rows.map(function (r) {
        return '<div class="legend-row"><span class="swatch" style="background:var(--' + r[0] + ')"></span>' + esc(r[1]) + '</div>';
      }).join('') + '<div class="muted small">Colour: change of self time against the baseline.</div>';
    } else {
      var ramp = '';
      for (var i = 1; i <= 8; i++) ramp += '<span style="background:var(--heat-' + i + ')"></span>';
      box.innerHTML = '<div class="ramp">' + ramp + '</div><div class="legend-row muted" style="justify-content:space-between"><span>&lt;1%</span><span>share of samples</span><span>&ge;60%</span></div>' +
        '<div class="legend-row"><span class="swatch" style="background:var(--match)"></span>search match</div>';
    }
  }

  /* ------------------------------------------------------------------ */
  /* Tooltip                                                             */

  var tip = $('tip');

  function opName(op) {
    var n = OPMAP.names && OPMAP.names[op];
    return n || '<' + op + '>';
  }

  function tooltip(i, cx, cy) {
    var T = S.view, o = T.objs[i], src = o.src || o;
    var v = S.v[i], s = S.s[i], root = S.v[0], zoomV = S.v[S.zoom];
    var file = str(T, T.file[i]), mod = str(T, T.module[i]);
    var where = T.file[i] < 0 ? '' : (S.modules ? mod : file) + (T.line[i] > 0 ? ':' + T.line[i] : '');
    var h = '<div class="fn">' + esc(funcOf(T, i)) + '</div>';
    if (where && file !== '~') h += '<div class="where">' + esc(where) + '</div>';
    h += '<table>';
    h += '<tr><td>Total</td><td>' + fmtMs(v) + '</td><td>' + pct(v, root) + ' of all' +
      (S.zoom !== 0 ? ', ' + pct(v, zoomV) + ' of zoomed' : '') + '</td></tr>';
    h += '<tr><td>Self</td><td>' + fmtMs(s) + '</td><td>' + pct(s, root) + ' of all</td></tr>';
    h += '<tr><td>Samples</td><td>' + fmtInt(v) + '</td><td>' + fmtInt(s) + ' self</td></tr>';
    var threads = src.threads;
    if (threads && threads.length > 1 && S.thread === null) h += '<tr><td>Threads</td><td>' + threads.length + '</td><td></td></tr>';
    if (DIFF && typeof src.diff_pct === 'number') {
      var d = src.diff, cls = d > 0 ? 'up' : d < 0 ? 'down' : '';
      h += '<tr><td>Baseline self</td><td>' + fmtMs(src.baseline) + '</td><td>' + fmtMs(src.baseline_total) + ' total</td></tr>';
      var change = (d > 0 ? '+' : '') + fmtMs(d);
      h += '<tr><td>Change</td><td class="' + cls + '">' + change + '</td><td class="' + cls + '">' +
        (S.elided ? 'gone' : (src.diff_pct > 0 ? '+' : '') + src.diff_pct.toFixed(1) + '%') + '</td></tr>';
    }
    h += '</table>';
    var lines = src.source;
    if (lines && lines.length) {
      h += '<pre>' + lines.map(function (k) {
        var t = str(T, k);
        return t.charAt(0) === '\u2192' ? '<span class="cur">' + esc(t) + '</span>' : esc(t);
      }).join('\n') + '</pre>';
    }
    var ops = src.opcodes;
    if (S.thread !== null && src.thread_opcodes) ops = src.thread_opcodes[S.thread];
    if (ops) {
      var list = Object.keys(ops).map(function (k) { return [k, ops[k]]; })
        .sort(function (a, b) { return b[1] - a[1]; });
      var sum = list.reduce(function (a, e) { return a + e[1]; }, 0);
      if (sum > 0) {
        h += '<div class="ops">';
        list.slice(0, 8).forEach(function (e) {
          var base = OPMAP.deopt && OPMAP.deopt[e[0]];
          var name = esc(opName(e[0]));
          if (base !== undefined) name += '<span class="badge" title="specialized from ' + esc(opName(base)) + '">SPEC</span>';
          h += '<div class="op"><span>' + name + '</span><div class="b" style="width:' +
            (e[1] / sum * 100).toFixed(1) + '%"></div><span>' + pct(e[1], sum) + '</span></div>';
        });
        h += '</div>';
      }
    }
    tip.innerHTML = h;
    tip.hidden = false;
    var r = tip.getBoundingClientRect();
    var x = cx + 14, y = cy + 16;
    if (x + r.width > window.innerWidth - 8) x = Math.max(8, cx - r.width - 14);
    if (y + r.height > window.innerHeight - 8) y = Math.max(8, cy - r.height - 12);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
    $('status-where').textContent = (where ? where + '  ' : '') + funcOf(T, i) + ' \u2014 ' + fmtMs(v) + ' (' + pct(v, root) + ')';
  }

  /* ------------------------------------------------------------------ */
  /* Events                                                              */

  function local(e) {
    var r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  canvas.addEventListener('mousemove', function (e) {
    var p = local(e), i = hit(p[0], p[1]);
    if (i !== S.hover) { S.hover = i; requestDraw(); }
    if (i >= 0) { tooltip(i, e.clientX, e.clientY); canvas.style.cursor = 'pointer'; }
    else { tip.hidden = true; canvas.style.cursor = 'default'; }
  });
  canvas.addEventListener('mouseleave', function () {
    tip.hidden = true;
    if (S.hover !== -1) { S.hover = -1; requestDraw(); }
  });
  canvas.addEventListener('click', function (e) {
    var p = local(e), i = hit(p[0], p[1]);
    if (i >= 0) zoomTo(i);
  });
  canvas.addEventListener('dblclick', function (e) {
    var p = local(e);
    if (hit(p[0], p[1]) < 0) zoomTo(0);
  });
  scroller.addEventListener('scroll', requestDraw, { passive: true });

  var timer = 0;
  $('search').addEventListener('input', function () {
    clearTimeout(timer);
    var q = this.value;
    timer = setTimeout(function () { runSearch(q); }, 150);
  });
  $('search').addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { clearTimeout(timer); runSearch(this.value); }
  });
  $('search-clear').addEventListener('click', function () { $('search').value = ''; runSearch(''); });
  $('reset-zoom').addEventListener('click', function () { zoomTo(0); });
  $('toggle-invert').addEventListener('click', function () { setInverted(!S.inverted); });
  $('toggle-names').addEventListener('click', function () { setModules(!S.modules); });
  $('toggle-elided').addEventListener('click', function () { setElided(!S.elided); });
  $('toggle-theme').addEventListener('click', function () {
    setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
  });
  $('thread-filter').addEventListener('change', function () { setThread(this.value || null); });
  document.addEventListener('keydown', function (e) {
    if (e.target && e.target.tagName === 'INPUT') {
      if (e.key === 'Escape') { e.target.value = ''; runSearch(''); e.target.blur(); }
      return;
    }
    if (e.key === 'Escape') zoomTo(0);
    else if (e.key === '/') { e.preventDefault(); $('search').focus(); }
  });
  if (window.ResizeObserver) new ResizeObserver(function () { resize(); requestDraw(); }).observe(scroller);
  else window.addEventListener('resize', function () { resize(); requestDraw(); });

  /* ------------------------------------------------------------------ */
  /* Start                                                               */

  var theme = null;
  try { theme = localStorage.getItem(THEME_KEY); } catch (e) { theme = null; }
  if (theme !== 'dark' && theme !== 'light')
    theme = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  document.documentElement.dataset.theme = theme;
  readColors();

  var tids = (DATA.threads || []).slice().sort(function (a, b) { return a - b; });
  var sel = $('thread-filter');
  sel.innerHTML = '<option value="">All threads</option>' + tids.map(function (t) {
    return '<option value="' + t + '">Thread ' + t + '</option>';
  }).join('');
  $('thread-box').hidden = tids.length < 2 || DIFF;

  setBase(DATA);
  summary();
  legend();
  resize();
  rebuild(false);
  draw();

  // For tests and the curious: what the page shows.
  window.strobeFlamegraph = {
    ready: true,
    rootValue: function () { return S.v[0]; },
    rootName: function () { return textOf(S.view, 0); },
    zoomed: function () { return { index: S.zoom, name: textOf(S.view, S.zoom), value: S.v[S.zoom] }; },
    nodeCount: function () { return S.view.n; },
    find: function (text) {
      var best = -1;
      for (var i = 0; i < S.view.n; i++)
        if (textOf(S.view, i).indexOf(text) >= 0 && S.v[i] > 0 && (best < 0 || S.v[i] > S.v[best])) best = i;
      return best;
    },
    rectOf: rectOf,
    hit: hit,
    zoomTo: zoomTo,
    search: runSearch,
    searchState: function () { return { query: S.query, matches: S.matchCount, samples: S.matchSamples }; },
    setInverted: setInverted,
    inverted: function () { return S.inverted; },
    setThread: setThread,
    threads: function () { return tids.slice(); },
    setTheme: setTheme,
    theme: function () { return document.documentElement.dataset.theme; },
    setModules: setModules,
    setElided: setElided,
    drawStats: function () { draw(); return { drawn: S.drawn, ms: S.drawMs }; }
  };
})();
