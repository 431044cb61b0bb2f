// The background-threshold sweep the papers use to score CAMs: a pixel takes the label of its
// strongest class map unless no map exceeds the threshold t, i.e. label = argmax over
// [t, cam_1, …, cam_K] (ties go to the lowest index, so background wins at cam = t, and the
// first listed class among equal maps). One confusion matrix per threshold; the best threshold
// is the one with the highest mIoU. Thresholds are compared as float32, as in the reference
// evaluators (they pad the float32 CAM array with the threshold), so a CAM value equal to
// float32(0.2) counts as a tie at threshold 0.2.
//
// Every threshold is evaluated in one pass over the pixels: a pixel's label only depends on
// whether t is below its top score, so it is filed under (gt, top class, number of thresholds
// below its top score) and each threshold's matrix is summed from those bins afterwards.

import { ConfusionMatrix } from './confusion.ts';
import { segmentationScores, type SegmentationScores } from './miou.ts';

export interface ThresholdScore {
  threshold: number;
  scores: SegmentationScores;
}

export class CamThresholdSweep {
  readonly thresholds: number[];
  /** The thresholds rounded to float32, the precision the CAM values have. */
  private readonly cmp: Float32Array;
  /** bins[((g * n) + c) * (T + 1) + j]: pixels of GT g whose top class is c, with j thresholds below its score. */
  private readonly bins: Float64Array;

  constructor(
    readonly numClasses: number,
    thresholds: number[],
  ) {
    if (!thresholds.length) throw new Error('CamThresholdSweep: no thresholds');
    this.thresholds = [...thresholds].sort((a, b) => a - b);
    this.cmp = Float32Array.from(this.thresholds);
    this.bins = new Float64Array(numClasses * numClasses * (thresholds.length + 1));
  }

  /**
   * One image: gt labels (H·W), the class maps (each H·W) and the label each map stands for
   * (1..n−1, in the order ties should favour). Pixels with GT outside the classes are skipped.
   */
  add(gt: ArrayLike<number>, maps: ArrayLike<number>[], labels: number[]): void {
    if (maps.length !== labels.length) throw new Error(`CamThresholdSweep.add: ${maps.length} maps but ${labels.length} labels`);
    const n = this.numClasses;
    const T = this.thresholds.length;
    const th = this.cmp;
    for (const [k, m] of maps.entries()) {
      if (m.length !== gt.length) throw new Error(`CamThresholdSweep.add: map ${k} has ${m.length} pixels, ground truth ${gt.length}`);
      if (!(labels[k] >= 1 && labels[k] < n)) throw new Error(`CamThresholdSweep.add: label ${labels[k]} is not a foreground class of ${n}`);
    }
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (!(g >= 0 && g < n)) continue;
      let best = -Infinity;
      let cls = 0;
      for (let k = 0; k < maps.length; k++) {
        const v = maps[k][i];
        if (v > best) {
          best = v;
          cls = labels[k];
        }
      }
      // j = number of thresholds strictly below the top score (those thresholds give `cls`).
      let j = 0;
      if (cls !== 0) {
        let lo = 0;
        let hi = T;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (th[mid] < best) lo = mid + 1;
          else hi = mid;
        }
        j = lo;
      }
      this.bins[(g * n + cls) * (T + 1) + j]++;
    }
  }

  /** The confusion matrix at thresholds[ti]. */
  confusionAt(ti: number): ConfusionMatrix {
    const n = this.numClasses;
    const T = this.thresholds.length;
    const conf = new ConfusionMatrix(n);
    for (let g = 0; g < n; g++) {
      for (let c = 0; c < n; c++) {
        const base = (g * n + c) * (T + 1);
        for (let j = 0; j <= T; j++) {
          const v = this.bins[base + j];
          if (!v) continue;
          // Thresholds 0..j−1 lie below the pixel's top score: index ti < j predicts c.
          const predicted = c !== 0 && ti < j ? c : 0;
          conf.counts[g * n + predicted] += v;
        }
      }
    }
    return conf;
  }

  /** Scores at every threshold and the best one (highest mIoU; the lowest threshold on ties). */
  results(): { sweep: ThresholdScore[]; best: ThresholdScore; bestIndex: number } {
    const sweep = this.thresholds.map((threshold, ti) => ({ threshold, scores: segmentationScores(this.confusionAt(ti)) }));
    let bestIndex = 0;
    for (let i = 1; i < sweep.length; i++) if (sweep[i].scores.miou > sweep[bestIndex].scores.miou) bestIndex = i;
    return { sweep, best: sweep[bestIndex], bestIndex };
  }
}

/** Parses "start:stop:step" (inclusive stop, like the papers' 0.05…0.95 grids) or "a,b,c". */
export function parseThresholds(spec: string): number[] {
  const s = spec.trim();
  if (s.includes(':')) {
    const parts = s.split(':').map(Number);
    if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)) || parts[2] <= 0 || parts[1] < parts[0])
      throw new Error(`bad threshold range "${spec}": expected start:stop:step with step > 0 and stop ≥ start`);
    const [a, b, step] = parts;
    const out: number[] = [];
    // Count steps in integers so 0.05:0.95:0.05 gives exactly 19 values, rounded to 6 decimals.
    const count = Math.floor((b - a) / step + 1e-9);
    for (let i = 0; i <= count; i++) out.push(Math.round((a + i * step) * 1e6) / 1e6);
    return out;
  }
  const vals = s.split(',').map((x) => Number(x.trim()));
  if (!vals.length || vals.some((x) => !Number.isFinite(x))) throw new Error(`bad threshold list "${spec}": expected numbers separated by commas`);
  return vals;
}
