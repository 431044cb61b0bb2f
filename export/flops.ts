// Counting the cost of a network at a given input size: a third interpreter of the op interface
// that computes nothing but shapes, and tallies multiply-accumulates on the way.
//
// MACs are counted for convolutions (N·C_out·H_out·W_out·C_in/groups·k_h·k_w) and matrix
// products (batch·M·N·K), the convention of torchvision's and fvcore's "GFLOPS" tables
// (ResNet-50 at 224×224: 4.09 G). FLOPs are reported as 2·MACs. Elementwise work (activations,
// batch norm, pooling, adds) is tallied separately as `elementwise` (one per output element).

import { shiftedWeightedSumComposite } from '../graphs/shifted-weighted-sum.ts';
import { numel, type ParamRef } from '../graphs/module.ts';
import {
  explicitPads,
  pair,
  scaledSide,
  type Conv2dOptions,
  type Ops,
  type PoolOptions,
  type ResizeTarget,
  type StaticDim,
  type Tensor,
} from '../graphs/ops.ts';

class ShapeTensor implements Tensor {
  readonly __wsssTensor = true as const;
  constructor(readonly shape: number[]) {}
}

export interface CostTally {
  macs: number;
  elementwise: number;
}

function s(x: Tensor): number[] {
  if (!(x instanceof ShapeTensor)) throw new Error('CostOps was given a tensor from another interpreter');
  return x.shape;
}

