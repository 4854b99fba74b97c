// MixFit report: charts drawn with uPlot from the JSON in #run-data; no network access.
(() => {
  const runs = JSON.parse(document.getElementById('run-data').textContent);
  // d3's category10, as ScottPlot's Category10 in the PNG charts: a run has the same colour in both.
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  // The view can be set from the address too, e.g. report.html?x=epoch&smoothing=0.6 (for links and screenshots).
  const query = new URLSearchParams(location.search);
  const state = { x: ['step', 'epoch', 'time'].includes(query.get('x')) ? query.get('x') : 'step', smoothing: Math.min(0.99, Math.max(0, +query.get('smoothing') || 0)) };
  const xLabels = { step: 'step', epoch: 'epoch', time: 'seconds since start' };
  const notMetrics = new Set(['loss', 'lr', 'epoch_seconds', 'ms_per_step', 'loss_scale', 'skipped_steps', '_step', '_time']);
  let plots = [];
  const { place, pad, ticks, smooth } = MixFitReport;
  runs.forEach(place);


  function series(rows, key, axis) {
    return rows.filter(r => key in r && r._x[axis] != null).map(r => [r._x[axis], r[key]]);
  }

  function chart(container, title, xLabel, yLabel, list, options = {}) {
    list = list.filter(s => s.points.length > 0);
    if (list.length === 0) return false;
    const xs = [...new Set(list.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
    const cell = document.createElement('div');
    cell.className = 'chart';
    container.appendChild(cell);
    const width = Math.max(320, cell.clientWidth || container.clientWidth || 560);
    const scatter = list.every(s => s.scatter);
    const opts = {
      title, width, height: 300,
      scales: {
        x: { time: false, range: (u, min, max) => (scatter || min === max) ? pad(min, max) : [min, max] },
        y: { range: (u, min, max) => pad(min, max) },
      },
      axes: [{ label: xLabel, values: ticks, incrs: options.integerX ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] : undefined },
        { label: yLabel, values: ticks, size: 64 }],
      series: [{ label: xLabel }],
      legend: { live: true },
    };
    if (list.some(s => s.scale === 'right')) {
      opts.scales.right = { range: (u, min, max) => pad(min, max) };
      opts.axes.push({ scale: 'right', side: 1, label: options.rightLabel || '', values: ticks, grid: { show: false }, size: 64 });
    }
    const data = [xs];
    list.forEach(s => {
      const map = new Map(s.points);
      data.push(xs.map(x => map.has(x) ? map.get(x) : null));
      const color = colors[s.color % colors.length];
      opts.series.push({
        label: s.label, scale: s.scale === 'right' ? 'right' : 'y', stroke: s.faint ? color + '44' : color, dash: s.dash, spanGaps: true,
        width: s.faint ? 1 : 2, paths: s.scatter ? () => null : undefined,
        points: { show: !!s.scatter || s.hollow || s.points.length < 40, size: s.scatter ? 10 : s.hollow ? 7 : 5, fill: s.hollow ? '#fff' : color, stroke: color },
      });
    });
    plots.push(new uPlot(opts, data, cell));
    return true;
  }

  function metricKeys() {
    const keys = new Set();
    runs.forEach(r => r.epochs.forEach(e => Object.keys(e).forEach(k => { if (!k.startsWith('val_') && !k.startsWith('_') && !notMetrics.has(k)) keys.add(k); })));
    return ['loss', ...[...keys].sort()];
  }

  // A training curve: per-step values (Keras' running epoch means), smoothed, and the validation value per epoch.
  function trainingChart(container, title, key) {
    const axis = state.x, list = [];
    runs.forEach((r, i) => {
      const raw = series(r.steps, key, axis);
      if (state.smoothing > 0 && raw.length > 1) list.push({ label: r.name + ' train (raw)', color: i, faint: true, points: raw });
      list.push({ label: r.name + ' train', color: i, points: raw.length ? smooth(raw, state.smoothing) : series(r.epochs, key, axis) });
      list.push({ label: r.name + ' val', color: i, dash: [6, 4], hollow: true, points: series(r.epochs, 'val_' + key, axis) });
    });
    chart(container, title, xLabels[axis], key, list, { integerX: axis === 'step' });
  }

  function systemCharts(container, subset) {
    const keys = new Set(subset.flatMap(r => r.system.flatMap(p => Object.keys(p))));
    const panels = [['cpu', 'CPU', '%'], ['proc.memory.rssMB', 'Process memory', 'MB'], ['memory_percent', 'System memory', '%']];
    [...keys].filter(k => /^gpu\.\d+\.gpu$/.test(k)).sort().forEach(k => panels.push([k, 'GPU ' + k.split('.')[1] + ' utilisation', '%']));
    [...keys].filter(k => /^gpu\.\d+\.memoryAllocated$/.test(k)).sort().forEach(k => panels.push([k, 'GPU ' + k.split('.')[1] + ' memory', '% allocated']));
    let any = false;
    panels.filter(([k]) => keys.has(k)).forEach(([k, title, unit]) => {
      any = chart(container, title, 'seconds since start', unit, subset.map(r => ({ label: r.name, color: runs.indexOf(r), points: series(r.system, k, 'time') }))) || any;
    });
    if (!any) container.innerHTML = '<p class="empty">No system samples were recorded.</p>';
  }

  function renderComparison() {
    const training = document.getElementById('charts'), system = document.getElementById('system');
    const axis = state.x;
    metricKeys().forEach(k => trainingChart(training, (k === 'loss' ? 'Loss' : k) + ' (per step; dashed: validation per epoch)', k));
    chart(training, 'ms/step', xLabels[axis], 'ms', runs.map((r, i) => ({ label: r.name, color: i, points: smooth(series(r.steps, 'ms_per_step', axis), state.smoothing) })), { integerX: axis === 'step' });
    const scaled = runs.map((r, i) => [r, i]).filter(([r]) => r.steps.some(s => 'loss_scale' in s));
    if (scaled.length) {
      chart(training, 'Loss scale and skipped steps', xLabels[axis], 'loss scale', scaled.flatMap(([r, i]) => [
        { label: r.name + ' loss scale', color: i, points: series(r.steps, 'loss_scale', axis) },
        { label: r.name + ' skipped steps', color: i, dash: [3, 3], scale: 'right', points: series(r.steps, 'skipped_steps', axis) }]), { rightLabel: 'skipped steps (total)' });
    }
    chart(training, 'Time per epoch', 'epoch', 'seconds', runs.map((r, i) => ({ label: r.name, color: i, points: series(r.epochs, 'epoch_seconds', 'epoch') })), { integerX: true });
    chart(training, 'Training time vs final loss', 'training time (s)', 'final loss', runs.filter(r => 'training_time' in r.summary && 'loss' in r.summary)
      .map(r => ({ label: r.name, color: runs.indexOf(r), scatter: true, points: [[r.summary.training_time, r.summary.loss]] })));
    systemCharts(system, runs);
  }

  function render() {
    plots.forEach(p => p.destroy());
    plots = [];
    document.querySelectorAll('.charts').forEach(c => { c.innerHTML = ''; });
    const page = document.querySelector('.page:not([hidden])');
    if (!page) { renderComparison(); return; }
    const run = runs.find(r => 'run-' + r.id === page.id);
    const tab = page.querySelector('.tabs button.active').dataset.tab;
    if (run && tab === 'system') systemCharts(page.querySelector('.charts'), [run]);
  }

  function showTab(page, name) {
    const button = page.querySelector('.tabs button[data-tab="' + name + '"]') || page.querySelector('.tabs button');
    page.querySelectorAll('.tabs button').forEach(b => b.classList.toggle('active', b === button));
    page.querySelectorAll('.tab').forEach(t => { t.hidden = t.dataset.tab !== button.dataset.tab; });
  }

  // #run-ID opens a run's page, #run-ID/system or #run-ID/logs one of its tabs; anything else the comparison.
  function route() {
    const [id, tab] = decodeURIComponent(location.hash.slice(1)).split('/');
    const target = id ? document.getElementById(id) : null;
    const page = target && target.classList.contains('page') ? target : null;
    document.querySelectorAll('.page').forEach(p => { p.hidden = p !== page; });
    document.getElementById('comparison').hidden = page !== null;
    if (page) showTab(page, tab || 'overview');
    setTimeout(() => window.scrollTo(0, 0), 0);
    render();
  }

  document.querySelectorAll('.tabs button').forEach(button => button.addEventListener('click', () => {
    const page = button.closest('.page');
    history.replaceState(null, '', '#' + page.id + '/' + button.dataset.tab);
    showTab(page, button.dataset.tab);
    render();
  }));
  document.getElementById('x-axis').value = state.x;
  document.getElementById('smoothing').value = state.smoothing;
  document.getElementById('smoothing-value').textContent = state.smoothing.toFixed(2);
  document.getElementById('x-axis').addEventListener('change', e => { state.x = e.target.value; render(); });
  document.getElementById('smoothing').addEventListener('input', e => {
    state.smoothing = +e.target.value;
    document.getElementById('smoothing-value').textContent = state.smoothing.toFixed(2);
    render();
  });
  let resize = null;
  window.addEventListener('resize', () => { clearTimeout(resize); resize = setTimeout(render, 150); });
  window.addEventListener('hashchange', route);
  route();
})();
