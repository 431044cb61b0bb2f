// The tfjs interpreter of the op interface (graphs/ops.ts): eager, differentiable, for training.
//
// Layout rule (train/tfjs-layout.ts): graphs see PyTorch's logical NCHW; in tfjs every rank-4
// tensor is stored NHWC and every other rank in logical order. Axis arguments of rank-4 tensors
// are mapped (logical C=1 → physical 3, H=2 → 1, W=3 → 2); ops that change rank or mix ranks go
// through the logical order. Rank-4 parameters are stored HWIO (see train/tfjs-params.ts): conv2d
// takes them as they are, every other op converts them first (this.t()).
//
// Only public tfjs ops are used, so the same code runs on tfjs-node. Two places do not lean on the
// stock tfjs behaviour because it differs from PyTorch or is wrong:
// - bilinear resize: forward is tf.image.resizeBilinear (alignCorners, or halfPixelCenters for
//   align_corners=False — both match PyTorch, incl. the clamp at 0), but the CPU backend's
//   gradient kernel ignores halfPixelCenters and reports a shape with H and W swapped, so the
//   gradient is our own adjoint of the interpolation (customGrad);
// - nearest resize gathers with PyTorch's float32 indices floor(dst·fp32(in/out)) (PyTorch 'nearest').
// Pooling emulates PyTorch's ceil_mode and count_include_pad by explicit padding and a divisor
// correction, since tfjs pools have neither.

import * as tf from '@tensorflow/tfjs-core';
import type { ParamRef } from '../graphs/module.ts';
import {
  explicitPads,
  pair,
  scaledSide,
  type BatchNormOptions,
  type BatchNormParams,
  type Conv2dOptions,
  type Ops,
  type PadMode,
  type PoolOptions,
  type ResizeTarget,
  type StaticDim,
  type Tensor,
} from '../graphs/ops.ts';
import { Rng } from '../graphs/rng.ts';
import {
  PHYSICAL_AXIS,
  STANDARD_TO_HWIO,
  TO_PHYSICAL,
  ensureStandard,
  fromLogicalOrder,
  isHwio,
  logicalShape,
  opsTensor,
  permute,
  tfTensor,
  toLogicalOrder,
  toTfLogical,
} from './tfjs-layout.ts';
import { selectKernelEngine } from './kernels/engine.ts';
import type { TfjsParams } from './tfjs-params.ts';

export interface TfjsOpsOptions {
  /** Training mode: batch statistics in batch norm (and running-stat updates), active dropout. */
  training: boolean;
  /** Seed of the dropout stream (default 0): the same seed gives the same masks. */
  seed?: number;
}

type Binary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

export class TfjsOps implements Ops {
  readonly kind = 'tfjs' as const;
  readonly training: boolean;
  /**
   * Batch-norm running statistics computed by the forward passes since the last commit, by
   * buffer name, in the stored layout. The tensors are kept (tf.keep) and owned by this map:
   * commitStateUpdates() assigns and disposes them; a trainer applies them after its step.
   */
  readonly pendingStateUpdates = new Map<string, tf.Tensor>();
  private readonly rng: Rng;

  constructor(
    readonly params: TfjsParams,
    opts: TfjsOpsOptions,
  ) {
    this.training = opts.training;
    this.rng = new Rng(opts.seed ?? 0);
  }

  /** Assign the pending running statistics to their buffers and release them. */
  commitStateUpdates(): void {
    for (const [name, t] of this.pendingStateUpdates) {
      this.params.assign(name, t);
      t.dispose();
    }
    this.pendingStateUpdates.clear();
  }

