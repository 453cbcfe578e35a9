// Dashboard page: loads the run's compact columns, draws the charts on our canvas plots
// (canvas_plot.js, and canvas_3d.js for a front over three metrics), polls for new trials.
'use strict';

const S = {meta: null, n: 0, ids: [], t: [], status: [], statuses: [], worker: [], workers: [],
           metrics: {}, kinds: {}, geno: {}, choices: {}, token: null,
           front: null, hist: {}, selected: null, busy: false};
const P = {best: []};  // canvas plots by chart
const $ = id => document.getElementById(id);
const nextTask = () => new Promise(r => setTimeout(r, 0));  // split work between tasks
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
                    token: c.token, statuses: c.statuses});
}

// Rows after the last one seen (the whole table only on the first load).
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
  $('latency-card').hidden = !((S.metrics.latency_ms && S.metrics.macs) ||
                               (S.meta.reference_points || []).length);
}

// "40 trials: 26 complete, 14 pruned · HV 1.02M": every status the run has, by name (the
// counts and the exact hypervolume also go on the element's data attributes).
function showSummary() {
  const counts = S.statuses.map(() => 0);
  for (const code of S.status) counts[code] += 1;
  const parts = S.statuses.map((name, code) => [name, counts[code]])
    .filter(([name, n]) => n > 0 || name === 'complete');
  const hv = S.hist.hv;
  const el = $('summary');
  el.textContent = `${S.n} trials: ${parts.map(([name, n]) => `${n} ${name}`).join(', ')}` +
    (hv !== null && hv !== undefined ? ` \u00b7 HV ${NASAxes.human(hv)}` : '');
  el.title = hv !== null && hv !== undefined ?
    `hypervolume ${hv} against the reference ${JSON.stringify(S.hist.reference)}` : '';
  S.statuses.forEach((name, code) => { el.dataset[name] = counts[code]; });
  el.dataset.trials = S.n;
  el.dataset.hv = hv === null || hv === undefined ? '' : hv;
}

async function fetchFront() {
  const names = [$('x').value, $('y').value, $('z').value].filter(Boolean);
  if (names.length < 2 || new Set(names).size !== names.length) return null;
  return getJSON(`/api/front?metrics=${names.map(encodeURIComponent).join(',')}`);
}

async function drawPareto() {
  S.front = await fetchFront();
  redrawPareto();
}

// The front in 2-D, or in 3-D when a third metric is picked; counts go on the canvas.
function redrawPareto() {
  const front = S.front, row = S.selected === null ? null : S.selected.row;
  const three = Boolean(front && front.metrics.length === 3);
  $('pareto2d').hidden = three;
  $('pareto3d').hidden = !three;
  if (!front) {  // no trials yet: an empty plot that the first poll fills
    P.pareto.draw({title: 'Pareto front', empty: 'waiting for finished trials\u2026', layers: []});
    return;
  }
  const [x, y, z] = front.metrics, plot = three ? P.pareto3d : P.pareto;
  const spec = three ? NASPlots.pareto3d(S, x, y, z, front, row) :
    NASPlots.pareto2d(S, x, y, front, row);
  const ms = plot.draw(spec);
  Object.assign(plot.canvas.dataset, {frontPoints: spec.counts.front,
    dominatedPoints: spec.counts.dominated, infeasiblePoints: spec.counts.infeasible,
    drawMs: ms.toFixed(1)});
  window.__nas.front = spec.counts;
  const {points, tied} = spec.ties;
  $('front-info').textContent = `${front.rows.length} on the front of ${front.candidates}` +
    (tied ? ` (${points} points; ${tied} trials tie)` : '') +
    (three ? ' \u00b7 drag to rotate' : '');
  if (!window.__frontDrawnAt) {  // after the frame that shows it
    requestAnimationFrame(() => setTimeout(() => {
      window.__frontDrawnAt = performance.now();
      performance.mark('nas:front-drawn');
    }));
  }
}

// One canvas panel per spec inside #best (one per objective).
function drawBest(specs) {
  if (P.best.length !== specs.length) {
    $('best').replaceChildren();
    P.best = specs.map(() => {
      const div = document.createElement('div');
      div.style.height = `${100 / specs.length}%`;
      $('best').append(div);
      return new NASCanvas.Plot(div);
    });
  }
  specs.forEach((spec, i) => P.best[i].draw(spec));
}

