// Axes for the dashboard's canvas plots: data extents, "nice" ticks (Heckbert 1990,
// Graphics Gems I, "Nice numbers for graph labels"), short tick labels, frame and titles.
'use strict';

const NASAxes = (() => {
  const SI = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

  // Finite min/max over several arrays (nulls skipped); null when nothing is finite.
  function extent(arrays) {
    let lo = Infinity, hi = -Infinity;
    for (const a of arrays) {
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        if (v === null || v === undefined || !Number.isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return lo <= hi ? [lo, hi] : null;
  }

  // A padded domain; a single value gets a unit-sized window around it.
  function pad([lo, hi], share) {
    const span = hi - lo || Math.abs(hi) * 0.1 || 1;
    return [lo - span * share, hi + span * share];
  }

  function niceStep(span, count) {
    const raw = span / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  }

  // About `count` round values inside [lo, hi], and the step between them.
  function ticks(lo, hi, count) {
    const step = niceStep(hi - lo, count), out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return {values: out, step};
  }

  // "150k", "1.25M", "0.05", "97.5": as many decimals as the tick step needs; `size`
  // (default: |v| or the step) picks the unit, so one axis can share one.
  function format(v, step, size) {
    if (v === 0) return '0';
    size = size || Math.max(Math.abs(v), step);
    for (const [unit, suffix] of SI) {
      if (size >= unit) return trim(v / unit, step / unit) + suffix;
    }
    return trim(v, step);
  }

  // Labels of an axis's tick values, all in the unit of the largest ("800k", "1,000k").
  function labels(values, step) {
    const size = Math.max(step, ...values.map(Math.abs));
    return values.map(v => format(v, step, size));
  }

  // A value for people: 3 significant digits with k/M/G ("883M", "1.02M", "97.53").
  function human(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
    for (const [unit, suffix] of SI) {
      if (Math.abs(v) >= unit) return `${+(v / unit).toPrecision(3)}${suffix}`;
    }
    return String(+v.toPrecision(4));
  }

  // The y ticks of a scale and the width of their widest label (11px font).
  function yTicks(ctx, y0, y1, h) {
    const yt = ticks(y0, y1, Math.max(2, Math.floor(h / 45)));
    ctx.save();
    ctx.font = '11px system-ui, sans-serif';
    const texts = labels(yt.values, yt.step);
    const width = Math.max(0, ...texts.map(s => ctx.measureText(s).width));
    ctx.restore();
    return Object.assign(yt, {labels: texts, width});
  }

  function trim(v, step) {
    const decimals = Math.min(8, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
    return v.toFixed(decimals);
  }

  // Frame, grid lines, tick labels, axis titles and the plot title, in CSS pixels.
  function draw(ctx, box, scale, spec) {
    const {l, t, w, h} = box;
    ctx.save();
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#475569';
    ctx.strokeStyle = '#e2e8f0';
    ctx.lineWidth = 1;
    const xt = ticks(scale.x0, scale.x1, Math.max(2, Math.floor(w / 90)));
    const yt = yTicks(ctx, scale.y0, scale.y1, h);
    ctx.beginPath();
    for (const v of xt.values) { const px = Math.round(scale.px(v)) + 0.5; ctx.moveTo(px, t); ctx.lineTo(px, t + h); }
    for (const v of yt.values) { const py = Math.round(scale.py(v)) + 0.5; ctx.moveTo(l, py); ctx.lineTo(l + w, py); }
    ctx.stroke();
    ctx.strokeStyle = '#94a3b8';
    ctx.strokeRect(l + 0.5, t + 0.5, w, h);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const xLabels = labels(xt.values, xt.step);
    xt.values.forEach((v, i) => ctx.fillText(xLabels[i], scale.px(v), t + h + 4));
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    yt.values.forEach((v, i) => ctx.fillText(yt.labels[i], l - 5, scale.py(v)));
    ctx.fillStyle = '#1e293b';
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    if (spec.xLabel) ctx.fillText(spec.xLabel, l + w / 2, t + h + 34);
    if (spec.yLabel) {
      ctx.save();
      ctx.translate(l - 9 - yt.width, t + h / 2);  // clear of the widest tick label
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = 'bottom';
      ctx.fillText(spec.yLabel, 0, 0);
      ctx.restore();
    }
    ctx.restore();
    title(ctx, box, spec.title);
  }

  // The plot title, above the top-left corner of the box.
  function title(ctx, box, text) {
    if (!text) return;
    ctx.save();
    ctx.fillStyle = '#1e293b';
    ctx.font = '13px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(text, 4, box.t - 6);
    ctx.restore();
  }

  // Small colour keys in the corner of the plot that covers the least data: `points` are
  // drawn pixels [x, y, weight] (front points weigh more); ties keep the top right.
  function legend(ctx, box, items, points) {
    if (!items || !items.length) return;
    ctx.save();
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    const width = Math.max(...items.map(i => ctx.measureText(i.label).width)) + 22;
    const height = items.length * 15 + 6;
    const left = box.l + 10, right = box.l + box.w - width - 6;
    const top = box.t + 4, bottom = box.t + box.h - height - 4;
    let best = null;
    for (const [x, y] of [[right, top], [left, top], [right, bottom], [left, bottom]]) {
      let covered = 0;
      for (const [px, py, weight] of points || []) {
        if (px >= x - 10 && px <= x + width + 6 && py >= y - 6 && py <= y + height + 6) {
          covered += weight;
        }
      }
      if (!best || covered < best.covered) best = {x, y, covered};
    }
    const {x, y: y0} = best;
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.fillRect(x - 4, y0, width + 4, height);
    items.forEach((item, k) => {
      const y = y0 + 10 + k * 15;
      ctx.fillStyle = item.color;
      ctx.fillRect(x, y - 4, 12, 8);
      ctx.fillStyle = '#1e293b';
      ctx.fillText(item.label, x + 17, y);
    });
    ctx.restore();
  }

  return {extent, pad, ticks, format, labels, human, yTicks, draw, title, legend};
})();