  /** Drop pending running statistics without applying them. */
  discardStateUpdates(): void {
    for (const t of this.pendingStateUpdates.values()) t.dispose();
    this.pendingStateUpdates.clear();
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** The tfjs tensor of an operand, in the standard layout (HWIO parameters converted). */
  private t(x: Tensor): tf.Tensor {
    return ensureStandard(tfTensor(x));
  }

  private t4(x: Tensor, op: string): tf.Tensor4D {
    const t = this.t(x);
    if (t.rank !== 4) throw new Error(`tfjs ${op}: expected a rank-4 [N,C,H,W] tensor, got logical shape [${logicalShape(t).join(', ')}]`);
    return t as tf.Tensor4D;
  }

  private operand(x: Tensor | number): tf.Tensor {
    return typeof x === 'number' ? tf.scalar(x) : this.t(x);
  }

  /** Elementwise binary op with numpy broadcasting over logical shapes. */
  private binary(op: string, a: Tensor | number, b: Tensor | number, f: Binary): Tensor {
    let ta = this.operand(a);
    let tb = this.operand(b);
    const la = logicalShape(ta);
    const lb = logicalShape(tb);
    if (!broadcastShape(la, lb)) throw new Error(`tfjs ${op}: shapes [${la.join(', ')}] and [${lb.join(', ')}] do not broadcast`);
    const r = Math.max(ta.rank, tb.rank);
    if (r === 4) {
      ta = liftToRank4(ta);
      tb = liftToRank4(tb);
    } else if (r > 4) {
      ta = toLogicalOrder(ta);
      tb = toLogicalOrder(tb);
    }
    return opsTensor(f(ta, tb));
  }

  // ---- values ----------------------------------------------------------------------------

  param(p: ParamRef): Tensor {
    return opsTensor(this.params.get(p.name));
  }

  constant(data: ArrayLike<number>, shape: number[]): Tensor {
    return opsTensor(toTfLogical(data, shape));
  }

  shape(x: Tensor): StaticDim[] {
    return logicalShape(tfTensor(x));
  }

  stopGradient(x: Tensor): Tensor {
    // A copy made outside the gradient tape: backpropagation never visits what produced x (a
    // zero-gradient wrapper would still walk back through all of it, e.g. 1-Stage's PAMR, and
    // fail on ops without gradients such as `greater`).
    const t = this.t(x);
    return opsTensor(tf.tensor(t.dataSync(), t.shape, t.dtype));
  }

  scope<R>(_name: string, fn: () => R): R {
    return fn();
  }

  // ---- convolution and normalisation -------------------------------------------------------

  conv2d(x: Tensor, w: Tensor, b: Tensor | null, o: Conv2dOptions = {}): Tensor {
    const xt = this.t4(x, 'conv2d');
    const wRaw = tfTensor(w);
    if (wRaw.rank !== 4) throw new Error(`tfjs conv2d: weight must be rank 4 [Cout, Cin/groups, kh, kw], got [${logicalShape(wRaw).join(', ')}]`);
    // HWIO [kh, kw, Cin/groups, Cout]: stored parameters already are; anything else is converted.
    const wt = (isHwio(wRaw) ? wRaw : permute(wRaw, STANDARD_TO_HWIO)) as tf.Tensor4D;
    const [kh, kw, inPerGroup, cout] = wt.shape;
    const [n, h, wd, cin] = xt.shape;
    const groups = o.groups ?? 1;
    const stride = pair(o.stride, 1);
    const dilation = pair(o.dilation, 1);
    const desc = () => `x [${n}, ${cin}, ${h}, ${wd}], w [${cout}, ${inPerGroup}, ${kh}, ${kw}], ${JSON.stringify(o)}`;
    if (!Number.isInteger(groups) || groups < 1 || cin !== inPerGroup * groups || cout % groups !== 0)
      throw new Error(`tfjs conv2d: channels do not match groups: ${desc()}`);
    if ((stride[0] > 1 || stride[1] > 1) && (dilation[0] > 1 || dilation[1] > 1))
      throw new Error(`tfjs conv2d: stride > 1 together with dilation > 1 is not supported by tfjs convolutions: ${desc()}`);
    const { input, pad } = convPadding(xt, [kh, kw], stride, dilation, explicitPads(o.padding));
    let y: tf.Tensor4D;
    if (groups === 1) {
      y = tf.conv2d(input, wt, stride, pad, 'NHWC', dilation);
    } else if (inPerGroup === 1 && groups === cin) {
      // Depthwise: PyTorch output channel c·m + q reads input channel c, which is exactly tfjs's
      // [kh, kw, Cin, m] filter read in row-major order — a free reshape of HWIO [kh, kw, 1, Cout].
      const filter = tf.reshape(wt, [kh, kw, cin, cout / cin]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(input, filter, stride, pad, 'NHWC', dilation);
    } else {
      const xs = tf.split(input, groups, 3) as tf.Tensor4D[];
      const ws = tf.split(wt, groups, 3) as tf.Tensor4D[];
      y = tf.concat(
        xs.map((xg, g) => tf.conv2d(xg, ws[g], stride, pad, 'NHWC', dilation)),
        3,
      ) as tf.Tensor4D;
    }
    if (b) {
      const bt = this.t(b);
      if (bt.rank !== 1 || bt.shape[0] !== cout) throw new Error(`tfjs conv2d: bias must have shape [${cout}], got [${bt.shape.join(', ')}]`);
      y = tf.add(y, bt);
    }
    return opsTensor(y);
  }

  batchNorm(x: Tensor, p: BatchNormParams, o: BatchNormOptions = {}): Tensor {
    const xt = this.t4(x, 'batchNorm');
    const c = xt.shape[3];
    const eps = o.eps ?? 1e-5;
    const momentum = o.momentum ?? 0.1;
    const gamma = this.params.get(p.weight.name);
    const beta = this.params.get(p.bias.name);
    for (const [ref, v] of [[p.weight, gamma], [p.bias, beta]] as const)
      if (v.rank !== 1 || v.shape[0] !== c) throw new Error(`tfjs batchNorm: '${ref.name}' has shape [${v.shape.join(', ')}], input has ${c} channels`);
    if (this.training && !o.frozen) {
      const count = xt.shape[0] * xt.shape[1] * xt.shape[2];
      if (count < 2) throw new Error(`tfjs batchNorm: training needs more than one value per channel (input [${logicalShape(xt).join(', ')}])`);
      const { mean, variance } = tf.moments(xt, [0, 1, 2]); // biased variance normalises, as PyTorch
      const y = tf.batchNorm(xt, mean, variance, beta, gamma, eps);
      // Running statistics: PyTorch updates running_var with the unbiased batch variance.
      this.recordRunningStat(p.runningMean.name, mean, 1, momentum);
      this.recordRunningStat(p.runningVar.name, variance, count / (count - 1), momentum);
      return opsTensor(y);
    }
    const rm = this.params.get(p.runningMean.name);
    const rv = this.params.get(p.runningVar.name);
    return opsTensor(tf.batchNorm(xt, rm, rv, beta, gamma, eps));
  }

  /**
   * running ← (1 − m)·running + m·scale·batchStat. A buffer met twice in one forward (a module
   * applied at several scales) updates twice in sequence, as PyTorch does.
   */
  private recordRunningStat(name: string, batchStat: tf.Tensor, scale: number, momentum: number): void {
    const prev = this.pendingStateUpdates.get(name);
    const base = prev ?? this.params.get(name);
    const next = tf.keep(tf.tidy(() => tf.add(tf.mul(base, 1 - momentum), tf.mul(stopGradientOf(batchStat), momentum * scale))));
    prev?.dispose();
    this.pendingStateUpdates.set(name, next);
  }

  // ---- elementwise -------------------------------------------------------------------------

  relu(x: Tensor): Tensor {
    return opsTensor(tf.relu(this.t(x)));
  }
  leakyRelu(x: Tensor, alpha: number): Tensor {
    return opsTensor(tf.leakyRelu(this.t(x), alpha));
  }
  sigmoid(x: Tensor): Tensor {
    return opsTensor(tf.sigmoid(this.t(x)));
  }
  tanh(x: Tensor): Tensor {
    return opsTensor(tf.tanh(this.t(x)));
  }
  exp(x: Tensor): Tensor {
    return opsTensor(tf.exp(this.t(x)));
  }
  log(x: Tensor): Tensor {
    return opsTensor(tf.log(this.t(x)));
  }
  abs(x: Tensor): Tensor {
    return opsTensor(tf.abs(this.t(x)));
  }
  sqrt(x: Tensor): Tensor {
    return opsTensor(tf.sqrt(this.t(x)));
  }
  neg(x: Tensor): Tensor {
    return opsTensor(tf.neg(this.t(x)));
  }
  add(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('add', a, b, tf.add);
  }
  sub(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('sub', a, b, tf.sub);
  }
  mul(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('mul', a, b, tf.mul);
  }
  div(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('div', a, b, tf.div);
  }
  maximum(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('maximum', a, b, tf.maximum);
  }
  minimum(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('minimum', a, b, tf.minimum);
  }
  pow(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('pow', a, b, tf.pow);
  }
  greater(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('greater', a, b, (x, y) => tf.cast(tf.greater(x, y), 'float32'));
  }

  // ---- linear algebra and shape -------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, o: { transposeA?: boolean; transposeB?: boolean } = {}): Tensor {
    const ta = toLogicalOrder(this.t(a));
    const tb = toLogicalOrder(this.t(b));
    if (ta.rank < 2 || tb.rank < 2) throw new Error(`tfjs matmul: operands need rank ≥ 2, got [${ta.shape.join(', ')}] and [${tb.shape.join(', ')}]`);
    const tA = o.transposeA ?? false;
    const tB = o.transposeB ?? false;
    const ka = ta.shape[ta.rank - (tA ? 2 : 1)];
    const kb = tb.shape[tb.rank - (tB ? 1 : 2)];
    const batchA = ta.shape.slice(0, -2);
    const batchB = tb.shape.slice(0, -2);
    if (ka !== kb || !broadcastShape(batchA, batchB))
      throw new Error(`tfjs matmul: [${ta.shape.join(', ')}]${tA ? 'ᵀ' : ''} × [${tb.shape.join(', ')}]${tB ? 'ᵀ' : ''} do not match`);
    return opsTensor(fromLogicalOrder(tf.matMul(ta, tb, tA, tB)));
  }

  reshape(x: Tensor, shape: number[]): Tensor {
    const t = this.t(x);
    const inShape = logicalShape(t);
    const target = resolveReshape(inShape, shape);
    if (sameShape(inShape, target)) return opsTensor(t);
    return opsTensor(fromLogicalOrder(tf.reshape(toLogicalOrder(t), target)));
  }

  transpose(x: Tensor, perm: number[]): Tensor {
    const t = this.t(x);
    const r = t.rank;
    const seen = new Set(perm);
    if (perm.length !== r || seen.size !== r || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= r))
      throw new Error(`tfjs transpose: [${perm.join(', ')}] is not a permutation of the ${r} axes of [${logicalShape(t).join(', ')}]`);
    if (r !== 4) return opsTensor(permute(t, perm));
    // physical out axis i holds logical out axis TO_PHYSICAL[i] = logical in axis perm[TO_PHYSICAL[i]],
    // which is stored at physical in axis PHYSICAL_AXIS[...].
    const q = TO_PHYSICAL.map((l) => PHYSICAL_AXIS[perm[l]]);
    return opsTensor(permute(t, q));
  }

