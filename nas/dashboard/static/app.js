// Dashboard page: loads the run's compact columns, draws the plots, polls for new trials.
'use strict';

const S = {meta: null, n: 0, ids: [], t: [], status: [], worker: [], workers: [],
           metrics: {}, kinds: {}, geno: {}, choices: {}, token: null,
           front: null, hist: {}, selected: null, busy: false};
const $ = id => document.getElementById(id);
const yieldFrame = () => new Promise(r => setTimeout(r, 0));  // split work between tasks
const mark = name => { window.__nas.t[name] = Math.round(performance.now()); };

async function getJSON(url, options) {
  const res = await fetch(url, options);
  const body = await res.json().catch(() => ({error: res.statusText}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function resetColumns() {
  Object.assign(S, {n: 0, ids: [], t: [], status: [], worker: [], metrics: {}, geno: {}});
}

function pushAll(target, values) { for (const v of values) target.push(v); }

// Append a chunk of rows from /api/trials (columns may appear later in a run).
function append(c) {
  const len = c.ids.length;
  pushAll(S.ids, c.ids); pushAll(S.t, c.t); pushAll(S.status, c.status);
  pushAll(S.worker, c.worker);
  for (const [store, incoming, fill] of [[S.metrics, c.metrics, null], [S.geno, c.geno, -1]]) {
    for (const k of Object.keys(incoming)) {
      if (!store[k]) store[k] = new Array(S.n).fill(fill);
      pushAll(store[k], incoming[k]);
    }
    for (const k of Object.keys(store)) {
      if (!(k in incoming)) pushAll(store[k], new Array(len).fill(fill));
    }
  }
  Object.assign(S, {n: S.n + len, workers: c.workers, kinds: c.kinds, choices: c.choices,
                    token: c.token});
}

async function loadTrials() {
  const c = await getJSON(`/api/trials?since=${S.n}`);
  if (c.n < S.n || c.start !== S.n) {  // the log was cut and re-read: start over
    resetColumns();
    return loadTrials();
  }
  append(c);
  return c.ids.length;
}

function metricNames() {
  const kindOrder = {objectives: 0, cost: 1, rungs: 2};
  return Object.keys(S.metrics).sort((a, b) =>
    (kindOrder[S.kinds[a]] - kindOrder[S.kinds[b]]) || a.localeCompare(b));
}

function fillSelect(sel, names, value, keepFirst) {
  const first = keepFirst ? [sel.options[0]] : [];
  sel.replaceChildren(...first, ...names.map(n => new Option(n, n)));
  if (value !== undefined) sel.value = value;
}

function setupControls() {
  const names = metricNames(), objs = S.meta.objectives.map(o => o.name);
  const pick = (i, fallback) => objs[i] && S.metrics[objs[i]] ? objs[i] : fallback;
  fillSelect($('x'), names, $('x').value || pick(1, names[1] || names[0]));
  fillSelect($('y'), names, $('y').value || pick(0, names[0]));
  fillSelect($('z'), names, $('z').value || (objs.length > 2 ? pick(2, '') : ''), true);
  const rungNames = names.filter(n => S.kinds[n] === 'rungs');
  $('rungs-card').hidden = !rungNames.length;
  fillSelect($('rung'), rungNames, $('rung').value || rungNames[0]);
  $('latency-card').hidden = !(S.metrics.latency_ms && S.metrics.macs);
}

function summaryText() {
  const done = S.status.filter(s => s === 0).length;
  const hv = S.hist.hypervolume ? S.hist.hypervolume.v.slice(-1)[0] : null;
  return `${S.n} trials (${done} complete, ${S.n - done} failed)` +
         (hv !== null && hv !== undefined ? ` \u00b7 HV ${hv}` : '');
}

async function fetchFront() {
  const names = [$('x').value, $('y').value, $('z').value].filter(Boolean);
  if (names.length < 2 || new Set(names).size !== names.length) return null;
  return getJSON(`/api/front?metrics=${names.map(encodeURIComponent).join(',')}`);
}

async function drawPareto() {
  const front = S.front = await fetchFront();
  if (!front) {  // no trials yet: an empty plot that the first poll fills
    await Plotly.react('pareto', [], {title: {text: 'waiting for finished trials\u2026'}}, CONFIG);
    return;
  }
  const row = S.selected === null ? null : S.selected.row;
  const [x, y, z] = front.metrics;
  mark('front_fetched');
  const fig = z ? NASPlots.pareto3d(S, x, y, z, front, row)
                : NASPlots.pareto2d(S, x, y, front, row);
  mark('pareto_figure');
  await Plotly.react('pareto', fig.data, fig.layout, CONFIG);
  $('front-info').textContent = `${front.rows.length} on the front of ${front.candidates}`;
}

// Plots below the Pareto view are drawn when scrolled into view (and redrawn on updates
// only while visible), so a page load never renders what nobody looks at.
const CONFIG = {responsive: true, displaylogo: false};
const pendingPlots = new Map(), visiblePlots = new Set();
const observer = new IntersectionObserver(entries => {
  for (const e of entries) {
    if (e.isIntersecting) { visiblePlots.add(e.target.id); flushPlot(e.target.id); }
    else visiblePlots.delete(e.target.id);
  }
});

async function flushPlot(id) {
  const make = pendingPlots.get(id);
  if (!make) return;
  pendingPlots.delete(id);
  await yieldFrame();
  const fig = make();
  await Plotly.react(id, fig.data, fig.layout, CONFIG);
}

async function drawOthers() {
  S.hist = await getJSON('/api/history');
  $('summary').textContent = summaryText();
  const figs = [['hv', () => NASPlots.hypervolume(S.hist)], ['best', () => NASPlots.best(S.hist)],
                ['workers', () => NASPlots.workers(S)]];
  if (!$('rungs-card').hidden) {
    figs.push(['rungs', () => NASPlots.rungs(S, $('rung').value, S.hist)]);
    $('rho').textContent = (S.hist.rungs || []).map(r => `${r.rung}: \u03c1=${r.spearman}`).join('  ');
  }
  if (!$('latency-card').hidden) figs.push(['latency', () => NASPlots.latency(S)]);
  for (const [id, make] of figs) {
    pendingPlots.set(id, make);
    if (visiblePlots.has(id)) await flushPlot(id);
  }
}

function tableRows(record) {
  const m = record.metrics || {};
  const rows = [['arch', record.arch], ['status', m.status + (m.reason ? `: ${m.reason}` : '')]];
  for (const part of ['objectives', 'cost', 'rungs', 'timings']) {
    for (const [k, v] of Object.entries(m[part] || {})) rows.push([`${part}.${k}`, v]);
  }
  rows.push(['fidelity', m.fidelity], ['worker', JSON.stringify(record.worker || {})]);
  return rows;
}

async function select(trialId) {
  const data = await getJSON(`/api/trial/${trialId}`);
  S.selected = {id: trialId, row: S.ids.indexOf(trialId)};
  $('trial-id').value = trialId;
  const d = data.drawing;
  if (d.kind === 'cell') {
    $('drawing').innerHTML = d.svg;  // built and escaped by the server
  } else {
    const t = document.createElement('table');
    t.className = 'layers';
    for (const r of d.rows) {
      const tr = t.insertRow();
      for (const v of [r.index, r.decision, r.op, r.options]) tr.insertCell().textContent = v;
    }
    $('drawing').replaceChildren(t);
  }
  const table = $('trial-table');
  table.replaceChildren();
  for (const [k, v] of tableRows(data.record)) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = typeof v === 'number' ? +v.toPrecision(6) : String(v);
  }
  $('export').disabled = false;
  window.__nas.selected = trialId;
  await drawPareto();
}

async function doExport() {
  const out = $('export-result');
  out.className = '';
  out.textContent = 'exporting\u2026';
  $('export').disabled = true;
  try {
    const r = await getJSON('/api/export', {method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({trial_id: S.selected.id, format: $('format').value,
                            fuse: $('fuse').checked})});
    const m = r.exports[0];
    out.textContent = `wrote ${m.dir}\n${m.files.join(', ')}\nparity max|diff| ` +
      `${m.parity.max_abs_diff.toExponential(2)} (${m.parity.runtime}); ` +
      `weights ${m.weights.status}` + (m.fusion ? `; fusion: ${m.fusion.note}` : '');
    window.__nas.exported = m;
  } catch (e) {
    out.className = 'error';
    out.textContent = e.message;
  } finally {
    $('export').disabled = false;
  }
}

async function poll() {
  if (S.busy) return;
  S.busy = true;
  try {
    const {token} = await getJSON('/api/token');
    $('live').className = '';
    if (token !== S.token && await loadTrials() >= 0) {
      setupControls();
      await drawPareto();
      await drawOthers();
    }
  } catch (e) {
    $('live').className = 'stale';
  } finally {
    S.busy = false;
  }
}

async function main() {
  mark('script');
  for (const id of ['hv', 'best', 'workers', 'rungs', 'latency']) observer.observe($(id));
  S.meta = await getJSON('/api/meta');
  $('title').textContent = `${S.meta.name} \u00b7 ${S.meta.space}`;
  fillSelect($('format'), S.meta.export_formats, 'json');
  await loadTrials();
  mark('trials_loaded');
  setupControls();
  await drawPareto();
  requestAnimationFrame(() => { window.__nas.t.pareto = performance.now(); });
  await drawOthers();
  window.__nas.t.all = performance.now();
  window.__nas.ready = true;
  $('pareto').on('plotly_click', ev => select(S.ids[ev.points[0].customdata]));
  for (const id of ['x', 'y', 'z']) $(id).addEventListener('change', drawPareto);
  $('rung').addEventListener('change', drawOthers);
  $('show').addEventListener('click', () => select(parseInt($('trial-id').value, 10))
    .catch(e => { $('export-result').className = 'error'; $('export-result').textContent = e.message; }));
  $('export').addEventListener('click', doExport);
  setInterval(poll, S.meta.poll_ms);
}

main().catch(e => { $('summary').textContent = `error: ${e.message}`; });
