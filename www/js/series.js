// Chart data that stays small however long an agent trains.
//
// A random agent finishes thousands of episodes a second: keeping every point would make the
// charts slower by the minute. Thinned keeps at most `cap` points per series by doubling its
// stride whenever it fills up (dropping every other point kept so far), so the whole run stays
// visible at an even resolution and each push costs O(1) amortised. Its arrays are compacted
// in place, so a chart can hold them as its datasets' data.

export class Thinned {
  // series: how many parallel arrays (a return, its mean, the band's edges...) share the stride.
  constructor(series, cap = 2000) {
    this.cap = cap;
    this.stride = 1;
    this.offered = 0;
    this.arrays = Array.from({ length: series }, () => []);
  }

  // push(p0, p1, ...): one point per array; kept when it falls on the stride.
  push(...points) {
    if (this.offered++ % this.stride !== 0) return;
    this.arrays.forEach((a, i) => a.push(points[i]));
    if (this.arrays[0].length > this.cap) {
      for (const a of this.arrays) {
        let w = 0;
        for (let r = 0; r < a.length; r += 2) a[w++] = a[r];
        a.length = w;
      }
      this.stride *= 2;
    }
  }

  clear() {
    this.stride = 1;
    this.offered = 0;
    for (const a of this.arrays) a.length = 0;
  }
}

// The mean and standard deviation of the last `size` values, updated in O(1) per value. The
// running sums are rebuilt from the window now and then so rounding cannot pile up.
export class Rolling {
  constructor(size = 100) {
    this.size = size;
    this.buf = new Float64Array(size);
    this.n = 0;
    this.next = 0;
    this.sum = 0;
    this.sumsq = 0;
    this.pushes = 0;
  }

  push(v) {
    if (this.n === this.size) {
      const old = this.buf[this.next];
      this.sum -= old;
      this.sumsq -= old * old;
    } else {
      this.n++;
    }
    this.buf[this.next] = v;
    this.next = (this.next + 1) % this.size;
    this.sum += v;
    this.sumsq += v * v;
    if (++this.pushes % 8192 === 0) this.rebuild();
  }

  rebuild() {
    this.sum = 0;
    this.sumsq = 0;
    for (let i = 0; i < this.n; i++) {
      this.sum += this.buf[i];
      this.sumsq += this.buf[i] * this.buf[i];
    }
  }

  get mean() {
    return this.n ? this.sum / this.n : NaN;
  }

  get std() {
    if (!this.n) return NaN;
    const m = this.sum / this.n;
    return Math.sqrt(Math.max(0, this.sumsq / this.n - m * m));
  }
}