  concat(xs: Tensor[], axis: number): Tensor {
    if (xs.length === 0) throw new Error('tfjs concat: no tensors');
    const ts = xs.map((x) => this.t(x));
    const r = ts[0].rank;
    if (ts.some((t) => t.rank !== r)) throw new Error(`tfjs concat: ranks differ (${ts.map((t) => `[${logicalShape(t).join(', ')}]`).join(' ')})`);
    const a = normAxis(axis, r, 'concat');
    if (ts.length === 1) return opsTensor(ts[0]);
    return opsTensor(tf.concat(ts, physicalAxis(a, r)));
  }

  split(x: Tensor, sizes: number[], axis: number): Tensor[] {
    const t = this.t(x);
    const a = normAxis(axis, t.rank, 'split');
    const dim = logicalShape(t)[a];
    const total = sizes.reduce((s, v) => s + v, 0);
    if (total !== dim || sizes.some((s) => !Number.isInteger(s) || s < 0))
      throw new Error(`tfjs split: sizes [${sizes.join(', ')}] do not add up to ${dim} (axis ${axis} of [${logicalShape(t).join(', ')}])`);
    return tf.split(t, sizes, physicalAxis(a, t.rank)).map(opsTensor);
  }

  slice(x: Tensor, begins: number[], ends: number[], axes: number[]): Tensor {
    const t = this.t(x);
    const shape = logicalShape(t);
    if (begins.length !== axes.length || ends.length !== axes.length)
      throw new Error(`tfjs slice: begins, ends and axes differ in length (${begins.length}, ${ends.length}, ${axes.length})`);
    const begin = t.shape.map(() => 0);
    const size = [...t.shape];
    const done = new Set<number>();
    axes.forEach((axis, i) => {
      const a = normAxis(axis, t.rank, 'slice');
      if (done.has(a)) throw new Error(`tfjs slice: axis ${axis} given twice`);
      done.add(a);
      const dim = shape[a];
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      const b = clamp(begins[i]);
      const e = clamp(ends[i]);
      const pa = physicalAxis(a, t.rank);
      begin[pa] = b;
      size[pa] = Math.max(0, e - b);
    });
    return opsTensor(tf.slice(t, begin, size));
  }

