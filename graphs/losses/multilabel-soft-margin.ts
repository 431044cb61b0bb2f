// The multilabel soft-margin loss (PyTorch nn.MultiLabelSoftMarginLoss, SPEC.md §1.7) written
// with `Ops`, so a method's training forward computes it in whichever interpreter runs it:
//   −(1/C) Σ_c [t·log σ(y) + (1 − t)·log σ(−y)]  =  (1/C) Σ_c max(y, 0) − y·t + log(1 + exp(−|y|))
// (the stable form: |y| = 40 neither overflows nor loses precision), averaged over the batch.

import type { Ops, Tensor } from '../ops.ts';

/** Per-sample loss [N] from logits and 0/1 targets [N, C]. */
export function multilabelSoftMarginPerSample(ops: Ops, logits: Tensor, targets: Tensor): Tensor {
  const perElement = ops.add(ops.sub(ops.relu(logits), ops.mul(logits, targets)), ops.log(ops.add(ops.exp(ops.neg(ops.abs(logits))), 1)));
  return ops.reduceMean(perElement, [1]);
}

/** Mean over the batch of multilabelSoftMarginPerSample: a scalar. */
export function multilabelSoftMargin(ops: Ops, logits: Tensor, targets: Tensor): Tensor {
  return ops.reduceMean(multilabelSoftMarginPerSample(ops, logits, targets), [0]);
}
