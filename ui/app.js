/*
 * skillopt dashboard (issue 6): a read-only view of the training runs that
 * `skillopt ui` serves.  Plain browser JavaScript, no libraries, no build.
 *
 * SECURITY RULE - run data is hostile.  Every piece of model output, skill
 * text, configuration, file name or run id reaches the page only through
 * document.createTextNode / textContent, or through setAttribute on an
 * attribute that cannot run code (class, data-*, title, value, SVG geometry,
 * an href that is one of our own "#/..." routes, an <img> src that is a
 * data:image/ URL).  innerHTML, outerHTML, insertAdjacentHTML,
 * document.write, eval, new Function and string timers are never used.
 * The element builders h() and s() enforce the attribute rule: they throw
 * on on* handlers, style and any other attribute not on their list.
 *
 * Network: only same-origin requests to api/... (the server's CSP also
 * says so).  Views are chosen by the location hash:
 *   #/                               runs list (refreshed every 5 s)
 *   #/run/ID                         run overview, charts, live progress (SSE)
 *   #/run/ID/step/N                  step inspector
 *   #/run/ID/step/N/rollout[?src=S]  rollout items, conversations, compare
 *   #/run/ID/skills                  skill versions, diff, blame
 *   #/run/ID/memory                  rejected-edit buffer, epoch updates, config
 * ID is URI-encoded (run ids may contain '/').
 */
'use strict';

