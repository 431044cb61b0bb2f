// 1-Stage's class-balanced cross-entropy on pseudo ground truth (`balanced_mask_loss_ce`,
// SPEC.md §1.5), written with `Ops`. Per image: logits resized to the pseudo-GT (align_corners),
// class weights (N − n_c)/(1 + N) from the pixel counts, the weighted CE summed over the labelled
// pixels and divided by ALL H·W pixels, and the whole image dropped (weight 0) unless every
// labelled class and the background occur in its pseudo-GT.

import type { Ops, Tensor } from '../ops.ts';

/**
 * Per-image loss [N]. logits [N, C, h, w] (background included), pseudoGt [N, C, H, W] one-hot
 * or all-zero (= ignored), labels [N, C−1] image-level.
 */
export function balancedCrossEntropyPerImage(ops: Ops, logits: Tensor, pseudoGt: Tensor, labels: Tensor): Tensor {
  const logp = ops.logSoftmax(ops.resizeBilinear(logits, { like: pseudoGt }, true), 1);
  const ce = ops.neg(ops.reduceSum(ops.mul(pseudoGt, logp), [1], true)); // [N, 1, H, W], 0 where ignored
  const counts = ops.reduceSum(pseudoGt, [2, 3], true); // n_c [N, C, 1, 1]
  const total = ops.reduceSum(counts, [1], true); // N [N, 1, 1, 1]
  const classWeight = ops.div(ops.sub(total, counts), ops.add(total, 1));
  const pixelWeight = ops.reduceSum(ops.mul(pseudoGt, classWeight), [1], true);
  const perImage = ops.reduceMean(ops.mul(pixelWeight, ce), [1, 2, 3]);
  // Discard rule: the pseudo-GT must hold exactly Σℓ + 1 classes (the labelled ones and the background).
  const present = ops.reduceSum(ops.greater(counts, 0), [1, 2, 3]);
  const expected = ops.add(ops.reduceSum(labels, [1]), 1);
  const keep = ops.sub(1, ops.minimum(ops.abs(ops.sub(present, expected)), 1));
  return ops.mul(keep, perImage);
}

/** The batch mean of balancedCrossEntropyPerImage (what train.py adds to the loss). */
export function balancedCrossEntropy(ops: Ops, logits: Tensor, pseudoGt: Tensor, labels: Tensor): Tensor {
  return ops.reduceMean(balancedCrossEntropyPerImage(ops, logits, pseudoGt, labels), [0]);
}
