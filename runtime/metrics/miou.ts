// Segmentation scores from a confusion matrix: per-class IoU, precision and recall, and the
// mean IoU under the averaging rules the reference repositories use (SPEC §4). They agree on
// the per-class counts (TP = conf[c][c], FN = row sum − TP, FP = column sum − TP) and differ
// only in which classes enter the mean:
//   miou             — classes present in the ground truth or the prediction (ours, the default:
//                      a class nobody mentions neither helps nor hurts);
//   miouAllClasses   — every class, an absent one scoring 0 (1-Stage eval_seg "with background",
//                      EDAM eval.py);
//   miouGtClasses    — only classes with ground-truth pixels (VWE's nanmean).

import type { ConfusionMatrix } from './confusion.ts';

export interface ClassCounts {
  tp: number;
  fp: number;
  fn: number;
  /** Ground-truth pixels of the class (row sum, including unlabelled predictions). */
  gtPixels: number;
  /** Pixels predicted as the class (column sum). */
  predPixels: number;
}

/** TP/FP/FN per class. */
export function classCounts(conf: ConfusionMatrix): ClassCounts[] {
  const n = conf.numClasses;
  const out: ClassCounts[] = [];
  for (let c = 0; c < n; c++) {
    let row = conf.unlabelled[c];
    let col = 0;
    for (let k = 0; k < n; k++) {
      row += conf.counts[c * n + k];
      col += conf.counts[k * n + c];
    }
    const tp = conf.counts[c * n + c];
    out.push({ tp, fp: col - tp, fn: row - tp, gtPixels: row, predPixels: col });
  }
  return out;
}

/**
 * IoU per class as TP / (TP + FN + FP + epsilon). With epsilon = 0 a class absent from both
 * ground truth and prediction gives NaN (0/0); the reference repos guard with 1e−20 (1-Stage),
 * 1e−10 (EDAM) or max(1e−3, ·) (1-Stage validation) — see `iouPerClassClamped`.
 */
export function iouPerClass(conf: ConfusionMatrix, epsilon = 0): number[] {
  return classCounts(conf).map((c) => c.tp / (c.tp + c.fn + c.fp + epsilon));
}

/** IoU per class as TP / max(floor, TP + FN + FP) (1-Stage's compute_jaccard uses floor 1e−3). */
export function iouPerClassClamped(conf: ConfusionMatrix, floor: number): number[] {
  return classCounts(conf).map((c) => c.tp / Math.max(floor, c.tp + c.fn + c.fp));
}

/** Mean of values[c] over the classes where include[c] is true; NaN when none is included. */
export function meanOver(values: ArrayLike<number>, include: ArrayLike<boolean>): number {
  let s = 0;
  let k = 0;
  for (let c = 0; c < values.length; c++) {
    if (include[c]) {
      s += values[c];
      k++;
    }
  }
  return k ? s / k : NaN;
}

export interface ClassScore {
  /** null when the class is in neither the ground truth nor the prediction. */
  iou: number | null;
  /** TP / (TP + FP); null when nothing was predicted as the class. */
  precision: number | null;
  /** TP / (TP + FN); null when the class has no ground-truth pixels. */
  recall: number | null;
  gtPixels: number;
  predPixels: number;
}

export interface SegmentationScores {
  /** Mean IoU over classes present in the ground truth or the prediction. */
  miou: number;
  /** Mean IoU over all classes, absent ones counting 0 (1-Stage / EDAM). */
  miouAllClasses: number;
  /** Mean IoU over classes with ground-truth pixels (VWE). */
  miouGtClasses: number;
  /** Mean IoU over the foreground classes 1..n−1, absent ones counting 0 (1-Stage's first "mIoU" line). */
  miouForegroundAllClasses: number;
  /** Correct pixels / evaluated pixels. */
  pixelAccuracy: number;
  perClass: ClassScore[];
  evaluatedPixels: number;
}

export function segmentationScores(conf: ConfusionMatrix): SegmentationScores {
  const counts = classCounts(conf);
  const n = counts.length;
  const iou = counts.map((c) => (c.tp + c.fn + c.fp > 0 ? c.tp / (c.tp + c.fn + c.fp) : NaN));
  const iouZeroed = iou.map((v) => (Number.isNaN(v) ? 0 : v));
  const present = counts.map((c) => c.gtPixels > 0 || c.predPixels > 0);
  const inGt = counts.map((c) => c.gtPixels > 0);
  const fg = counts.map((_, c) => c > 0);
  let correct = 0;
  let total = 0;
  for (const c of counts) {
    correct += c.tp;
    total += c.gtPixels;
  }
  return {
    miou: meanOver(iou, present),
    miouAllClasses: meanOver(iouZeroed, Array(n).fill(true)),
    miouGtClasses: meanOver(iou, inGt),
    miouForegroundAllClasses: n > 1 ? meanOver(iouZeroed, fg) : NaN,
    pixelAccuracy: total ? correct / total : NaN,
    perClass: counts.map((c, k) => ({
      iou: present[k] ? iou[k] : null,
      precision: c.predPixels > 0 ? c.tp / c.predPixels : null,
      recall: c.gtPixels > 0 ? c.tp / c.gtPixels : null,
      gtPixels: c.gtPixels,
      predPixels: c.predPixels,
    })),
    evaluatedPixels: total,
  };
}