(function () {
  /* ---------------------------------------------------------------- DOM */

  const SAFE_ATTR = new Set([
    'class', 'id', 'title', 'type', 'value', 'name', 'for', 'href', 'colspan',
    'rowspan', 'checked', 'selected', 'disabled', 'placeholder', 'min', 'max',
    'step', 'role', 'tabindex', 'open', 'spellcheck', 'readonly', 'size',
    'src', 'alt', 'lang',
    /* SVG geometry and presentation */
    'x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'rx', 'ry', 'd',
    'width', 'height', 'viewBox', 'points', 'transform', 'text-anchor',
    'dominant-baseline', 'fill', 'stroke', 'stroke-width', 'stroke-dasharray',
    'preserveAspectRatio', 'font-size',
  ]);

  function setAttrs(e, attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (!SAFE_ATTR.has(k) && !/^(data|aria)-[a-z0-9-]+$/.test(k))
        throw new Error('attribute not allowed: ' + k);
      const sv = v === true ? '' : String(v);
      if (k === 'href' && !sv.startsWith('#'))
        throw new Error('href must be a #/ route');
      if (k === 'src' && !/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/.test(sv))
        throw new Error('src must be a data:image URL');
      e.setAttribute(k, sv);
    }
  }

  /* appends nodes, strings (as text) and arrays of them; null skipped */
  function append(e, ...kids) {
    for (const k of kids) {
      if (k === null || k === undefined || k === false) continue;
      if (Array.isArray(k)) append(e, ...k);
      else e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  /* HTML element; string children become text nodes. */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) setAttrs(e, attrs);
    return append(e, kids);
  }

  const SVGNS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    if (attrs) setAttrs(e, attrs);
    return append(e, kids);
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  function replaceKids(e, ...kids) {
    clear(e);
    return append(e, kids);
  }

  function on(e, type, fn) {
    e.addEventListener(type, fn);
    return e;
  }

  /* ------------------------------------------------------------ format */

  const DASH = '\u2014';
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmtScore(v) { return isNum(v) ? v.toFixed(3) : DASH; }
  function fmtNum(v, d) { return isNum(v) ? v.toFixed(d === undefined ? 2 : d) : DASH; }
  function fmtCost(v) {
    if (!isNum(v)) return DASH;
    return '$' + (v !== 0 && Math.abs(v) < 0.1 ? v.toFixed(4) : v.toFixed(2));
  }
  function fmtTok(v) {
    if (!isNum(v)) return DASH;
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + 'M';
    if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + 'k';
    return String(Math.round(v));
  }
  function fmtDur(sec) {
    if (!isNum(sec)) return DASH;
    if (sec < 60) return sec.toFixed(sec < 10 ? 1 : 0) + ' s';
    const m = Math.floor(sec / 60), ss = Math.round(sec % 60);
    if (m < 60) return m + ' min ' + ss + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function fmtTime(iso) {
    if (typeof iso !== 'string' || !iso) return DASH;
    const d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }
  function fmtSize(n) {
    if (!isNum(n)) return '';
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MiB';
    if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
    return n + ' B';
  }
  function pad(n, w) { return String(n).padStart(w, '0'); }
  function str(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    return JSON.stringify(v);
  }
  function prettyJSON(v) {
    const t = JSON.stringify(v, null, 2);
    return t === undefined ? String(v) : t;
  }

  /* accept / reject / skip / other, from the gate's action name */
  function actionKind(a) {
    if (typeof a !== 'string' || !a) return 'none';
    if (a.startsWith('accept')) return 'accept';
    if (a.startsWith('reject')) return 'reject';
    if (a.startsWith('skip')) return 'skip';
    return 'other';
  }

  function badge(text, cls) {
    return h('span', { class: 'badge ' + (cls || '') }, text);
  }
  function actionBadge(a) { return badge(a || DASH, actionKind(a)); }
  function statusBadge(st) { return badge(st || 'unknown', st || ''); }
  function applyStatusClass(st) {
    if (typeof st !== 'string') return 'other';
    if (st === 'applied' || st.startsWith('applied')) return 'applied';
    if (st.startsWith('skipped')) return 'skipped';
    if (st.startsWith('error')) return 'error';
    return 'other';
  }

  /* ---------------------------------------------------------------- API */

  class HttpError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  async function apiRaw(path, params) {
    const q = new URLSearchParams(params || {}).toString();
    const r = await fetch('api/' + path + (q ? '?' + q : ''), { cache: 'no-store' });
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try {
        const j = await r.json();
        if (j && typeof j.error === 'string') msg = r.status + ': ' + j.error;
      } catch (e) { /* not JSON */ }
      throw new HttpError(r.status, msg);
    }
    return r;
  }
  async function apiJSON(path, params) { return (await apiRaw(path, params)).json(); }
  async function fileText(run, path) { return (await apiRaw('file', { run, path })).text(); }
  /* the file's text, or null when it does not exist */
  async function fileTextOpt(run, path) {
    try { return await fileText(run, path); } catch (e) {
      if (e instanceof HttpError && e.status === 404) return null;
      throw e;
    }
  }
  async function fileJSONOpt(run, path) {
    const t = await fileTextOpt(run, path);
    return t === null ? null : JSON.parse(t);
  }
  function parseJSONL(text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try { out.push(JSON.parse(line)); } catch (e) { /* torn last line */ }
    }
    return out;
  }
  async function lsOpt(run, path) {
    try { return (await apiJSON('ls', { run, path })).entries || []; } catch (e) {
      if (e instanceof HttpError && e.status === 404) return [];
      throw e;
    }
  }
  const predDirCache = new Map();
  async function predDir(id) {
    const key = String(id);
    if (!predDirCache.has(key))
      predDirCache.set(key, apiJSON('preddir', { id: key }).then((j) => j.dir));
    return predDirCache.get(key);
  }

  /* runs `fn` over items with at most `n` in flight */
  async function pool(items, n, fn) {
    const out = new Array(items.length);
    let next = 0;
    async function worker() {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }
    const ws = [];
    for (let i = 0; i < Math.min(n, items.length); i++) ws.push(worker());
    await Promise.all(ws);
    return out;
  }

  /* ------------------------------------------------------------- router */

  function runHref(id, ...rest) {
    let p = '#/run/' + encodeURIComponent(id);
    for (const r of rest) p += '/' + encodeURIComponent(String(r));
    return p;
  }
  function stepDir(n) { return 'steps/step_' + pad(n, 4); }
  function skillFile(n) { return 'skills/skill_v' + pad(n, 4) + '.md'; }

  let current = null; /* {alive, disposers[]} of the view on screen */

  function newCtx() {
    const ctx = { alive: true, disposers: [] };
    ctx.onDispose = (fn) => ctx.disposers.push(fn);
    ctx.interval = (fn, ms) => {
      const t = setInterval(fn, ms);
      ctx.onDispose(() => clearInterval(t));
    };
    return ctx;
  }

  function setCrumbs(parts) {
    const nav = document.getElementById('crumbs');
    clear(nav);
    parts.forEach((p, i) => {
      if (i) nav.appendChild(h('span', { class: 'sep' }, '/'));
      nav.appendChild(p.href ? h('a', { href: p.href }, p.text) : h('span', null, p.text));
    });
  }
  function setConn(state, text) {
    const c = document.getElementById('conn');
    c.className = 'conn ' + (state || '');
    c.textContent = text || '';
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, '');
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    const query = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    const segs = path.split('/').filter(Boolean).map((x) => {
      try { return decodeURIComponent(x); } catch (e) { return x; }
    });
    return { segs, query };
  }

  function route() {
    if (current) {
      current.alive = false;
      for (const d of current.disposers) { try { d(); } catch (e) { /* ignore */ } }
    }
    const ctx = newCtx();
    current = ctx;
    setConn('', '');
    const main = document.getElementById('main');
    const root = h('div', { class: 'view' });
    replaceKids(main, root);
    const { segs, query } = parseHash();
    let p;
    if (segs.length === 0) p = viewRuns(ctx, root);
    else if (segs[0] === 'run' && segs.length >= 2) {
      const id = segs[1], rest = segs.slice(2);
      if (rest.length === 0) p = viewRun(ctx, root, id);
      else if (rest[0] === 'step' && rest.length === 2) p = viewStep(ctx, root, id, parseInt(rest[1], 10));
      else if (rest[0] === 'step' && rest.length === 3 && rest[2] === 'rollout')
        p = viewRollouts(ctx, root, id, parseInt(rest[1], 10), query);
      else if (rest[0] === 'skills') p = viewSkills(ctx, root, id);
      else if (rest[0] === 'memory') p = viewMemory(ctx, root, id);
    }
    if (!p) {
      setCrumbs([{ text: 'not found' }]);
      append(root, h('p', { class: 'error' }, 'No such page: ' + location.hash));
      return;
    }
    p.catch((e) => {
      if (!ctx.alive) return;
      append(root, h('p', { class: 'error' }, 'Error: ' + (e && e.message ? e.message : String(e))));
      console.error(e);
    });
  }

  /* ------------------------------------------------------------- charts */

  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const span = hi - lo, raw = span / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    const stepv = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
    const out = [];
    for (let v = Math.ceil(lo / stepv) * stepv; v <= hi + stepv * 1e-9; v += stepv)
      out.push(Math.abs(v) < stepv * 1e-9 ? 0 : v);
    return out;
  }

  function markerPath(shape, x, y, r) {
    const f = (v) => v.toFixed(2);
    switch (shape) {
      case 'cross':
        return 'M' + f(x - r) + ',' + f(y - r) + 'L' + f(x + r) + ',' + f(y + r) +
          'M' + f(x - r) + ',' + f(y + r) + 'L' + f(x + r) + ',' + f(y - r);
      case 'triangle':
        return 'M' + f(x) + ',' + f(y - r * 1.1) + 'L' + f(x + r) + ',' + f(y + r * 0.8) +
          'L' + f(x - r) + ',' + f(y + r * 0.8) + 'Z';
      case 'diamond':
        return 'M' + f(x) + ',' + f(y - r * 1.2) + 'L' + f(x + r) + ',' + f(y) +
          'L' + f(x) + ',' + f(y + r * 1.2) + 'L' + f(x - r) + ',' + f(y) + 'Z';
      case 'square':
        return 'M' + f(x - r) + ',' + f(y - r) + 'h' + f(2 * r) + 'v' + f(2 * r) + 'h' + f(-2 * r) + 'Z';
      default: /* circle */
        return 'M' + f(x - r) + ',' + f(y) + 'a' + f(r) + ',' + f(r) + ' 0 1,0 ' + f(2 * r) +
          ',0a' + f(r) + ',' + f(r) + ' 0 1,0 ' + f(-2 * r) + ',0';
    }
  }

  /*
   * One SVG chart.  o: {id, width, height, xDomain, yDomain, xLabel, yFmt,
   * series: [{name, cls, points: [[x, y|null]], step, dots}],
   * bars: [{x, parts: [{v, cls, name}]}], barWidth,
   * markers: [{x, y, shape, cls, attrs, title}], legend: [{name, cls, shape}]}
   */
  function svgChart(o) {
    const W = o.width || 720, H = o.height || 230;
    const ml = 52, mr = 14, mt = 10, mb = (o.legend && o.legend.length) ? 44 : 26;
    const pw = W - ml - mr, ph = H - mt - mb;
    let [x0, x1] = o.xDomain;
    if (!(x1 > x0)) { x0 -= 0.5; x1 += 0.5; }
    let [y0, y1] = o.yDomain;
    if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
    const X = (v) => ml + ((v - x0) / (x1 - x0)) * pw;
    const Y = (v) => mt + ph - ((v - y0) / (y1 - y0)) * ph;
    const yFmt = o.yFmt || ((v) => String(+v.toFixed(3)));
    const svg = s('svg', {
      viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'xMidYMid meet',
      role: 'img', 'aria-label': o.title || 'chart', 'data-chart': o.id || '',
    });
    const grid = s('g', { class: 'grid' }), axis = s('g', { class: 'axis' });
    for (const t of niceTicks(y0, y1, 5)) {
      grid.appendChild(s('line', { x1: ml, x2: ml + pw, y1: Y(t), y2: Y(t) }));
      axis.appendChild(s('text', { x: ml - 6, y: Y(t) + 4, 'text-anchor': 'end' }, yFmt(t)));
    }
    const xt = niceTicks(x0, x1, Math.min(10, Math.max(2, Math.floor(pw / 60))))
      .filter((t) => !o.integerX || Number.isInteger(t));
    for (const t of xt) {
      axis.appendChild(s('line', { x1: X(t), x2: X(t), y1: mt + ph, y2: mt + ph + 4 }));
      axis.appendChild(s('text', { x: X(t), y: mt + ph + 16, 'text-anchor': 'middle' }, String(+t.toFixed(2))));
    }
    axis.appendChild(s('line', { x1: ml, x2: ml + pw, y1: mt + ph, y2: mt + ph }));
    axis.appendChild(s('line', { x1: ml, x2: ml, y1: mt, y2: mt + ph }));
    if (o.xLabel)
      axis.appendChild(s('text', { x: ml + pw, y: mt + ph + 16 + 12, 'text-anchor': 'end' }, o.xLabel));
    svg.appendChild(grid);
    svg.appendChild(axis);

    if (o.bars && o.bars.length) {
      const bw = Math.max(1, Math.min(24, (pw / Math.max(1, x1 - x0)) * (o.barWidth || 0.7)));
      const g = s('g', { class: 'bars' });
      for (const b of o.bars) {
        let acc = 0;
        for (const part of b.parts) {
          if (!isNum(part.v) || part.v <= 0) continue;
          const ya = Y(acc), yb = Y(acc + part.v);
          g.appendChild(s('rect', {
            class: 'bar ' + part.cls, x: X(b.x) - bw / 2, y: yb, width: bw,
            height: Math.max(0.5, ya - yb), 'data-x': b.x,
          }, s('title', null, (b.label || ('step ' + b.x)) + ': ' + part.name + ' ' + yFmt(part.v))));
          acc += part.v;
        }
      }
      svg.appendChild(g);
    }

    for (const se of o.series || []) {
      let d = '', prev = null;
      for (const [px, py] of se.points) {
        if (!isNum(py)) { prev = null; continue; }
        if (prev === null) d += 'M' + X(px).toFixed(2) + ',' + Y(py).toFixed(2);
        else if (se.step) d += 'H' + X(px).toFixed(2) + 'V' + Y(py).toFixed(2);
        else d += 'L' + X(px).toFixed(2) + ',' + Y(py).toFixed(2);
        prev = py;
      }
      if (d) svg.appendChild(s('path', { class: 'series ' + se.cls, d, 'data-series': se.name }));
      if (se.dots) {
        const g = s('g', { class: 'dots' });
        for (const [px, py] of se.points) {
          if (!isNum(py)) continue;
          g.appendChild(s('circle', {
            class: 'dot ' + se.cls.replace(/\bs(\d)\b/, 'f$1'), cx: X(px), cy: Y(py), r: 2.4,
            'data-x': px,
          }, s('title', null, se.name + ' at ' + px + ': ' + yFmt(py))));
        }
        svg.appendChild(g);
      }
    }

    if (o.markers && o.markers.length) {
      const g = s('g', { class: 'markers' });
      const r = Math.max(2.5, Math.min(5.5, pw / Math.max(1, x1 - x0) / 3));
      for (const m of o.markers) {
        if (!isNum(m.y)) continue;
        const rr = m.big ? r * 1.35 : r;
        const attrs = Object.assign({ class: m.cls, d: markerPath(m.shape, X(m.x), Y(m.y), rr) }, m.attrs || {});
        g.appendChild(s('path', attrs, m.title ? s('title', null, m.title) : null));
      }
      svg.appendChild(g);
    }

    if (o.legend && o.legend.length) {
      const g = s('g', { class: 'legend' });
      let lx = ml;
      const ly = H - 8;
      for (const it of o.legend) {
        if (it.shape === 'line')
          g.appendChild(s('path', { class: 'series ' + it.cls, d: 'M' + lx + ',' + (ly - 4) + 'h18' }));
        else if (it.shape === 'box')
          g.appendChild(s('rect', { class: 'bar ' + it.cls, x: lx + 3, y: ly - 10, width: 12, height: 10 }));
        else
          g.appendChild(s('path', { class: it.cls, d: markerPath(it.shape, lx + 9, ly - 4, 4.5) }));
        g.appendChild(s('text', { x: lx + 23, y: ly }, it.name));
        lx += 23 + it.name.length * 6.4 + 16;
      }
      svg.appendChild(g);
    }
    if (o.empty)
      svg.appendChild(s('text', { class: 'hint', x: ml + pw / 2, y: mt + ph / 2, 'text-anchor': 'middle' }, o.empty));
    return svg;
  }

  const DOTS_MAX = 400, BARS_MAX = 300, STEPS_SHOWN = 200;

  function chartCard(title, svg, extra) {
    return h('div', { class: 'card chart' }, h('h2', null, title), svg, extra || null);
  }

  function domainOf(values, pad0) {
    const v = values.filter(isNum);
    if (!v.length) return [0, 1];
    let lo = Math.min(...v), hi = Math.max(...v);
    if (pad0) lo = Math.min(0, lo);
    if (lo >= 0 && hi <= 1 && lo >= 0) return [0, 1];
    if (hi === lo) return [lo - 1, hi + 1];
    return [lo, hi + (hi - lo) * 0.05];
  }

  /* --------------------------------------------------------------- diff */

  const DIFF_MAX_LINES = 5000, DIFF_MAX_D = 2000;

  /*
   * Line diff by the shortest edit script (Myers), i.e. a longest common
   * subsequence of lines.  Returns [{k: 'same'|'add'|'del', a, b, t}] with
   * 1-based line numbers, or null when either side exceeds DIFF_MAX_LINES.
   * Beyond DIFF_MAX_D changed lines the middle is shown as all removed,
   * then all added (correct, not minimal).
   */
  function diffLines(A, B) {
    if (A.length > DIFF_MAX_LINES || B.length > DIFF_MAX_LINES) return null;
    let pre = 0;
    while (pre < A.length && pre < B.length && A[pre] === B[pre]) pre++;
    let suf = 0;
    while (suf < A.length - pre && suf < B.length - pre &&
           A[A.length - 1 - suf] === B[B.length - 1 - suf]) suf++;
    const a = A.slice(pre, A.length - suf), b = B.slice(pre, B.length - suf);
    const N = a.length, M = b.length, MAXD = Math.min(N + M, DIFF_MAX_D);
    const off = MAXD + 1;
    const v = new Int32Array(2 * MAXD + 3);
    const trace = [];
    let found = -1;
    for (let d = 0; d <= MAXD && found < 0; d++) {
      for (let k = -d; k <= d; k += 2) {
        let x = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]))
          ? v[off + k + 1] : v[off + k - 1] + 1;
        let y = x - k;
        while (x < N && y < M && a[x] === b[y]) { x++; y++; }
        v[off + k] = x;
        if (x >= N && y >= M) { found = d; break; }
      }
      trace.push(v.slice(off - d, off + d + 1));
    }
    const mid = [];
    let x = N, y = M;
    if (found < 0) {
      /* too many changes for an exact script: all of a out, all of b in */
      for (let i = M - 1; i >= 0; i--) mid.push({ k: 'add', bi: i });
      for (let i = N - 1; i >= 0; i--) mid.push({ k: 'del', ai: i });
      x = 0; y = 0;
    }
    for (let d = found; d > 0; d--) {
      const vp = trace[d - 1]; /* indices k + (d - 1) */
      const k = x - y;
      const down = k === -d || (k !== d && vp[k - 1 + d - 1] < vp[k + 1 + d - 1]);
      const pk = down ? k + 1 : k - 1;
      const px = vp[pk + d - 1], py = px - pk;
      while (x > px + (down ? 0 : 1) && y > py + (down ? 1 : 0)) {
        mid.push({ k: 'same', ai: x - 1, bi: y - 1 });
        x--; y--;
      }
      if (down) mid.push({ k: 'add', bi: py });
      else mid.push({ k: 'del', ai: px });
      x = px; y = py;
    }
    while (x > 0 && y > 0) { mid.push({ k: 'same', ai: x - 1, bi: y - 1 }); x--; y--; }
    mid.reverse();
    const out = [];
    for (let i = 0; i < pre; i++) out.push({ k: 'same', a: i + 1, b: i + 1, t: A[i] });
    for (const m of mid) {
      if (m.k === 'same') out.push({ k: 'same', a: pre + m.ai + 1, b: pre + m.bi + 1, t: a[m.ai] });
      else if (m.k === 'add') out.push({ k: 'add', a: null, b: pre + m.bi + 1, t: b[m.bi] });
      else out.push({ k: 'del', a: pre + m.ai + 1, b: null, t: a[m.ai] });
    }
    for (let i = suf; i > 0; i--)
      out.push({ k: 'same', a: A.length - i + 1, b: B.length - i + 1, t: A[A.length - i] });
    return out;
  }

  function splitLines(text) {
    if (text === null || text === undefined) return [];
    const l = String(text).split(/\r?\n/);
    if (l.length && l[l.length - 1] === '') l.pop();
    return l;
  }

  /* A rendered diff table; unchanged runs beyond `context` lines fold. */
  function diffView(oldText, newText, context) {
    const ctxN = context === undefined ? 3 : context;
    const ops = diffLines(splitLines(oldText), splitLines(newText));
    if (!ops)
      return h('p', { class: 'muted' }, 'Too large to diff in the browser (over ' + DIFF_MAX_LINES + ' lines).');
    const adds = ops.filter((o) => o.k === 'add').length, dels = ops.filter((o) => o.k === 'del').length;
    const tbody = h('tbody');
    const table = h('table', { class: 'diff', 'data-adds': adds, 'data-dels': dels }, tbody);
    const row = (o) => h('tr', { class: o.k, 'data-kind': o.k },
      h('td', { class: 'ln' }, o.a === null ? '' : String(o.a)),
      h('td', { class: 'ln' }, o.b === null ? '' : String(o.b)),
      h('td', { class: 'sign' }, o.k === 'add' ? '+' : o.k === 'del' ? '-' : ' '),
      h('td', { class: 'txt' }, o.t));
    const changed = ops.map((o) => o.k !== 'same');
    const near = new Array(ops.length).fill(false);
    for (let i = 0; i < ops.length; i++)
      if (changed[i])
        for (let j = Math.max(0, i - ctxN); j <= Math.min(ops.length - 1, i + ctxN); j++) near[j] = true;
    let i = 0;
    while (i < ops.length) {
      if (near[i] || ctxN < 0) { tbody.appendChild(row(ops[i])); i++; continue; }
      let j = i;
      while (j < ops.length && !near[j]) j++;
      const hidden = ops.slice(i, j);
      if (hidden.length <= 2) { for (const o of hidden) tbody.appendChild(row(o)); i = j; continue; }
      const gap = h('tr', { class: 'gap' }, h('td', { colspan: 4 },
        '\u22EF ' + hidden.length + ' unchanged line' + (hidden.length === 1 ? '' : 's') + ' (click to show)'));
      on(gap, 'click', () => {
        const frag = document.createDocumentFragment();
        for (const o of hidden) frag.appendChild(row(o));
        gap.replaceWith(frag);
      });
      tbody.appendChild(gap);
      i = j;
    }
    return h('div', null,
      h('p', { class: 'small muted' }, '+' + adds + ' added, \u2212' + dels + ' removed' +
        (adds + dels === 0 ? ' (identical)' : '')),
      table);
  }

  /* ------------------------------------------------------- small pieces */

  function textBlock(text, cls) {
    return h('div', { class: 'textview ' + (cls || '') }, h('pre', null, text));
  }
  function jsonBlock(v) {
    let t = prettyJSON(v);
    if (t.length > 400000) t = t.slice(0, 400000) + '\n\u2026 (truncated)';
    return textBlock(t);
  }
  function section(title, ...kids) {
    return h('div', { class: 'card' }, h('h2', null, title), ...kids);
  }
  function loadingP() { return h('p', { class: 'muted' }, 'Loading\u2026'); }
  function kv(pairs) {
    const d = h('div', { class: 'kv' });
    for (const [k, v] of pairs) append(d, [h('div', { class: 'k' }, k), h('div', null, v)]);
    return d;
  }
  function stat(k, v, sub) {
    return h('div', { class: 'stat' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v),
      sub ? h('div', { class: 'sub' }, sub) : null);
  }

  function runTabs(id, active) {
    const t = [['overview', 'Overview', runHref(id)], ['skills', 'Skills', runHref(id, 'skills')],
      ['memory', 'Memory & config', runHref(id, 'memory')]];
    return h('nav', { class: 'tabs' }, t.map(([k, label, href]) =>
      h('a', { href, class: k === active ? 'active' : '' }, label)));
  }

  function runCrumbs(id, more) {
    setCrumbs([{ text: 'runs', href: '#/' }, { text: id, href: runHref(id) }].concat(more || []));
  }

  /* One edit of a patch: op, target (the text it replaces), content. */
  function editView(e, i) {
    if (!e || typeof e !== 'object') return h('div', { class: 'edit' }, h('pre', null, str(e)));
    const extras = Object.keys(e).filter((k) => !['op', 'target', 'content', 'content_preview', 'status', 'index'].includes(k));
    return h('div', { class: 'edit', 'data-op': str(e.op) },
      h('div', { class: 'row' },
        i !== undefined ? h('span', { class: 'muted small' }, '#' + (i + 1)) : null,
        badge(str(e.op) || '?', 'op'),
        e.status !== undefined ? badge(str(e.status), applyStatusClass(e.status)) : null,
        extras.map((k) => h('span', { class: 'small muted' }, k + ': ' + str(e[k])))),
      e.target !== undefined && e.target !== '' ? h('div', { class: 'target' },
        h('div', { class: 'label' }, 'target'), h('pre', null, str(e.target))) : null,
      (e.content !== undefined || e.content_preview !== undefined) ? h('div', { class: 'content' },
        h('div', { class: 'label' }, e.content !== undefined ? 'content' : 'content (preview)'),
        h('pre', null, str(e.content !== undefined ? e.content : e.content_preview))) : null);
  }

  function patchView(p) {
    if (!p || typeof p !== 'object') return h('pre', null, str(p));
    const edits = Array.isArray(p.edits) ? p.edits : [];
    return h('div', null,
      p.reasoning ? h('p', null, h('span', { class: 'muted' }, 'reasoning: '), str(p.reasoning)) : null,
      edits.length ? edits.map((e, i) => editView(e, i)) : h('p', { class: 'muted' }, 'no edits'));
  }

  /* --------------------------------------------------------- runs list */

  async function viewRuns(ctx, root) {
    setCrumbs([{ text: 'runs' }]);
    document.title = 'skillopt runs';
    const info = h('p', { class: 'muted small' });
    const tbody = h('tbody');
    const cols = ['status', 'run', 'benchmark', 'target / optimizer', 'baseline', 'best', 'test', 'steps',
      'spend', 'tokens', 'started', 'duration'];
    const numeric = new Set(['baseline', 'best', 'test', 'steps', 'spend', 'tokens', 'duration']);
    append(root, h('div', { class: 'card' },
      h('div', { class: 'row' }, h('h2', null, 'Runs'), h('span', { class: 'spacer' }), info),
      h('div', { class: 'table-wrap' }, h('table', { id: 'runs' },
        h('thead', null, h('tr', null, cols.map((c) => h('th', { class: numeric.has(c) ? 'num' : '' }, c)))),
        tbody))));
    async function refresh() {
      let j;
      try { j = await apiJSON('runs'); } catch (e) {
        info.textContent = 'refresh failed: ' + e.message;
        return;
      }
      if (!ctx.alive) return;
      const runs = (j && Array.isArray(j.runs)) ? j.runs.slice() : [];
      runs.sort((a, b) => String(b.started || '').localeCompare(String(a.started || '')) ||
        String(a.id).localeCompare(String(b.id)));
      clear(tbody);
      if (!runs.length)
        tbody.appendChild(h('tr', null, h('td', { colspan: cols.length, class: 'muted' }, 'No runs found.')));
      for (const r of runs) {
        tbody.appendChild(h('tr', { 'data-run': str(r.id), 'data-status': str(r.status) },
          h('td', null, statusBadge(r.status)),
          h('td', { class: 'wrap' }, h('a', { href: runHref(r.id) }, str(r.id))),
          h('td', null, str(r.benchmark) || DASH),
          h('td', { class: 'wrap' }, (str(r.target_model) || DASH) + ' / ' + (str(r.optimizer_model) || DASH)),
          h('td', { class: 'num' }, fmtScore(r.baseline_score)),
          h('td', { class: 'num' }, fmtScore(r.best_score)),
          h('td', { class: 'num' }, fmtScore(r.test_hard)),
          h('td', { class: 'num' }, str(isNum(r.steps_done) ? r.steps_done : DASH) +
            (isNum(r.total_steps) ? ' / ' + r.total_steps : '')),
          h('td', { class: 'num' }, fmtCost(r.cost_usd)),
          h('td', { class: 'num' }, fmtTok(r.tokens)),
          h('td', null, fmtTime(r.started)),
          h('td', { class: 'num' }, fmtDur(r.duration_s))));
      }
      info.textContent = runs.length + ' run' + (runs.length === 1 ? '' : 's') + ', updated ' +
        new Date().toLocaleTimeString();
    }
    await refresh();
    ctx.interval(refresh, 5000);
  }

  /* -------------------------------------------------------- run overview */

  /*
   * Tails events.jsonl over Server-Sent Events.  The server numbers lines
   * from 0 in the id field; on an error the stream is reopened from the
   * next line, and lines already seen are dropped.
   */
  const EVENT_TYPES = ['run_start', 'phase_start', 'phase_end', 'rollout_progress', 'gate', 'step_end',
    'spend', 'run_end', 'warning', 'error', 'message'];
  function openEvents(ctx, runId, onEvent) {
    let es = null, next = 0, timer = null, closed = false;
    const handle = (ev) => {
      const id = parseInt(ev.lastEventId, 10);
      if (Number.isInteger(id)) {
        if (id < next) return;
        next = id + 1;
      } else next++;
      let obj;
      try { obj = JSON.parse(ev.data); } catch (e) { return; }
      if (obj && typeof obj === 'object') onEvent(obj);
    };
    function connect() {
      es = new EventSource('api/events?' + new URLSearchParams({ run: runId, from: String(next) }).toString());
      for (const t of EVENT_TYPES) es.addEventListener(t, handle);
      es.onopen = () => setConn('live', 'live');
      es.onerror = () => {
        es.close();
        if (closed) return;
        setConn('down', 'reconnecting\u2026');
        timer = setTimeout(connect, 1500);
      };
    }
    connect();
    ctx.onDispose(() => {
      closed = true;
      clearTimeout(timer);
      if (es) es.close();
      setConn('', '');
    });
  }

  async function viewRun(ctx, root, id) {
    runCrumbs(id);
    document.title = id + ' \u2013 skillopt';
    append(root, loadingP());
    const run = await apiJSON('run', { run: id });
    if (!ctx.alive) return;
    clear(root);

    const st = {
      status: run.status,
      summary: run.summary || null,
      config: run.config || {},
      hist: Array.isArray(run.history) ? run.history : [],
      prov: new Map(), /* step -> row built from gate / step_end events */
      spend: [], /* {step, cost, tokens} from spend events */
      spendRoles: null, /* the last spend event's by_role */
      phaseTotals: new Map(), /* phase -> [seconds, count] */
      live: { phase: null, step: null, epoch: null, split: null, done: null, total: null },
      lastStep: 0,
      runStart: null,
      runEnd: null,
      baselineFromEvents: null,
    };

    const statusEl = h('span');
    const head = h('div', { class: 'card' },
      h('div', { class: 'row' }, h('h1', null, id), statusEl),
      h('div', { class: 'small muted', id: 'runmeta' }));
    const statsEl = h('div', { class: 'stats' });
    const liveEl = h('div', { class: 'live' });
    const chartsEl = h('div', { class: 'grid2', id: 'charts' });
    const tablesEl = h('div');
    append(root, head, runTabs(id, 'overview'),
      h('div', { class: 'card' }, h('h2', null, 'Progress'), liveEl), statsEl,
      chartsEl, tablesEl);

    function rows() {
      const m = new Map();
      for (const r of st.hist) if (r && isNum(r.step)) m.set(r.step, r);
      for (const [k, r] of st.prov) if (!m.has(k)) m.set(k, r);
      return [...m.values()].sort((a, b) => a.step - b.step);
    }
    function baseline() {
      if (st.summary && isNum(st.summary.baseline_selection_hard)) return st.summary.baseline_selection_hard;
      return st.baselineFromEvents;
    }

    function renderHead() {
      replaceKids(statusEl, statusBadge(st.status));
      const c = st.config || {};
      const rs = st.runStart || {};
      const meta = document.getElementById('runmeta');
      if (meta)
        meta.textContent = [
          'benchmark ' + (str(rs.benchmark || c.benchmark || c.env) || DASH),
          'target ' + (str(rs.target_model || c.target_model) || DASH),
          'optimizer ' + (str(rs.optimizer_model || c.optimizer_model) || DASH),
          'started ' + fmtTime(rs.ts),
        ].join(' \u00B7 ');
    }

    function renderStats() {
      const R = rows(), last = R[R.length - 1] || {}, sm = st.summary || {};
      const acc = R.filter((r) => actionKind(r.action) === 'accept').length;
      const rej = R.filter((r) => actionKind(r.action) === 'reject').length;
      const skp = R.filter((r) => actionKind(r.action) === 'skip').length;
      const sp = st.spend[st.spend.length - 1];
      const tot = sm.token_summary && sm.token_summary._total;
      const total = isNum(sm.total_steps) ? sm.total_steps : (st.runStart && st.runStart.total_steps);
      replaceKids(statsEl,
        stat('baseline', fmtScore(baseline())),
        stat('best', fmtScore(isNum(sm.best_selection_hard) ? sm.best_selection_hard : last.best_score),
          'step ' + str(isNum(sm.best_step) ? sm.best_step : (last.best_step !== undefined ? last.best_step : DASH))),
        stat('current', fmtScore(last.current_score)),
        stat('test (hard)', isNum(sm.test_hard) ? fmtScore(sm.baseline_test_hard) + ' \u2192 ' + fmtScore(sm.test_hard) : DASH,
          isNum(sm.final_test_hard) ? 'final skill ' + fmtScore(sm.final_test_hard) : null),
        stat('steps', R.length + (isNum(total) ? ' / ' + total : ''), acc + ' accepted, ' + rej + ' rejected, ' + skp + ' skipped'),
        stat('spend', fmtCost(tot ? tot.cost_usd : sp ? sp.cost : null),
          fmtTok(tot ? tot.total_tokens : sp ? sp.tokens : null) + ' tokens'),
        stat('wall time', fmtDur(isNum(sm.total_wall_time_s) ? sm.total_wall_time_s : null)));
    }

    function renderLive() {
      const L = st.live;
      const kids = [statusBadge(st.status)];
      if (st.runEnd) {
        kids.push(h('span', null, 'run ended: ' + str(st.runEnd.status) +
          (st.runEnd.message ? ' \u2013 ' + str(st.runEnd.message) : '')));
      } else if (L.phase && st.status !== 'running') {
        kids.push(h('span', { class: 'muted' }, 'not running; last phase ' + str(L.phase) +
          (isNum(L.step) ? ' at step ' + L.step : '')));
      } else if (L.phase) {
        kids.push(h('span', { id: 'live-phase' }, 'phase ', h('b', null, str(L.phase)),
          isNum(L.step) ? ' \u00B7 step ' + L.step : '', isNum(L.epoch) && L.epoch ? ' \u00B7 epoch ' + L.epoch : ''));
        if (isNum(L.done) && isNum(L.total) && L.total > 0) {
          kids.push(h('progress', { max: L.total, value: Math.min(L.done, L.total) }));
          kids.push(h('span', { class: 'small' }, (L.split ? L.split + ' ' : '') + L.done + ' / ' + L.total + ' rollouts'));
        }
      } else kids.push(h('span', { class: 'muted' }, 'no events yet'));
      replaceKids(liveEl, kids);
    }

    function scoreChart(R) {
      const b = baseline();
      const cur = [], best = [];
      if (isNum(b)) { cur.push([0, b]); best.push([0, b]); }
      for (const r of R) { cur.push([r.step, r.current_score]); best.push([r.step, r.best_score]); }
      const markers = [];
      if (isNum(b))
        markers.push({ x: 0, y: b, shape: 'diamond', cls: 'marker baseline', title: 'baseline ' + fmtScore(b),
          attrs: { 'data-step': 0, 'data-action': 'baseline' } });
      for (const r of R) {
        const kind = actionKind(r.action);
        const y = isNum(r.candidate_gate_score) ? r.candidate_gate_score : r.current_score;
        const shape = kind === 'accept' ? 'circle' : kind === 'reject' ? 'cross' : kind === 'skip' ? 'triangle' : 'square';
        const newBest = r.action === 'accept_new_best';
        markers.push({
          x: r.step, y, shape, big: newBest,
          cls: 'marker step-marker ' + kind + (newBest ? ' newbest' : '') + (r._prov ? ' provisional' : ''),
          title: 'step ' + r.step + ': ' + str(r.action) +
            (isNum(r.candidate_gate_score) ? ', candidate ' + fmtScore(r.candidate_gate_score) : '') +
            ', current ' + fmtScore(r.current_score) + ', best ' + fmtScore(r.best_score),
          attrs: { 'data-step': r.step, 'data-action': kind, 'data-raw-action': str(r.action) },
        });
      }
      const all = [b].concat(R.map((r) => r.current_score), R.map((r) => r.best_score), R.map((r) => r.candidate_gate_score));
      const maxStep = Math.max(1, R.length ? R[R.length - 1].step : 0);
      const svg = svgChart({
        id: 'score', title: 'validation score per step', xDomain: [0, maxStep], yDomain: domainOf(all, false),
        xLabel: 'step', integerX: true, height: 260,
        series: [
          { name: 'current score', cls: 'current', points: cur, step: true },
          { name: 'best so far', cls: 'best', points: best, step: true },
        ],
        markers,
        legend: [
          { name: 'current', cls: 'current', shape: 'line' },
          { name: 'best so far', cls: 'best', shape: 'line' },
          { name: 'accept', cls: 'marker accept', shape: 'circle' },
          { name: 'new best', cls: 'marker accept newbest', shape: 'circle' },
          { name: 'reject', cls: 'marker reject', shape: 'cross' },
          { name: 'skip', cls: 'marker skip', shape: 'triangle' },
          { name: 'baseline', cls: 'marker baseline', shape: 'diamond' },
        ],
        empty: R.length ? null : 'no steps yet',
      });
      on(svg, 'click', (ev) => {
        const t = ev.target.closest && ev.target.closest('[data-step]');
        if (t && t.getAttribute('data-action') !== 'baseline')
          location.hash = runHref(id, 'step', t.getAttribute('data-step'));
      });
      return chartCard('Validation score (gate candidate and current) per step', svg,
        h('p', { class: 'small muted' }, 'Markers sit at the candidate\u2019s gate score (skips at the current score); click one to inspect the step.'));
    }

    function trainChart(R) {
      const maxStep = Math.max(1, R.length ? R[R.length - 1].step : 0);
      const hard = R.map((r) => [r.step, r.rollout_hard]), soft = R.map((r) => [r.step, r.rollout_soft]);
      return chartCard('Train batch score', svgChart({
        id: 'train', xDomain: [0, maxStep], yDomain: domainOf(R.map((r) => r.rollout_hard).concat(R.map((r) => r.rollout_soft))),
        xLabel: 'step', integerX: true,
        series: [{ name: 'hard', cls: 's0', points: hard, dots: R.length <= DOTS_MAX }, { name: 'soft', cls: 's1', points: soft, dots: R.length <= DOTS_MAX }],
        legend: [{ name: 'hard', cls: 's0', shape: 'line' }, { name: 'soft', cls: 's1', shape: 'line' }],
        empty: R.length ? null : 'no steps yet',
      }));
    }

    function lrChart(R) {
      const maxStep = Math.max(1, R.length ? R[R.length - 1].step : 0);
      const pts = R.map((r) => [r.step, isNum(r.edit_budget) ? r.edit_budget : null]);
      const vals = pts.map((p) => p[1]).filter(isNum);
      return chartCard('Learning rate (edit budget) per step', svgChart({
        id: 'lr', xDomain: [0, maxStep], yDomain: [0, Math.max(1, ...vals) * 1.1], xLabel: 'step', integerX: true,
        yFmt: (v) => String(+v.toFixed(2)),
        series: [{ name: 'edit budget', cls: 's3', points: pts, dots: R.length <= DOTS_MAX }],
        empty: vals.length ? null : 'no edit budget recorded yet',
      }), h('p', { class: 'small muted' }, 'Gaps are steps that stopped before selection (no edits).'));
    }

    function tokenChart(R) {
      const maxStep = Math.max(1, R.length ? R[R.length - 1].step : 0);
      const stages = [];
      for (const r of R) for (const k of Object.keys((r && r.tokens) || {})) if (!stages.includes(k)) stages.push(k);
      const acc = {}, series = [], all = [];
      stages.forEach((k, i) => { acc[k] = 0; series.push({ name: k, cls: 's' + (i % 8), points: [] }); });
      for (const r of R) {
        stages.forEach((k, i) => {
          const t = r.tokens && r.tokens[k];
          if (t) acc[k] += (t.prompt_tokens || 0) + (t.completion_tokens || 0);
          series[i].points.push([r.step, acc[k]]);
          all.push(acc[k]);
        });
      }
      const svg = svgChart({
        id: 'tokens', xDomain: [0, maxStep], yDomain: [0, Math.max(1, ...all) * 1.05], xLabel: 'step', integerX: true,
        yFmt: fmtTok, series, legend: series.map((x) => ({ name: x.name, cls: x.cls, shape: 'line' })),
        empty: stages.length ? null : 'no token counts yet',
      });
      /* spend events: the run's totals (all roles, baseline included) */
      const sp = st.spend.filter((x) => isNum(x.tokens));
      const costKnown = st.spend.some((x) => isNum(x.cost) && x.cost > 0);
      const sp2 = svgChart({
        id: 'spend', height: 180, xDomain: [0, maxStep],
        yDomain: costKnown ? [0, Math.max(...st.spend.map((x) => x.cost).filter(isNum)) * 1.05 || 1]
          : [0, Math.max(1, ...sp.map((x) => x.tokens)) * 1.05],
        xLabel: 'step', integerX: true, yFmt: costKnown ? fmtCost : fmtTok,
        series: [{ name: costKnown ? 'cost (USD)' : 'total tokens', cls: 's4', step: true,
          points: (costKnown ? st.spend.filter((x) => isNum(x.cost)).map((x) => [x.step, x.cost]) : sp.map((x) => [x.step, x.tokens])) }],
        legend: [{ name: costKnown ? 'run cost so far (USD)' : 'run tokens so far (cost unknown or zero)', cls: 's4', shape: 'line' }],
        empty: st.spend.length ? null : 'no spend events yet',
      });
      const tbl = tokenTable();
      return chartCard('Cumulative tokens by stage (steps)', svg,
        h('div', null, h('h3', null, 'Run spend (from spend events)'), sp2, tbl,
          h('h3', null, 'Spend by role'), roleTable()));
    }

    /* the run's tokens and cost per role (optimizer, target) so far */
    function roleTable() {
      const r = st.spendRoles;
      if (!r) return h('p', { class: 'muted' }, 'no spend by role yet');
      const rows = Object.keys(r).map((k) => {
        const v = r[k] || {};
        return h('tr', { 'data-role': k }, h('td', null, k), h('td', null, String(v.calls || 0)),
          h('td', null, fmtTok((v.prompt_tokens || 0) + (v.completion_tokens || 0))),
          h('td', null, fmtCost(isNum(v.cost_usd) ? v.cost_usd : null)));
      });
      return h('table', { class: 'roles' },
        h('thead', null, h('tr', null, h('th', null, 'role'), h('th', null, 'calls'),
          h('th', null, 'tokens'), h('th', null, 'cost'))),
        h('tbody', null, rows));
    }

    function tokenTable() {
      const ts = st.summary && st.summary.token_summary;
      if (!ts || typeof ts !== 'object') return null;
      const keys = Object.keys(ts);
      return h('div', null, h('h3', null, 'Totals by stage (summary.json)'), h('table', null,
        h('thead', null, h('tr', null, ['stage', 'calls', 'prompt', 'completion', 'total', 'cost'].map((c, i) =>
          h('th', { class: i ? 'num' : '' }, c)))),
        h('tbody', null, keys.map((k) => {
          const t = ts[k] || {};
          return h('tr', null, h('td', null, k === '_total' ? 'total' : k),
            h('td', { class: 'num' }, str(t.calls)), h('td', { class: 'num' }, fmtTok(t.prompt_tokens)),
            h('td', { class: 'num' }, fmtTok(t.completion_tokens)), h('td', { class: 'num' }, fmtTok(t.total_tokens)),
            h('td', { class: 'num' }, fmtCost(t.cost_usd)));
        }))));
    }

    function timeChart(R) {
      const maxStep = Math.max(1, R.length ? R[R.length - 1].step : 0);
      const keys = [];
      for (const r of R) for (const k of Object.keys((r && r.timing) || {})) if (!keys.includes(k)) keys.push(k);
      /* long runs: one bar per bucket of steps (their mean), at most BARS_MAX */
      const per = Math.max(1, Math.ceil(R.length / BARS_MAX));
      const bars = [];
      for (let b = 0; b < R.length; b += per) {
        const chunk = R.slice(b, b + per);
        bars.push({
          x: per === 1 ? chunk[0].step : (chunk[0].step + chunk[chunk.length - 1].step) / 2,
          label: per === 1 ? 'step ' + chunk[0].step : 'steps ' + chunk[0].step + '\u2013' + chunk[chunk.length - 1].step + ' (mean)',
          parts: keys.map((k, i) => {
            let sum = 0;
            for (const r of chunk) if (r.timing && isNum(r.timing[k])) sum += r.timing[k];
            return { v: sum / chunk.length, cls: 'f' + (i % 8), name: k.replace(/_s$/, '') };
          }),
        });
      }
      const tops = bars.map((b) => b.parts.reduce((a, p) => a + (isNum(p.v) ? p.v : 0), 0));
      const svg = svgChart({
        id: 'timing', xDomain: [0.5, maxStep + 0.5], barWidth: 0.7 * per, yDomain: [0, Math.max(0.001, ...tops) * 1.08], xLabel: 'step',
        integerX: true, yFmt: (v) => String(+v.toPrecision(3)) + 's', bars,
        legend: keys.map((k, i) => ({ name: k.replace(/_s$/, ''), cls: 'f' + (i % 8), shape: 'box' })),
        empty: keys.length ? null : 'no timing yet',
      });
      const phases = [...st.phaseTotals.entries()];
      const tbl = phases.length ? h('div', null, h('h3', null, 'Time per phase (phase_end events, whole run)'),
        h('table', null, h('thead', null, h('tr', null, h('th', null, 'phase'), h('th', { class: 'num' }, 'count'),
          h('th', { class: 'num' }, 'seconds'))),
        h('tbody', null, phases.map(([p, [sec, n]]) => h('tr', null, h('td', null, p),
          h('td', { class: 'num' }, String(n)), h('td', { class: 'num' }, fmtNum(sec, 2))))))) : null;
      return chartCard('Time per phase per step', svg, tbl);
    }

    let allSteps = false;
    function stepsTable(R) {
      const cols = ['step', 'epoch', 'action', 'train hard', 'candidate', 'current', 'best', 'edits', 'budget', 'tokens', 'time'];
      const tb = h('tbody');
      const shown = allSteps ? R.slice().reverse() : R.slice(-STEPS_SHOWN).reverse();
      let more = null;
      if (shown.length < R.length) {
        more = h('button', { type: 'button', id: 'all-steps' }, 'show all ' + R.length + ' steps');
        on(more, 'click', () => { allSteps = true; replaceKids(tablesEl, stepsTable(rows())); });
      }
      for (const r of shown) {
        const ea = r.edit_apply_summary;
        let tok = 0;
        for (const t of Object.values(r.tokens || {})) tok += (t.prompt_tokens || 0) + (t.completion_tokens || 0);
        tb.appendChild(h('tr', { 'data-step': r.step },
          h('td', null, h('a', { href: runHref(id, 'step', r.step) }, String(r.step))),
          h('td', null, str(r.epoch)),
          h('td', null, actionBadge(r.action)),
          h('td', { class: 'num' }, fmtScore(r.rollout_hard)),
          h('td', { class: 'num' }, fmtScore(r.candidate_gate_score)),
          h('td', { class: 'num' }, fmtScore(r.current_score)),
          h('td', { class: 'num' }, fmtScore(r.best_score)),
          h('td', { class: 'num' }, ea ? (ea.applied + ' / ' + ea.total) : DASH),
          h('td', { class: 'num' }, isNum(r.edit_budget) ? String(r.edit_budget) : DASH),
          h('td', { class: 'num' }, r._prov ? DASH : fmtTok(tok)),
          h('td', { class: 'num' }, fmtDur(r.wall_time_s))));
      }
      return h('div', { class: 'card' }, h('div', { class: 'row' }, h('h2', null, 'Steps'), h('span', { class: 'spacer' }),
        more ? h('span', { class: 'small muted' }, 'newest ' + shown.length + ' of ' + R.length) : null, more),
        h('div', { class: 'table-wrap' }, h('table', { id: 'steps' },
          h('thead', null, h('tr', null, cols.map((c, i) => h('th', { class: i > 2 ? 'num' : '' }, c)))), tb)));
    }

    function renderCharts() {
      const R = rows();
      replaceKids(chartsEl, scoreChart(R), trainChart(R), lrChart(R), tokenChart(R), timeChart(R));
      replaceKids(tablesEl, stepsTable(R));
    }

    let dirty = 0, timer = null, renderMs = 0;
    const D_HEAD = 1, D_STATS = 2, D_LIVE = 4, D_CHARTS = 8;
    function schedule(what) {
      dirty |= what;
      if (timer) return;
      /* a large run's charts take a while: redraw them less often then,
         so that replaying its events does not spend all the time drawing */
      const delay = (dirty & D_CHARTS) ? Math.min(800, Math.max(120, renderMs * 3)) : 120;
      timer = setTimeout(() => {
        timer = null;
        const d = dirty;
        dirty = 0;
        if (!ctx.alive) return;
        if (d & D_HEAD) renderHead();
        if (d & D_STATS) renderStats();
        if (d & D_LIVE) renderLive();
        if (d & D_CHARTS) {
          const t0 = performance.now();
          renderCharts();
          renderMs = performance.now() - t0;
        }
      }, delay);
    }
    ctx.onDispose(() => clearTimeout(timer));

    /* a row the history does not have yet: history.json is rewritten
       after each step, so refetch it (rarely), and until then show the
       event's fields */
    let refetchTimer = null;
    function refetch() {
      if (refetchTimer) return;
      refetchTimer = setTimeout(async () => {
        refetchTimer = null;
        try {
          const r = await apiJSON('run', { run: id });
          if (!ctx.alive) return;
          st.hist = Array.isArray(r.history) ? r.history : st.hist;
          st.summary = r.summary || st.summary;
          st.config = r.config || st.config;
          if (r.status) st.status = r.status;
          if (r.status === 'running') st.runEnd = null;
          schedule(D_HEAD | D_STATS | D_LIVE | D_CHARTS);
        } catch (e) { /* keep what we have */ }
      }, 400);
    }
    ctx.onDispose(() => clearTimeout(refetchTimer));
    let histSet = null, histSetOf = null;
    const histSteps = () => {
      if (histSetOf !== st.hist) { histSet = new Set(st.hist.map((r) => r && r.step)); histSetOf = st.hist; }
      return histSet;
    };

    function onEvent(e) {
      if (isNum(e.step) && e.type !== 'spend') st.lastStep = e.step;
      switch (e.type) {
        case 'run_start':
          /* (re)started; while old lines replay, the server's status
             (refetched) has the last word */
          st.runStart = e;
          st.runEnd = null;
          st.status = 'running';
          refetch();
          schedule(D_HEAD | D_STATS | D_LIVE);
          break;
        case 'phase_start':
          Object.assign(st.live, { phase: e.phase, step: e.step, epoch: e.epoch, split: null, done: null, total: null });
          schedule(D_LIVE);
          break;
        case 'phase_end': {
          const t = st.phaseTotals.get(e.phase) || [0, 0];
          if (isNum(e.seconds)) t[0] += e.seconds;
          t[1] += 1;
          st.phaseTotals.set(String(e.phase), t);
          if (st.live.phase === e.phase) Object.assign(st.live, { done: st.live.total });
          schedule(D_LIVE | D_CHARTS);
          break;
        }
        case 'rollout_progress':
          Object.assign(st.live, { split: e.split, done: e.done, total: e.total });
          if (isNum(e.step)) st.live.step = e.step;
          schedule(D_LIVE);
          break;
        case 'gate':
        case 'step_end': {
          if (!isNum(e.step)) break;
          if (e.type === 'gate' && st.baselineFromEvents === null && e.step === 1 && isNum(e.previous_score))
            st.baselineFromEvents = e.previous_score;
          const p = st.prov.get(e.step) || { step: e.step, _prov: true };
          for (const k of ['epoch', 'action', 'candidate_gate_score', 'current_score', 'best_score'])
            if (e[k] !== undefined) p[k] = e[k];
          st.prov.set(e.step, p);
          if (!histSteps().has(e.step)) {
            refetch();
            schedule(D_STATS | D_CHARTS);
          }
          break;
        }
        case 'spend': {
          const tokens = isNum(e.total_tokens) ? e.total_tokens
            : (e.prompt_tokens || 0) + (e.completion_tokens || 0);
          st.spend.push({ step: st.lastStep, cost: isNum(e.cost_usd) ? e.cost_usd : null, tokens });
          if (e.by_role && typeof e.by_role === 'object') st.spendRoles = e.by_role;
          schedule(D_STATS | D_CHARTS);
          break;
        }
        case 'run_end':
          st.runEnd = e;
          st.status = e.status === 'ok' ? 'finished'
            : (e.status === 'interrupted' || e.status === 'budget') ? e.status : 'failed';
          refetch();
          schedule(D_HEAD | D_STATS | D_LIVE);
          break;
        default:
          break;
      }
    }

    if (run.last_event && run.last_event.type === 'run_end') st.runEnd = run.last_event;
    renderHead();
    renderStats();
    renderLive();
    renderCharts();
    openEvents(ctx, id, onEvent);
  }

  /* ------------------------------------------------------ step inspector */

  /* The skill the step started from: the epoch-end skill after the
     previous epoch's last step, else skill_v<N-1>. */
  function baseSkillPath(hist, n, skillNames) {
    const prev = hist.find((r) => r && r.step === n - 1), cur = hist.find((r) => r && r.step === n);
    if (prev && cur && isNum(prev.epoch) && isNum(cur.epoch) && prev.epoch !== cur.epoch) {
      const e = 'epoch_' + pad(prev.epoch, 2) + '_end.md';
      if (skillNames.has(e)) return 'skills/' + e;
    }
    return skillFile(n - 1);
  }

  function fileLinkList(run, dir, entries, target) {
    return h('ul', { class: 'files' }, entries.map((e) => {
      const b = h('button', { class: 'link', type: 'button' }, e.name);
      on(b, 'click', async () => {
        replaceKids(target, loadingP());
        try {
          const t = await fileText(run, dir + '/' + e.name);
          let body;
          if (/\.json$/.test(e.name)) { try { body = jsonBlock(JSON.parse(t)); } catch (x) { body = textBlock(t); } } else body = textBlock(t);
          replaceKids(target, h('h3', null, dir + '/' + e.name), body);
        } catch (x) { replaceKids(target, h('p', { class: 'error' }, x.message)); }
      });
      return h('li', null, b, ' ', h('span', { class: 'small muted' }, fmtSize(e.size)));
    }));
  }

  async function viewStep(ctx, root, id, n) {
    if (!Number.isInteger(n) || n < 0) throw new Error('bad step number');
    runCrumbs(id, [{ text: 'step ' + n }]);
    document.title = id + ' step ' + n + ' \u2013 skillopt';
    append(root, loadingP());
    const sd = stepDir(n);
    const [run, rec, entries, skillEntries] = await Promise.all([
      apiJSON('run', { run: id }), fileJSONOpt(id, sd + '/step_record.json'), lsOpt(id, sd), lsOpt(id, 'skills')]);
    if (!ctx.alive) return;
    clear(root);
    const hist = Array.isArray(run.history) ? run.history : [];
    const row = rec || hist.find((r) => r && r.step === n) || null;
    const steps = hist.map((r) => r.step).filter(isNum);
    const maxStep = steps.length ? Math.max(...steps) : n;
    const names = new Set(entries.map((e) => e.name));
    const skillNames = new Set(skillEntries.map((e) => e.name));
    /* accumulation: batch_<a>/ folders, each with its own patches/ etc. */
    const batchDirs = entries.filter((e) => e.dir && /^batch_/.test(e.name)).map((e) => sd + '/' + e.name);
    const batchHas = await pool(batchDirs, 4, async (d) => new Set((await lsOpt(id, d)).map((e) => e.name)));
    const subdirs = (name) => (names.has(name) ? [sd + '/' + name] : [])
      .concat(batchDirs.filter((d, i) => batchHas[i].has(name)).map((d) => d + '/' + name));
    if (!ctx.alive) return;

    append(root, h('div', { class: 'card' },
      h('div', { class: 'row' },
        h('h1', null, 'Step ' + n), row ? actionBadge(row.action) : badge('no record', 'none'),
        row && isNum(row.epoch) ? h('span', { class: 'muted' }, 'epoch ' + row.epoch) : null,
        h('span', { class: 'spacer' }),
        n > 1 ? h('a', { href: runHref(id, 'step', n - 1) }, '\u2190 step ' + (n - 1)) : null,
        n < maxStep ? h('a', { href: runHref(id, 'step', n + 1) }, 'step ' + (n + 1) + ' \u2192') : null,
        h('a', { href: runHref(id, 'step', n, 'rollout') }, 'rollouts'))),
    runTabs(id, ''));
    if (!row && !entries.length) {
      append(root, h('p', { class: 'muted' }, 'This step has no files yet.'));
      return;
    }

    /* gate */
    const prevRow = hist.find((r) => r && r.step === n - 1);
    const sm = run.summary || {};
    const prevScore = prevRow ? prevRow.current_score : (n === 1 && isNum(sm.baseline_selection_hard) ? sm.baseline_selection_hard : null);
    if (row) {
      const ea = row.edit_apply_summary || null;
      append(root, h('div', { class: 'grid2' },
        section('Gate', kv([
          ['decision', actionBadge(row.action)],
          ['gate metric', str(row.gate_metric) || DASH],
          ['candidate score', fmtScore(row.candidate_gate_score)],
          ['score before', fmtScore(prevScore)],
          ['selection hard / soft', fmtScore(row.selection_hard) + ' / ' + fmtScore(row.selection_soft)],
          ['current after', fmtScore(row.current_score) + (row.current_origin ? ' (' + str(row.current_origin) + ')' : '')],
          ['best after', fmtScore(row.best_score) + (isNum(row.best_step) ? ' (step ' + row.best_step + ')' : '')],
        ])),
        section('Step', kv([
          ['train batch hard / soft', fmtScore(row.rollout_hard) + ' / ' + fmtScore(row.rollout_soft) + ' (n=' + str(row.rollout_n) + ')'],
          ['patches', str(row.n_patches) + ' (' + str(row.n_failure_patches) + ' failure, ' + str(row.n_success_patches) + ' success)'],
          ['parse failures', str(row.n_parse_failures)],
          ['edits merged / ranked', str(row.n_edits_merged === undefined ? DASH : row.n_edits_merged) + ' / ' + str(row.n_edits_ranked === undefined ? DASH : row.n_edits_ranked)],
          ['edit budget', isNum(row.edit_budget) ? String(row.edit_budget) + (row.lr_control_mode ? ' (' + str(row.lr_control_mode) + ')' : '') : DASH],
          ['applied', ea ? ea.applied + ' applied, ' + ea.skipped + ' skipped, ' + ea.errors + ' errors of ' + ea.total : DASH],
          ['timing', Object.entries(row.timing || {}).map(([k, v]) => k.replace(/_s$/, '') + ' ' + fmtNum(v, 2) + 's').join(', ') || DASH],
          ['tokens', Object.entries(row.tokens || {}).map(([k, v]) => k + ' ' + fmtTok((v.prompt_tokens || 0) + (v.completion_tokens || 0))).join(', ') || DASH],
        ]))));
    }

    /* proposed edits per minibatch: patches/ and batch_<a>/patches/ */
    const proposed = h('div', null, loadingP());
    append(root, section('Proposed edits per minibatch', proposed));
    (async () => {
      const dirs = subdirs('patches');
      const out = [];
      for (const d of dirs) {
        const files = (await lsOpt(id, d)).filter((e) => !e.dir && /\.json$/.test(e.name));
        const loaded = await pool(files, 6, (f) => fileJSONOpt(id, d + '/' + f.name).catch((x) => ({ _error: x.message })));
        files.forEach((f, i) => out.push({ path: d + '/' + f.name, p: loaded[i] }));
      }
      if (!ctx.alive) return;
      if (!out.length) { replaceKids(proposed, h('p', { class: 'muted' }, 'No patch files.')); return; }
      replaceKids(proposed, out.map(({ path, p }) => {
        if (!p || p._error) return h('p', { class: 'error' }, path + ': ' + (p ? p._error : 'missing'));
        const kind = str(p.source_type) || (/succ/.test(path) ? 'success' : 'failure');
        const nEdits = p.patch && Array.isArray(p.patch.edits) ? p.patch.edits.length : 0;
        return h('div', { class: 'patchfile ' + kind, 'data-file': path },
          h('div', { class: 'row' }, h('b', null, path.slice(sd.length + 1)), badge(kind, kind === 'success' ? 'accept' : 'reject'),
            h('span', { class: 'small muted' }, 'batch size ' + str(p.batch_size) + ', ' + nEdits + ' edit' + (nEdits === 1 ? '' : 's'))),
          Array.isArray(p.failure_summary) && p.failure_summary.length ? h('table', null,
            h('thead', null, h('tr', null, h('th', null, 'failure type'), h('th', { class: 'num' }, 'count'), h('th', null, 'description'))),
            h('tbody', null, p.failure_summary.map((f) => h('tr', null, h('td', null, str(f.failure_type)),
              h('td', { class: 'num' }, str(f.count)), h('td', { class: 'wrap' }, str(f.description)))))) : null,
          Array.isArray(p.success_patterns) && p.success_patterns.length ? h('ul', null,
            p.success_patterns.map((x) => h('li', null, str(x)))) : null,
          p.patch ? patchView(p.patch) : jsonBlock(p));
      }));
    })().catch((x) => replaceKids(proposed, h('p', { class: 'error' }, x.message)));

    /* merged, ranked, applied */
    const [merged, ranked, applied] = await Promise.all([
      names.has('merged_patch.json') ? fileJSONOpt(id, sd + '/merged_patch.json') : null,
      names.has('ranked_edits.json') ? fileJSONOpt(id, sd + '/ranked_edits.json') : null,
      names.has('edit_apply_report.json') ? fileJSONOpt(id, sd + '/edit_apply_report.json') : null]);
    if (!ctx.alive) return;
    append(root, h('div', { class: 'grid2' },
      section('Merged (merged_patch.json)', merged ? patchView(merged) : h('p', { class: 'muted' }, 'none')),
      section('Ranked (ranked_edits.json)', ranked ? patchView(ranked) : h('p', { class: 'muted' }, 'none'))));
    append(root, section('Applied (edit_apply_report.json)', Array.isArray(applied) && applied.length
      ? h('table', { id: 'applied' }, h('thead', null, h('tr', null, ['#', 'op', 'status', 'target', 'content (preview)'].map((c) => h('th', null, c)))),
        h('tbody', null, applied.map((a, i) => h('tr', { 'data-status': str(a.status) },
          h('td', null, str(a.index !== undefined ? a.index : i + 1)), h('td', null, badge(str(a.op), 'op')),
          h('td', null, badge(str(a.status), applyStatusClass(a.status))),
          h('td', { class: 'pre wrap' }, str(a.target)), h('td', { class: 'pre wrap' }, str(a.content_preview))))))
      : h('p', { class: 'muted' }, applied ? 'no edits' : 'none')));

    /* the candidate against the skill before the step */
    const diffBox = h('div', { id: 'candidate-diff' }, loadingP());
    append(root, section('Candidate vs the skill before the step', diffBox));
    if (names.has('candidate_skill.md')) {
      const basePath = baseSkillPath(hist, n, skillNames);
      const [cand, base] = await Promise.all([fileTextOpt(id, sd + '/candidate_skill.md'), fileTextOpt(id, basePath)]);
      if (!ctx.alive) return;
      replaceKids(diffBox, h('p', { class: 'small muted' }, (base === null ? '(missing) ' : '') + basePath + ' \u2192 ' + sd + '/candidate_skill.md'),
        diffView(base === null ? '' : base, cand === null ? '' : cand));
    } else replaceKids(diffBox, h('p', { class: 'muted' }, 'No candidate skill (the step stopped before the update).'));

    /* failure patterns */
    const digest = names.has('trajectory_digest.json') ? await fileJSONOpt(id, sd + '/trajectory_digest.json') : null;
    if (!ctx.alive) return;
    const fp = digest && Array.isArray(digest.failure_patterns) ? digest.failure_patterns : [];
    append(root, section('Failure patterns (trajectory_digest.json)', digest ? h('div', null,
      h('p', { class: 'small muted' }, str(digest.n_fail) + ' of ' + str(digest.n_total) + ' train items failed' +
        (isNum(digest.score_before) ? '; rejected: score ' + fmtScore(digest.score_before) + ' \u2192 ' + fmtScore(digest.score_after) : '')),
      fp.length ? h('table', null, h('thead', null, h('tr', null, h('th', { class: 'num' }, 'count'), h('th', null, 'pattern'), h('th', null, 'items'))),
        h('tbody', null, fp.map((f) => h('tr', null, h('td', { class: 'num' }, str(f.count)), h('td', { class: 'wrap' }, str(f.pattern)),
          h('td', { class: 'wrap small' }, (Array.isArray(f.task_ids) ? f.task_ids : []).map((t, i) => [i ? ', ' : '',
            h('a', { href: runHref(id, 'step', n, 'rollout') + '?item=' + encodeURIComponent(str(t)) }, str(t))])))))) : h('p', { class: 'muted' }, 'no patterns'),
      Array.isArray(digest.rejected_edits) && digest.rejected_edits.length ? h('div', null, h('h3', null, 'Rejected edits'),
        digest.rejected_edits.map((e, i) => editView(e, i))) : null) : h('p', { class: 'muted' }, 'none')));

    /* parse failures */
    const pfDirs = subdirs('parse_failures');
    const pfView = h('div');
    const pfLists = [];
    for (const d of pfDirs) {
      const fe = (await lsOpt(id, d)).filter((e) => !e.dir);
      if (fe.length) pfLists.push(h('div', null, h('h3', null, d.slice(sd.length + 1)), fileLinkList(id, d, fe, pfView)));
    }
    if (!ctx.alive) return;
    append(root, section('Parse failures', pfLists.length ? h('div', null, pfLists, pfView) : h('p', { class: 'muted' }, 'none')));

    /* other records of the step */
    const others = ['lr_decision.json', 'rewrite_result.json', 'full_rewrite_result.json'].filter((x) => names.has(x));
    for (const o of others) {
      const v = await fileJSONOpt(id, sd + '/' + o);
      if (!ctx.alive) return;
      append(root, section(o, jsonBlock(v)));
    }
    const fileView = h('div');
    append(root, section('All files of the step', fileLinkList(id, sd, entries.filter((e) => !e.dir), fileView),
      h('p', { class: 'small muted' }, 'folders: ' + (entries.filter((e) => e.dir).map((e) => e.name).join(', ') || 'none')), fileView));
  }

  /* ------------------------------------------------------------ rollouts */

  /* the rollout folders of a step (train batches and the selection eval) */
  async function stepSources(id, n) {
    const sd = stepDir(n);
    const entries = await lsOpt(id, sd);
    const out = [];
    const names = new Set(entries.map((e) => e.name));
    if (names.has('rollout')) out.push({ key: 'train', label: 'step ' + n + ' train batch', dirs: [sd + '/rollout'] });
    const batches = entries.filter((e) => e.dir && /^batch_/.test(e.name)).map((e) => sd + '/' + e.name + '/rollout');
    if (batches.length) out.push({ key: 'train', label: 'step ' + n + ' train batches', dirs: batches });
    if (names.has('selection_eval')) out.push({ key: 'selection', label: 'step ' + n + ' selection eval (candidate)', dirs: [sd + '/selection_eval'] });
    return out;
  }
  const RUN_EVALS = [['selection_eval_baseline', 'baseline selection eval'], ['final_selection_eval', 'final selection eval'],
    ['test_eval_baseline', 'test eval: initial skill'], ['test_eval', 'test eval: best skill'], ['test_eval_final', 'test eval: final skill']];

  const resultsCache = new Map();
  async function loadRows(id, src) {
    const key = id + '\u0000' + src.dirs.join('\u0000');
    if (resultsCache.has(key)) return resultsCache.get(key);
    const p = (async () => {
      const rows = [];
      for (const d of src.dirs) {
        const t = await fileTextOpt(id, d + '/results.jsonl');
        if (t === null) continue;
        const batch = (d.match(/batch_([^/]+)/) || [])[1];
        for (const r of parseJSONL(t)) rows.push({ r, dir: d, batch });
      }
      return rows;
    })();
    resultsCache.set(key, p);
    p.catch(() => resultsCache.delete(key));
    return p;
  }

  function contentParts(c) {
    if (typeof c === 'string') return [h('pre', null, c)];
    if (Array.isArray(c)) {
      return c.map((part) => {
        if (part && part.type === 'text') return h('pre', null, str(part.text));
        const url = part && (part.image_url ? (part.image_url.url || part.image_url) : part.url);
        if (typeof url === 'string' && /^data:image\/(png|jpeg|gif|webp);base64,/.test(url) && url.length < 12e6)
          return h('img', { src: url, alt: 'image sent with the message' });
        return h('pre', null, prettyJSON(part));
      });
    }
    return [h('pre', null, prettyJSON(c))];
  }

  /* The files of one item's predictions folder as a conversation. */
  async function conversationView(id, dir, itemId) {
    const pd = await predDir(itemId);
    const base = dir + '/predictions/' + pd;
    const entries = await lsOpt(id, base);
    if (!entries.length) return h('p', { class: 'muted' }, 'No predictions folder (' + base + ').');
    const names = new Set(entries.map((e) => e.name));
    const out = h('div', { class: 'conversation' });
    const texts = [['target_system_prompt.txt', 'system'], ['target_user_prompt.txt', 'user']];
    for (const [f, role] of texts) {
      if (!names.has(f)) continue;
      const t = await fileTextOpt(id, base + '/' + f);
      if (t !== null) out.appendChild(h('div', { class: 'msg ' + role }, h('div', { class: 'role' }, role + ' (' + f + ')'), h('pre', null, t)));
    }
    if (names.has('conversation.json')) {
      let conv = null;
      try { conv = JSON.parse(await fileText(id, base + '/conversation.json')); } catch (e) {
        out.appendChild(h('p', { class: 'error' }, 'conversation.json: ' + e.message));
      }
      const msgs = Array.isArray(conv) ? conv : (conv && Array.isArray(conv.messages) ? conv.messages : null);
      if (msgs) {
        for (const m of msgs) {
          const role = m && typeof m === 'object' ? str(m.role) || 'message' : 'message';
          const extra = m && typeof m === 'object' ? Object.keys(m).filter((k) => !['role', 'content', 'turn'].includes(k)) : [];
          out.appendChild(h('div', { class: 'msg ' + role.replace(/[^a-z_]/g, '') },
            h('div', { class: 'role' }, role + (m && m.turn !== undefined ? ' \u00B7 turn ' + str(m.turn) : '')),
            m && typeof m === 'object' ? contentParts(m.content) : h('pre', null, str(m)),
            extra.length ? h('pre', { class: 'small muted' }, prettyJSON(Object.fromEntries(extra.map((k) => [k, m[k]])))) : null));
        }
      } else if (conv) out.appendChild(jsonBlock(conv));
    }
    const rest = entries.filter((e) => !e.dir && !['conversation.json', 'target_system_prompt.txt', 'target_user_prompt.txt'].includes(e.name));
    if (rest.length) {
      const v = h('div');
      out.appendChild(h('details', null, h('summary', { class: 'small' }, 'other files (' + rest.length + ')'), fileLinkList(id, base, rest, v), v));
    }
    return out;
  }

  function itemSummary(x) {
    if (!x) return null;
    const r = x.r;
    return kv([['hard / soft', fmtScore(+r.hard) + ' / ' + fmtScore(+r.soft)], ['predicted', str(r.predicted_answer)],
      ['gold', str(r.gold_answers)], ['fail reason', str(r.fail_reason) || DASH], ['folder', x.dir]]);
  }

  async function viewRollouts(ctx, root, id, n, query) {
    if (!Number.isInteger(n) || n < 0) throw new Error('bad step number');
    runCrumbs(id, [{ text: 'step ' + n, href: runHref(id, 'step', n) }, { text: 'rollouts' }]);
    document.title = id + ' step ' + n + ' rollouts \u2013 skillopt';
    append(root, loadingP());
    const [run, srcs, rootEntries] = await Promise.all([apiJSON('run', { run: id }), stepSources(id, n), lsOpt(id, '')]);
    if (!ctx.alive) return;
    clear(root);
    const hist = Array.isArray(run.history) ? run.history : [];
    const rootNames = new Set(rootEntries.map((e) => e.name));
    const runSrcs = RUN_EVALS.filter(([d]) => rootNames.has(d)).map(([d, label]) => ({ key: d, label, dirs: [d] }));
    const mine = srcs.concat(runSrcs);
    const srcKey = query.get('src') || (mine[0] && mine[0].key) || 'train';
    const src = mine.find((x) => x.key === srcKey) || mine[0];

    append(root, h('div', { class: 'card' }, h('div', { class: 'row' }, h('h1', null, 'Rollouts \u00B7 step ' + n),
      h('span', { class: 'spacer' }),
      n > 1 ? h('a', { href: runHref(id, 'step', n - 1, 'rollout') + '?src=' + encodeURIComponent(srcKey) }, '\u2190 step ' + (n - 1)) : null,
      h('a', { href: runHref(id, 'step', n + 1, 'rollout') + '?src=' + encodeURIComponent(srcKey) }, 'step ' + (n + 1) + ' \u2192'),
      h('a', { href: runHref(id, 'step', n) }, 'step inspector'))));
    if (!src) { append(root, h('p', { class: 'muted' }, 'No rollouts for this step.')); return; }

    const srcSel = h('select', { id: 'src' }, mine.map((x) => h('option', { value: x.key, selected: x.key === src.key }, x.label)));
    on(srcSel, 'change', () => { location.hash = runHref(id, 'step', n, 'rollout') + '?src=' + encodeURIComponent(srcSel.value); });
    const failOnly = h('input', { type: 'checkbox', id: 'failonly' });
    const search = h('input', { type: 'search', placeholder: 'filter by id or text', id: 'q' });
    const count = h('span', { class: 'small muted' });
    const tbody = h('tbody');
    const detail = h('div', { id: 'detail' });
    const hasBatch = src.dirs.length > 1;
    append(root, h('div', { class: 'card' },
      h('div', { class: 'row' }, 'source ', srcSel, h('label', null, failOnly, ' failures only'), search, count),
      h('div', { class: 'table-wrap' }, h('table', { id: 'items' }, h('thead', null, h('tr', null,
        (hasBatch ? ['batch'] : []).concat(['id', 'hard', 'soft', 'predicted', 'gold', 'fail reason']).map((c) =>
          h('th', { class: c === 'hard' || c === 'soft' ? 'num' : '' }, c)))), tbody))), detail);

    const rows = await loadRows(id, src);
    if (!ctx.alive) return;
    let selected = query.get('item');

    function renderTable() {
      clear(tbody);
      const q = search.value.trim().toLowerCase();
      let shown = 0;
      for (const x of rows) {
        const r = x.r;
        const fail = !(Number(r.hard) >= 1);
        if (failOnly.checked && !fail) continue;
        if (q && !(str(r.id) + '\n' + str(r.predicted_answer) + '\n' + str(r.fail_reason) + '\n' + str(r.question)).toLowerCase().includes(q)) continue;
        shown++;
        const tr = h('tr', { class: 'clickable' + (str(r.id) === selected ? ' selected' : ''), 'data-id': str(r.id), 'data-fail': fail ? '1' : '0' },
          hasBatch ? h('td', null, str(x.batch)) : null,
          h('td', { class: 'wrap' }, str(r.id)), h('td', { class: 'num' }, str(r.hard)), h('td', { class: 'num' }, fmtScore(Number(r.soft))),
          h('td', { class: 'wrap pre' }, str(r.predicted_answer)), h('td', { class: 'wrap pre' }, str(r.gold_answers)),
          h('td', { class: 'wrap' }, str(r.fail_reason)));
        on(tr, 'click', () => { selected = str(r.id); renderTable(); showItem(); });
        tbody.appendChild(tr);
      }
      count.textContent = shown + ' of ' + rows.length + ' items, ' + rows.filter((x) => Number(x.r.hard) >= 1).length + ' passed';
    }
    on(failOnly, 'change', renderTable);
    on(search, 'input', renderTable);

    /* compare: the same item in another step's rollout of the same kind, or a run-level eval */
    const cmpSel = h('select', { id: 'compare' });
    const otherSteps = hist.map((r) => r.step).filter((s2) => isNum(s2) && s2 !== n);
    append(cmpSel, h('option', { value: '' }, '(none)'));
    for (const s2 of otherSteps) {
      append(cmpSel, h('option', { value: 'step:' + s2 + ':train' }, 'step ' + s2 + ' train batch'));
      append(cmpSel, h('option', { value: 'step:' + s2 + ':selection' }, 'step ' + s2 + ' selection eval'));
    }
    for (const r of runSrcs) append(cmpSel, h('option', { value: 'run:' + r.key }, r.label));
    const cmpChoice = query.get('cmp');
    if (cmpChoice) cmpSel.value = cmpChoice;
    on(cmpSel, 'change', showItem);

    async function compareRows() {
      const v = cmpSel.value;
      if (!v) return null;
      if (v.startsWith('run:')) {
        const r = runSrcs.find((x) => x.key === v.slice(4));
        return r ? { label: r.label, rows: await loadRows(id, r) } : null;
      }
      const [, s2, kind] = v.split(':');
      const ss = (await stepSources(id, parseInt(s2, 10))).find((x) => x.key === kind);
      return ss ? { label: ss.label, rows: await loadRows(id, ss) } : { label: 'step ' + s2 + ' ' + kind, rows: [] };
    }

    let showSeq = 0;
    async function showItem() {
      const seq = ++showSeq;
      if (selected === null) {
        replaceKids(detail, h('div', { class: 'card' }, h('div', { class: 'row' }, 'compare with ', cmpSel),
          h('p', { class: 'muted' }, 'Click an item to see its conversation.')));
        return;
      }
      replaceKids(detail, h('div', { class: 'card' }, loadingP()));
      const x = rows.find((y) => str(y.r.id) === selected);
      const left = h('div', null, h('h3', null, src.label), itemSummary(x),
        x ? await conversationView(id, x.dir, selected).catch((e) => h('p', { class: 'error' }, e.message))
          : h('p', { class: 'muted' }, 'Item ' + selected + ' is not in this source.'));
      let right = null;
      const cmp = await compareRows().catch((e) => ({ label: 'error', rows: [], err: e.message }));
      if (cmp) {
        const y = cmp.rows.find((z) => str(z.r.id) === selected);
        right = h('div', null, h('h3', null, cmp.label), itemSummary(y),
          y ? await conversationView(id, y.dir, selected).catch((e) => h('p', { class: 'error' }, e.message))
            : h('p', { class: 'muted' }, cmp.err || ('Item ' + selected + ' is not in ' + cmp.label + '.')));
      }
      if (seq !== showSeq || !ctx.alive) return;
      replaceKids(detail, h('div', { class: 'card' },
        h('div', { class: 'row' }, h('h2', null, 'Item ' + selected), h('span', { class: 'spacer' }), 'compare with ', cmpSel),
        h('div', { class: 'sidebyside' + (right ? '' : ' single') }, left, right)));
    }

    renderTable();
    await showItem();
  }

  /* ------------------------------------------------------------- skills */

  const blameCache = new Map();

  async function viewSkills(ctx, root, id) {
    runCrumbs(id, [{ text: 'skills' }]);
    document.title = id + ' skills \u2013 skillopt';
    append(root, loadingP());
    const [run, entries, rootEntries] = await Promise.all([apiJSON('run', { run: id }), lsOpt(id, 'skills'), lsOpt(id, '')]);
    if (!ctx.alive) return;
    clear(root);
    append(root, runTabs(id, 'skills'));
    const hist = Array.isArray(run.history) ? run.history : [];
    const rowOf = new Map(hist.map((r) => [r.step, r]));
    /* versions in training order: skill_vNNNN, each epoch's end after its last step */
    const lastOfEpoch = new Map();
    for (const r of hist) if (isNum(r.epoch) && isNum(r.step)) lastOfEpoch.set(r.epoch, Math.max(r.step, lastOfEpoch.get(r.epoch) || 0));
    const versions = [];
    for (const e of entries) {
      let m;
      if ((m = e.name.match(/^skill_v(\d+)\.md$/))) versions.push({ name: e.name, path: 'skills/' + e.name, order: +m[1], step: +m[1], size: e.size });
      else if ((m = e.name.match(/^epoch_(\d+)_end\.md$/))) {
        const ep = +m[1];
        versions.push({ name: e.name, path: 'skills/' + e.name, order: (lastOfEpoch.has(ep) ? lastOfEpoch.get(ep) : ep * 1e6) + 0.5, epochEnd: ep, size: e.size });
      } else if (/\.md$/.test(e.name)) versions.push({ name: e.name, path: 'skills/' + e.name, order: 1e12, size: e.size });
    }
    versions.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
    if (rootEntries.some((e) => e.name === 'best_skill.md'))
      versions.push({ name: 'best_skill.md', path: 'best_skill.md', order: 2e12, size: (rootEntries.find((e) => e.name === 'best_skill.md') || {}).size });

    const label = (v) => v.epochEnd !== undefined ? 'epoch ' + v.epochEnd + ' end (slow update)'
      : v.step === 0 ? 'initial skill' : isNum(v.step) ? 'after step ' + v.step : v.name;
    const viewer = h('div', { id: 'skill-view' });
    const selA = h('select', { id: 'diff-a' }, versions.map((v) => h('option', { value: v.path }, v.name)));
    const selB = h('select', { id: 'diff-b' }, versions.map((v) => h('option', { value: v.path }, v.name)));
    if (versions.length > 1) selA.value = versions[versions.length - 2].path;
    if (versions.length) selB.value = versions[versions.length - 1].path;
    const diffBtn = h('button', { type: 'button', id: 'diff-go' }, 'diff');
    const texts = new Map();
    const getText = (p) => {
      if (!texts.has(p)) {
        const q = fileText(id, p);
        texts.set(p, q);
        q.catch(() => texts.delete(p));
      }
      return texts.get(p);
    };

    async function showDiff(a, b) {
      replaceKids(viewer, loadingP());
      try {
        const [ta, tb] = await Promise.all([getText(a), getText(b)]);
        if (!ctx.alive) return;
        replaceKids(viewer, h('h3', null, a + ' \u2192 ' + b), diffView(ta, tb));
      } catch (e) { replaceKids(viewer, h('p', { class: 'error' }, e.message)); }
    }
    async function showText(p) {
      replaceKids(viewer, loadingP());
      try {
        const t = await getText(p);
        if (!ctx.alive) return;
        replaceKids(viewer, h('h3', null, p), textBlock(t, 'skilltext'));
      } catch (e) { replaceKids(viewer, h('p', { class: 'error' }, e.message)); }
    }
    on(diffBtn, 'click', () => showDiff(selA.value, selB.value));

    const tb = h('tbody');
    versions.forEach((v, i) => {
      const bView = h('button', { class: 'link', type: 'button' }, 'view');
      on(bView, 'click', () => showText(v.path));
      const bDiff = i > 0 ? h('button', { class: 'link', type: 'button' }, 'diff vs previous') : null;
      if (bDiff) on(bDiff, 'click', () => { selA.value = versions[i - 1].path; selB.value = v.path; showDiff(versions[i - 1].path, v.path); });
      const r = isNum(v.step) ? rowOf.get(v.step) : null;
      tb.appendChild(h('tr', { 'data-version': v.name },
        h('td', { class: 'mono' }, v.name), h('td', null, isNum(v.step) && v.step > 0 ? h('a', { href: runHref(id, 'step', v.step) }, label(v)) : label(v)),
        h('td', null, r ? actionBadge(r.action) : null), h('td', { class: 'num' }, fmtSize(v.size)),
        h('td', null, bView, bDiff ? ' \u00B7 ' : null, bDiff)));
    });
    append(root, h('div', { class: 'grid2' },
      section('Versions', h('div', { class: 'table-wrap' }, h('table', { id: 'versions' },
        h('thead', null, h('tr', null, ['file', 'version', 'step decision', 'size', ''].map((c) => h('th', null, c)))), tb))),
      section('View / diff', h('div', { class: 'row' }, 'from ', selA, ' to ', selB, diffBtn), viewer)));

    /* blame of best_skill.md: per line the first version holding it */
    const blameBox = h('div', { id: 'blame' });
    append(root, section('Where each line of best_skill.md comes from', blameBox));
    const chain = versions.filter((v) => v.path !== 'best_skill.md' && (isNum(v.step) || v.epochEnd !== undefined));
    const best = versions.find((v) => v.path === 'best_skill.md');
    if (!best) { append(blameBox, h('p', { class: 'muted' }, 'No best_skill.md yet.')); return; }
    async function runBlame() {
      const key = id + '\u0000' + chain.map((v) => v.name + ':' + v.size).join(',') + '|' + best.size;
      let result = blameCache.get(key);
      if (!result) {
        const prog = h('p', { class: 'muted' }, 'reading ' + chain.length + ' versions\u2026');
        replaceKids(blameBox, prog);
        let done = 0;
        const bestText = await fileText(id, best.path);
        const sets = await pool(chain, 6, async (v) => {
          const t = await getText(v.path).catch(() => '');
          texts.delete(v.path); /* do not keep thousands of versions */
          done++;
          if (done % 20 === 0) prog.textContent = 'read ' + done + ' of ' + chain.length + ' versions\u2026';
          return new Set(splitLines(t));
        });
        const lines = splitLines(bestText);
        result = lines.map((line) => {
          const i = sets.findIndex((set) => set.has(line));
          return { line, v: i < 0 ? null : chain[i] };
        });
        blameCache.set(key, result);
      }
      if (!ctx.alive) return;
      const tbody = h('tbody');
      let prev;
      result.forEach((x, i) => {
        const v = x.v;
        const who = !v ? h('span', { class: 'muted' }, 'in no skill_v file')
          : isNum(v.step) && v.step > 0 ? h('a', { href: runHref(id, 'step', v.step) }, 'step ' + v.step)
            : h('span', null, label(v));
        const first = v !== prev;
        prev = v;
        tbody.appendChild(h('tr', { class: first ? 'first' : '', 'data-step': v && isNum(v.step) ? v.step : '' },
          h('td', { class: 'who' }, first ? who : ''), h('td', { class: 'ln' }, String(i + 1)), h('td', { class: 'txt' }, x.line)));
      });
      replaceKids(blameBox, h('table', { class: 'diff blame' }, tbody));
    }
    if (chain.length <= 400) await runBlame();
    else {
      const b = h('button', { type: 'button' }, 'compute (reads ' + chain.length + ' versions)');
      on(b, 'click', () => runBlame().catch((e) => replaceKids(blameBox, h('p', { class: 'error' }, e.message))));
      append(blameBox, b);
    }
  }

  /* ------------------------------------------------------------- memory */

  async function viewMemory(ctx, root, id) {
    runCrumbs(id, [{ text: 'memory & config' }]);
    document.title = id + ' memory \u2013 skillopt';
    append(root, loadingP());
    const [run, su, ms] = await Promise.all([apiJSON('run', { run: id }), lsOpt(id, 'slow_update'), lsOpt(id, 'meta_skill')]);
    if (!ctx.alive) return;
    clear(root);
    append(root, runTabs(id, 'memory'));
    const hist = Array.isArray(run.history) ? run.history : [];
    const epochs = new Set();
    for (const r of hist) if (isNum(r.epoch)) epochs.add(r.epoch);
    for (const e of su.concat(ms)) { const m = e.name.match(/^epoch_(\d+)$/); if (m) epochs.add(+m[1]); }
    const suNames = new Set(su.map((e) => e.name)), msNames = new Set(ms.map((e) => e.name));
    const epochBox = h('div');
    append(root, epochBox);
    if (!epochs.size) append(epochBox, h('p', { class: 'muted' }, 'No epochs yet.'));
    for (const ep of [...epochs].sort((a, b) => a - b)) {
      const E = 'epoch_' + pad(ep, 2);
      const rejected = hist.filter((r) => r.epoch === ep && actionKind(r.action) === 'reject');
      const digests = await pool(rejected, 6, (r) => fileJSONOpt(id, stepDir(r.step) + '/trajectory_digest.json').catch(() => null));
      const [slow, meta] = await Promise.all([
        suNames.has(E) ? fileJSONOpt(id, 'slow_update/' + E + '/slow_result.json').catch(() => null) : null,
        msNames.has(E) ? fileJSONOpt(id, 'meta_skill/' + E + '/meta_skill_result.json').catch(() => null) : null]);
      if (!ctx.alive) return;
      const buf = h('div');
      rejected.forEach((r, i) => {
        const d = digests[i];
        const edits = d && Array.isArray(d.rejected_edits) ? d.rejected_edits : [];
        buf.appendChild(h('div', { class: 'patchfile failure', 'data-step': r.step },
          h('div', { class: 'row' }, h('a', { href: runHref(id, 'step', r.step) }, 'step ' + r.step), actionBadge(r.action),
            h('span', { class: 'small muted' }, 'candidate ' + fmtScore(r.candidate_gate_score) + ' vs ' +
              fmtScore(d ? d.score_before : null) + ' before')),
          edits.length ? edits.map((e, j) => editView(e, j)) : h('p', { class: 'muted small' }, 'no rejected edits recorded')));
      });
      const slowView = h('div');
      if (slow) {
        const b = h('button', { type: 'button' }, 'view candidate_skill.md');
        on(b, 'click', async () => {
          const t = await fileTextOpt(id, 'slow_update/' + E + '/candidate_skill.md');
          replaceKids(slowView, t === null ? h('p', { class: 'muted' }, 'none') : textBlock(t));
        });
        const pairsB = h('button', { type: 'button' }, 'view comparison pairs');
        on(pairsB, 'click', async () => {
          const t = await fileJSONOpt(id, 'slow_update/' + E + '/comparison_pairs.json').catch(() => null);
          replaceKids(slowView, t === null ? h('p', { class: 'muted' }, 'none') : jsonBlock(t));
        });
        append(slowView, h('div', { class: 'row' }, b, pairsB));
      }
      append(epochBox, h('div', { class: 'card', 'data-epoch': ep }, h('h2', null, 'Epoch ' + ep),
        h('div', { class: 'grid2' },
          h('div', null, h('h3', null, 'Rejected-edit buffer (' + rejected.length + ' rejected step' + (rejected.length === 1 ? '' : 's') + ')'),
            rejected.length ? buf : h('p', { class: 'muted' }, 'none')),
          h('div', null,
            h('h3', null, 'Slow update (slow_update/' + E + '/slow_result.json)'), slow ? jsonBlock(slow) : h('p', { class: 'muted' }, 'none'), slowView,
            h('h3', null, 'Meta skill (meta_skill/' + E + '/meta_skill_result.json)'), meta ? jsonBlock(meta) : h('p', { class: 'muted' }, 'none')))));
    }

    /* the resolved configuration (redacted by the trainer) */
    const cfg = run.config && typeof run.config === 'object' ? run.config : null;
    const filter = h('input', { type: 'search', placeholder: 'filter keys or values', id: 'cfg-filter' });
    const tbody = h('tbody');
    function renderCfg() {
      clear(tbody);
      const q = filter.value.trim().toLowerCase();
      for (const k of Object.keys(cfg || {})) {
        const v = str(cfg[k]);
        if (q && !(k.toLowerCase().includes(q) || v.toLowerCase().includes(q))) continue;
        tbody.appendChild(h('tr', null, h('td', { class: 'mono' }, k), h('td', { class: 'pre wrap' }, v)));
      }
    }
    on(filter, 'input', renderCfg);
    append(root, section('Resolved configuration (config.json, secrets redacted)',
      cfg ? h('div', null, filter, h('div', { class: 'table-wrap' }, h('table', { id: 'config' },
        h('thead', null, h('tr', null, h('th', null, 'key'), h('th', null, 'value'))), tbody))) : h('p', { class: 'muted' }, 'No config.json.')));
    renderCfg();
  }

  /* --------------------------------------------------------------- boot */

  window.addEventListener('hashchange', route);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', route);
  else route();
})();
