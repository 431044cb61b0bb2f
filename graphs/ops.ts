// The abstract tensor-op interface that every network in graphs/ is written against.
//
// Two interpreters implement it: train/ (tfjs, eager, differentiable) and export/ (ONNX,
// symbolic). Graph code never imports either; it only sees `Ops` and opaque `Tensor`s.
//
// Semantics are PyTorch's, in its layout: tensors are logically NCHW (rank 4), axes and
// shapes in this interface always refer to that logical layout. An interpreter may store
// tensors differently (the tfjs one keeps rank-4 tensors NHWC), but that never shows here.
// Broadcasting is numpy's (align trailing axes).

import type { ParamRef } from './module.ts';

/** An opaque tensor value owned by an interpreter. */
export interface Tensor {
  readonly __wsssTensor: true;
}

/** A dimension: a number when known, null when only known at run time (exported graphs). */
export type StaticDim = number | null;

/**
 * Convolution / pooling padding.
 * - number: the same on all four sides; [ph, pw]: symmetric per axis;
 * - [top, left, bottom, right]: explicit (ONNX `pads` order);
 * - 'same': TensorFlow/ONNX SAME_UPPER (extra padding at bottom/right);
 * - 'valid': none.
 */
export type Padding = number | [number, number] | [number, number, number, number] | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: Padding;
  dilation?: number | [number, number];
  /** 1 (default), in_channels for depthwise, or any divisor of both channel counts. */
  groups?: number;
}

export interface PoolOptions {
  kernel: number | [number, number];
  stride?: number | [number, number]; // defaults to kernel
  padding?: number | [number, number]; // symmetric, as PyTorch
  /** PyTorch ceil_mode: partial windows at the bottom/right produce outputs. */
  ceilMode?: boolean;
  /** avg pooling only; PyTorch count_include_pad (default true). */
  countIncludePad?: boolean;
}

export interface BatchNormParams {
  weight: ParamRef; // gamma [C]
  bias: ParamRef; // beta [C]
  runningMean: ParamRef; // [C], non-trainable buffer
  runningVar: ParamRef; // [C], non-trainable buffer
}

export interface BatchNormOptions {
  eps?: number; // default 1e-5
  /** PyTorch momentum: running = (1 - m)·running + m·batch (default 0.1). */
  momentum?: number;
  /** Use running statistics even in training mode (frozen BN, as 1-Stage's backbone). */
  frozen?: boolean;
}

/**
 * Target size of a resize: explicit, the spatial size (H, W) of another tensor, or the input's
 * own size times a factor (multi-scale inputs inside an exported graph, whose H and W are only
 * known at run time): each side becomes max(1, floor(fp32(side · fp32(scale)))) — see scaledSide.
 */
export type ResizeTarget = { size: [number, number] } | { like: Tensor } | { scale: number };

/** One side of a { scale } resize target, computed in float32 as the ONNX graph computes it. */
export function scaledSide(side: number, scale: number): number {
  return Math.max(1, Math.floor(Math.fround(side * Math.fround(scale))));
}

export type PadMode = 'constant' | 'reflect' | 'edge';

export interface Ops {
  /** 'tfjs' or 'onnx': lets a graph assert an interpreter-specific precondition, never branch on it. */
  readonly kind: 'tfjs' | 'onnx';
  /** Training mode: batch-norm batch statistics, dropout active, stochastic ops sample. */
  readonly training: boolean;

  // ---- values --------------------------------------------------------------------------
  /** The current value of a parameter or buffer. */
  param(p: ParamRef): Tensor;
  /** A constant float32 tensor (row-major in the logical layout). */
  constant(data: ArrayLike<number>, shape: number[]): Tensor;
  /** Logical shape; null marks a dimension only known at run time. */
  shape(x: Tensor): StaticDim[];
  /** Gradient does not flow through (identity in exported graphs). */
  stopGradient(x: Tensor): Tensor;
  /** Names the nodes created inside `fn` after a module path (export keeps it in node names). */
  scope<R>(name: string, fn: () => R): R;

