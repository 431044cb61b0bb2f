// Hybrid spatial pyramid pooling (HSPP, Ru et al., IJCAI'21, Eq. 5–7; SPEC.md §2.4): the global
// average of the features, weighted γ, plus the global average of max-pooled pyramids at 1, 2 and
// 4 bins per axis, divided by γ + 3. GAP alone spreads a class score over everything it covers;
// the local maxima keep small strong activations, the average keeps large weak ones.
//
// Windows follow the official code (max_pool2d with kernel = stride = (H//i, W//i), floor mode):
// trailing rows/columns that do not fill a window are dropped, and there may be more than i
// windows along an axis (H = 11, i = 4 → kernel 2 → 5 windows over rows 0–9). Where the official
// code fails (an axis shorter than i gives a kernel of 0), the kernel is clamped to 1: every pixel
// of that axis is its own window, so a level finer than the map pools single pixels and a 1×1 map
// gives back its own values (Ops.gridMaxPool).

import type { Ops, Tensor } from './ops.ts';

/** The pyramid levels (bins per axis) of the paper and the code. */
export const HSPP_LEVELS = [1, 2, 4];
/** The weight of the global average (the paper's γ, hard-coded 2 in the code). */
export const HSPP_GAMMA = 2;

/** HSPP of features [N, D, H, W] → [N, D, 1, 1]. */
export function hspp(ops: Ops, x: Tensor, gamma = HSPP_GAMMA, levels: readonly number[] = HSPP_LEVELS): Tensor {
  let sum = ops.mul(ops.globalAvgPool(x), gamma);
  for (const bins of levels) sum = ops.add(sum, ops.globalAvgPool(ops.gridMaxPool(x, bins)));
  return ops.div(sum, gamma + levels.length);
}
