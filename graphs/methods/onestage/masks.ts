// 1-Stage's masks and class scores (SoftMaxAE.forward, SPEC.md §1.2): a constant background
// logit 1.0 in front of the C−1 foreground logits, softmax masks over all C channels, and class
// scores = normalised Global Weighted Pooling (denominator 1 + Σ mask) + the focal mask-size
// penalty (1 − m̄)^p·log(λ + m̄), background column dropped.

import type { Ops, Tensor } from '../../ops.ts';

/** The background's fixed logit. */
export const BG_LOGIT = 1.0;
/** `FOCAL_P` and `FOCAL_LAMBDA` of the 1-Stage config. */
export const FOCAL_P = 3;
export const FOCAL_LAMBDA = 0.01;
/** The nGWP denominator's constant (the paper's ε; 1.0 in the code). */
export const NGWP_EPS = 1.0;

/** [N, C−1, h, w] foreground logits → [N, C, h, w] with the constant background logit first. */
export function withBackgroundLogit(ops: Ops, fg: Tensor): Tensor {
  // A [N, 1, h, w] constant of the dynamic size: one channel zeroed, plus the logit.
  const bg = ops.add(ops.mul(ops.slice(fg, [0], [1], [1]), 0), BG_LOGIT);
  return ops.concat([bg, fg], 1);
}

export interface MaskScores {
  /** [N, C, h, w] logits incl. the background. */
  logits: Tensor;
  /** [N, C, h, w] softmax masks. */
  masks: Tensor;
  /** [N, C−1] class scores (nGWP + focal penalty). */
  scores: Tensor;
  /** [N, C] nGWP and focal terms incl. the background column (the golden vector checks them). */
  ngwp: Tensor;
  focal: Tensor;
}

export function maskScores(ops: Ops, fgLogits: Tensor): MaskScores {
  const logits = withBackgroundLogit(ops, fgLogits);
  const masks = ops.softmax(logits, 1);
  const ngwp = ops.div(ops.reduceSum(ops.mul(logits, masks), [2, 3]), ops.add(ops.reduceSum(masks, [2, 3]), NGWP_EPS));
  const mean = ops.reduceMean(masks, [2, 3]);
  const focal = ops.mul(ops.pow(ops.sub(1, mean), FOCAL_P), ops.log(ops.add(mean, FOCAL_LAMBDA)));
  const scores = ops.slice(ops.add(ngwp, focal), [1], [1 << 30], [1]);
  return { logits, masks, scores, ngwp, focal };
}

/** [N] mean foreground mask area of the labelled classes (`cls_fg`, logged): Σ_c m̄_c·ℓ_c / Σ_c ℓ_c. */
export function labelledMaskArea(ops: Ops, masks: Tensor, labels: Tensor): Tensor {
  const fgMean = ops.slice(ops.reduceMean(masks, [2, 3]), [1], [1 << 30], [1]);
  return ops.div(ops.reduceSum(ops.mul(fgMean, labels), [1]), ops.reduceSum(labels, [1]));
}

/** Masks with the foreground channels of absent classes zeroed (`_rescale_and_clean` after the resize). */
export function keepLabelledClasses(ops: Ops, masks: Tensor, labels: Tensor): Tensor {
  const gate = ops.concat([ops.add(ops.mul(ops.slice(labels, [0], [1], [1]), 0), 1), labels], 1); // [N, C]: 1, ℓ
  return ops.mul(masks, ops.reshape(gate, [0, -1, 1, 1]));
}