  // ---- convolution and normalisation ------------------------------------------------------
  /** x [N,Cin,H,W], w [Cout, Cin/groups, kh, kw] (PyTorch OIHW), b [Cout] or null. */
  conv2d(x: Tensor, w: Tensor, b: Tensor | null, o?: Conv2dOptions): Tensor;
  /** Batch norm over axis 1 of a rank-4 tensor (batch stats in training unless frozen). */
  batchNorm(x: Tensor, p: BatchNormParams, o?: BatchNormOptions): Tensor;

  // ---- elementwise ------------------------------------------------------------------------
  relu(x: Tensor): Tensor;
  leakyRelu(x: Tensor, alpha: number): Tensor;
  sigmoid(x: Tensor): Tensor;
  tanh(x: Tensor): Tensor;
  exp(x: Tensor): Tensor;
  log(x: Tensor): Tensor;
  abs(x: Tensor): Tensor;
  sqrt(x: Tensor): Tensor;
  neg(x: Tensor): Tensor;
  add(a: Tensor | number, b: Tensor | number): Tensor;
  sub(a: Tensor | number, b: Tensor | number): Tensor;
  mul(a: Tensor | number, b: Tensor | number): Tensor;
  div(a: Tensor | number, b: Tensor | number): Tensor;
  maximum(a: Tensor | number, b: Tensor | number): Tensor;
  minimum(a: Tensor | number, b: Tensor | number): Tensor;
  pow(a: Tensor | number, b: Tensor | number): Tensor;
  /** 1 where a > b (strict), else 0, as float32; no gradient (a threshold, as PyTorch's `>`). */
  greater(a: Tensor | number, b: Tensor | number): Tensor;

  // ---- linear algebra and shape -----------------------------------------------------------
  /** Batched matmul with numpy broadcasting of leading axes; rank ≥ 2. */
  matmul(a: Tensor, b: Tensor, o?: { transposeA?: boolean; transposeB?: boolean }): Tensor;
  /** ONNX Reshape semantics: 0 copies the input's dimension at that position, -1 is inferred. */
  reshape(x: Tensor, shape: number[]): Tensor;
  transpose(x: Tensor, perm: number[]): Tensor;
  concat(xs: Tensor[], axis: number): Tensor;
  /** Split into pieces of the given sizes (must be static along `axis`). */
  split(x: Tensor, sizes: number[], axis: number): Tensor[];
  /** Slice [begin, end) on the given axes (negative indices count from the end; end may exceed the size). */
  slice(x: Tensor, begins: number[], ends: number[], axes: number[]): Tensor;
  /** Spatial padding of a rank-4 tensor: [top, left, bottom, right]. */
  pad(x: Tensor, pads: [number, number, number, number], mode?: PadMode, value?: number): Tensor;

