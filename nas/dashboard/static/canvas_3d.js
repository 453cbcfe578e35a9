// A 3-D scatter for the dashboard's three-metric Pareto view: each metric scaled to a unit
// cube, an orthographic projection after a yaw and a pitch (drag to rotate), markers
// bucketed by depth so nearer ones paint last, one batched path per bucket and layer.
// Hover, tooltips and clicks are NASCanvas.Plot's, on the projected points.
// A spec: {title, labels: [x, y, z], empty, legend: [{label, color}],
//          layers: [{xs, ys, zs, shape, size, color, alpha, width, pick, priority, top,
//                    label(i)}]}   (y is drawn upwards; `top` layers paint last)
'use strict';

const NAS3D = (() => {
  const SLABS = 48;                   // depth buckets, painted far to near
  const HALF = Math.sqrt(3) / 2;      // the unit cube's half-extent along any direction
  const START = {yaw: 0.6, pitch: 0.45};  // radians: a three-quarter view from above
  const TURN = 0.01;                  // radians per dragged pixel
  const MARGIN = 34;                  // CSS pixels around the cube for ticks and titles

  const finite = v => v !== null && v !== undefined && Number.isFinite(v);
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  // Padded [lo, hi] of xs, ys and zs over all layers; null while one has no value.
  function domains(layers) {
    const out = [];
    for (const key of ['xs', 'ys', 'zs']) {
      const e = NASAxes.extent(layers.map(L => L[key]));
      if (!e) return null;
      out.push(NASAxes.pad(e, 0.04));
    }
    return out;
  }

  // The projection as affine rows (screen x, screen y, depth; larger is farther) over
  // unit-cube points [a, b, c] in [-0.5, 0.5]^3, and the same rows over metric values.
  function makeView({yaw, pitch}, box, dom) {
    const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    const s = Math.max(20, Math.min(box.w, box.h) / 2 - MARGIN) / HALF;
    const ox = box.l + box.w / 2, oy = box.t + box.h / 2;
    const cube = [[s * cy, 0, s * sy, ox], [s * sy * sp, -s * cp, -s * cy * sp, oy],
                  [-sy * cp, -sp, cy * cp, 0]];
    const k = dom.map(([lo, hi]) => 1 / (hi - lo)), shift = dom.map(([lo], d) => lo * k[d] + 0.5);
    const rows = cube.map(r => [r[0] * k[0], r[1] * k[1], r[2] * k[2],
                                r[3] - r[0] * shift[0] - r[1] * shift[1] - r[2] * shift[2]]);
    const apply = (r, p) => r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + r[3];
    return {dom, ox, oy, rows,
      unit: (d, v) => v * k[d] - shift[d],
      project: p => ({x: apply(cube[0], p), y: apply(cube[1], p), depth: apply(cube[2], p)})};
  }

  // Screen positions of a layer's points and its indices ordered by depth slab, far first:
  // indices order[start[k]] .. order[start[k + 1] - 1] lie in slab k.
  function projectLayer(L, view) {
    const {xs, ys, zs} = L, n = xs.length, [X, Y, D] = view.rows;
    const x = new Float32Array(n).fill(NaN), y = new Float32Array(n);
    const slab = new Int16Array(n).fill(-1), start = new Int32Array(SLABS + 1);
    for (let i = 0; i < n; i++) {
      const u = xs[i], v = ys[i], w = zs[i];
      if (!finite(u) || !finite(v) || !finite(w)) continue;
      x[i] = X[0] * u + X[1] * v + X[2] * w + X[3];
      y[i] = Y[0] * u + Y[1] * v + Y[2] * w + Y[3];
      const depth = D[0] * u + D[1] * v + D[2] * w + D[3];
      slab[i] = clamp(Math.floor((HALF - depth) / (2 * HALF) * SLABS), 0, SLABS - 1);
      start[slab[i] + 1]++;
    }
    for (let k = 0; k < SLABS; k++) start[k + 1] += start[k];
    const next = start.slice(0, SLABS), order = new Int32Array(start[SLABS]);
    for (let i = 0; i < n; i++) if (slab[i] >= 0) order[next[slab[i]]++] = i;
    return {x, y, order, start};
  }

  function paintRun(ctx, L, P, from, to) {
    if (from >= to) return;
    const shape = L.shape || 'square', size = L.size || 3;
    ctx.globalAlpha = L.alpha === undefined ? 1 : L.alpha;
    ctx.fillStyle = ctx.strokeStyle = L.color || '#334155';
    ctx.beginPath();
    for (let j = from; j < to; j++) {
      const i = P.order[j];
      NASCanvas.addMarker(ctx, shape, P.x[i], P.y[i], size);
    }
    NASCanvas.finishMarkers(ctx, shape, L.width);
    ctx.globalAlpha = 1;
  }

  // Slab by slab, far to near, each layer's points in that slab; then the `top` layers.
  function paintPoints(ctx, layers, proj) {
    for (let s = 0; s < SLABS; s++) {
      layers.forEach((L, k) => {
        if (!L.top) paintRun(ctx, L, proj[k], proj[k].start[s], proj[k].start[s + 1]);
      });
    }
    layers.forEach((L, k) => { if (L.top) paintRun(ctx, L, proj[k], 0, proj[k].order.length); });
  }

  // The four cube edges along axis d, as [from, to] unit-cube points.
  function edges(d) {
    return [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]].map(([u, v]) => {
      const at = t => { const p = [u, v]; p.splice(d, 0, t); return p; };
      return [at(-0.5), at(0.5)];
    });
  }

  // Where axis d's ticks go: for y the edge furthest left on screen, for x and z the one
  // lowest on screen; nearer edges win ties.
  function axisEdge(view, d) {
    const score = ([p, q]) => {
      const m = view.project(p.map((v, i) => (v + q[i]) / 2));
      return (d === 1 ? -m.x : m.y) - 1e-3 * m.depth;
    };
    return edges(d).reduce((best, e) => (score(e) > score(best) ? e : best));
  }

  // Tick marks, values and the title of axis d, pushed outwards from the cube's centre.
  function paintAxis(ctx, view, d, label) {
    const [p, q] = axisEdge(view, d), [lo, hi] = view.dom[d];
    const a = view.project(p), b = view.project(q);
    const mid = {x: (a.x + b.x) / 2, y: (a.y + b.y) / 2};
    const len = Math.hypot(mid.x - view.ox, mid.y - view.oy) || 1;
    const off = {x: (mid.x - view.ox) / len, y: (mid.y - view.oy) / len};
    ctx.strokeStyle = '#94a3b8';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.textAlign = off.x < -0.4 ? 'right' : off.x > 0.4 ? 'left' : 'center';
    ctx.textBaseline = off.y < -0.4 ? 'bottom' : off.y > 0.4 ? 'top' : 'middle';
    const ticks = NASAxes.ticks(lo, hi, 4);
    const texts = NASAxes.labels(ticks.values, ticks.step);
    ticks.values.forEach((v, k) => {
      const at = p.slice();
      at[d] = view.unit(d, v);
      const t = view.project(at);
      ctx.moveTo(t.x, t.y);
      ctx.lineTo(t.x + off.x * 4, t.y + off.y * 4);
      ctx.fillText(texts[k], t.x + off.x * 7, t.y + off.y * 7);
    });
    ctx.stroke();
    const wide = Math.max(...texts.map(s => ctx.measureText(s).width), 0);
    const far = 14 + Math.abs(off.x) * wide + Math.abs(off.y) * 14;
    ctx.fillStyle = '#1e293b';
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillText(label, mid.x + off.x * far, mid.y + off.y * far);
  }

  // The cube's twelve edges, then the three labelled axes.
  function paintFrame(ctx, view, labels) {
    ctx.save();
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#e2e8f0';
    ctx.beginPath();
    for (let d = 0; d < 3; d++) {
      for (const [p, q] of edges(d)) {
        const a = view.project(p), b = view.project(q);
        ctx.moveTo(a.x, a.y);
        ctx.lineTo(b.x, b.y);
      }
    }
    ctx.stroke();
    for (let d = 0; d < 3; d++) {
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillStyle = '#475569';
      paintAxis(ctx, view, d, labels[d] || '');
    }
    ctx.restore();
  }

  class Plot extends NASCanvas.Plot {
    constructor(el, onClick) {
      super(el, onClick);
      this.angles = {...START};
      this._cursor('grab');
      this.overlay.style.touchAction = 'none';
      this.overlay.addEventListener('pointerdown', ev => this._grab(ev));
      this.overlay.addEventListener('pointermove', ev => this._turn(ev));
      for (const type of ['pointerup', 'pointercancel']) {
        this.overlay.addEventListener(type, () => this._drop());
      }
    }

    // Draw the current spec at the current angles; returns the milliseconds it took.
    render() {
      const start = performance.now(), spec = this.spec, ctx = this.canvas.getContext('2d');
      this._fit();
      const dom = domains(spec.layers);
      this.scale = dom && makeView(this.angles, this.box, dom);
      this.proj = this.scale && spec.layers.map(L => projectLayer(L, this.scale));
      this.painted = 0;
      if (!this.scale) return this._empty(ctx, spec);
      paintFrame(ctx, this.scale, spec.labels || []);
      paintPoints(ctx, spec.layers, this.proj);
      NASAxes.title(ctx, this.box, spec.title);
      NASAxes.legend(ctx, this.box, spec.legend, this._drawnPoints());
      this.painted = this.proj.reduce((n, P) => n + P.order.length, 0);
      return performance.now() - start;
    }

    // [x, y, weight] of every projected point (front layers weigh more), for the legend.
    _drawnPoints() {
      const out = [];
      this.spec.layers.forEach((L, k) => {
        const P = this.proj[k], weight = L.priority ? 20 : 1;
        for (let i = 0; i < P.x.length; i++) {
          if (Number.isFinite(P.x[i])) out.push([P.x[i], P.y[i], weight]);
        }
      });
      return out;
    }

    pixelOf(k, i) {
      const P = this.proj && this.proj[k];
      return P && Number.isFinite(P.x[i]) ? {x: P.x[i], y: P.y[i]} : null;
    }

    _grab(ev) {
      if (ev.button !== 0 || !this.scale) return;
      this.drag = {x: ev.clientX, y: ev.clientY, ...this.angles, moved: false};
      this.dragged = false;
      this.overlay.setPointerCapture(ev.pointerId);
    }

    // Drag right turns the near side right, drag down tips the top towards the viewer;
    // one redraw per animation frame.
    _turn(ev) {
      const g = this.drag;
      if (!g) return;
      const dx = ev.clientX - g.x, dy = ev.clientY - g.y;
      if (!g.moved && Math.hypot(dx, dy) < 4) return;
      g.moved = true;
      this._cursor('grabbing');
      this.angles = {yaw: g.yaw - dx * TURN, pitch: clamp(g.pitch + dy * TURN, -1.5, 1.5)};
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
    }

    _drop() {
      this.dragged = Boolean(this.drag && this.drag.moved);  // the click that follows is no pick
      this.drag = null;
      this._cursor('grab');
    }

    _cursor(name) {
      this.idleCursor = this.overlay.style.cursor = name;
    }

    _hover(ev) {
      if (!this.drag || !this.drag.moved) super._hover(ev);
    }

    _click(ev) {
      if (!this.dragged) super._click(ev);
      this.dragged = false;
    }
  }

  return {Plot};
})();
