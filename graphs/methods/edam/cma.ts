// EDAM's Collaborative Multi-Attention module (SPEC.md §3.3), training only: for each class k
// and each pair of images (2p, 2p+1) trained on k, the class-specific maps X ⊙ M_k of both images
// (X = d_d(F), a 1×1 reduction to d channels; M_k the DA layer's mask of class k) become one
// sequence of 2·h·w tokens (row-major per image) plus a sinusoidal positional encoding (restarting
// for each image) and a learned segment embedding of the image's place in the pair; the class's
// own transformer attends over the whole sequence, each image's tokens are averaged and the class's
// own 1×1 classifier gives one score per image. Pairs are batched per class, so one step runs K
// transformers, each on every pair at once.
//
// Without attention (`attention: false`, the "+ DA" ablation) the same reduction and per-class
// classifiers score GAP(X ⊙ M_k) of every image on every class: the DA layer trained alone.

import { Conv2d } from '../../layers.ts';
import { Module, type ParamRef } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import { sinusoidalTable } from './positional-encoding.ts';
import { TransformerStack } from './transformer.ts';

export interface CmaConfig {
  /** Channels of the backbone's features. */
  inChannels: number;
  numClasses: number;
  /** Token width d (official 128). */
  dim: number;
  /** With the per-class transformers (CMA) or without (GAP of the class-specific maps). */
  attention: boolean;
  heads: number;
  layers: number;
  /** FFN width (official 4d). */
  ffHidden: number;
  dropout: number;
  /**
   * Average-pool the class-specific maps by this factor before they become tokens (1: one token
   * per feature-map position, as the official code). Attention costs (2·h·w)² per pair and
   * class: pooling by 2 makes it 16× cheaper, what lets CMA train on a CPU in the benchmark.
   */
  pool: number;
}

/** Rows of the official segment-embedding table (only rows 0 and 1 are used, one per image of a pair). */
export const SEGMENT_ROWS = 5;

/** One score column: the image (index in the batch) and the class it scores. */
export interface CmaEntry {
  image: number;
  cls: number;
}

class SegmentEmbedding extends Module {
  readonly weight: ParamRef;
  constructor(d: number) {
    super();
    this.weight = this.param('weight', [SEGMENT_ROWS, d], { kind: 'normal', std: 1 });
  }
}

class Embedding extends Module {
  readonly segment: SegmentEmbedding;
  constructor(d: number) {
    super();
    this.segment = this.child('segment', new SegmentEmbedding(d));
  }
}

class PerClass<M extends Module> extends Module {
  readonly items: M[];
  constructor(n: number, make: (k: number) => M) {
    super();
    this.items = Array.from({ length: n }, (_, k) => this.child(k, make(k)));
  }
}

export class CollaborativeMultiAttention extends Module {
  readonly reduce: Conv2d;
  readonly embedding: Embedding | null;
  readonly transformers: PerClass<TransformerStack> | null;
  readonly classifiers: PerClass<Conv2d>;
  constructor(readonly config: CmaConfig) {
    super();
    const { inChannels, numClasses, dim } = config;
    this.reduce = this.child('d_d', new Conv2d(inChannels, dim, 1, { bias: false }));
    this.embedding = config.attention ? this.child('embedding', new Embedding(dim)) : null;
    this.transformers = config.attention
      ? this.child('trans_list', new PerClass(numClasses, () => new TransformerStack(config.layers, dim, config.heads, config.ffHidden, config.dropout)))
      : null;
    this.classifiers = this.child('fc_list', new PerClass(numClasses, () => new Conv2d(dim, 1, 1, { bias: false })));
  }

  /** X = d_d(F): [B, d, h, w]. */
  reduced(ops: Ops, features: Tensor): Tensor {
    return this.reduce.forward(ops, features);
  }

  /** The class-specific map X ⊙ M_k, [B, d, h, w] (masks [B, K+1, h, w]). */
  classSpecificMap(ops: Ops, reduced: Tensor, masks: Tensor, k: number): Tensor {
    return ops.mul(reduced, ops.slice(masks, [k], [k + 1], [1]));
  }

