// The pixel confusion matrix every segmentation metric is computed from. Rows are ground-truth
// classes, columns predicted classes (conf[g][p]), as in the reference evaluators; pixels whose
// ground truth is the ignore label (255) or any other value outside the classes are skipped —
// only the ground-truth side is checked there, as those evaluators do.
//
// A prediction outside the classes (e.g. 255 = "no label" in a pseudo-label map) cannot go into
// a column, so it is counted per ground-truth class in `unlabelled`: such a pixel is a miss
// (a false negative) for its ground-truth class and a false positive for no class.

import { IGNORE_LABEL } from '../voc-palette.ts';

export class ConfusionMatrix {
  /** counts[g * n + p]: pixels of ground-truth class g predicted as p. Float64 so large sets stay exact. */
  readonly counts: Float64Array;
  /** unlabelled[g]: pixels of ground-truth class g whose prediction was no class at all. */
  readonly unlabelled: Float64Array;

  constructor(readonly numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`ConfusionMatrix: bad class count ${numClasses}`);
    this.counts = new Float64Array(numClasses * numClasses);
    this.unlabelled = new Float64Array(numClasses);
  }

  /** Adds one label map pair (same length). Returns the number of pixels counted. */
  add(gt: ArrayLike<number>, pred: ArrayLike<number>): number {
    if (gt.length !== pred.length) throw new Error(`ConfusionMatrix.add: ground truth has ${gt.length} pixels, prediction ${pred.length}`);
    const n = this.numClasses;
    const counts = this.counts;
    let counted = 0;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (!(g >= 0 && g < n)) continue; // 255 and anything else outside the classes is not evaluated
      const p = pred[i];
      if (p >= 0 && p < n) counts[g * n + p]++;
      else this.unlabelled[g]++;
      counted++;
    }
    return counted;
  }

  /** Adds another matrix of the same size (e.g. from a worker). */
  merge(other: ConfusionMatrix): void {
    if (other.numClasses !== this.numClasses) throw new Error(`ConfusionMatrix.merge: ${other.numClasses} classes vs ${this.numClasses}`);
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    for (let i = 0; i < this.unlabelled.length; i++) this.unlabelled[i] += other.unlabelled[i];
  }

  get(gt: number, pred: number): number {
    return this.counts[gt * this.numClasses + pred];
  }

  /** Rows as nested arrays (JSON output). */
  toRows(): number[][] {
    const n = this.numClasses;
    return Array.from({ length: n }, (_, g) => Array.from(this.counts.subarray(g * n, (g + 1) * n)));
  }

  /** Total evaluated pixels (including those with an unlabelled prediction). */
  total(): number {
    let s = 0;
    for (const v of this.counts) s += v;
    for (const v of this.unlabelled) s += v;
    return s;
  }
}

export { IGNORE_LABEL };
