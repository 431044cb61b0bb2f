// The one-layer pre-norm transformer of EDAM's CMA module (SPEC.md §3.3, step 5), with the
// official module names (BERT-pytorch's layout) so the golden vector's weights load by name:
//   <block>.input_sublayer.norm.{a_2,b_2}, <block>.attention.linear_layers.{0,1,2}.{weight,bias},
//   <block>.attention.output_linear, <block>.output_sublayer.norm, <block>.feed_forward.w_{1,2}.
// Tensors are token sequences [B, L, d] (rank 3: the tfjs interpreter keeps rank-3 tensors in
// their logical layout, so no NHWC round trips).

import { Linear } from '../../layers.ts';
import { Module, type ParamRef } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';

/** The repo's own layer norm: ε is added to the UNBIASED standard deviation, not the variance. */
export const REPO_LAYER_NORM_EPS = 1e-6;

/** a·(x − mean)/(std_unbiased + 1e-6) + b over the last axis of [B, L, d]. */
export class RepoLayerNorm extends Module {
  readonly a2: ParamRef;
  readonly b2: ParamRef;
  constructor(readonly features: number) {
    super();
    this.a2 = this.param('a_2', [features], { kind: 'ones' });
    this.b2 = this.param('b_2', [features], { kind: 'zeros' });
  }
  forward(ops: Ops, x: Tensor): Tensor {
    const centred = ops.sub(x, ops.reduceMean(x, [2], true));
    const variance = ops.div(ops.reduceSum(ops.mul(centred, centred), [2], true), this.features - 1);
    const std = ops.sqrt(variance);
    return ops.add(ops.mul(ops.param(this.a2), ops.div(centred, ops.add(std, REPO_LAYER_NORM_EPS))), ops.param(this.b2));
  }
}

/** A Linear applied to every token of [B, L, in]: one [B·L, in] × [in, out] product. */
export function linearTokens(ops: Ops, layer: Linear, x: Tensor, b: number, l: number): Tensor {
  const y = layer.forward(ops, ops.reshape(x, [b * l, layer.inFeatures]));
  return ops.reshape(y, [b, l, layer.outFeatures]);
}

/** GELU, tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluTanh(ops: Ops, x: Tensor): Tensor {
  const inner = ops.mul(ops.add(x, ops.mul(ops.mul(ops.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return ops.mul(ops.mul(x, 0.5), ops.add(ops.tanh(inner), 1));
}

class LinearList extends Module {
  readonly layers: Linear[];
  constructor(d: number, n: number) {
    super();
    this.layers = Array.from({ length: n }, (_, i) => this.child(i, new Linear(d, d)));
  }
}

/**
 * Multi-head self-attention: separate Q, K, V projections (with bias), scores QKᵀ/√d_k, softmax
 * over keys, no mask, output projection. Each head projects with its rows of the Q/K/V weights
 * and its columns of the output weight (slices of the small weights, not of the activations:
 * the same numbers as splitting and concatenating heads, without the big copies).
 */
export class MultiHeadedAttention extends Module {
  readonly qkv: LinearList;
  readonly outputLinear: Linear;
  constructor(readonly d: number, readonly heads: number, readonly dropout: number) {
    super();
    if (d % heads) throw new Error(`MultiHeadedAttention: width ${d} is not a multiple of ${heads} heads`);
    this.qkv = this.child('linear_layers', new LinearList(d, 3));
    this.outputLinear = this.child('output_linear', new Linear(d, d));
  }
  forward(ops: Ops, x: Tensor, b: number, l: number): Tensor {
    const dk = this.d / this.heads;
    const flat = ops.reshape(x, [b * l, this.d]);
    const rows = (t: Tensor, h: number, axis: number) => (this.heads === 1 ? t : ops.slice(t, [h * dk], [(h + 1) * dk], [axis]));
    const project = (layer: Linear, h: number) =>
      ops.reshape(ops.add(ops.matmul(flat, rows(ops.param(layer.weight), h, 0), { transposeB: true }), rows(ops.param(layer.bias!), h, 0)), [b, l, dk]);
    const [wq, wk, wv] = this.qkv.layers;
    let out: Tensor | null = null;
    for (let h = 0; h < this.heads; h++) {
      const scores = ops.mul(ops.matmul(project(wq, h), project(wk, h), { transposeB: true }), 1 / Math.sqrt(dk));
      const attn = ops.dropout(ops.softmax(scores, 2), this.dropout);
      const head = ops.reshape(ops.matmul(attn, project(wv, h)), [b * l, dk]);
      const part = ops.matmul(head, rows(ops.param(this.outputLinear.weight), h, 1), { transposeB: true });
      out = out ? ops.add(out, part) : part;
    }
    return ops.reshape(ops.add(out!, ops.param(this.outputLinear.bias!)), [b, l, this.d]);
  }
}

/** Linear(d, 4d) → GELU (tanh) → dropout → Linear(4d, d). */
export class PositionwiseFeedForward extends Module {
  readonly w1: Linear;
  readonly w2: Linear;
  constructor(d: number, hidden: number, readonly dropout: number) {
    super();
    this.w1 = this.child('w_1', new Linear(d, hidden));
    this.w2 = this.child('w_2', new Linear(hidden, d));
  }
  forward(ops: Ops, x: Tensor, b: number, l: number): Tensor {
    return linearTokens(ops, this.w2, ops.dropout(geluTanh(ops, linearTokens(ops, this.w1, x, b, l)), this.dropout), b, l);
  }
}

/** `SublayerConnection`'s parameters: only its norm. */
class Sublayer extends Module {
  readonly norm: RepoLayerNorm;
  constructor(d: number) {
    super();
    this.norm = this.child('norm', new RepoLayerNorm(d));
  }
}

/** x = x + drop(MHA(LN₁(x))); x = x + drop(FFN(LN₂(x))); drop(x). */
export class TransformerBlock extends Module {
  readonly attention: MultiHeadedAttention;
  readonly feedForward: PositionwiseFeedForward;
  readonly inputSublayer: Sublayer;
  readonly outputSublayer: Sublayer;
  constructor(d: number, heads: number, ffHidden: number, readonly dropout: number) {
    super();
    this.attention = this.child('attention', new MultiHeadedAttention(d, heads, dropout));
    this.feedForward = this.child('feed_forward', new PositionwiseFeedForward(d, ffHidden, dropout));
    this.inputSublayer = this.child('input_sublayer', new Sublayer(d));
    this.outputSublayer = this.child('output_sublayer', new Sublayer(d));
  }
  /** x: [b, l, d] tokens. */
  forward(ops: Ops, x: Tensor, b: number, l: number): Tensor {
    x = ops.add(x, ops.dropout(this.attention.forward(ops, this.inputSublayer.norm.forward(ops, x), b, l), this.dropout));
    x = ops.add(x, ops.dropout(this.feedForward.forward(ops, this.outputSublayer.norm.forward(ops, x), b, l), this.dropout));
    return ops.dropout(x, this.dropout);
  }
}

/** `n_layers` blocks, children '0', '1', … (the official `trans_list.<class>.<layer>`). */
export class TransformerStack extends Module {
  readonly blocks: TransformerBlock[];
  constructor(layers: number, d: number, heads: number, ffHidden: number, dropout: number) {
    super();
    this.blocks = Array.from({ length: layers }, (_, i) => this.child(i, new TransformerBlock(d, heads, ffHidden, dropout)));
  }
  forward(ops: Ops, x: Tensor, b: number, l: number): Tensor {
    for (const blk of this.blocks) x = blk.forward(ops, x, b, l);
    return x;
  }
}