  /** The classifier of class k as a [1, d] matrix. */
  private classifierRow(ops: Ops, k: number): Tensor {
    return ops.reshape(ops.param(this.classifiers.items[k].weight), [1, this.config.dim]);
  }

  /**
   * CMA scores of pairs of images: images 2p and 2p+1 form pair p, `slots[p]` lists the classes
   * it is trained on. Returns the scores as one row [1, T] and what each column scores.
   * h, w: the feature map's size (static; the positional table is built for the token grid).
   */
  pairScores(ops: Ops, features: Tensor, masks: Tensor, slots: number[][], h: number, w: number): { scores: Tensor; entries: CmaEntry[] } {
    if (!this.transformers || !this.embedding) throw new Error('CMA: built without attention (attention: false); use daScores');
    const { dim: d, pool } = this.config;
    const x = this.reduced(ops, features);
    const [th, tw] = pool > 1 ? [Math.ceil(h / pool), Math.ceil(w / pool)] : [h, w];
    const hw = th * tw;
    // Positional encoding + segment embedding of a pair's 2·h·w tokens: [1, 2hw, d].
    const pe = ops.constant(sinusoidalTable(hw, d), [hw, d]);
    const seg = ops.param(this.embedding.segment.weight);
    const rowOf = (j: number) => ops.add(pe, ops.reshape(ops.slice(seg, [j], [j + 1], [0]), [1, d]));
    const embed = ops.reshape(ops.concat([rowOf(0), rowOf(1)], 0), [1, 2 * hw, d]);
    const classes = [...new Set(slots.flat())].sort((a, b) => a - b);
    const scores: Tensor[] = [];
    const entries: CmaEntry[] = [];
    for (const k of classes) {
      const pairs = slots.flatMap((s, p) => (s.includes(k) ? [p] : []));
      const pick = (t: Tensor) => (pairs.length === slots.length ? t : ops.concat(pairs.map((p) => ops.slice(t, [2 * p], [2 * p + 2], [0])), 0));
      const n = pairs.length;
      const full = this.classSpecificMap(ops, pick(x), pick(masks), k); // [2n, d, h, w]
      const maps = pool > 1 ? ops.avgPool(full, { kernel: pool, stride: pool, ceilMode: true, countIncludePad: false }) : full;
      const tokens = ops.reshape(ops.transpose(ops.reshape(maps, [2 * n, d, hw]), [0, 2, 1]), [n, 2 * hw, d]);
      const seq = ops.dropout(ops.add(tokens, embed), this.config.dropout);
      const out = this.transformers.items[k].forward(ops, seq, n, 2 * hw);
      const pooled = ops.reduceMean(ops.reshape(out, [2 * n, hw, d]), [1]); // [2n, d]
      scores.push(ops.reshape(ops.matmul(pooled, this.classifierRow(ops, k), { transposeB: true }), [1, 2 * n]));
      for (const p of pairs) entries.push({ image: 2 * p, cls: k }, { image: 2 * p + 1, cls: k });
    }
    return { scores: scores.length === 1 ? scores[0] : ops.concat(scores, 1), entries };
  }

  /**
   * Without attention: scores [B, K] of every image on every class,
   * s[b, k] = fc_k · GAP(X ⊙ M_k) = fc_k · (X_b · M_{b,k}ᵀ)/hw — one batched product for all classes.
   */
  daScores(ops: Ops, features: Tensor, masks: Tensor, h: number, w: number): Tensor {
    const { dim: d, numClasses: k } = this.config;
    const hw = h * w;
    const x = ops.reshape(this.reduced(ops, features), [-1, d, hw]);
    const m = ops.reshape(ops.slice(masks, [0], [k], [1]), [-1, k, hw]);
    const pooled = ops.mul(ops.matmul(m, x, { transposeB: true }), 1 / hw); // [B, K, d]
    const rows = ops.concat(Array.from({ length: k }, (_, c) => this.classifierRow(ops, c)), 0); // [K, d]
    return ops.reduceSum(ops.mul(pooled, rows), [2]);
  }
}
