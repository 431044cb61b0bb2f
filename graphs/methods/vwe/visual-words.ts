// The visual-word encoder (Ru et al., Eq. 1–4; SPEC.md §2.2): a learnable codebook of K words,
// each pixel's feature compared with every word by cosine similarity, a softmax over the words
// (the soft assignment P), the image's word frequencies (P averaged over pixels, or summed as the
// official code does) and its word labels (the words that are some pixel's argmax).
//
// The features enter detached (the code's `x.detach()`): the codebook learns only through the
// word-to-image classifier on the frequencies, and the backbone learns the words only by being
// asked to predict the word labels (the word classifier of model.ts).

import { Module, type ParamRef } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';

/** The official code's L2-normalisation guard (torch.nn.functional.normalize). */
export const L2_EPS = 1e-12;

/** How the image's word frequencies are pooled from the soft assignment. */
export type WordFrequency = 'mean' | 'sum';

export interface WordEncoding {
  /** Cosine similarity of each pixel with each word [N, K, h, w]. */
  similarity: Tensor;
  /** Soft assignment P = softmax over the words of the similarity [N, K, h, w]. */
  assignment: Tensor;
  /** Word frequencies [N, K, 1, 1]: P averaged (the paper, Eq. 4) or summed (the code) over pixels. */
  frequency: Tensor;
  /** Each pixel's word, argmax of P (lowest index on ties) [N, 1, h, w]; no gradient. */
  index: Tensor;
  /** Word labels [N, K]: 1 where the word is the argmax of at least one pixel; no gradient. */
  labels: Tensor;
}

export class VisualWordEncoder extends Module {
  readonly codebook: ParamRef;
  constructor(
    readonly words: number,
    readonly featureChannels: number,
  ) {
    super();
    // The code's kaiming_normal_(a=√5) on [K, D, 1, 1]: std = √(2/(1+5)) / √D = 1/√(3D).
    this.codebook = this.param('codebook', [words, featureChannels, 1, 1], { kind: 'normal', std: 1 / Math.sqrt(3 * featureChannels) });
  }

  encode(ops: Ops, features: Tensor, frequency: WordFrequency): WordEncoding {
    const unitFeatures = ops.l2Normalize(ops.stopGradient(features), 1, L2_EPS);
    const unitWords = ops.l2Normalize(ops.param(this.codebook), 1, L2_EPS);
    const similarity = ops.conv2d(unitFeatures, unitWords, null);
    // softmax over the words, written out: cosines lie in [−1, 1], so exp needs no max-shift, and
    // the elementwise form trains several times faster than the stock tfjs Softmax kernel here.
    const e = ops.exp(similarity);
    const assignment = ops.div(e, ops.reduceSum(e, [1], true));
    const pooled = frequency === 'mean' ? ops.reduceMean(assignment, [2, 3], true) : ops.reduceSum(assignment, [2, 3], true);
    const index = ops.argmax(ops.stopGradient(assignment), 1, true);
    return { similarity, assignment, frequency: pooled, index, labels: wordLabels(ops, index, this.words) };
  }
}

/**
 * Word labels [N, K] from each pixel's word index [N, 1, h, w]: a one-hot of the index (1 where
 * index − k = 0, written relu(1 − |index − k|) since the differences are whole numbers), counted
 * over the pixels and clipped at 1 (min(1, count) rather than a max over pixels: tfjs still
 * back-propagates zeros through a target's ops, and a max's gradient on [N, K, h, w] costs far
 * more than a sum's). Targets, so no gradient.
 */
export function wordLabels(ops: Ops, index: Tensor, words: number): Tensor {
  const ks = ops.constant(Array.from({ length: words }, (_, k) => k), [1, words, 1, 1]);
  const oneHot = ops.relu(ops.sub(1, ops.abs(ops.sub(index, ks))));
  return ops.stopGradient(ops.minimum(ops.reshape(ops.reduceSum(oneHot, [2, 3]), [0, -1]), 1));
}
