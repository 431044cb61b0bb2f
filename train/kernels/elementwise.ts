// Operator codes and shape plans for the element-wise kernels (enums mirrored in native/wk.h).
// A broadcasting binary operator is handed to the engines as a collapsed iteration space:
// output axes of size 1 dropped, neighbouring axes merged wherever both operands are
// contiguous (or both broadcast) across them — [N,H,W,C] + [C] becomes [N·H·W, C] with
// strides [C, 1] and [0, 1]. A reduction over one contiguous block of axes becomes
// [outer, mid, inner] with the middle reduced.

import { broadcast_util, util } from '@tensorflow/tfjs-core';

export enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Maximum = 4,
  Minimum = 5,
  SquaredDifference = 6,
}

export enum ReduceOp {
  Sum = 0,
  Max = 1,
}

/** Unary operator codes (enum in native/wk.h). */
export enum UnaryOp {
  Relu = 0,
  Relu6,
  LeakyRelu,
  Step,
  Neg,
  Square,
  Abs,
  Sqrt,
  Rsqrt,
  Exp,
  Log,
  Sigmoid,
  Tanh,
  Elu,
}

export const MAX_RANK = 8;

export interface BroadcastPlan {
  outShape: number[];
  shape: Int32Array;
  strideA: Int32Array;
  strideB: Int32Array;
}

const INT32_MAX = 2 ** 31 - 1;

/** Strides of `shape` read as broadcast to rank `rank` (0 along broadcast axes). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const pad = rank - shape.length;
  const strides = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const dim = d >= pad ? shape[d - pad] : 1;
    strides[d] = dim === 1 && outShape[d] !== 1 ? 0 : acc;
    acc *= dim;
  }
  return strides;
}

/** The collapsed iteration space of a ⊙ b, or null when it does not fit the kernels. */
export function broadcastPlan(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan | null {
  const outShape = broadcast_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const dims: { n: number; a: number; b: number }[] = [];
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] === 1) continue;
    const cur = { n: outShape[d], a: sa[d], b: sb[d] };
    const prev = dims[dims.length - 1];
    if (prev && prev.a === cur.a * cur.n && prev.b === cur.b * cur.n) {
      prev.n *= cur.n;
      prev.a = cur.a;
      prev.b = cur.b;
    } else dims.push(cur);
  }
  if (dims.length === 0) dims.push({ n: 1, a: 1, b: 1 });
  if (dims.length > MAX_RANK || dims.some((d) => d.n > INT32_MAX || d.a * d.n > INT32_MAX || d.b * d.n > INT32_MAX)) return null;
  return {
    outShape,
    shape: Int32Array.from(dims, (d) => d.n),
    strideA: Int32Array.from(dims, (d) => d.a),
    strideB: Int32Array.from(dims, (d) => d.b),
  };
}

export interface ReducePlan {
  outer: number;
  mid: number;
  inner: number;
  outShape: number[];
}

/** [outer, mid, inner] for a reduction over `axis`, or null when the reduced axes are not one
 * contiguous block. */
export function reducePlan(shape: readonly number[], axis: number | number[] | null | undefined, keepDims: boolean): ReducePlan | null {
  const axes = [...new Set(util.parseAxisParam(axis as number | number[], shape as number[]))].sort((p, q) => p - q);
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[0] + i) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
  const outShape = keepDims ? shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : shape.filter((_, i) => i < first || i > last);
  return { outer: size(shape.slice(0, first)), mid: size(shape.slice(first, last + 1)), inner: size(shape.slice(last + 1)), outShape };
}

export interface StridedPlan {
  shape: Int32Array;
  srcStrides: Int32Array;
  dstStrides: Int32Array;
}

/** Drops axes of size 1 and merges neighbours along which both sides are contiguous; null when
 * the result does not fit the kernels (rank > 8 or 32-bit overflow). */
export function stridedPlan(shape: readonly number[], src: readonly number[], dst: readonly number[]): StridedPlan | null {
  const dims: { n: number; s: number; d: number }[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const cur = { n: shape[i], s: src[i], d: dst[i] };
    const prev = dims[dims.length - 1];
    if (prev && prev.s === cur.s * cur.n && prev.d === cur.d * cur.n) {
      prev.n *= cur.n;
      prev.s = cur.s;
      prev.d = cur.d;
    } else dims.push(cur);
  }
  if (dims.length === 0) dims.push({ n: 1, s: 1, d: 1 });
  if (dims.length > MAX_RANK || dims.some((x) => x.n > INT32_MAX || x.s * x.n > INT32_MAX || x.d * x.n > INT32_MAX)) return null;
  return {
    shape: Int32Array.from(dims, (x) => x.n),
    srcStrides: Int32Array.from(dims, (x) => x.s),
    dstStrides: Int32Array.from(dims, (x) => x.d),
  };
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d];
  }
  return strides;
}