  pad(x: Tensor, pads: [number, number, number, number], mode: PadMode = 'constant', value = 0): Tensor {
    const xt = this.t4(x, 'pad');
    const [top, left, bottom, right] = pads;
    if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0))
      throw new Error(`tfjs pad: pads must be 4 non-negative integers [top, left, bottom, right], got [${pads.join(', ')}]`);
    if (top + left + bottom + right === 0) return opsTensor(xt);
    const [, h, w] = xt.shape;
    const paddings: [number, number][] = [[0, 0], [top, bottom], [left, right], [0, 0]];
    switch (mode) {
      case 'constant':
        return opsTensor(tf.pad(xt, paddings, value));
      case 'reflect':
        if (top >= h || bottom >= h || left >= w || right >= w)
          throw new Error(`tfjs pad: reflect padding [${pads.join(', ')}] must be smaller than the input size ${h}×${w}`);
        return opsTensor(tf.mirrorPad(xt, paddings, 'reflect'));
      case 'edge': {
        // Replicate: the border row/column tiled and concatenated (slice, tile and concat are
        // fast kernels on the wsss-cpu backend; a gather with clamped indices is not), differentiable.
        const grow = (t: tf.Tensor4D, axis: 1 | 2, before: number, after: number, n: number): tf.Tensor4D => {
          if (!before && !after) return t;
          const edge = (at: number, count: number) => {
            const begin = [0, 0, 0, 0];
            const size = [-1, -1, -1, -1];
            begin[axis] = at;
            size[axis] = 1;
            const reps = [1, 1, 1, 1];
            reps[axis] = count;
            return tf.tile(tf.slice(t, begin, size), reps);
          };
          const parts: tf.Tensor4D[] = [];
          if (before) parts.push(edge(0, before) as tf.Tensor4D);
          parts.push(t);
          if (after) parts.push(edge(n - 1, after) as tf.Tensor4D);
          return tf.concat(parts, axis);
        };
        return opsTensor(grow(grow(xt, 1, top, bottom, h), 2, left, right, w));
      }
      default:
        throw new Error(`tfjs pad: unknown mode '${mode as string}'`);
    }
  }

  // ---- pooling and resizing -------------------------------------------------------------------

  maxPool(x: Tensor, o: PoolOptions): Tensor {
    const xt = this.t4(x, 'maxPool');
    const g = poolGeometry(xt, o, 'maxPool');
    // Padding with −∞ never wins a max; every PyTorch window holds at least one real value.
    const padded = g.anyPad ? tf.pad(xt, g.paddings, -Infinity) : xt;
    return opsTensor(tf.maxPool(padded, g.kernel, g.stride, 'valid'));
  }

  avgPool(x: Tensor, o: PoolOptions): Tensor {
    const xt = this.t4(x, 'avgPool');
    const g = poolGeometry(xt, o, 'avgPool');
    const padded = g.anyPad ? tf.pad(xt, g.paddings, 0) : xt;
    const mean = tf.avgPool(padded, g.kernel, g.stride, 'valid'); // sum / (kh·kw)
    // PyTorch's divisor: the window clipped to the padded input (count_include_pad) or to the
    // input itself; never the ceil-mode overflow. Rescale sum/(kh·kw) to sum/divisor.
    const includePad = o.countIncludePad ?? true;
    const [kh, kw] = g.kernel;
    const dh = avgDivisors(xt.shape[1], kh, g.stride[0], g.pad[0], g.out[0], includePad);
    const dw = avgDivisors(xt.shape[2], kw, g.stride[1], g.pad[1], g.out[1], includePad);
    if (dh.every((d) => d === kh) && dw.every((d) => d === kw)) return opsTensor(mean);
    const factor = new Float32Array(g.out[0] * g.out[1]);
    for (let i = 0; i < g.out[0]; i++) for (let j = 0; j < g.out[1]; j++) factor[i * g.out[1] + j] = (kh * kw) / (dh[i] * dw[j]);
    return opsTensor(tf.mul(mean, tf.tensor4d(factor, [1, g.out[0], g.out[1], 1])));
  }

  globalAvgPool(x: Tensor): Tensor {
    return opsTensor(tf.mean(this.t4(x, 'globalAvgPool'), [1, 2], true));
  }

  globalMaxPool(x: Tensor): Tensor {
    return opsTensor(tf.max(this.t4(x, 'globalMaxPool'), [1, 2], true));
  }

  adaptiveAvgPool(x: Tensor, bins: number): Tensor {
    return opsTensor(adaptivePool(this.t4(x, 'adaptiveAvgPool'), bins, tf.mean, 'adaptiveAvgPool'));
  }

  adaptiveMaxPool(x: Tensor, bins: number): Tensor {
    return opsTensor(adaptivePool(this.t4(x, 'adaptiveMaxPool'), bins, tf.max, 'adaptiveMaxPool'));
  }

  shiftedWeightedSum(x: Tensor, weights: Tensor, offsets: readonly (readonly [number, number])[]): Tensor {
    // One kernel over the NHWC data (native when built) instead of a slice, product and sum per
    // offset (PAMR: 48 of each per iteration). The result is a constant to tfjs: no gradient, as
    // the Ops contract says.
    const xt = this.t4(x, 'shiftedWeightedSum');
    const wt = this.t4(weights, 'shiftedWeightedSum');
    const [b, h, w, c] = xt.shape;
    const j = offsets.length;
    if (wt.shape[0] !== b || wt.shape[1] !== h || wt.shape[2] !== w || wt.shape[3] !== j)
      throw new Error(`tfjs shiftedWeightedSum: weights must be [${b}, ${j}, ${h}, ${w}] for x [${b}, ${c}, ${h}, ${w}] and ${j} offsets, got [${logicalShape(wt).join(', ')}]`);
    const out = new Float32Array(b * h * w * c);
    selectKernelEngine().shiftedWeightedSum(Int32Array.of(b, h, w, c, j), Int32Array.from(offsets.flat()), xt.dataSync() as Float32Array, wt.dataSync() as Float32Array, out);
    return opsTensor(tf.tensor4d(out, [b, h, w, c]));
  }

  gridMaxPool(x: Tensor, bins: number): Tensor {
    const xt = this.t4(x, 'gridMaxPool');
    if (!Number.isInteger(bins) || bins < 1) throw new Error(`tfjs gridMaxPool: bins must be a positive integer, got ${bins}`);
    const k: [number, number] = [Math.max(1, Math.floor(xt.shape[1] / bins)), Math.max(1, Math.floor(xt.shape[2] / bins))];
    // 'valid' with stride = kernel drops the rows/columns that do not fill a window (floor mode).
    return opsTensor(tf.maxPool(xt, k, k, 'valid'));
  }

  private targetSize(x: tf.Tensor4D, to: ResizeTarget, op: string): [number, number] {
    let size: [number, number];
    if ('scale' in to) {
      if (!(to.scale > 0)) throw new Error(`tfjs ${op}: scale must be positive, got ${to.scale}`);
      size = [scaledSide(x.shape[1], to.scale), scaledSide(x.shape[2], to.scale)];
    } else if ('like' in to) {
      const s = logicalShape(tfTensor(to.like));
      if (s.length !== 4) throw new Error(`tfjs ${op}: 'like' must be a rank-4 tensor, got [${s.join(', ')}]`);
      size = [s[2], s[3]];
    } else size = to.size;
    if (size.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`tfjs ${op}: bad target size [${size.join(', ')}]`);
    return size;
  }

  resizeBilinear(x: Tensor, to: ResizeTarget, alignCorners: boolean): Tensor {
    const xt = this.t4(x, 'resizeBilinear');
    const [oh, ow] = this.targetSize(xt, to, 'resizeBilinear');
    const [, h, w] = xt.shape;
    if (oh === h && ow === w) return opsTensor(xt); // both conventions map pixel i to i
    return opsTensor(bilinearResize(xt, oh, ow, alignCorners));
  }

  resizeNearest(x: Tensor, to: ResizeTarget): Tensor {
    const xt = this.t4(x, 'resizeNearest');
    const [oh, ow] = this.targetSize(xt, to, 'resizeNearest');
    const [, h, w] = xt.shape;
    // PyTorch computes the source index in float32: floor(dst · fp32(in/out)). Exact integer
    // arithmetic differs at a few positions (in=2, out=82, dst=41), so round as PyTorch does.
    const nearest = (inSize: number, outSize: number) => {
      const scale = Math.fround(inSize / outSize);
      return tf.tensor1d(Array.from({ length: outSize }, (_, o) => Math.min(Math.floor(Math.fround(o * scale)), inSize - 1)), 'int32');
    };
    let y: tf.Tensor = xt;
    if (oh !== h) y = tf.gather(y, nearest(h, oh), 1);
    if (ow !== w) y = tf.gather(y, nearest(w, ow), 2);
    return opsTensor(y);
  }

  // ---- reductions and normalisations -----------------------------------------------------------

  softmax(x: Tensor, axis: number): Tensor {
    const t = this.t(x);
    return opsTensor(alongLastAxis(t, normAxis(axis, t.rank, 'softmax'), softmaxLastAxis));
  }

  logSoftmax(x: Tensor, axis: number): Tensor {
    const t = this.t(x);
    return opsTensor(alongLastAxis(t, normAxis(axis, t.rank, 'logSoftmax'), (v) => tf.logSoftmax(v)));
  }

  private reduce(op: string, x: Tensor, axes: number[], keepDims: boolean, f: (t: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): Tensor {
    const t = this.t(x);
    const r = t.rank;
    const logical = [...new Set(axes.map((a) => normAxis(a, r, op)))];
    if (logical.length === 0) return opsTensor(t);
    const phys = logical.map((a) => physicalAxis(a, r));
    if (r !== 4 || keepDims) return opsTensor(f(t, phys, keepDims));
    // Rank 4 losing axes: reduce in place, then squeeze in logical order.
    const kept = toLogicalOrder(f(t, phys, true));
    return opsTensor(tf.squeeze(kept, logical));
  }

  reduceSum(x: Tensor, axes: number[], keepDims = false): Tensor {
    return this.reduce('reduceSum', x, axes, keepDims, tf.sum);
  }

  reduceMean(x: Tensor, axes: number[], keepDims = false): Tensor {
    return this.reduce('reduceMean', x, axes, keepDims, tf.mean);
  }

  reduceMax(x: Tensor, axes: number[], keepDims = false): Tensor {
    return this.reduce('reduceMax', x, axes, keepDims, tf.max);
  }

  argmax(x: Tensor, axis: number, keepDims = false): Tensor {
    // tf.argMax returns the first index on ties.
    return this.reduce('argmax', x, [axis], keepDims, (t, [pa], keep) => {
      const idx = tf.cast(tf.argMax(t, pa), 'float32');
      return keep ? tf.expandDims(idx, pa) : idx;
    });
  }

  l2Normalize(x: Tensor, axis: number, eps = 1e-12): Tensor {
    const t = this.t(x);
    const pa = physicalAxis(normAxis(axis, t.rank, 'l2Normalize'), t.rank);
    const norm = tf.sqrt(tf.sum(tf.square(t), pa, true));
    return opsTensor(tf.div(t, tf.maximum(norm, eps)));
  }

  // ---- patch learning (PPL) ---------------------------------------------------------------------

  patchSplit(x: Tensor, k: number): Tensor {
    const xt = this.t4(x, 'patchSplit');
    if (!Number.isInteger(k) || k < 1) throw new Error(`tfjs patchSplit: k must be a positive integer, got ${k}`);
    const [n, h, w, c] = xt.shape;
    const ph = Math.ceil(h / k);
    const pw = Math.ceil(w / k);
    const padded = ph * k === h && pw * k === w ? xt : tf.pad(xt, [[0, 0], [0, ph * k - h], [0, pw * k - w], [0, 0]]);
    // [N, K·ph, K·pw, C] → [N, i, ph, j, pw, C] → [N, i, j, ph, pw, C]: item (n·K + i)·K + j.
    const six = tf.reshape(padded, [n, k, ph, k, pw, c]);
    return opsTensor(tf.reshape(tf.transpose(six, [0, 1, 3, 2, 4, 5]), [n * k * k, ph, pw, c]));
  }

  patchMerge(x: Tensor, k: number, like: Tensor): Tensor {
    const xt = this.t4(x, 'patchMerge');
    if (!Number.isInteger(k) || k < 1) throw new Error(`tfjs patchMerge: k must be a positive integer, got ${k}`);
    const [b, ph, pw, c] = xt.shape;
    const target = logicalShape(tfTensor(like));
    if (target.length !== 4) throw new Error(`tfjs patchMerge: 'like' must be rank 4, got [${target.join(', ')}]`);
    const [h, w] = [target[2], target[3]];
    if (b % (k * k) !== 0) throw new Error(`tfjs patchMerge: batch ${b} is not a multiple of k² = ${k * k}`);
    if (h > k * ph || w > k * pw)
      throw new Error(`tfjs patchMerge: patches ${ph}×${pw} (k=${k}) cannot cover ${h}×${w}`);
    const n = b / (k * k);
    const six = tf.reshape(xt, [n, k, k, ph, pw, c]);
    const merged = tf.reshape(tf.transpose(six, [0, 1, 3, 2, 4, 5]), [n, k * ph, k * pw, c]);
    return opsTensor(h === k * ph && w === k * pw ? merged : tf.slice(merged, [0, 0, 0, 0], [n, h, w, c]));
  }

  // ---- stochastic -------------------------------------------------------------------------------

  dropout(x: Tensor, rate: number): Tensor {
    const t = this.t(x);
    if (!(rate >= 0 && rate < 1)) throw new Error(`tfjs dropout: rate must be in [0, 1), got ${rate}`);
    if (!this.training || rate === 0) return opsTensor(t);
    // One seed per call from the interpreter's stream: reproducible masks, different per call.
    const u = tf.randomUniform(t.shape, 0, 1, 'float32', this.rng.nextU32());
    const keep = tf.cast(tf.greaterEqual(u, rate), 'float32');
    return opsTensor(tf.mul(t, tf.mul(keep, 1 / (1 - rate))));
  }

  bernoulli(like: Tensor, p: number): Tensor {
    const t = this.t(like);
    if (!(p >= 0 && p <= 1)) throw new Error(`tfjs bernoulli: p must be in [0, 1], got ${p}`);
    if (!this.training) throw new Error('tfjs bernoulli: sampling happens in training only (the inference form is deterministic)');
    // One seed per call from the interpreter's stream, as dropout: reproducible, different per call.
    const u = tf.randomUniform(t.shape, 0, 1, 'float32', this.rng.nextU32());
    return opsTensor(tf.cast(tf.less(u, p), 'float32'));
  }
}

