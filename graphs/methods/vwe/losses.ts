// VWE's loss terms (Ru et al., Eq. 8–9; SPEC.md §2.3), each a multilabel soft-margin loss
// (graphs/losses): image labels from the image classifier, image labels from the word frequencies
// (word-to-image), word labels from the pooled features. The official v1 code and the paper both
// add the three with weight 1. The IJCV follow-up (v2) adds a codebook decorrelation term and
// computes (but does not add) the entropy of the word predictions, here a training log.

import { multilabelSoftMargin } from '../../losses/multilabel-soft-margin.ts';
import type { Ops, Tensor } from '../../ops.ts';

/** Image classifier vs image labels: logits [N, C], labels [N, C]. */
export function imageLoss(ops: Ops, logits: Tensor, labels: Tensor): Tensor {
  return multilabelSoftMargin(ops, logits, labels);
}

/** Word-to-image classifier (on the word frequencies) vs image labels. */
export function wordToImageLoss(ops: Ops, histLogits: Tensor, labels: Tensor): Tensor {
  return multilabelSoftMargin(ops, histLogits, labels);
}

/** Word classifier (on the pooled features) vs word labels [N, K]. */
export function wordLoss(ops: Ops, wordLogits: Tensor, wordLabels: Tensor): Tensor {
  return multilabelSoftMargin(ops, wordLogits, wordLabels);
}

/**
 * v2's decorrelation of the codebook V [K, D, 1, 1]: ½(‖Ĉ‖_F − ‖diag Ĉ‖₂) with Ĉ = V₀V₀ᵀ and V₀
 * the rows of V each centred by its own mean (no 1/N factor), as the code writes it.
 */
export function codebookDecorrelation(ops: Ops, codebook: Tensor): Tensor {
  const v = ops.reshape(codebook, [0, -1]);
  const centred = ops.sub(v, ops.reduceMean(v, [1], true));
  const gram = ops.matmul(centred, centred, { transposeB: true });
  const frobenius = ops.sqrt(ops.reduceSum(ops.mul(gram, gram), [0, 1]));
  // diag(V₀V₀ᵀ)_k = ‖row k‖²; its L2 norm over k.
  const diagonal = ops.reduceSum(ops.mul(centred, centred), [1]);
  const diagNorm = ops.sqrt(ops.reduceSum(ops.mul(diagonal, diagonal), [0]));
  return ops.mul(ops.sub(frobenius, diagNorm), 0.5);
}

/** v2's entropy of the word predictions: mean over the batch of −Σ_k p log p, p = softmax(logits) + 1e−8. */
export function wordPredictionEntropy(ops: Ops, wordLogits: Tensor): Tensor {
  const p = ops.add(ops.softmax(wordLogits, 1), 1e-8);
  return ops.reduceMean(ops.neg(ops.reduceSum(ops.mul(p, ops.log(p)), [1])), [0]);
}
