// Pure functions of the MixFit report (no DOM): tested with node in MixFit.Tracking.Tests.
const MixFitReport = (() => {
  // Positions of every record on the three x axes: global step (1-based), fractional epoch, seconds since start.
  function place(r) {
    const epochs = r.epochs, steps = r.steps;
    const epochOf = [], perEpoch = new Map();
    let e = 0;
    steps.forEach(s => {
      while (e < epochs.length - 1 && s._time > epochs[e]._time) e++;
      const k = epochs.length ? epochs[e]._step : 0;
      epochOf.push(k);
      perEpoch.set(k, (perEpoch.get(k) || 0) + 1);
    });
    const seen = new Map();
    steps.forEach((s, i) => {
      const k = epochOf[i];
      seen.set(k, (seen.get(k) || 0) + 1);
      s._x = { step: s._step + 1, epoch: k + seen.get(k) / perEpoch.get(k), time: s._time - r.started };
    });
    epochs.forEach(ep => {
      const last = steps.filter((s, i) => epochOf[i] === ep._step).pop();
      ep._x = { step: last ? last._x.step : null, epoch: ep._step + 1, time: ep._time - r.started };
    });
    r.system.forEach(p => { p._x = { time: p._step }; });
  }

  function pad(min, max) {
    if (min == null || max == null || !isFinite(min) || !isFinite(max)) return [0, 1];
    const span = max - min, size = Math.max(Math.abs(min), Math.abs(max));
    const d = span > size * 1e-9 ? span * 0.06 : (size * 0.05 || 0.5);
    return [min - d, max + d];
  }

  // Tick labels with as many decimals as the tick spacing needs, so neighbouring labels always differ.
  function ticks(u, splits) {
    if (splits.length < 2) return splits.map(v => v == null ? '' : String(+v.toPrecision(6)));
    // The fewest decimals that write the spacing exactly (0.25 -> 2), so 0.25 and 0.75 never print as 0.3 and 0.8.
    const step = Math.abs(splits[1] - splits[0]);
    let decimals = 0;
    while (decimals < 12 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6 * Math.max(1, step * 10 ** decimals)) decimals++;
    return splits.map(v => v == null ? '' : v.toFixed(decimals));
  }

  // Exponential moving average with TensorBoard's debiasing (W&B's default smoothing).
  function smooth(points, weight) {
    if (!weight) return points;
    let last = 0, n = 0;
    return points.map(([x, y]) => { n++; last = last * weight + (1 - weight) * y; return [x, last / (1 - Math.pow(weight, n))]; });
  }

  return { place, pad, ticks, smooth };
})();
if (typeof module !== 'undefined') module.exports = MixFitReport;