// ---- layout helpers ------------------------------------------------------------------------------

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`tfjs ${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function physicalAxis(logicalAxis: number, rank: number): number {
  return rank === 4 ? PHYSICAL_AXIS[logicalAxis] : logicalAxis;
}

/** A rank-1..3 operand broadcast against a rank-4 one: left-pad its logical shape to rank 4, store NHWC. */
function liftToRank4(t: tf.Tensor): tf.Tensor {
  if (t.rank === 4 || t.rank === 0) return t;
  const padded = [...Array(4 - t.rank).fill(1), ...t.shape];
  return fromLogicalOrder(tf.reshape(t, padded));
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** ONNX Reshape (allowzero = 0): 0 copies the input dimension at that position, one −1 is inferred. */
function resolveReshape(inShape: number[], shape: number[]): number[] {
  const total = inShape.reduce((p, d) => p * d, 1);
  const bad = () => new Error(`tfjs reshape: cannot reshape [${inShape.join(', ')}] to [${shape.join(', ')}]`);
  let inferAt = -1;
  const out = shape.map((d, i) => {
    if (d === 0) {
      if (i >= inShape.length) throw bad();
      return inShape[i];
    }
    if (d === -1) {
      if (inferAt >= 0) throw bad();
      inferAt = i;
      return 1;
    }
    if (!Number.isInteger(d) || d < 0) throw bad();
    return d;
  });
  const known = out.reduce((p, d) => p * d, 1);
  if (inferAt >= 0) {
    if (known === 0 || total % known !== 0) throw bad();
    out[inferAt] = total / known;
  } else if (known !== total) throw bad();
  return out;
}

/** Apply a last-axis op (softmax) along any axis of a stored tensor. */
function alongLastAxis(t: tf.Tensor, logicalAxis: number, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const r = t.rank;
  const pa = physicalAxis(logicalAxis, r);
  if (pa === r - 1) return f(t);
  const perm = [...Array(r).keys()];
  perm[pa] = r - 1;
  perm[r - 1] = pa; // a swap is its own inverse
  return permute(f(permute(t, perm)), perm);
}

/**
 * Softmax over the last axis with its gradient written out, y·(dy − Σ dy·y): tf.softmax's own
 * kernel and gradient take tens of seconds per step on attention-sized tensors on the CPU backends
 * (EDAM's CMA: 25 M scores a step), these elementwise ops a fraction of a second.
 */
const softmaxLastAxis = tf.customGrad((...inputs) => {
  const x = inputs[0] as tf.Tensor;
  const y = tf.tidy(() => {
    const e = tf.exp(tf.sub(x, tf.max(x, -1, true)));
    return tf.div(e, tf.sum(e, -1, true));
  });
  return { value: y, gradFunc: (dy: tf.Tensor) => tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), -1, true))) };
}) as (x: tf.Tensor) => tf.Tensor;

const stopGradientOf = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

// ---- convolution padding -------------------------------------------------------------------------

/** TF/ONNX SAME_UPPER padding of one spatial axis: [before, after]. */
function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const effective = (k - 1) * d + 1;
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * The tfjs padding argument for explicit [top, left, bottom, right] pads: 'valid' or 'same' where
 * they coincide (the common 3×3/stride-1/pad-1 case), an explicit per-side padding otherwise. The
 * native tfjs-node backend takes only 'valid'/'same', so there the input is padded first.
 */
function convPadding(
  x: tf.Tensor4D,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  pads: [number, number, number, number] | 'same',
): { input: tf.Tensor4D; pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]] } {
  if (pads === 'same') return { input: x, pad: 'same' };
  const [top, left, bottom, right] = pads;
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`tfjs conv2d: bad padding [${pads.join(', ')}]`);
  if (top + left + bottom + right === 0) return { input: x, pad: 'valid' };
  const [sh0, sh1] = samePads(x.shape[1], kernel[0], stride[0], dilation[0]);
  const [sw0, sw1] = samePads(x.shape[2], kernel[1], stride[1], dilation[1]);
  if (top === sh0 && bottom === sh1 && left === sw0 && right === sw1) return { input: x, pad: 'same' };
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [top, bottom], [left, right], [0, 0]];
  if (tf.getBackend() === 'tensorflow') return { input: tf.pad(x, explicit), pad: 'valid' };
  return { input: x, pad: explicit };
}

// ---- pooling ---------------------------------------------------------------------------------------

interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  out: [number, number];
  /** tf.pad paddings: symmetric pad plus the ceil-mode overflow at the bottom/right. */
  paddings: [number, number][];
  anyPad: boolean;
}

/** PyTorch pooling output size, incl. ceil_mode (a last window starting beyond the input is dropped). */
function poolOutSize(size: number, k: number, s: number, p: number, ceil: boolean): number {
  const span = size + 2 * p - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

function poolGeometry(x: tf.Tensor4D, o: PoolOptions, op: string): PoolGeometry {
  const kernel = pair(o.kernel, 1);
  const stride = pair(o.stride, 0);
  if (stride[0] === 0) stride[0] = kernel[0];
  if (stride[1] === 0) stride[1] = kernel[1];
  const pad = pair(o.padding, 0);
  const sizes = [x.shape[1], x.shape[2]];
  const out: [number, number] = [0, 0];
  const extra = [0, 0];
  for (let a = 0; a < 2; a++) {
    const [k, s, p, n] = [kernel[a], stride[a], pad[a], sizes[a]];
    if (![k, s].every((v) => Number.isInteger(v) && v >= 1) || !Number.isInteger(p) || p < 0 || 2 * p > k)
      throw new Error(`tfjs ${op}: bad options ${JSON.stringify(o)} (padding must be at most half the kernel, as PyTorch requires)`);
    if (n + 2 * p < k) throw new Error(`tfjs ${op}: input ${sizes.join('×')} is smaller than the kernel ${kernel.join('×')} (options ${JSON.stringify(o)})`);
    out[a] = poolOutSize(n, k, s, p, o.ceilMode ?? false);
    extra[a] = Math.max(0, (out[a] - 1) * s + k - (n + 2 * p));
  }
  const paddings: [number, number][] = [[0, 0], [pad[0], pad[0] + extra[0]], [pad[1], pad[1] + extra[1]], [0, 0]];
  return { kernel, stride, pad, out, paddings, anyPad: pad[0] + pad[1] + extra[0] + extra[1] > 0 };
}

/** PyTorch avg-pool divisor per output position along one axis. */
function avgDivisors(size: number, k: number, s: number, p: number, out: number, includePad: boolean): number[] {
  const d: number[] = [];
  for (let i = 0; i < out; i++) {
    let start = i * s - p;
    let end = Math.min(start + k, size + p);
    if (!includePad) {
      start = Math.max(start, 0);
      end = Math.min(end, size);
    }
    d.push(end - start);
  }
  return d;
}

/**
 * PyTorch adaptive pooling, one spatial axis at a time (mean and max over a rectangle are a
 * reduction over rows of reductions over columns): bin i covers [floor(i·n/b), ceil((i+1)·n/b)).
 */
function adaptivePool(x: tf.Tensor4D, bins: number, f: (t: tf.Tensor, axis: number, keep: boolean) => tf.Tensor, op: string): tf.Tensor {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`tfjs ${op}: bins must be a positive integer, got ${bins}`);
  let y: tf.Tensor = x;
  for (const axis of [1, 2]) {
    const n = y.shape[axis];
    if (n === bins) continue;
    if (n % bins === 0) {
      // Equal bins: split the axis into [bins, n/bins] and reduce the inner part.
      const s = [...y.shape];
      s.splice(axis, 1, bins, n / bins);
      y = f(tf.reshape(y, s), axis + 1, false);
      continue;
    }
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < bins; i++) {
      const start = Math.floor((i * n) / bins);
      const end = Math.ceil(((i + 1) * n) / bins);
      const begin = [0, 0, 0, 0];
      const size = [...y.shape];
      begin[axis] = start;
      size[axis] = end - start;
      parts.push(f(tf.slice(y, begin, size), axis, true));
    }
    y = tf.concat(parts, axis);
  }
  return y;
}

// ---- bilinear resize -------------------------------------------------------------------------------

/** For each output index along one axis: the two source indices and their weights (PyTorch). */
function bilinearTaps(inSize: number, outSize: number, alignCorners: boolean): { i0: number[]; i1: number[]; w1: number[] } {
  const i0: number[] = [];
  const i1: number[] = [];
  const w1: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const src = alignCorners
      ? outSize > 1
        ? (o * (inSize - 1)) / (outSize - 1)
        : 0
      : Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0.push(lo);
    i1.push(Math.min(lo + 1, inSize - 1));
    w1.push(src - lo);
  }
  return { i0, i1, w1 };
}

/**
 * Adjoint of bilinear interpolation along one physical axis (1 = H, 2 = W) of dy: returns
 * dx[i] = Σ_o weight(o → i)·dy[o]. Each input index collects a contiguous run of outputs, so the
 * sum is written as F gathers (F = the longest run, padded with a zero slice), each the size of
 * the result — work proportional to dy, no transposes, public ops only.
 */
function bilinearAdjoint(dy: tf.Tensor4D, axis: 1 | 2, inSize: number, alignCorners: boolean): tf.Tensor4D {
  const outSize = dy.shape[axis];
  const { i0, i1, w1 } = bilinearTaps(inSize, outSize, alignCorners);
  const contrib: Map<number, number>[] = Array.from({ length: inSize }, () => new Map());
  for (let o = 0; o < outSize; o++) {
    contrib[i0[o]].set(o, (contrib[i0[o]].get(o) ?? 0) + (1 - w1[o]));
    contrib[i1[o]].set(o, (contrib[i1[o]].get(o) ?? 0) + w1[o]);
  }
  const fanIn = Math.max(...contrib.map((m) => m.size));
  const zeroShape = [...dy.shape];
  zeroShape[axis] = 1;
  const padded = tf.concat([dy, tf.zeros(zeroShape)], axis);
  const lists = contrib.map((m) => [...m]);
  const wShape = [1, 1, 1, 1];
  wShape[axis] = inSize;
  let acc: tf.Tensor | null = null;
  for (let f = 0; f < fanIn; f++) {
    const idx = lists.map((l) => (f < l.length ? l[f][0] : outSize));
    const wts = lists.map((l) => (f < l.length ? l[f][1] : 0));
    const term = tf.mul(tf.gather(padded, tf.tensor1d(idx, 'int32'), axis), tf.tensor(wts, wShape));
    acc = acc ? tf.add(acc, term) : term;
  }
  return acc as tf.Tensor4D;
}

/** The adjoint along both axes with gathers (see bilinearAdjoint): correct on every backend. */
function gatherAdjoint(dy: tf.Tensor4D, h: number, w: number, alignCorners: boolean): tf.Tensor4D {
  const [, oh, ow] = dy.shape;
  let g = dy;
  // Shrink the larger ratio first so the second pass runs on the smaller tensor.
  const order: (1 | 2)[] = oh / h >= ow / w ? [1, 2] : [2, 1];
  for (const axis of order) {
    const inSize = axis === 1 ? h : w;
    if (g.shape[axis] !== inSize) g = bilinearAdjoint(g, axis, inSize, alignCorners);
  }
  return g;
}

/**
 * The backend's own ResizeBilinearGrad kernel. Its output is reshaped to the input's shape
 * because the pure-JS kernel declares [N, W, H, C] while laying the data out as [N, H, W, C].
 */
function kernelAdjoint(images: tf.Tensor4D, dy: tf.Tensor4D, alignCorners: boolean): tf.Tensor4D {
  const out = tf.engine().runKernel('ResizeBilinearGrad', { images, dy }, { alignCorners, halfPixelCenters: !alignCorners }) as tf.Tensor;
  return tf.reshape(out, images.shape);
}

/**
 * Whether the active backend's ResizeBilinearGrad computes PyTorch's adjoint for this
 * convention, found once per backend by comparing it with the gather adjoint on small cases
 * (H ≠ W, up and down, the half-pixel clamp). The stock pure-JS kernel passes for
 * align_corners=True and fails for False (it ignores halfPixelCenters); a fixed kernel
 * (train/kernels, tfjs-node) passes both and is then used, since the gathers are slow there.
 */
const gradKernelAgrees = new Map<string, boolean>();
function backendGradKernelAgrees(alignCorners: boolean): boolean {
  const key = `${tf.getBackend()}|${alignCorners}`;
  let ok = gradKernelAgrees.get(key);
  if (ok === undefined) {
    ok = tf.tidy(() => {
      const cases: [[number, number], [number, number]][] = [[[3, 5], [7, 4]], [[5, 4], [2, 3]]];
      try {
        for (const [[h, w], [oh, ow]] of cases) {
          const images = tf.zeros([1, h, w, 2]) as tf.Tensor4D;
          const dy = tf.tensor4d(Array.from({ length: oh * ow * 2 }, (_, i) => Math.sin(i + 1)), [1, oh, ow, 2]);
          const a = kernelAdjoint(images, dy, alignCorners).dataSync();
          const b = gatherAdjoint(dy, h, w, alignCorners).dataSync();
          if (a.length !== b.length || a.some((v, i) => !(Math.abs(v - b[i]) <= 1e-5))) return false;
        }
        return true;
      } catch {
        return false;
      }
    });
    gradKernelAgrees.set(key, ok);
  }
  return ok;
}

/** Bilinear resize of NHWC x (PyTorch semantics for both conventions) with a correct gradient. */
function bilinearResize(x: tf.Tensor4D, oh: number, ow: number, alignCorners: boolean): tf.Tensor4D {
  const [, h, w] = x.shape;
  const f = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    save([input]);
    return {
      value: tf.image.resizeBilinear(input, [oh, ow], alignCorners, !alignCorners),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        backendGradKernelAgrees(alignCorners)
          ? kernelAdjoint(saved[0] as tf.Tensor4D, dy as tf.Tensor4D, alignCorners)
          : gatherAdjoint(dy as tf.Tensor4D, h, w, alignCorners),
    };
  });
  return f(x) as tf.Tensor4D;
}
