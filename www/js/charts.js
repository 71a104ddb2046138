// Line charts on Debian's Chart.js (the global `Chart` of /vendor/chart.js/chart.min.js), set up
// once for live data: no animation, data given as {x, y} points so Chart.js parses nothing,
// and redraws batched by a timer so a stream of ten batches a second costs a few frames.

import * as fmt from './format.js';

const Chart = window.Chart;
Chart.defaults.animation = false;
Chart.defaults.font.family = getComputedStyle(document.documentElement)
  .getPropertyValue('--font-sans').trim() || 'system-ui, sans-serif';
Chart.defaults.font.size = 12;
Chart.defaults.color = '#5b6575';
Chart.defaults.borderColor = '#e3e7ec';

export const colors = ['#2f6f9f', '#c26a2e', '#3b8a5a', '#8e5aa8', '#b8475a', '#6b7a8f'];

const exp10 = (x) => Math.floor(Math.log10(x));
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

// The spacing of an axis's ticks (for a lone tick, its own size).
function spacing(v, all) {
  return (all && all.length > 1 ? Math.abs(all[1].value - all[0].value) : Math.abs(v)) || 1;
}

// Episode or step counts: 950, 12.5k, 1.046M, with the decimals that tell ticks apart.
function countTick(v, i, all) {
  const step = spacing(v, all);
  const mag = all && all.length ? Math.max(...all.map((t) => Math.abs(t.value))) : Math.abs(v);
  if (mag >= 1e6) return `${(v / 1e6).toFixed(clamp(6 - exp10(step), 0, 3))}M`;
  if (v === 0) return '0';
  if (mag >= 1e4) return `${(v / 1e3).toFixed(clamp(3 - exp10(step), 0, 2))}k`;
  return fmt.int(v);
}

// Ticks for a time axis on round clock steps (10 s, 1 min, 5 min...), which Chart.js's
// decimal steps are not; the axis spans the data exactly.
const CLOCK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
function clockTicks(scale) {
  const span = scale.max - scale.min;
  const step = CLOCK_STEPS.find((s) => span / s <= 5) || 86400 * Math.ceil(span / 86400 / 5);
  const ticks = [];
  for (let t = Math.ceil(scale.min / step) * step; t <= scale.max; t += step) ticks.push({ value: t });
  scale.ticks = ticks;
}

// An axis's tick labels: counts, or times as a clock.
const ticks = {
  count: countTick,
  time: (v) => fmt.clock(v),
};

// A y tick: as many decimals as the spacing of the ticks needs (500.5, 0.002), in scientific
// notation for the tiny or huge (3e-7), so neighbouring ticks never read the same.
function valueTick(v, i, all) {
  if (v === 0) return '0';
  const step = spacing(v, all);
  const mag = Math.max(...all.map((t) => Math.abs(t.value)));
  if (mag >= 1e7 || mag < 1e-3) return v.toExponential(clamp(exp10(mag) - exp10(step), 0, 6));
  const decimals = clamp(-exp10(step), 0, 8);
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

// A dataset: a line through points (or dots only with dots: true). hidden from the legend and
// tooltips with band: true (the edges of a ±std band).
export function series(label, color, extra = {}) {
  return {
    label,
    data: [],
    borderColor: color,
    backgroundColor: color,
    borderWidth: 1.5,
    pointRadius: 0,
    pointHoverRadius: 3,
    ...extra,
  };
}

// line(canvas, {datasets, x: 'count'|'time', xTitle, y2: bool}): a chart. Datasets with
// yAxisID 'y2' are read on a right-hand axis (a value loss beside a policy loss).
export function line(canvas, { datasets, x = 'count', xTitle, y2 = false }) {
  const scales = {
    x: {
      type: 'linear',
      bounds: x === 'time' ? 'data' : 'ticks',
      afterBuildTicks: x === 'time' ? clockTicks : undefined,
      title: { display: !!xTitle, text: xTitle },
      ticks: { maxTicksLimit: x === 'time' ? 5 : 7, callback: ticks[x], maxRotation: 0, autoSkipPadding: 16 },
      grid: { display: false },
    },
    y: { ticks: { maxTicksLimit: 6, callback: valueTick } },
  };
  if (y2) {
    scales.y2 = { position: 'right', ticks: { maxTicksLimit: 6, callback: valueTick }, grid: { drawOnChartArea: false } };
  }
  return new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      normalized: true,
      spanGaps: true,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales,
      plugins: {
        legend: {
          align: 'end',
          labels: {
            boxWidth: 10,
            boxHeight: 10,
            filter: (item, data) => !data.datasets[item.datasetIndex].band,
            sort: (a, b) => a.datasetIndex - b.datasetIndex,
          },
        },
        tooltip: {
          filter: (item) => !item.dataset.band,
          callbacks: {
            title: (items) => (items.length ? `${xTitle || ''} ${ticks[x](items[0].parsed.x)}`.trim() : ''),
            label: (item) => `${item.dataset.label}: ${fmt.num(item.parsed.y, 4)}`,
          },
        },
      },
    },
  });
}

