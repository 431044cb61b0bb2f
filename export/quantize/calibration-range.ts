// Activation ranges from calibration outputs: MinMax (the extremes seen over all images) and
// percentile (the P-th and (100−P)-th percentiles of all values seen, from a histogram over the
// MinMax range), which ignores rare outliers that would otherwise waste the 256 levels.

import type { Range } from './quantize-int8.ts';

export type CalibrationMethod = 'minmax' | 'percentile';

export class MinMaxRange {
  min = Infinity;
  max = -Infinity;
  add(values: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }
  range(): Range {
    if (!(this.min <= this.max)) throw new Error('no finite values seen');
    return { min: this.min, max: this.max };
  }
}

/** Histogram of values over a fixed [min, max]; percentiles interpolate within a bin. */
export class PercentileRange {
  readonly counts: Float64Array;
  total = 0;
  constructor(
    readonly min: number,
    readonly max: number,
    readonly bins = 4096,
  ) {
    this.counts = new Float64Array(bins);
  }
  add(values: Float32Array): void {
    const { min, bins, counts } = this;
    const width = this.max - min;
    if (!(width > 0)) {
      this.total += values.length;
      counts[0] += values.length;
      return;
    }
    const k = bins / width;
    for (let i = 0; i < values.length; i++) {
      let b = Math.floor((values[i] - min) * k);
      if (b >= bins) b = bins - 1;
      else if (b < 0) b = 0;
      counts[b]++;
    }
    this.total += values.length;
  }
  /** The value below which `p` percent of the values lie. */
  percentile(p: number): number {
    if (this.total === 0) throw new Error('no values seen');
    const target = (p / 100) * this.total;
    const width = (this.max - this.min) / this.bins;
    let acc = 0;
    for (let b = 0; b < this.bins; b++) {
      const c = this.counts[b];
      if (acc + c >= target && c > 0) return this.min + width * (b + (target - acc) / c);
      acc += c;
    }
    return this.max;
  }
  /** [percentile(100 − p), percentile(p)]. */
  range(p: number): Range {
    return { min: this.percentile(100 - p), max: this.percentile(p) };
  }
}
