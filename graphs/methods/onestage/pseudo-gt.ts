// 1-Stage's pseudo ground truth from the PAMR-refined masks (`pseudo_gtmask`, SPEC.md §1.4): a
// pixel belongs to class c when its refined mask exceeds max(0.2, f·max_c) with f = 0.7 for the
// background and 0.6 for the classes; pixels claimed by two classes or by none are ignored
// (all-zero rows), so the result is one-hot or zero per pixel.

import type { Ops, Tensor } from '../../ops.ts';

export const CUTOFF_BG = 0.7;
export const CUTOFF_FG = 0.6;
export const CUTOFF_LOW = 0.2;

/** refined [N, C, H, W] (absent classes already zero) → [N, C, H, W] one-hot or all-zero (ignore). */
export function pseudoGroundTruth(ops: Ops, refined: Tensor, channels: number): Tensor {
  const factors = ops.constant(Array.from({ length: channels }, (_, c) => (c === 0 ? CUTOFF_BG : CUTOFF_FG)), [1, channels, 1, 1]);
  const threshold = ops.maximum(ops.mul(ops.reduceMax(refined, [2, 3], true), factors), CUTOFF_LOW);
  const above = ops.greater(refined, threshold);
  // Keep pixels claimed by exactly one class: min(relu(2 − count), 1) is 1 for a count of 0 or 1, else 0.
  const count = ops.reduceSum(above, [1], true);
  return ops.mul(above, ops.minimum(ops.relu(ops.sub(2, count)), 1));
}
