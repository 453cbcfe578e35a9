// Chart specs for the dashboard: pure functions of the page state, drawn by our canvas
// plot (canvas_plot.js) and, for a front over three metrics, our 3-D scatter (canvas_3d.js).
'use strict';

const NASPlots = (() => {
  const FRONT = '#dc2626', MASS = '#64748b', PICK = '#f59e0b', BAD = '#c2410c';
  const SHADE = 'rgba(220,38,38,0.09)';
  const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777',
                   '#0891b2', '#65a30d', '#475569', '#ea580c'];
  const arrow = d => (d === 'minimize' ? ' (\u2193 better)' : ' (\u2191 better)');
  const num = v => NASAxes.human(v);
  const has = v => v !== null && v !== undefined;

  // Short genotype summary for hover labels: "1<-0 nor_conv_3x3 · 2<-0 skip_connect ...".
  function genoText(S, row) {
    const parts = [];
    for (const [name, col] of Object.entries(S.geno)) {
      const code = col[row];
      if (code >= 0) parts.push(`${name} ${S.choices[name][code]}`);
    }
    const lines = [];
    for (let i = 0; i < parts.length; i += 3) lines.push(parts.slice(i, i + 3).join(' \u00b7 '));
    return lines.join('\n');
  }

  function hover(S, row, names, note) {
    const vals = names.map(n => `${n} = ${num(S.metrics[n][row])}`).join('\n');
    return `trial ${S.ids[row]}${note ? ` (${note})` : ''}\n${vals}\n${genoText(S, row)}`;
  }

  // Whether a row meets every configured constraint (a missing value meets none).
  function meets(S, row) {
    return S.meta.constraints.every(c => {
      const v = (S.metrics[c.name] || [])[row];
      return has(v) && (c.min === null || v >= c.min) && (c.max === null || v <= c.max);
    });
  }

  // Measured rows (complete or infeasible) with values for every metric in `names`.
  function usableRows(S, names, statuses) {
    const cols = names.map(n => S.metrics[n] || []), ok = statuses || [0];
    const rows = [];
    for (let r = 0; r < S.n; r++) {
      if (ok.includes(S.status[r]) && cols.every(c => has(c[r]))) rows.push(r);
    }
    return rows;
  }

  // Shaded bands where a constraint on the x or y metric is violated.
  function constraintBands(S, axis, name) {
    const bands = [];
    for (const c of S.meta.constraints.filter(c => c.name === name)) {
      if (c.max !== null) bands.push({axis, from: c.max, to: Infinity, color: SHADE});
      if (c.min !== null) bands.push({axis, from: -Infinity, to: c.min, color: SHADE});
    }
    return bands;
  }

  // A point layer over `rows` of the page state: xs, ys (and zs for a third metric) from
  // `names`; `rows` stay attached for clicks.
  function pointLayer(S, rows, names, style, label) {
    const col = n => rows.map(r => S.metrics[n][r]);
    const layer = {kind: 'points', rows, pick: true, label: i => label(rows[i]),
                   xs: col(names[0]), ys: col(names[1])};
    if (names[2]) layer.zs = col(names[2]);
    return Object.assign(layer, style);
  }

  // Split usable rows into (infeasible, dominated, front sorted by the first metric).
  function frontParts(S, names, front) {
    const onFront = new Set(front.rows), bad = [], mass = [], x = S.metrics[names[0]];
    for (const r of usableRows(S, names, [0, 2])) {
      if (S.status[r] === 2 || !meets(S, r)) bad.push(r);
      else if (!onFront.has(r)) mass.push(r);
    }
    const fr = front.rows.slice().sort((a, b) => x[a] - x[b]);
    return {bad, mass, fr};
  }

  // Front trials that share their values with another: {points: distinct, tied: trials}.
  function ties(S, names, rows) {
    const groups = new Map();
    for (const r of rows) {
      const key = names.map(n => S.metrics[n][r]).join('\u0000');
      groups.set(key, (groups.get(key) || 0) + 1);
    }
    let tied = 0;
    for (const count of groups.values()) if (count > 1) tied += count;
    return {points: groups.size, tied};
  }

  // The row of the best feasible complete trial by the first objective (null: none).
  function bestRow(S) {
    const objective = S.meta.objectives[0], col = S.metrics[objective.name] || [];
    const sign = objective.direction === 'minimize' ? -1 : 1;
    let best = null;
    for (let r = 0; r < S.n; r++) {
      if (S.status[r] !== 0 || !has(col[r]) || !meets(S, r)) continue;
      if (best === null || sign * col[r] > sign * col[best]) best = r;
    }
    return best;
  }

  // A 2-D or 3-D front: infeasible crosses, faded dominated marks, the front (drawn with
  // `frontStyle`) and a ring on the selected trial, drawn over everything else.
  function frontSpec(S, names, front, selectedRow, frontStyle, title) {
    const {bad, mass, fr} = frontParts(S, names, front);
    const label = note => r => hover(S, r, names, note);
    const sel = selectedRow !== null && names.every(n => has(S.metrics[n][selectedRow])) ?
      [selectedRow] : [];
    const layers = [
      pointLayer(S, bad, names, {shape: 'cross', size: 5, color: BAD, alpha: 0.35, width: 1},
                 label('infeasible')),
      pointLayer(S, mass, names, {shape: 'square', size: 3, color: MASS, alpha: 0.35},
                 label('dominated')),
      pointLayer(S, fr, names, Object.assign({color: FRONT, priority: 2}, frontStyle),
                 label('Pareto front')),
      pointLayer(S, sel, names, {shape: 'ring', size: 16, width: 3, color: PICK, priority: 3,
                                 top: true}, label('selected'))];
    return {title: `${title}: ${fr.length} of ${fr.length + mass.length} feasible trials` +
                   (bad.length ? `, ${bad.length} infeasible` : ''), ties: ties(S, names, fr),
            labels: names.map((n, i) => n + arrow(front.directions[i])), layers,
            legend: [{label: 'Pareto front', color: FRONT}, {label: 'dominated', color: MASS}]
              .concat(bad.length ? [{label: 'infeasible', color: BAD}] : []),
            counts: {front: fr.length, dominated: mass.length, infeasible: bad.length}};
  }

  function pareto2d(S, x, y, front, selectedRow) {
    const spec = frontSpec(S, [x, y], front, selectedRow,
                           {kind: 'line', markers: true, size: 7, width: 2.5}, 'Pareto front');
    return Object.assign(spec, {xLabel: spec.labels[0], yLabel: spec.labels[1],
                                bands: constraintBands(S, 'x', x).concat(constraintBands(S, 'y', y))});
  }

  // The 3-D front for our canvas scatter (canvas_3d.js); y is drawn upwards.
  function pareto3d(S, x, y, z, front, selectedRow) {
    return frontSpec(S, [x, y, z], front, selectedRow, {shape: 'circle', size: 7},
                     'Pareto front (3-D)');
  }

  const stepLayer = (s, color, label) => ({kind: 'line', step: true, xs: s.t, ys: s.v, color,
    width: 2, pick: true, label: i => `${label} ${num(s.v[i])}\nat ${s.t[i]} s`});

  function hypervolume(hist) {
    const s = hist.hypervolume || {t: [], v: []};
    return {title: 'Hypervolume over time', xLabel: 'seconds', yLabel: 'hypervolume',
            empty: 'no feasible trial yet', layers: [stepLayer(s, FRONT, 'hypervolume')]};
  }

  // One small panel per objective (they have different units).
  function best(hist) {
    return (hist.objectives || []).map((n, i) => ({
      title: i ? '' : 'Best objective over time', xLabel: 'seconds', yLabel: n,
      layers: [stepLayer(hist.best[n], PALETTE[i % PALETTE.length], `best ${n}`)]}));
  }

  // Every k-th point of a cumulative count (and the last), so lines stay short.
  function thin(ts, most) {
    const k = Math.max(1, Math.ceil(ts.length / most)), t = [], v = [];
    for (let i = 0; i < ts.length; i += k) { t.push(ts[i]); v.push(i + 1); }
    if (ts.length && t[t.length - 1] !== ts[ts.length - 1]) { t.push(ts[ts.length - 1]); v.push(ts.length); }
    return {t, v};
  }

  function workers(S) {
    const perWorker = S.workers.map(() => []);
    for (let r = 0; r < S.n; r++) if (has(S.t[r])) perWorker[S.worker[r]].push(S.t[r]);
    const layers = perWorker.map((ts, w) => {
      ts.sort((a, b) => a - b);
      return stepLayer(thin(ts, 400), PALETTE[w % PALETTE.length], `${S.workers[w]}: trials`);
    });
    return {title: `Trials per worker over time (${S.workers.length} workers)`,
            xLabel: 'seconds', yLabel: 'trials finished', layers,
            legend: S.workers.length <= 8 ?
              S.workers.map((name, w) => ({label: name, color: PALETTE[w % PALETTE.length]})) : []};
  }

  function scatter(S, x, y, color, label) {
    return pointLayer(S, usableRows(S, [x, y]), [x, y],
                      {shape: 'square', size: 3, color, alpha: 0.45}, label);
  }

  function rungs(S, rung, hist) {
    const info = (hist.rungs || []).find(r => r.metric === rung);
    const target = info ? info.target : null;
    const layers = target ? [scatter(S, rung, target, '#2563eb',
      r => `trial ${S.ids[r]}\nproxy ${num(S.metrics[rung][r])}\ntrue ${num(S.metrics[target][r])}`)] : [];
    const rho = info && info.spearman !== null ? info.spearman.toFixed(3) : 'n/a';
    const n = layers.length ? layers[0].rows.length : 0;
    return {title: `${rung} vs ${target}: Spearman \u03c1 = ${rho} (n=${n})`,
            xLabel: rung, yLabel: target || '', layers};
  }

  // Trials, plus reference models measured on this machine (reference_points.json, e.g.
  // the convnet presets from benchmarks/bench_convnet_latency.py): hover names them.
  function latency(S) {
    const refs = (S.meta && S.meta.reference_points) || [];
    const layers = S.metrics.latency_ms && S.metrics.macs ? [scatter(S, 'macs', 'latency_ms', '#0f766e',
      r => `trial ${S.ids[r]}\nMACs ${num(S.metrics.macs[r])}\n${num(S.metrics.latency_ms[r])} ms`)] : [];
    if (refs.length) {
      layers.push({kind: 'points', pick: true, shape: 'ring', size: 7, color: '#b45309', alpha: 0.9,
                   xs: refs.map(p => p.macs), ys: refs.map(p => p.latency_ms),
                   label: i => `${refs[i].label}\nMACs ${num(refs[i].macs)}\n${num(refs[i].latency_ms)} ms`});
    }
    return {title: 'Latency vs MACs', xLabel: 'MACs', yLabel: 'latency (ms)', layers,
            legend: refs.length ? [{label: 'trials', color: '#0f766e'},
                                   {label: 'reference models', color: '#b45309'}] : []};
  }

  return {pareto2d, pareto3d, hypervolume, best, workers, rungs, latency, usableRows,
          bestRow, num};
})();