// Scales a chart's y axes to the bulk of its points when a few outliers (the first updates'
// losses, say) would flatten everything else, as TensorBoard does; otherwise Chart.js fits
// all points. Points outside are clipped at the chart's edge.
export function fitBulk(chart) {
  for (const [id, scale] of Object.entries(chart.options.scales)) {
    if (id === 'x') continue;
    const ys = [];
    for (const d of chart.data.datasets) {
      if ((d.yAxisID || 'y') !== id || d.hidden) continue;
      for (const p of d.data) if (Number.isFinite(p.y)) ys.push(p.y);
    }
    delete scale.min;
    delete scale.max;
    delete scale.ticks.stepSize;
    scale.ticks.maxTicksLimit = 6;
    if (ys.length < 10) continue;
    ys.sort((a, b) => a - b);
    // The 5th and 95th percentiles, but never the extremes themselves: one spike among the
    // first dozen points is an outlier too.
    const last = ys.length - 1;
    const lo = ys[Math.max(1, Math.floor(0.05 * last))];
    const hi = ys[Math.min(last - 1, Math.ceil(0.95 * last))];
    const all = ys[ys.length - 1] - ys[0];
    if (hi > lo && all > 4 * (hi - lo)) {
      // Bounds on a round step, so the edge ticks read like the others.
      const pad = (hi - lo) * 0.15;
      const raw = (hi - lo + 2 * pad) / 5;
      const unit = 10 ** exp10(raw);
      const step = [1, 2, 5, 10].find((m) => m * unit >= raw) * unit;
      scale.min = Math.floor((lo - pad) / step) * step;
      scale.max = Math.ceil((hi + pad) / step) * step;
      if (ys[0] >= 0) scale.min = Math.max(0, scale.min); // rates and the like stay positive
      scale.ticks.stepSize = step;
      scale.ticks.maxTicksLimit = 12; // every step: Chart.js would space them unevenly otherwise
    }
  }
}

// Charts redraw together, a few times a second, and only when their data changed and the
// page is visible.
export class Redraw {
  constructor(ms = 400) {
    this.dirty = new Map(); // chart -> fit to the bulk
    this.timer = setInterval(() => this.flush(), ms);
  }

  // mark(chart, bulk): redraw at the next tick; bulk: scale to the bulk of the points first.
  mark(chart, bulk = false) {
    this.dirty.set(chart, bulk || !!this.dirty.get(chart));
  }

  flush() {
    if (document.hidden) return;
    for (const [c, bulk] of this.dirty) {
      if (bulk) fitBulk(c);
      c.update('none');
    }
    this.dirty.clear();
  }

  stop() {
    clearInterval(this.timer);
    this.dirty.clear();
  }
}