async function drawOthers() {
  S.hist = await getJSON('/api/history');
  showSummary();
  P.hv.draw(NASPlots.hypervolume(S.hist));
  drawBest(NASPlots.best(S.hist));
  await nextTask();
  P.workers.draw(NASPlots.workers(S));
  if (!$('rungs-card').hidden) {
    P.rungs.draw(NASPlots.rungs(S, $('rung').value, S.hist));
    $('rho').textContent = (S.hist.rungs || []).map(r => `${r.rung}: \u03c1=${r.spearman}`).join('  ');
  }
  await nextTask();
  if (!$('latency-card').hidden) P.latency.draw(NASPlots.latency(S));
}

function tableRows(record) {
  const m = record.metrics || {};
  const rows = [['arch', record.arch], ['status', m.status + (m.reason ? `: ${m.reason}` : '')]];
  for (const part of ['objectives', 'cost', 'rungs', 'timings']) {
    for (const [k, v] of Object.entries(m[part] || {})) rows.push([`${part}.${k}`, v]);
  }
  rows.push(['fidelity', m.fidelity], ['worker', JSON.stringify(record.worker || {})]);
  if (record.traceback) rows.push(['traceback', record.traceback]);
  return rows;
}

function showDrawing(d) {
  if (d.kind === 'cell') {
    $('drawing').innerHTML = d.svg;  // built and escaped by the server
    return;
  }
  const t = document.createElement('table');
  t.className = 'layers';
  for (const r of d.rows) {
    const tr = t.insertRow();
    for (const v of [r.index, r.decision, r.op, r.options]) tr.insertCell().textContent = v;
  }
  $('drawing').replaceChildren(t);
}

// Show one trial; `note` says why it is shown ("best accuracy" before any click).
async function select(trialId, note) {
  const data = await getJSON(`/api/trial/${trialId}`);
  S.selected = {id: trialId, row: S.ids.indexOf(trialId), auto: Boolean(note)};
  $('trial-id').value = trialId;
  $('trial-note').textContent = note || 'selected; click a point for another';
  showDrawing(data.drawing);
  const table = $('trial-table');
  table.replaceChildren();
  for (const [k, v] of tableRows(data.record)) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    const cell = tr.insertCell();
    cell.textContent = typeof v === 'number' ? NASAxes.human(v) : String(v);
    if (typeof v === 'number') cell.title = String(v);
  }
  $('export').disabled = false;
  window.__nas.selected = trialId;
  redrawPareto();
}

function showError(e) {
  $('export-result').className = 'error';
  $('export-result').textContent = e.message;
}

// A click on a point of any chart selects that trial (rows are page-state indices).
const pick = row => select(S.ids[row]).catch(showError);

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
    showError(e);
  } finally {
    $('export').disabled = false;
  }
}

// Until the user picks a trial, the pane shows the best one by the first objective.
async function showBest() {
  if (S.selected && !S.selected.auto) return;
  const row = NASPlots.bestRow(S);
  if (row === null || (S.selected && S.selected.id === S.ids[row])) return;
  await select(S.ids[row], `best ${S.meta.objectives[0].name}; click a point for another`);
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
      await showBest();
    }
  } catch (e) {
    $('live').className = 'stale';
  } finally {
    S.busy = false;
  }
}

async function main() {
  mark('script');
  const onPoint = (layer, i) => { if (layer.rows) pick(layer.rows[i]); };  // reference points have no trial
  P.pareto = new NASCanvas.Plot($('pareto2d'), onPoint);
  P.pareto3d = new NAS3D.Plot($('pareto3d'), onPoint);
  for (const id of ['hv', 'workers', 'rungs', 'latency']) {
    P[id] = new NASCanvas.Plot($(id), ['rungs', 'latency'].includes(id) ? onPoint : null);
  }
  window.__nas.plots = P;
  S.meta = await getJSON('/api/meta');
  $('title').textContent = `${S.meta.name} \u00b7 ${S.meta.space}`;
  fillSelect($('format'), S.meta.export_formats, 'json');
  await loadTrials();
  mark('trials_loaded');
  setupControls();
  await drawPareto();
  mark('pareto');
  await nextTask();
  await drawOthers();
  await showBest();
  mark('all');
  window.__nas.ready = true;
  for (const id of ['x', 'y', 'z']) $(id).addEventListener('change', () => drawPareto().catch(showError));
  $('rung').addEventListener('change', drawOthers);
  $('show').addEventListener('click', () => select(parseInt($('trial-id').value, 10)).catch(showError));
  $('export').addEventListener('click', doExport);
  setInterval(poll, S.meta.poll_ms);
}

main().catch(e => { $('summary').textContent = `error: ${e.message}`; });