  // ---- pooling and resizing -----------------------------------------------------------------
  maxPool(x: Tensor, o: PoolOptions): Tensor;
  avgPool(x: Tensor, o: PoolOptions): Tensor;
  globalAvgPool(x: Tensor): Tensor; // [N,C,1,1]
  globalMaxPool(x: Tensor): Tensor; // [N,C,1,1]
  /** PyTorch adaptive pooling to bins×bins (window i: [floor(i·H/n), ceil((i+1)·H/n))). */
  adaptiveAvgPool(x: Tensor, bins: number): Tensor;
  adaptiveMaxPool(x: Tensor, bins: number): Tensor;
  /**
   * Max pooling on a grid of non-overlapping windows of k = max(1, ⌊S/bins⌋) per spatial axis
   * (stride = kernel, no padding, floor mode: trailing rows/columns that do not fill a window are
   * dropped), so the output has ⌊S/k⌋ windows along an axis, which can exceed `bins` (S = 11,
   * bins = 4 → k = 2, 5 windows). PyTorch's max_pool2d(x, (H//bins, W//bins)) as VWE's HSPP calls
   * it, except that an axis shorter than `bins` pools single pixels (k = 1) where PyTorch fails.
   */
  gridMaxPool(x: Tensor, bins: number): Tensor;
  /**
   * Σ_j weights[:, j] · (x shifted by offsets[j], replicate border):
   * out[b, c, y, x] = Σ_j weights[b, j, y, x] · x[b, c, clamp(y + dy_j), clamp(x + dx_j)].
   * x [B, C, H, W], weights [B, J, H, W], J = offsets.length, offsets (dy, dx). PAMR's iteration
   * (graphs/onestage/pamr.ts). Not differentiable in tfjs (a kernel without gradient): PAMR runs on stopped masks.
   */
  shiftedWeightedSum(x: Tensor, weights: Tensor, offsets: readonly (readonly [number, number])[]): Tensor;
  /** Bilinear resize, PyTorch semantics (alignCorners false = half-pixel, clamped at 0). */
  resizeBilinear(x: Tensor, to: ResizeTarget, alignCorners: boolean): Tensor;
  /** Nearest resize, PyTorch 'nearest' semantics (floor(dst · in/out)). */
  resizeNearest(x: Tensor, to: ResizeTarget): Tensor;

  // ---- reductions and normalisations ---------------------------------------------------------
  softmax(x: Tensor, axis: number): Tensor;
  logSoftmax(x: Tensor, axis: number): Tensor;
  reduceSum(x: Tensor, axes: number[], keepDims?: boolean): Tensor;
  reduceMean(x: Tensor, axes: number[], keepDims?: boolean): Tensor;
  reduceMax(x: Tensor, axes: number[], keepDims?: boolean): Tensor;
  /** Indices of the maximum (first on ties), as float32 values in tfjs and int64 in ONNX. */
  argmax(x: Tensor, axis: number, keepDims?: boolean): Tensor;
  /** x / max(‖x‖₂ along axis, eps), as torch.nn.functional.normalize. */
  l2Normalize(x: Tensor, axis: number, eps?: number): Tensor;

  // ---- patch learning (PPL) ------------------------------------------------------------------
  /**
   * [N,C,H,W] → [N·K·K, C, ⌈H/K⌉, ⌈W/K⌉]: zero-pad bottom/right to K·⌈H/K⌉ × K·⌈W/K⌉ and cut
   * K×K patches; patch (i, j) of image n is batch item (n·K + i)·K + j.
   */
  patchSplit(x: Tensor, k: number): Tensor;
  /** Inverse of patchSplit: stitch patches back, then crop to the spatial size of `like`. */
  patchMerge(x: Tensor, k: number, like: Tensor): Tensor;

  // ---- stochastic -----------------------------------------------------------------------------
  /** Inverted dropout in training, identity otherwise. */
  dropout(x: Tensor, rate: number): Tensor;
  /**
   * A 0/1 float32 mask of `like`'s shape, each element 1 with probability `p`, drawn from the
   * interpreter's seeded stream (the trainer seeds it from (seed, step), so a resumed run draws
   * the same masks). Training only: an inference graph is deterministic and must not sample.
   */
  bernoulli(like: Tensor, p: number): Tensor;
}

/** Normalise a scalar-or-pair option. */
export function pair(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * Explicit [top, left, bottom, right] padding for a conv/pool, or 'same' (resolved by the
 * interpreter, which knows the input size) — shared so both interpreters read options alike.
 */
export function explicitPads(p: Padding | undefined): [number, number, number, number] | 'same' {
  if (p === undefined || p === 'valid') return [0, 0, 0, 0];
  if (p === 'same') return 'same';
  if (typeof p === 'number') return [p, p, p, p];
  if (p.length === 2) return [p[0], p[1], p[0], p[1]];
  return p;
}
