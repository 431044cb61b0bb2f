// Pixel-wise cross-entropy on hard labels with an ignore label, as DeepLab trains on (pseudo-)
// ground truth: PyTorch's CrossEntropyLoss(ignore_index=255) with its default mean over the
// pixels that are not ignored. The labels arrive one-hot ([N, C, H, W], all zero where the label
// is 255), so ignored pixels add nothing to the sum and nothing to the count.

import type { Ops, Tensor } from '../ops.ts';

/**
 * Mean cross-entropy over the labelled pixels of the batch. logits [N, C, h, w] (background
 * included) are resized to the targets' size first (bilinear, half-pixel, as the exported logits
 * are); targets [N, C, H, W] one-hot or all-zero (= ignored). 0 when every pixel is ignored.
 */
export function crossEntropyIgnore(ops: Ops, logits: Tensor, targets: Tensor): Tensor {
  const logp = ops.logSoftmax(ops.resizeBilinear(logits, { like: targets }, false), 1);
  const total = ops.neg(ops.reduceSum(ops.mul(targets, logp), [0, 1, 2, 3]));
  const labelled = ops.maximum(ops.reduceSum(targets, [0, 1, 2, 3]), 1);
  return ops.div(total, labelled);
}
