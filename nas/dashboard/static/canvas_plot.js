// A small 2-D canvas plot for the dashboard: point clouds, lines and shaded bands drawn in
// one pass with one batched path per layer (10,000 points take a few ms), hover tooltips
// through a uniform grid over the drawn pixels (O(1) lookups), click to pick a point.
// A spec: {title, xLabel, yLabel, empty, legend: [{label, color}],
//          bands: [{axis: 'x'|'y', from, to, color}],
//          layers: [{xs, ys, kind: 'points'|'line', shape: 'square'|'circle'|'cross'|'ring',
//                    size, color, alpha, width, step, markers, pick, priority, label(i)}]}
'use strict';

const NASCanvas = (() => {
  const BOX = {l: 64, r: 14, t: 26, b: 42};
  const CELL = 12, REACH = 10;  // hover grid cell and pick radius, CSS pixels

  const finite = v => v !== null && v !== undefined && Number.isFinite(v);

  // Linear scales from the data (and finite band edges) onto the plot box.
  function makeScale(spec, box) {
    const layers = spec.layers || [];
    const edges = axis => (spec.bands || []).filter(b => b.axis === axis)
      .flatMap(b => [b.from, b.to]).filter(Number.isFinite);
    const xe = NASAxes.extent(layers.map(L => L.xs).concat([edges('x')]));
    const ye = NASAxes.extent(layers.map(L => L.ys).concat([edges('y')]));
    if (!xe || !ye) return null;
    const [x0, x1] = NASAxes.pad(xe, 0.04), [y0, y1] = NASAxes.pad(ye, 0.05);
    const kx = box.w / (x1 - x0), ky = box.h / (y1 - y0);
    return {x0, x1, y0, y1, px: v => box.l + (v - x0) * kx, py: v => box.t + box.h - (v - y0) * ky};
  }

  function paintBands(ctx, bands, box, sc) {
    for (const b of bands || []) {
      const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
      ctx.fillStyle = b.color || 'rgba(220,38,38,0.09)';
      if (b.axis === 'x') {
        const a = clamp(sc.px(b.from), box.l, box.l + box.w), c = clamp(sc.px(b.to), box.l, box.l + box.w);
        ctx.fillRect(Math.min(a, c), box.t, Math.abs(c - a), box.h);
      } else {
        const a = clamp(sc.py(b.from), box.t, box.t + box.h), c = clamp(sc.py(b.to), box.t, box.t + box.h);
        ctx.fillRect(box.l, Math.min(a, c), box.w, Math.abs(c - a));
      }
    }
  }

  // Adds one marker's subpath centred on (px, py); `finishMarkers` fills or strokes them.
  function addMarker(ctx, shape, px, py, size) {
    const h = size / 2;
    if (shape === 'square') ctx.rect(px - h, py - h, size, size);
    else if (shape === 'cross') {
      ctx.moveTo(px - h, py - h); ctx.lineTo(px + h, py + h);
      ctx.moveTo(px - h, py + h); ctx.lineTo(px + h, py - h);
    } else { ctx.moveTo(px + h, py); ctx.arc(px, py, h, 0, 2 * Math.PI); }
  }

  function finishMarkers(ctx, shape, width) {
    if (shape === 'cross' || shape === 'ring') {
      ctx.lineWidth = width || 1.3;
      ctx.stroke();
    } else ctx.fill();
  }

  // One path for all of a layer's markers, then one fill or stroke.
  function paintMarkers(ctx, L, sc, shape, size) {
    const {xs, ys} = L;
    ctx.beginPath();
    for (let i = 0; i < xs.length; i++) {
      if (finite(xs[i]) && finite(ys[i])) addMarker(ctx, shape, sc.px(xs[i]), sc.py(ys[i]), size);
    }
    finishMarkers(ctx, shape, L.width);
  }

  // A polyline (or a step line, horizontal first) broken at missing values.
  function paintLine(ctx, L, sc) {
    const {xs, ys} = L;
    let open = false, lastY = 0;
    ctx.beginPath();
    for (let i = 0; i < xs.length; i++) {
      if (!finite(xs[i]) || !finite(ys[i])) { open = false; continue; }
      const px = sc.px(xs[i]), py = sc.py(ys[i]);
      if (!open) ctx.moveTo(px, py);
      else { if (L.step) ctx.lineTo(px, lastY); ctx.lineTo(px, py); }
      open = true;
      lastY = py;
    }
    ctx.lineWidth = L.width || 1.5;
    ctx.lineJoin = 'round';
    ctx.stroke();
  }

  function paintLayer(ctx, L, sc) {
    ctx.globalAlpha = L.alpha === undefined ? 1 : L.alpha;
    ctx.fillStyle = ctx.strokeStyle = L.color || '#334155';
    if (L.kind === 'line') {
      paintLine(ctx, L, sc);
      if (L.markers) paintMarkers(ctx, L, sc, 'circle', L.size || 7);
    } else paintMarkers(ctx, L, sc, L.shape || 'square', L.size || 3);
    ctx.globalAlpha = 1;
  }

  class Plot {
    constructor(el, onClick) {
      this.el = el;
      this.onClick = onClick || null;
      this.canvas = document.createElement('canvas');
      this.overlay = document.createElement('canvas');
      this.tip = document.createElement('div');
      this.tip.className = 'plot-tip';
      this.tip.hidden = true;
      el.classList.add('canvas-plot');
      el.replaceChildren(this.canvas, this.overlay, this.tip);
      this.spec = null;
      this.size = [0, 0];
      this.idleCursor = 'default';
      this.overlay.addEventListener('mousemove', ev => this._hover(ev));
      this.overlay.addEventListener('mouseleave', () => this._show(null));
      this.overlay.addEventListener('click', ev => this._click(ev));
      new ResizeObserver(() => {
        if (this.spec && (el.clientWidth !== this.size[0] || el.clientHeight !== this.size[1])) {
          this.render();
        }
      }).observe(el);
    }

    // Draw a new spec; returns the milliseconds the drawing took.
    draw(spec) {
      this.spec = spec;
      return this.render();
    }

    render() {
      const start = performance.now();
      this._fit();
      const ctx = this.canvas.getContext('2d'), spec = this.spec;
      this.scale = makeScale(spec, this.box);
      if (!this.scale) return this._empty(ctx, spec);
      this._fitTickLabels(ctx, spec);
      paintBands(ctx, spec.bands, this.box, this.scale);
      NASAxes.draw(ctx, this.box, this.scale, spec);
      ctx.save();
      ctx.beginPath();
      ctx.rect(this.box.l, this.box.t, this.box.w, this.box.h);
      ctx.clip();
      for (const L of spec.layers) paintLayer(ctx, L, this.scale);
      ctx.restore();
      NASAxes.legend(ctx, this.box, spec.legend, spec.legend ? this._drawnPoints() : []);
      return performance.now() - start;
    }

    // Widen the left margin when the y tick labels and the axis title need it.
    _fitTickLabels(ctx, spec) {
      const need = Math.ceil(NASAxes.yTicks(ctx, this.scale.y0, this.scale.y1, this.box.h)
        .width) + (spec.yLabel ? 27 : 10);
      if (need <= this.box.l) return;
      this.box = Object.assign({}, this.box, {l: need,
                                              w: Math.max(10, this.box.w - need + this.box.l)});
      this.scale = makeScale(spec, this.box);
    }

    // [x, y, weight] of every drawn point (front layers weigh more), for the legend.
    _drawnPoints() {
      const out = [];
      this.spec.layers.forEach((L, k) => {
        const weight = L.priority ? 20 : 1;
        for (let i = 0; i < L.xs.length; i++) {
          const p = this.pixelOf(k, i);
          if (p) out.push([p.x, p.y, weight]);
        }
      });
      return out;
    }

    // Size both canvases to the element (or just clear them), forget hover state, set the box.
    _fit() {
      const el = this.el, dpr = window.devicePixelRatio || 1;
      const w = el.clientWidth, h = el.clientHeight;
      const same = w === this.size[0] && h === this.size[1] && dpr === this.dpr;
      this.size = [w, h];
      this.dpr = dpr;
      for (const c of [this.canvas, this.overlay]) {
        if (same) { c.getContext('2d').clearRect(0, 0, w, h); continue; }
        c.width = Math.round(w * dpr);
        c.height = Math.round(h * dpr);
        c.style.width = `${w}px`;
        c.style.height = `${h}px`;
        c.getContext('2d').setTransform(dpr, 0, 0, dpr, 0, 0);
      }
      this.box = {l: BOX.l, t: BOX.t, w: Math.max(10, w - BOX.l - BOX.r),
                  h: Math.max(10, h - BOX.t - BOX.b)};
      this.grid = null;
      this._show(null);
    }

    _empty(ctx, spec) {
      ctx.font = '13px system-ui, sans-serif';
      ctx.fillStyle = '#64748b';
      ctx.fillText(spec.title || '', 4, 18);
      ctx.fillText(spec.empty || 'no data yet', this.box.l, this.box.t + 30);
      return 0;
    }

    // CSS-pixel position of point i of layer k (relative to the canvas), or null.
    pixelOf(k, i) {
      const L = this.spec && this.spec.layers[k];
      if (!L || !this.scale || !finite(L.xs[i]) || !finite(L.ys[i])) return null;
      return {x: this.scale.px(L.xs[i]), y: this.scale.py(L.ys[i])};
    }

    // Pickable points bucketed by grid cell: key -> [k * 2^22 + i, ...].
    _buildGrid() {
      const grid = new Map(), cols = Math.ceil(this.size[0] / CELL) + 1;
      this.spec.layers.forEach((L, k) => {
        if (!L.pick) return;
        for (let i = 0; i < L.xs.length; i++) {
          const p = this.pixelOf(k, i);
          if (!p) continue;
          const key = Math.floor(p.y / CELL) * cols + Math.floor(p.x / CELL);
          const cell = grid.get(key);
          if (cell) cell.push(k * 4194304 + i); else grid.set(key, [k * 4194304 + i]);
        }
      });
      this.grid = {map: grid, cols};
    }

    // The closest pickable point within REACH pixels, front layers winning near-ties.
    nearest(x, y) {
      if (!this.scale) return null;
      if (!this.grid) this._buildGrid();
      const {map, cols} = this.grid, layers = this.spec.layers;
      let best = null, bestScore = Infinity;
      for (let cy = Math.floor((y - REACH) / CELL); cy <= Math.floor((y + REACH) / CELL); cy++) {
        for (let cx = Math.floor((x - REACH) / CELL); cx <= Math.floor((x + REACH) / CELL); cx++) {
          for (const code of map.get(cy * cols + cx) || []) {
            const k = Math.floor(code / 4194304), i = code % 4194304, p = this.pixelOf(k, i);
            const d = Math.hypot(p.x - x, p.y - y), score = d - 4 * (layers[k].priority || 0);
            if (d <= REACH && score < bestScore) { best = {layer: k, index: i}; bestScore = score; }
          }
        }
      }
      return best;
    }

    _at(ev) {
      const r = this.overlay.getBoundingClientRect();
      return this.nearest(ev.clientX - r.left, ev.clientY - r.top);
    }

    _hover(ev) {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this._show(this._at(ev)); });
    }

    _click(ev) {
      const hit = this._at(ev);
      if (hit && this.onClick) this.onClick(this.spec.layers[hit.layer], hit.index);
    }

    // Ring the hovered point on the overlay and show its label.
    _show(hit) {
      const ctx = this.overlay.getContext('2d');
      ctx.clearRect(0, 0, this.size[0], this.size[1]);
      this.hovered = hit;
      this.overlay.style.cursor = hit && this.onClick ? 'pointer' : this.idleCursor;
      if (!hit) { this.tip.hidden = true; return; }
      const L = this.spec.layers[hit.layer], p = this.pixelOf(hit.layer, hit.index);
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(p.x, p.y, 6, 0, 2 * Math.PI);
      ctx.stroke();
      this.tip.textContent = L.label ? L.label(hit.index) : `${L.xs[hit.index]}, ${L.ys[hit.index]}`;
      this.tip.hidden = false;
      const left = p.x + 14 + this.tip.offsetWidth > this.size[0] ? p.x - 14 - this.tip.offsetWidth : p.x + 14;
      this.tip.style.left = `${Math.max(0, left)}px`;
      this.tip.style.top = `${Math.max(0, Math.min(p.y + 10, this.size[1] - this.tip.offsetHeight))}px`;
    }
  }

  return {Plot, addMarker, finishMarkers};
})();