function broadcast(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast [${a}] and [${b}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function axisOf(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

/** Inference-form shape interpreter that tallies MACs (see the header). */
export class CostOps implements Ops {
  readonly kind = 'onnx' as const;
  readonly training = false;
  readonly tally: CostTally = { macs: 0, elementwise: 0 };

  input(shape: number[]): Tensor {
    return new ShapeTensor([...shape]);
  }

  private out(shape: number[], elementwise = true): Tensor {
    if (elementwise) this.tally.elementwise += numel(shape);
    return new ShapeTensor(shape);
  }
  private operand(x: Tensor | number): number[] {
    return typeof x === 'number' ? [] : s(x);
  }

  param(p: ParamRef): Tensor {
    return new ShapeTensor([...p.shape]);
  }
  constant(_data: ArrayLike<number>, shape: number[]): Tensor {
    return new ShapeTensor([...shape]);
  }
  shape(x: Tensor): StaticDim[] {
    return [...s(x)];
  }
  stopGradient(x: Tensor): Tensor {
    return x;
  }
  scope<R>(_name: string, fn: () => R): R {
    return fn();
  }

  conv2d(x: Tensor, w: Tensor, b: Tensor | null, o: Conv2dOptions = {}): Tensor {
    const [n, , h, wd] = s(x);
    const [cout, cinG, kh, kw] = s(w);
    const [sh, sw] = pair(o.stride, 1);
    const [dh, dw] = pair(o.dilation, 1);
    const p = explicitPads(o.padding);
    const [ho, wo] =
      p === 'same'
        ? [Math.ceil(h / sh), Math.ceil(wd / sw)]
        : [Math.floor((h + p[0] + p[2] - dh * (kh - 1) - 1) / sh) + 1, Math.floor((wd + p[1] + p[3] - dw * (kw - 1) - 1) / sw) + 1];
    const shape = [n, cout, ho, wo];
    this.tally.macs += numel(shape) * cinG * kh * kw;
    if (b) this.tally.elementwise += numel(shape);
    return new ShapeTensor(shape);
  }
  batchNorm(x: Tensor): Tensor {
    return this.out([...s(x)]);
  }

  private unary(x: Tensor): Tensor {
    return this.out([...s(x)]);
  }
  relu(x: Tensor): Tensor {
    return this.unary(x);
  }
  leakyRelu(x: Tensor): Tensor {
    return this.unary(x);
  }
  sigmoid(x: Tensor): Tensor {
    return this.unary(x);
  }
  tanh(x: Tensor): Tensor {
    return this.unary(x);
  }
  exp(x: Tensor): Tensor {
    return this.unary(x);
  }
  log(x: Tensor): Tensor {
    return this.unary(x);
  }
  abs(x: Tensor): Tensor {
    return this.unary(x);
  }
  sqrt(x: Tensor): Tensor {
    return this.unary(x);
  }
  neg(x: Tensor): Tensor {
    return this.unary(x);
  }
  private binary(a: Tensor | number, b: Tensor | number): Tensor {
    return this.out(broadcast(this.operand(a), this.operand(b)));
  }
  add(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  sub(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  mul(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  div(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  maximum(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  minimum(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  pow(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }
  greater(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary(a, b);
  }

  matmul(a: Tensor, b: Tensor, o: { transposeA?: boolean; transposeB?: boolean } = {}): Tensor {
    const sa = s(a);
    const sb = s(b);
    const [m, k] = o.transposeA ? [sa[sa.length - 1], sa[sa.length - 2]] : [sa[sa.length - 2], sa[sa.length - 1]];
    const n = o.transposeB ? sb[sb.length - 2] : sb[sb.length - 1];
    const lead = broadcast(sa.slice(0, -2), sb.slice(0, -2));
    const shape = [...lead, m, n];
    this.tally.macs += numel(shape) * k;
    return new ShapeTensor(shape);
  }
  reshape(x: Tensor, shape: number[]): Tensor {
    const sx = s(x);
    const out = shape.map((d, i) => (d === 0 ? sx[i] : d));
    const j = out.indexOf(-1);
    if (j >= 0) out[j] = numel(sx) / out.reduce((a, d, i) => (i === j ? a : a * d), 1);
    return new ShapeTensor(out);
  }
  transpose(x: Tensor, perm: number[]): Tensor {
    const sx = s(x);
    return new ShapeTensor(perm.map((p) => sx[p]));
  }
  concat(xs: Tensor[], axis: number): Tensor {
    const first = [...s(xs[0])];
    const ax = axisOf(axis, first.length);
    first[ax] = xs.reduce((acc, x) => acc + s(x)[ax], 0);
    return new ShapeTensor(first);
  }
  split(x: Tensor, sizes: number[], axis: number): Tensor[] {
    const sx = s(x);
    const ax = axisOf(axis, sx.length);
    return sizes.map((n) => new ShapeTensor(sx.map((d, i) => (i === ax ? n : d))));
  }
  slice(x: Tensor, begins: number[], ends: number[], axes: number[]): Tensor {
    const out = [...s(x)];
    axes.forEach((a, i) => {
      const ax = axisOf(a, out.length);
      const d = out[ax];
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      out[ax] = Math.max(0, clamp(ends[i]) - clamp(begins[i]));
    });
    return new ShapeTensor(out);
  }
  pad(x: Tensor, pads: [number, number, number, number]): Tensor {
    const [n, c, h, w] = s(x);
    return new ShapeTensor([n, c, h + pads[0] + pads[2], w + pads[1] + pads[3]]);
  }

  private pool(x: Tensor, o: PoolOptions): Tensor {
    const [n, c, h, w] = s(x);
    const [kh, kw] = pair(o.kernel, 1);
    const [sh, sw] = pair(o.stride ?? o.kernel, 1);
    const [ph, pw] = pair(o.padding, 0);
    const size = (d: number, k: number, st: number, p: number) => {
      const q = (d + 2 * p - k) / st;
      let out = (o.ceilMode ? Math.ceil(q) : Math.floor(q)) + 1;
      if (o.ceilMode && (out - 1) * st >= d + p) out--;
      return out;
    };
    return this.out([n, c, size(h, kh, sh, ph), size(w, kw, sw, pw)]);
  }
  maxPool(x: Tensor, o: PoolOptions): Tensor {
    return this.pool(x, o);
  }
  avgPool(x: Tensor, o: PoolOptions): Tensor {
    return this.pool(x, o);
  }
  globalAvgPool(x: Tensor): Tensor {
    const [n, c] = s(x);
    this.tally.elementwise += numel(s(x));
    return new ShapeTensor([n, c, 1, 1]);
  }
  globalMaxPool(x: Tensor): Tensor {
    return this.globalAvgPool(x);
  }
  adaptiveAvgPool(x: Tensor, bins: number): Tensor {
    const [n, c] = s(x);
    this.tally.elementwise += numel(s(x));
    return new ShapeTensor([n, c, bins, bins]);
  }
  adaptiveMaxPool(x: Tensor, bins: number): Tensor {
    return this.adaptiveAvgPool(x, bins);
  }
  shiftedWeightedSum(x: Tensor, weights: Tensor, offsets: readonly (readonly [number, number])[]): Tensor {
    return shiftedWeightedSumComposite(this, x, weights, offsets);
  }

  gridMaxPool(x: Tensor, bins: number): Tensor {
    const [n, c, h, w] = s(x);
    this.tally.elementwise += numel(s(x));
    const windows = (d: number) => Math.floor(d / Math.max(1, Math.floor(d / bins)));
    return new ShapeTensor([n, c, windows(h), windows(w)]);
  }
  private resize(x: Tensor, to: ResizeTarget): Tensor {
    const [n, c] = s(x);
    const [h, w] = 'size' in to ? to.size : 'scale' in to ? s(x).slice(2, 4).map((d) => scaledSide(d, to.scale)) : s(to.like).slice(2, 4);
    return this.out([n, c, h, w]);
  }
  resizeBilinear(x: Tensor, to: ResizeTarget): Tensor {
    return this.resize(x, to);
  }
  resizeNearest(x: Tensor, to: ResizeTarget): Tensor {
    return this.resize(x, to);
  }

  softmax(x: Tensor): Tensor {
    return this.unary(x);
  }
  logSoftmax(x: Tensor): Tensor {
    return this.unary(x);
  }
  private reduce(x: Tensor, axes: number[], keepDims = false): Tensor {
    const sx = s(x);
    this.tally.elementwise += numel(sx);
    const ax = axes.map((a) => axisOf(a, sx.length));
    return new ShapeTensor(keepDims ? sx.map((d, i) => (ax.includes(i) ? 1 : d)) : sx.filter((_, i) => !ax.includes(i)));
  }
  reduceSum(x: Tensor, axes: number[], keepDims?: boolean): Tensor {
    return this.reduce(x, axes, keepDims);
  }
  reduceMean(x: Tensor, axes: number[], keepDims?: boolean): Tensor {
    return this.reduce(x, axes, keepDims);
  }
  reduceMax(x: Tensor, axes: number[], keepDims?: boolean): Tensor {
    return this.reduce(x, axes, keepDims);
  }
  argmax(x: Tensor, axis: number, keepDims?: boolean): Tensor {
    return this.reduce(x, [axis], keepDims);
  }
  l2Normalize(x: Tensor): Tensor {
    this.tally.elementwise += numel(s(x));
    return this.unary(x);
  }

  patchSplit(x: Tensor, k: number): Tensor {
    const [n, c, h, w] = s(x);
    return new ShapeTensor([n * k * k, c, Math.ceil(h / k), Math.ceil(w / k)]);
  }
  patchMerge(x: Tensor, k: number, like: Tensor): Tensor {
    const [nk, c] = s(x);
    const [, , h, w] = s(like);
    return new ShapeTensor([nk / (k * k), c, h, w]);
  }
  dropout(x: Tensor): Tensor {
    return x;
  }
  bernoulli(like: Tensor): Tensor {
    return this.out([...s(like)]);
  }
}

export interface StageCost {
  name: string;
  /** Output shape at the given input size. */
  shape: number[];
  /** MACs of the layers between the previous stage and this one. */
  macs: number;
  /** MACs from the input up to this stage. */
  cumulativeMacs: number;
}

/**
 * Cost of a network with named, ordered stages (a Backbone): per stage, the MACs spent since the
 * previous one. `forward(ops, x, [stage])` must run only as far as that stage.
 */
export function stageCosts(
  net: { stages: readonly { name: string }[]; forward(ops: Ops, x: Tensor, outputs?: readonly string[]): Record<string, Tensor> },
  inputShape: number[],
): StageCost[] {
  const out: StageCost[] = [];
  let prev = 0;
  for (const st of net.stages) {
    const ops = new CostOps();
    const r = net.forward(ops, ops.input(inputShape), [st.name]);
    const macs = ops.tally.macs;
    out.push({ name: st.name, shape: s(r[st.name]), macs: macs - prev, cumulativeMacs: macs });
    prev = macs;
  }
  return out;
}
