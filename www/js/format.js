// How numbers and times read in the UI: grouped integers, a few significant digits for
// measurements, local times.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const dash = '–';

// An integer count: 1,234,567.
export function int(v) {
  return Number.isFinite(v) ? grouped.format(v) : dash;
}

// A measurement with about `digits` significant digits, without exponent below 1e6 (returns,
// losses, rates): 500, -1,290.4, 0.000289, 3.28e-7.
export function num(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e9 || a < 1e-4) return v.toExponential(Math.max(0, digits - 2));
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.min(decimals, 8) });
}

// Steps per second: 58,161 or 486 k or 1.2 M, so the column stays narrow.
export function rate(v) {
  if (!Number.isFinite(v)) return dash;
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)} M`;
  if (v >= 1e5) return `${Math.round(v / 1e3)} k`;
  return v >= 100 ? grouped.format(v) : num(v, 3);
}

// A Unix time (seconds) as a local date and time: 2026-11-22 07:58:54.
export function time(t) {
  if (!Number.isFinite(t)) return dash;
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// The time of day only, for chart axes.
export function clock(t) {
  return time(t).slice(11);
}

// Bytes as KiB/MiB.
export function bytes(n) {
  if (!Number.isFinite(n)) return dash;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// A duration in microseconds, in the unit that reads best: 850 µs, 2.4 ms, 1.25 s.
export function micros(us) {
  if (us === null || us === undefined || !Number.isFinite(us)) return dash;
  if (us < 1000) return `${num(us, 3)} µs`;
  if (us < 1e6) return `${num(us / 1000, 3)} ms`;
  return `${num(us / 1e6, 3)} s`;
}
