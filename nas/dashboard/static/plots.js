// Figure builders for the dashboard: pure functions of the page state -> {data, layout}.
// Big point clouds use scattergl (WebGL) so 10,000 trials draw without freezing the page.
'use strict';

const NASPlots = (() => {
  const FRONT = '#dc2626', MASS = '#64748b', PICK = '#f59e0b';
  const base = (title, extra) => Object.assign({
    title: {text: title, font: {size: 13}, x: 0.01, xanchor: 'left'},
    margin: {l: 60, r: 15, t: 30, b: 40},
    hovermode: 'closest', showlegend: false, uirevision: title}, extra || {});

  const arrow = d => (d === 'minimize' ? ' (\u2193 better)' : ' (\u2191 better)');

  // Short genotype summary for hover labels: "1<-0 nor_conv_3x3 · 2<-0 skip_connect ...".
  function genoText(S, row) {
    const parts = [];
    for (const [name, col] of Object.entries(S.geno)) {
      const code = col[row];
      if (code >= 0) parts.push(`${name} ${S.choices[name][code]}`);
    }
    const lines = [];
    for (let i = 0; i < parts.length; i += 3) lines.push(parts.slice(i, i + 3).join(' \u00b7 '));
    return lines.join('<br>');
  }

  function hover(S, row, names) {
    const vals = names.map(n => `${n}=${S.metrics[n][row]}`).join('<br>');
    return `trial ${S.ids[row]}<br>${vals}<br>${genoText(S, row)}`;
  }

  // Complete rows with finite values for every metric in `names`.
  function usableRows(S, names) {
    const cols = names.map(n => S.metrics[n] || []);
    const rows = [];
    for (let r = 0; r < S.n; r++) {
      if (S.status[r] !== 0) continue;
      if (cols.every(c => c[r] !== null && c[r] !== undefined)) rows.push(r);
    }
    return rows;
  }

  function constraintShapes(S, axis, name, rows) {
    const shapes = [];
    const vals = rows.map(r => S.metrics[name][r]);
    if (!vals.length) return shapes;
    const lo = vals.reduce((a, b) => Math.min(a, b)), hi = vals.reduce((a, b) => Math.max(a, b));
    const pad = (hi - lo) * 0.15 || Math.abs(hi) * 0.1 || 1;
    for (const c of S.meta.constraints.filter(c => c.name === name)) {
      const ranges = [];
      if (c.max !== null) ranges.push([c.max, Math.max(hi, c.max) + pad]);
      if (c.min !== null) ranges.push([Math.min(lo, c.min) - pad, c.min]);
      for (const [a, b] of ranges) {
        const box = axis === 'x' ? {xref: 'x', x0: a, x1: b, yref: 'paper', y0: 0, y1: 1}
                                 : {yref: 'y', y0: a, y1: b, xref: 'paper', x0: 0, x1: 1};
        shapes.push(Object.assign({type: 'rect', layer: 'below', line: {width: 0},
                                   fillcolor: 'rgba(220,38,38,0.09)'}, box));
      }
    }
    return shapes;
  }

  function pareto2d(S, x, y, front, selectedRow) {
    const names = [x, y], onFront = new Set(front.rows);
    const rows = usableRows(S, names), mass = rows.filter(r => !onFront.has(r));
    const fr = front.rows.slice().sort((a, b) => S.metrics[x][a] - S.metrics[x][b]);
    const trace = (rs, extra) => Object.assign({
      x: rs.map(r => S.metrics[x][r]), y: rs.map(r => S.metrics[y][r]), customdata: rs,
      text: rs.map(r => hover(S, r, names)), hovertemplate: '%{text}<extra></extra>'}, extra);
    const sel = selectedRow === null ? [] : [selectedRow];
    const data = [
      trace(mass, {type: 'scattergl', mode: 'markers', name: 'dominated',
                   marker: {size: 4, color: MASS, opacity: 0.3}}),
      trace(fr, {type: 'scatter', mode: 'lines+markers', name: 'Pareto front',
                 line: {color: FRONT, width: 2.5}, marker: {size: 8, color: FRONT}}),
      trace(sel.filter(r => rows.includes(r)), {type: 'scatter', mode: 'markers',
            name: 'selected', marker: {size: 16, color: PICK, symbol: 'star',
                                       line: {color: '#000', width: 1}}})];
    const shapes = constraintShapes(S, 'x', x, rows).concat(constraintShapes(S, 'y', y, rows));
    const layout = base(`Pareto front: ${fr.length} of ${rows.length} trials`, {
      xaxis: {title: {text: x + arrow(front.directions[0])}},
      yaxis: {title: {text: y + arrow(front.directions[1])}}, shapes, uirevision: x + y});
    return {data, layout};
  }

  function pareto3d(S, x, y, z, front, selectedRow) {
    const names = [x, y, z], onFront = new Set(front.rows);
    const rows = usableRows(S, names), mass = rows.filter(r => !onFront.has(r));
    const trace = (rs, marker, name) => ({type: 'scatter3d', mode: 'markers', name, marker,
      x: rs.map(r => S.metrics[x][r]), y: rs.map(r => S.metrics[y][r]),
      z: rs.map(r => S.metrics[z][r]), customdata: rs,
      text: rs.map(r => hover(S, r, names)), hovertemplate: '%{text}<extra></extra>'});
    const sel = selectedRow !== null && rows.includes(selectedRow) ? [selectedRow] : [];
    const data = [trace(mass, {size: 2, color: MASS, opacity: 0.25}, 'dominated'),
                  trace(front.rows, {size: 5, color: FRONT}, 'Pareto front'),
                  trace(sel, {size: 9, color: PICK, symbol: 'diamond'}, 'selected')];
    const d = front.directions;
    const layout = base(`Pareto front (3-D): ${front.rows.length} of ${rows.length} trials`, {
      scene: {xaxis: {title: {text: x + arrow(d[0])}}, yaxis: {title: {text: y + arrow(d[1])}},
              zaxis: {title: {text: z + arrow(d[2])}}}, uirevision: x + y + z});
    return {data, layout};
  }

  const step = (s, extra) => Object.assign({type: 'scatter', mode: 'lines',
    x: s.t, y: s.v, line: {shape: 'hv', width: 2}}, extra || {});

  function hypervolume(hist) {
    const s = hist.hypervolume || {t: [], v: []};
    return {data: [step(s, {name: 'hypervolume', line: {shape: 'hv', color: FRONT}})],
            layout: base('Hypervolume over time', {xaxis: {title: {text: 'seconds'}},
                                                 yaxis: {title: {text: 'hypervolume'}}})};
  }

  function best(hist) {
    const names = hist.objectives || [], k = Math.max(1, names.length);
    const data = names.map((n, i) => step(hist.best[n], {name: n, xaxis: 'x',
                                                        yaxis: i ? `y${i + 1}` : 'y'}));
    const layout = base('Best objective over time', {grid: {rows: k, columns: 1,
      pattern: 'coupled'}, xaxis: {title: {text: 'seconds'}}});
    names.forEach((n, i) => {
      layout[i ? `yaxis${i + 1}` : 'yaxis'] = {title: {text: n, font: {size: 11}}};
    });
    return {data, layout};
  }

  // Every k-th point of a cumulative count (and the last), so SVG lines stay short.
  function thin(ts, most) {
    const k = Math.max(1, Math.ceil(ts.length / most)), x = [], y = [];
    for (let i = 0; i < ts.length; i += k) { x.push(ts[i]); y.push(i + 1); }
    if (ts.length && x[x.length - 1] !== ts[ts.length - 1]) { x.push(ts[ts.length - 1]); y.push(ts.length); }
    return {x, y};
  }

  function workers(S) {
    const perWorker = S.workers.map(() => []);
    for (let r = 0; r < S.n; r++) if (S.t[r] !== null) perWorker[S.worker[r]].push(S.t[r]);
    const data = perWorker.map((ts, w) => {
      ts.sort((a, b) => a - b);
      return Object.assign({type: 'scatter', mode: 'lines', name: S.workers[w],
                            line: {shape: 'hv', width: 1.5}}, thin(ts, 400));
    });
    return {data, layout: base(`Trials per worker over time (${S.workers.length} workers)`, {
      xaxis: {title: {text: 'seconds'}}, yaxis: {title: {text: 'trials finished'}},
      showlegend: S.workers.length <= 8})};
  }

  function rungs(S, rung, hist) {
    const info = (hist.rungs || []).find(r => r.metric === rung);
    const target = info ? info.target : null;
    const rows = target ? usableRows(S, [rung, target]) : [];
    const data = [{type: 'scattergl', mode: 'markers', x: rows.map(r => S.metrics[rung][r]),
                   y: rows.map(r => S.metrics[target][r]), customdata: rows,
                   marker: {size: 4, color: '#2563eb', opacity: 0.5},
                   hovertemplate: 'proxy %{x}<br>true %{y}<extra></extra>'}];
    const rho = info && info.spearman !== null ? info.spearman.toFixed(3) : 'n/a';
    return {data, layout: base(`${rung} vs ${target}: Spearman \u03c1 = ${rho} (n=${rows.length})`,
      {xaxis: {title: {text: rung}}, yaxis: {title: {text: target || ''}}})};
  }

  function latency(S) {
    const rows = usableRows(S, ['macs', 'latency_ms']);
    const data = [{type: 'scattergl', mode: 'markers', customdata: rows,
                   x: rows.map(r => S.metrics.macs[r]), y: rows.map(r => S.metrics.latency_ms[r]),
                   marker: {size: 4, color: '#0f766e', opacity: 0.5},
                   text: rows.map(r => `trial ${S.ids[r]}`),
                   hovertemplate: '%{text}<br>MACs %{x}<br>%{y} ms<extra></extra>'}];
    return {data, layout: base('Latency vs MACs', {xaxis: {title: {text: 'MACs'}},
                                                   yaxis: {title: {text: 'latency (ms)'}}})};
  }

  return {pareto2d, pareto3d, hypervolume, best, workers, rungs, latency, usableRows};
})();
