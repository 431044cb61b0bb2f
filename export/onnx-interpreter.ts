// The ONNX interpreter of the op interface: instead of computing, every call appends ONNX
// (opset 17) nodes to an OnnxGraph and returns a symbolic tensor (a value name plus the static
// shape known at export time). Parameters become initializers named after their full parameter
// names; their values are attached by the exporter.
//
// Inputs have dynamic batch, height and width, so every op is written to work for any run-time
// spatial size: sizes an op depends on are computed inside the graph (Shape → arithmetic) rather
// than baked in. The exported graph is the inference form: batch norm uses running statistics,
// dropout and stop-gradient are identities.

import { shiftedWeightedSumComposite } from '../graphs/shifted-weighted-sum.ts';
import type { ParamRef } from '../graphs/module.ts';
import { numel } from '../graphs/module.ts';
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
import { OnnxGraph, type AttrValue, type Dim, type ElemType } from './onnx-graph.ts';

/** A symbolic tensor: the name of an ONNX value, its element type and its build-time shape. */
export class OnnxTensor implements Tensor {
  readonly __wsssTensor = true as const;
  constructor(
    readonly name: string,
    readonly dtype: ElemType,
    readonly dims: Dim[],
  ) {}
}

type Operand = Tensor | number;

/** Python-style slice length of a known dimension (negative indices count from the end, clamped). */
function sliceLength(d: number, begin: number, end: number): number {
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + d : i, 0), d);
  return Math.max(0, clamp(end) - clamp(begin));
}

/** numpy broadcasting of two build-time shapes. */
function broadcastDims(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    // Missing leading axes count as 1 (not `?? 1`: null is a real, unknown dimension).
    const ia = a.length - r + i;
    const ib = b.length - r + i;
    const x = ia >= 0 ? a[ia] : 1;
    const y = ib >= 0 ? b[ib] : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') throw new Error(`cannot broadcast shapes [${a}] and [${b}]`);
    else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : null);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export interface OnnxOpsOptions {
  /** Graph to append to (default: a new one). */
  graph?: OnnxGraph;
}

export class OnnxOps implements Ops {
  readonly kind = 'onnx' as const;
  /** Exported graphs are the inference form. */
  readonly training = false;
  readonly graph: OnnxGraph;
  private readonly scopes: string[] = [];
  private readonly shapeCache = new Map<string, string>();

  constructor(opts: OnnxOpsOptions = {}) {
    this.graph = opts.graph ?? new OnnxGraph();
  }

  // ---- graph plumbing ---------------------------------------------------------------------

  /**
   * Declares a float32 NCHW graph input with dynamic batch and spatial size. The first input's
   * dims are named N, H, W; later inputs share N and get their own spatial symbols, since their
   * size need not match the first (a mask at feature resolution next to an image).
   */
  input(name: string, channels: number): OnnxTensor {
    const first = this.graph.inputs.length === 0;
    const dims: Dim[] = ['N', channels, first ? 'H' : `H_${name}`, first ? 'W' : `W_${name}`];
    this.graph.addInput(name, 'float32', dims);
    return new OnnxTensor(name, 'float32', dims);
  }

  /** Marks a tensor as graph output `name`. */
  output(x: Tensor, name: string): void {
    const t = this.t(x);
    this.graph.addOutput(t.name, name, t.dtype, t.dims);
  }

  private get scopePath(): string {
    return this.scopes.length ? this.scopes[this.scopes.length - 1] : '';
  }

  private t(x: Tensor): OnnxTensor {
    if (!(x instanceof OnnxTensor)) throw new Error(x == null ? `OnnxOps was given ${x} instead of a tensor` : 'OnnxOps was given a tensor from another interpreter');
    return x;
  }

  /** The tensor as float32 (argmax results are int64 in ONNX and get a Cast when used in arithmetic). */
  private f(x: Tensor): OnnxTensor {
    const t = this.t(x);
    return t.dtype === 'float32' ? t : this.emit('Cast', [t.name], { to: { int: 1 } }, 'float32', t.dims);
  }

  private operand(x: Operand): OnnxTensor {
    if (typeof x === 'number') return new OnnxTensor(this.graph.constF32([x], [], 'const_scalar'), 'float32', []);
    return this.f(x);
  }

  /** Appends one node with one output, named '<scope>/<OpType>_<n>' unless `name` is given. */
  private emit(opType: string, inputs: string[], attrs: Record<string, AttrValue>, dtype: ElemType, dims: Dim[], name?: string): OnnxTensor {
    const nodeName = name ?? this.graph.autoName(this.scopePath, opType);
    const [out] = this.graph.addNode(nodeName, opType, inputs, 1, attrs);
    return new OnnxTensor(out, dtype, dims);
  }

  private i64(values: readonly number[]): string {
    return this.graph.constI64(values);
  }

  /** Run-time shape of `x` restricted to [start, end) as an int64 1-D value (Shape with start/end, opset 15). */
  private shapeOf(x: OnnxTensor, start: number, end: number): string {
    const known = x.dims.slice(start, end);
    if (known.every((d) => typeof d === 'number')) return this.i64(known as number[]);
    const key = `${x.name}|${start}|${end}`;
    let name = this.shapeCache.get(key);
    if (!name) {
      name = this.emit('Shape', [x.name], { start: { int: start }, end: { int: end } }, 'int64', [end - start]).name;
      this.shapeCache.set(key, name);
    }
    return name;
  }

  /** Elementwise int64 arithmetic on run-time sizes. */
  private intOp(op: 'Add' | 'Mul' | 'Div' | 'Sub', a: string, b: string, len: number): string {
    return this.emit(op, [a, b], {}, 'int64', [len]).name;
  }

  // ---- values -------------------------------------------------------------------------------

  param(p: ParamRef): Tensor {
    const name = this.graph.param(p.name, p.shape);
    return new OnnxTensor(name, 'float32', [...p.shape]);
  }

  constant(data: ArrayLike<number>, shape: number[]): Tensor {
    if (data.length !== numel(shape)) throw new Error(`constant: ${data.length} values for shape [${shape.join(', ')}]`);
    const base = this.scopePath ? `${this.scopePath}/Constant` : 'Constant';
    return new OnnxTensor(this.graph.constF32(data, shape, base), 'float32', [...shape]);
  }

  shape(x: Tensor): StaticDim[] {
    return this.t(x).dims.map((d) => (typeof d === 'number' ? d : null));
  }

  stopGradient(x: Tensor): Tensor {
    return x;
  }

  scope<R>(name: string, fn: () => R): R {
    // Accepts both a full module path and a path segment relative to the enclosing scope.
    const outer = this.scopePath;
    const path = !outer || name === outer || name.startsWith(`${outer}.`) ? name : `${outer}.${name}`;
    this.scopes.push(path);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Node name for an op whose first parameter is '<module>.weight': the module path. */
  private moduleName(weight: OnnxTensor, opType: string): string {
    const init = this.graph.initializers.get(weight.name);
    if (init?.param?.endsWith('.weight')) return this.graph.uniqueName(init.param.slice(0, -'.weight'.length));
    return this.graph.autoName(this.scopePath, opType);
  }

  // ---- convolution and normalisation ----------------------------------------------------------

  conv2d(x: Tensor, w: Tensor, b: Tensor | null, o: Conv2dOptions = {}): Tensor {
    const xt = this.f(x);
    const wt = this.f(w);
    if (xt.dims.length !== 4 || wt.dims.length !== 4) throw new Error('conv2d: input and weight must be rank 4');
    const [cout, cinG, kh, kw] = wt.dims;
    if (typeof cout !== 'number' || typeof cinG !== 'number' || typeof kh !== 'number' || typeof kw !== 'number')
      throw new Error('conv2d: the weight shape must be static');
    const [sh, sw] = pair(o.stride, 1);
    const [dh, dw] = pair(o.dilation, 1);
    const groups = o.groups ?? 1;
    const cin = xt.dims[1];
    if (typeof cin === 'number' && cin !== cinG * groups)
      throw new Error(`conv2d: input has ${cin} channels, weight expects ${cinG}×${groups} groups`);
    const pads = explicitPads(o.padding);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [sh, sw] },
      dilations: { ints: [dh, dw] },
      group: { int: groups },
    };
    let outH: Dim;
    let outW: Dim;
    let input = xt;
    if (pads === 'same') {
      // SAME_UPPER: total padding max(0, (⌈S/s⌉ − 1)·s + d·(k − 1) + 1 − S), the odd pixel at the end.
      // With stride 1 that is d·(k − 1) whatever S is, so the pads are static. onnxruntime rejects
      // auto_pad with dilation, so strided dilated 'same' convs pad explicitly at run time.
      outH = spatialSame(xt.dims[2], sh);
      outW = spatialSame(xt.dims[3], sw);
      if (sh === 1 && sw === 1) {
        const th = dh * (kh - 1);
        const tw = dw * (kw - 1);
        attrs.pads = { ints: [th >> 1, tw >> 1, th - (th >> 1), tw - (tw >> 1)] };
      } else if (dh === 1 && dw === 1) {
        attrs.auto_pad = { string: 'SAME_UPPER' };
      } else {
        input = this.samePad(xt, [kh, kw], [sh, sw], [dh, dw]);
        attrs.pads = { ints: [0, 0, 0, 0] };
      }
    } else {
      attrs.pads = { ints: pads };
      outH = spatialOut(xt.dims[2], kh, sh, dh, pads[0] + pads[2]);
      outW = spatialOut(xt.dims[3], kw, sw, dw, pads[1] + pads[3]);
    }
    const inputs = [input.name, wt.name];
    if (b) inputs.push(this.f(b).name);
    return this.emit('Conv', inputs, attrs, 'float32', [xt.dims[0], cout, outH, outW], this.moduleName(wt, 'Conv'));
  }

  /** Zero padding of SAME_UPPER computed from the run-time spatial size. */
  private samePad(x: OnnxTensor, k: [number, number], s: [number, number], d: [number, number]): OnnxTensor {
    const hw = this.shapeOf(x, 2, 4);
    const stride = this.i64(s);
    const span = this.i64([d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1]);
    const outs = this.intOp('Div', this.intOp('Add', hw, this.i64([s[0] - 1, s[1] - 1]), 2), stride, 2);
    const need = this.intOp('Sub', this.intOp('Add', this.intOp('Mul', this.intOp('Sub', outs, this.i64([1, 1]), 2), stride, 2), span, 2), hw, 2);
    const total = this.emit('Max', [need, this.i64([0, 0])], {}, 'int64', [2]).name;
    const begin = this.intOp('Div', total, this.i64([2, 2]), 2);
    const end = this.intOp('Sub', total, begin, 2);
    const zeros = this.i64([0, 0]);
    const pads = this.emit('Concat', [zeros, begin, zeros, end], { axis: { int: 0 } }, 'int64', [8]).name;
    return this.emit('Pad', [x.name, pads, this.graph.constF32([0], [], 'const_scalar')], { mode: { string: 'constant' } }, 'float32', [x.dims[0], x.dims[1], null, null]);
  }

  batchNorm(x: Tensor, p: BatchNormParams, o: BatchNormOptions = {}): Tensor {
    const xt = this.f(x);
    const [scale, bias, mean, vr] = [p.weight, p.bias, p.runningMean, p.runningVar].map((r) => this.t(this.param(r)));
    return this.emit(
      'BatchNormalization',
      [xt.name, scale.name, bias.name, mean.name, vr.name],
      { epsilon: { float: o.eps ?? 1e-5 } },
      'float32',
      xt.dims,
      this.moduleName(scale, 'BatchNormalization'),
    );
  }

  // ---- elementwise ----------------------------------------------------------------------------

  private unary(opType: string, x: Tensor, attrs: Record<string, AttrValue> = {}): Tensor {
    const xt = this.f(x);
    return this.emit(opType, [xt.name], attrs, 'float32', xt.dims);
  }

  private binary(opType: string, a: Operand, b: Operand): Tensor {
    const at = this.operand(a);
    const bt = this.operand(b);
    return this.emit(opType, [at.name, bt.name], {}, 'float32', broadcastDims(at.dims, bt.dims));
  }

  relu(x: Tensor): Tensor {
    return this.unary('Relu', x);
  }
  leakyRelu(x: Tensor, alpha: number): Tensor {
    return this.unary('LeakyRelu', x, { alpha: { float: alpha } });
  }
  sigmoid(x: Tensor): Tensor {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Tensor): Tensor {
    return this.unary('Tanh', x);
  }
  exp(x: Tensor): Tensor {
    return this.unary('Exp', x);
  }
  log(x: Tensor): Tensor {
    return this.unary('Log', x);
  }
  abs(x: Tensor): Tensor {
    return this.unary('Abs', x);
  }
  sqrt(x: Tensor): Tensor {
    return this.unary('Sqrt', x);
  }
  neg(x: Tensor): Tensor {
    return this.unary('Neg', x);
  }
  add(a: Operand, b: Operand): Tensor {
    return this.binary('Add', a, b);
  }
  sub(a: Operand, b: Operand): Tensor {
    return this.binary('Sub', a, b);
  }
  mul(a: Operand, b: Operand): Tensor {
    return this.binary('Mul', a, b);
  }
  div(a: Operand, b: Operand): Tensor {
    return this.binary('Div', a, b);
  }
  maximum(a: Operand, b: Operand): Tensor {
    return this.binary('Max', a, b);
  }
  minimum(a: Operand, b: Operand): Tensor {
    return this.binary('Min', a, b);
  }
  pow(a: Operand, b: Operand): Tensor {
    return this.binary('Pow', a, b);
  }
  greater(a: Operand, b: Operand): Tensor {
    const g = this.t(this.binary('Greater', a, b));
    return this.emit('Cast', [g.name], { to: { int: 1 } }, 'float32', g.dims);
  }

  // ---- linear algebra and shape ----------------------------------------------------------------

  private swapLast(x: OnnxTensor): OnnxTensor {
    const r = x.dims.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return this.t(this.transpose(x, perm));
  }

  matmul(a: Tensor, b: Tensor, o: { transposeA?: boolean; transposeB?: boolean } = {}): Tensor {
    let at = this.f(a);
    let bt = this.f(b);
    if (at.dims.length < 2 || bt.dims.length < 2) throw new Error('matmul: operands must have rank ≥ 2');
    if (o.transposeA) at = this.swapLast(at);
    if (o.transposeB) bt = this.swapLast(bt);
    const lead = broadcastDims(at.dims.slice(0, -2), bt.dims.slice(0, -2));
    const dims = [...lead, at.dims[at.dims.length - 2], bt.dims[bt.dims.length - 1]];
    return this.emit('MatMul', [at.name, bt.name], {}, 'float32', dims);
  }

  reshape(x: Tensor, shape: number[]): Tensor {
    const xt = this.t(x);
    const dims: Dim[] = shape.map((s, i) => (s === 0 ? xt.dims[i] : s === -1 ? null : s));
    const inferred = shape.indexOf(-1);
    if (inferred >= 0) dims[inferred] = inferredDim(xt.dims, dims, inferred);
    return this.emit('Reshape', [xt.name, this.i64(shape)], {}, xt.dtype, dims);
  }

  transpose(x: Tensor, perm: number[]): Tensor {
    const xt = this.t(x);
    if (perm.length !== xt.dims.length) throw new Error(`transpose: perm [${perm}] for rank ${xt.dims.length}`);
    return this.emit('Transpose', [xt.name], { perm: { ints: perm } }, xt.dtype, perm.map((p) => xt.dims[p]));
  }

  concat(xs: Tensor[], axis: number): Tensor {
    if (xs.length === 0) throw new Error('concat: no tensors');
    let ts = xs.map((x) => this.t(x));
    if (ts.some((t) => t.dtype !== ts[0].dtype)) ts = ts.map((t) => this.f(t));
    if (ts.length === 1) return ts[0];
    const ax = normAxis(axis, ts[0].dims.length);
    const dims = [...ts[0].dims];
    dims[ax] = ts.reduce<Dim>((acc, t) => (typeof acc === 'number' && typeof t.dims[ax] === 'number' ? acc + (t.dims[ax] as number) : null), 0);
    for (let i = 0; i < dims.length; i++) if (i !== ax && dims[i] === null) dims[i] = ts.find((t) => typeof t.dims[i] === 'number')?.dims[i] ?? null;
    return this.emit('Concat', ts.map((t) => t.name), { axis: { int: ax } }, ts[0].dtype, dims);
  }

  split(x: Tensor, sizes: number[], axis: number): Tensor[] {
    const xt = this.t(x);
    const ax = normAxis(axis, xt.dims.length);
    const d = xt.dims[ax];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (typeof d === 'number' && d !== total) throw new Error(`split: sizes [${sizes}] do not add up to dimension ${ax} (${d})`);
    const name = this.graph.autoName(this.scopePath, 'Split');
    const outs = this.graph.addNode(name, 'Split', [xt.name, this.i64(sizes)], sizes.length, { axis: { int: ax } });
    return outs.map((o, i) => {
      const dims = [...xt.dims];
      dims[ax] = sizes[i];
      return new OnnxTensor(o, xt.dtype, dims);
    });
  }

  slice(x: Tensor, begins: number[], ends: number[], axes: number[]): Tensor {
    const xt = this.t(x);
    const dims = [...xt.dims];
    const ax = axes.map((a) => normAxis(a, xt.dims.length));
    ax.forEach((a, i) => {
      const d = dims[a];
      if (typeof d === 'number') dims[a] = sliceLength(d, begins[i], ends[i]);
      else if (!(begins[i] === 0 && ends[i] >= Number.MAX_SAFE_INTEGER)) dims[a] = null;
    });
    return this.emit('Slice', [xt.name, this.i64(begins), this.i64(ends), this.i64(ax)], {}, xt.dtype, dims);
  }

  pad(x: Tensor, pads: [number, number, number, number], mode: PadMode = 'constant', value = 0): Tensor {
    const xt = this.f(x);
    const [t, l, b, r] = pads;
    const inputs = [xt.name, this.i64([0, 0, t, l, 0, 0, b, r])];
    if (mode === 'constant') inputs.push(this.graph.constF32([value], [], 'const_scalar'));
    const grow = (d: Dim, n: number): Dim => (n === 0 ? d : typeof d === 'number' ? d + n : null);
    const dims = [xt.dims[0], xt.dims[1], grow(xt.dims[2], t + b), grow(xt.dims[3], l + r)];
    return this.emit('Pad', inputs, { mode: { string: mode } }, 'float32', dims);
  }

  // ---- pooling and resizing ---------------------------------------------------------------------

  private pool(opType: 'MaxPool' | 'AveragePool', x: Tensor, o: PoolOptions): Tensor {
    const xt = this.f(x);
    const [kh, kw] = pair(o.kernel, 1);
    const [sh, sw] = pair(o.stride ?? o.kernel, 1);
    const [ph, pw] = pair(o.padding, 0);
    const ceil = o.ceilMode ?? false;
    const attrs: Record<string, AttrValue> = {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [sh, sw] },
      pads: { ints: [ph, pw, ph, pw] },
      ceil_mode: { int: ceil ? 1 : 0 },
    };
    if (opType === 'AveragePool') attrs.count_include_pad = { int: o.countIncludePad ?? true ? 1 : 0 };
    const dims = [xt.dims[0], xt.dims[1], poolOut(xt.dims[2], kh, sh, ph, ceil), poolOut(xt.dims[3], kw, sw, pw, ceil)];
    return this.emit(opType, [xt.name], attrs, 'float32', dims);
  }

  maxPool(x: Tensor, o: PoolOptions): Tensor {
    return this.pool('MaxPool', x, o);
  }
  avgPool(x: Tensor, o: PoolOptions): Tensor {
    return this.pool('AveragePool', x, o);
  }
  globalAvgPool(x: Tensor): Tensor {
    const xt = this.f(x);
    return this.emit('GlobalAveragePool', [xt.name], {}, 'float32', [xt.dims[0], xt.dims[1], 1, 1]);
  }
  globalMaxPool(x: Tensor): Tensor {
    const xt = this.f(x);
    return this.emit('GlobalMaxPool', [xt.name], {}, 'float32', [xt.dims[0], xt.dims[1], 1, 1]);
  }

  /**
   * Adaptive pooling with PyTorch's windows [floor(i·S/n), ceil((i+1)·S/n)) per axis. The windows
   * depend on the run-time size, so each is a Slice with computed bounds; rows are reduced first,
   * then columns (a rectangle's max or mean is separable), which needs 2n slices instead of n².
   */
  private adaptive(reduce: 'ReduceMax' | 'ReduceMean', x: Tensor, bins: number): Tensor {
    const xt = this.f(x);
    if (bins === 1) return reduce === 'ReduceMax' ? this.globalMaxPool(xt) : this.globalAvgPool(xt);
    let cur = xt;
    for (const axis of [2, 3]) {
      const { starts, ends } = this.binBounds(cur, axis, bins);
      const parts: OnnxTensor[] = [];
      for (let i = 0; i < bins; i++) {
        const piece = this.emit('Slice', [cur.name, starts[i], ends[i], this.i64([axis])], {}, 'float32', cur.dims.map((d, k) => (k === axis ? null : d)));
        const red = this.emit(reduce, [piece.name], { axes: { ints: [axis] }, keepdims: { int: 1 } }, 'float32', cur.dims.map((d, k) => (k === axis ? 1 : d)));
        parts.push(red);
      }
      cur = this.t(this.concat(parts, axis));
    }
    return cur;
  }

  /** Start and end of each adaptive-pooling bin along `axis`, as int64 [1] values. */
  private binBounds(x: OnnxTensor, axis: number, n: number): { starts: string[]; ends: string[] } {
    const size = x.dims[axis];
    const starts: string[] = [];
    const ends: string[] = [];
    if (typeof size === 'number') {
      for (let i = 0; i < n; i++) {
        starts.push(this.i64([Math.floor((i * size) / n)]));
        ends.push(this.i64([Math.ceil(((i + 1) * size) / n)]));
      }
      return { starts, ends };
    }
    // All bounds at once: starts = (S·i) div n, ends = (S·(i+1) + n − 1) div n, for i = 0..n−1.
    const s = this.shapeOf(x, axis, axis + 1);
    const iota = [...Array(n).keys()];
    const startAll = this.intOp('Div', this.intOp('Mul', s, this.i64(iota), n), this.i64([n]), n);
    const endAll = this.intOp('Div', this.intOp('Add', this.intOp('Mul', s, this.i64(iota.map((i) => i + 1)), n), this.i64([n - 1]), n), this.i64([n]), n);
    const pick = (v: string, i: number) => this.emit('Slice', [v, this.i64([i]), this.i64([i + 1]), this.i64([0])], {}, 'int64', [1]).name;
    for (let i = 0; i < n; i++) {
      starts.push(pick(startAll, i));
      ends.push(pick(endAll, i));
    }
    return { starts, ends };
  }

  adaptiveAvgPool(x: Tensor, bins: number): Tensor {
    return this.adaptive('ReduceMean', x, bins);
  }
  adaptiveMaxPool(x: Tensor, bins: number): Tensor {
    return this.adaptive('ReduceMax', x, bins);
  }

  shiftedWeightedSum(x: Tensor, weights: Tensor, offsets: readonly (readonly [number, number])[]): Tensor {
    return shiftedWeightedSumComposite(this, x, weights, offsets);
  }

  /**
   * Max over a grid of k×k windows, k = max(1, S div bins) per axis, stride k, floor mode. With a
   * static size it is one MaxPool; with a run-time size the kernel is data, which MaxPool cannot
   * take, so the map is cropped to n·k (n = S div k windows), reshaped to [N, C, n_h, k_h, n_w,
   * k_w] and reduced over the window axes.
   */
  gridMaxPool(x: Tensor, bins: number): Tensor {
    const xt = this.f(x);
    if (!Number.isInteger(bins) || bins < 1) throw new Error(`gridMaxPool: bins must be a positive integer, got ${bins}`);
    if (xt.dims.length !== 4) throw new Error('gridMaxPool: input must be rank 4');
    const [hDim, wDim] = [xt.dims[2], xt.dims[3]];
    if (typeof hDim === 'number' && typeof wDim === 'number') {
      const k: [number, number] = [Math.max(1, Math.floor(hDim / bins)), Math.max(1, Math.floor(wDim / bins))];
      return this.pool('MaxPool', xt, { kernel: k, stride: k });
    }
    const hw = this.shapeOf(xt, 2, 4);
    const k = this.emit('Max', [this.intOp('Div', hw, this.i64([bins, bins]), 2), this.i64([1, 1])], {}, 'int64', [2]).name;
    const n = this.intOp('Div', hw, k, 2);
    const cropped = this.emit('Slice', [xt.name, this.i64([0, 0]), this.intOp('Mul', n, k, 2), this.i64([2, 3])], {}, 'float32', [xt.dims[0], xt.dims[1], null, null]);
    const six = this.emit('Concat', [this.i64([0, 0]), this.pickInt(n, 0), this.pickInt(k, 0), this.pickInt(n, 1), this.pickInt(k, 1)], { axis: { int: 0 } }, 'int64', [6]).name;
    const windows = this.emit('Reshape', [cropped.name, six], {}, 'float32', [xt.dims[0], xt.dims[1], null, null, null, null]);
    return this.emit('ReduceMax', [windows.name], { axes: { ints: [3, 5] }, keepdims: { int: 0 } }, 'float32', [xt.dims[0], xt.dims[1], null, null]);
  }

  /** Resize's `sizes` input [N, C, h, w] for a target: N and C from x at run time, h, w from the target. */
  /**
   * The [h, w] int64 value of a { scale } target: max(1, floor(fp32(side · scale))), computed in
   * the graph when the sides are only known at run time (scaledSide's arithmetic), so the Resize
   * gets explicit sizes and maps pixels by out/in exactly as the tfjs interpreter does.
   */
  private scaledHw(x: OnnxTensor, scale: number): { hw: string; h: Dim; w: Dim } {
    if (!(scale > 0)) throw new Error(`resize: scale must be positive, got ${scale}`);
    const [h, w] = [x.dims[2], x.dims[3]].map((d) => (typeof d === 'number' ? scaledSide(d, scale) : null));
    if (h !== null && w !== null) return { hw: this.i64([h, w]), h, w };
    const sides = this.emit('Cast', [this.shapeOf(x, 2, 4)], { to: { int: 1 } }, 'float32', [2]).name;
    const scaled = this.emit('Floor', [this.emit('Mul', [sides, this.graph.constF32([scale, scale], [2], 'const_scale')], {}, 'float32', [2]).name], {}, 'float32', [2]).name;
    const hw = this.emit('Max', [this.emit('Cast', [scaled], { to: { int: 7 } }, 'int64', [2]).name, this.i64([1, 1])], {}, 'int64', [2]).name;
    return { hw, h, w };
  }

  private resizeSizes(x: OnnxTensor, to: ResizeTarget): { sizes: string; h: Dim; w: Dim } {
    const nc = this.shapeOf(x, 0, 2);
    if ('scale' in to) {
      const { hw, h, w } = this.scaledHw(x, to.scale);
      return { sizes: this.emit('Concat', [nc, hw], { axis: { int: 0 } }, 'int64', [4]).name, h, w };
    }
    if ('size' in to) {
      const [h, w] = to.size;
      return { sizes: this.emit('Concat', [nc, this.i64([h, w])], { axis: { int: 0 } }, 'int64', [4]).name, h, w };
    }
    const like = this.t(to.like);
    const hw = this.shapeOf(like, 2, 4);
    return { sizes: this.emit('Concat', [nc, hw], { axis: { int: 0 } }, 'int64', [4]).name, h: like.dims[2], w: like.dims[3] };
  }

  resizeBilinear(x: Tensor, to: ResizeTarget, alignCorners: boolean): Tensor {
    const xt = this.f(x);
    const { sizes, h, w } = this.resizeSizes(xt, to);
    // half_pixel (not pytorch_half_pixel): PyTorch maps a 1-pixel output to the input's centre,
    // which is half_pixel's formula; pytorch_half_pixel would sample pixel 0 instead.
    const attrs: Record<string, AttrValue> = {
      mode: { string: 'linear' },
      coordinate_transformation_mode: { string: alignCorners ? 'align_corners' : 'half_pixel' },
    };
    return this.emit('Resize', [xt.name, '', '', sizes], attrs, 'float32', [xt.dims[0], xt.dims[1], h, w]);
  }

  /**
   * PyTorch's nearest resize picks source index min(floor(dst · s), in − 1) with s = in/out computed
   * in float32. ONNX Resize (asymmetric + floor) divides by the float32 ratio out/in instead, which
   * rounds differently for ~0.2% of size pairs (14 → 2 picks row 6, PyTorch row 7), so the indices
   * are computed here the PyTorch way and applied with Gather, one spatial axis at a time.
   */
  resizeNearest(x: Tensor, to: ResizeTarget): Tensor {
    let cur = this.f(x);
    const like = 'like' in to ? this.t(to.like) : null;
    const scaled = 'scale' in to ? this.scaledHw(cur, to.scale) : null;
    for (const axis of [2, 3]) {
      const outDim: Dim = like ? like.dims[axis] : scaled ? (axis === 2 ? scaled.h : scaled.w) : (to as { size: [number, number] }).size[axis - 2];
      const inDim = cur.dims[axis];
      if (typeof inDim === 'number' && typeof outDim === 'number' && inDim === outDim) continue;
      let idx: string;
      if (typeof inDim === 'number' && typeof outDim === 'number') {
        const s = Math.fround(inDim / outDim);
        idx = this.i64(Array.from({ length: outDim }, (_, d) => Math.min(Math.floor(Math.fround(d * s)), inDim - 1)));
      } else {
        const toFloat = (v: string) => this.emit('Cast', [v], { to: { int: 1 } }, 'float32', [1]).name;
        const inF = toFloat(this.shapeOf(cur, axis, axis + 1));
        const outI = like ? this.shapeOf(like, axis, axis + 1) : scaled ? this.pickInt(scaled.hw, axis - 2) : this.i64([outDim as number]);
        const outF = toFloat(outI);
        const scale = this.emit('Div', [inF, outF], {}, 'float32', [1]).name;
        const outScalar = this.emit('Reshape', [outF, this.i64([])], {}, 'float32', []).name;
        const zero = this.graph.constF32([0], [], 'const_scalar');
        const one = this.graph.constF32([1], [], 'const_scalar');
        const dst = this.emit('Range', [zero, outScalar, one], {}, 'float32', [outDim]).name;
        const src = this.emit('Floor', [this.emit('Mul', [dst, scale], {}, 'float32', [outDim]).name], {}, 'float32', [outDim]).name;
        const last = this.emit('Sub', [inF, one], {}, 'float32', [1]).name;
        const clamped = this.emit('Min', [src, last], {}, 'float32', [outDim]).name;
        idx = this.emit('Cast', [clamped], { to: { int: 7 } }, 'int64', [outDim]).name;
      }
      const dims = [...cur.dims];
      dims[axis] = outDim;
      cur = this.emit('Gather', [cur.name, idx], { axis: { int: axis } }, 'float32', dims);
    }
    return cur;
  }

  // ---- reductions and normalisations --------------------------------------------------------------

  softmax(x: Tensor, axis: number): Tensor {
    const xt = this.f(x);
    return this.emit('Softmax', [xt.name], { axis: { int: normAxis(axis, xt.dims.length) } }, 'float32', xt.dims);
  }

  logSoftmax(x: Tensor, axis: number): Tensor {
    const xt = this.f(x);
    return this.emit('LogSoftmax', [xt.name], { axis: { int: normAxis(axis, xt.dims.length) } }, 'float32', xt.dims);
  }

  private reduce(opType: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceL2', x: Tensor, axes: number[], keepDims: boolean): OnnxTensor {
    const xt = this.f(x);
    const ax = axes.map((a) => normAxis(a, xt.dims.length));
    const dims = keepDims ? xt.dims.map((d, i) => (ax.includes(i) ? 1 : d)) : xt.dims.filter((_, i) => !ax.includes(i));
    // Opset 13 moved ReduceSum's axes to an input; the other reductions follow only at opset 18.
    if (opType === 'ReduceSum') return this.emit(opType, [xt.name, this.i64(ax)], { keepdims: { int: keepDims ? 1 : 0 } }, 'float32', dims);
    return this.emit(opType, [xt.name], { axes: { ints: ax }, keepdims: { int: keepDims ? 1 : 0 } }, 'float32', dims);
  }

  reduceSum(x: Tensor, axes: number[], keepDims = false): Tensor {
    return this.reduce('ReduceSum', x, axes, keepDims);
  }
  reduceMean(x: Tensor, axes: number[], keepDims = false): Tensor {
    return this.reduce('ReduceMean', x, axes, keepDims);
  }
  reduceMax(x: Tensor, axes: number[], keepDims = false): Tensor {
    return this.reduce('ReduceMax', x, axes, keepDims);
  }

  argmax(x: Tensor, axis: number, keepDims = false): Tensor {
    const xt = this.f(x);
    const ax = normAxis(axis, xt.dims.length);
    const dims = keepDims ? xt.dims.map((d, i) => (i === ax ? 1 : d)) : xt.dims.filter((_, i) => i !== ax);
    return this.emit('ArgMax', [xt.name], { axis: { int: ax }, keepdims: { int: keepDims ? 1 : 0 }, select_last_index: { int: 0 } }, 'int64', dims);
  }

  l2Normalize(x: Tensor, axis: number, eps = 1e-12): Tensor {
    const norm = this.reduce('ReduceL2', x, [axis], true);
    return this.div(x, this.maximum(norm, eps));
  }

  // ---- patch learning (PPL) ------------------------------------------------------------------------

  patchSplit(x: Tensor, k: number): Tensor {
    const xt = this.f(x);
    if (xt.dims.length !== 4) throw new Error('patchSplit: input must be rank 4');
    if (k === 1) return xt;
    const ceilDiv = (d: Dim): Dim => (typeof d === 'number' ? Math.ceil(d / k) : null);
    const [n, c, hDim, wDim] = xt.dims;
    const ph = ceilDiv(hDim);
    const pw = ceilDiv(wDim);
    // Zero padding to k·⌈H/k⌉ × k·⌈W/k⌉, at the bottom/right only: pad = (k − S mod k) mod k = (−S) mod k.
    let padded: OnnxTensor;
    if (typeof hDim === 'number' && typeof wDim === 'number') {
      padded = this.t(this.pad(xt, [0, 0, (k - (hDim % k)) % k, (k - (wDim % k)) % k]));
    } else {
      const hw = this.shapeOf(xt, 2, 4);
      const kk = this.i64([k, k]);
      // k·⌈S/k⌉ − S  with ⌈S/k⌉ = (S + k − 1) div k
      const up = this.intOp('Mul', this.intOp('Div', this.intOp('Add', hw, this.i64([k - 1, k - 1]), 2), kk, 2), kk, 2);
      const extra = this.intOp('Sub', up, hw, 2);
      const pads = this.emit('Concat', [this.i64([0, 0, 0, 0, 0, 0]), extra], { axis: { int: 0 } }, 'int64', [8]).name;
      padded = this.emit('Pad', [xt.name, pads, this.graph.constF32([0], [], 'const_scalar')], { mode: { string: 'constant' } }, 'float32', [
        n,
        c,
        typeof ph === 'number' ? ph * k : null,
        typeof pw === 'number' ? pw * k : null,
      ]);
    }
    // [N, C, k·h, k·w] → [N, C, k, h, k, w] → [N, k, k, C, h, w] → [N·k·k, C, h, w]
    let six: string;
    if (typeof ph === 'number' && typeof pw === 'number') six = this.i64([0, 0, k, ph, k, pw]);
    else {
      const hw = this.intOp('Div', this.shapeOf(padded, 2, 4), this.i64([k, k]), 2);
      six = this.emit('Concat', [this.i64([0, 0, k]), this.pickInt(hw, 0), this.i64([k]), this.pickInt(hw, 1)], { axis: { int: 0 } }, 'int64', [6]).name;
    }
    const r6 = this.emit('Reshape', [padded.name, six], {}, 'float32', [n, c, k, ph, k, pw]);
    const tr = this.t(this.transpose(r6, [0, 2, 4, 1, 3, 5]));
    const four = this.emit('Concat', [this.i64([-1]), this.shapeOf(tr, 3, 6)], { axis: { int: 0 } }, 'int64', [4]).name;
    const nOut = typeof n === 'number' ? n * k * k : null;
    return this.emit('Reshape', [tr.name, four], {}, 'float32', [nOut, c, ph, pw]);
  }

  patchMerge(x: Tensor, k: number, like: Tensor): Tensor {
    const xt = this.f(x);
    const lt = this.t(like);
    if (xt.dims.length !== 4) throw new Error('patchMerge: input must be rank 4');
    const [nk, c, h, w] = xt.dims;
    let merged: OnnxTensor = xt;
    if (k > 1) {
      // [N·k·k, C, h, w] → [N, k, k, C, h, w] → [N, C, k, h, k, w] → [N, C, k·h, k·w]
      const six = this.emit('Concat', [this.i64([-1, k, k]), this.shapeOf(xt, 1, 4)], { axis: { int: 0 } }, 'int64', [6]).name;
      const n = typeof nk === 'number' ? nk / (k * k) : null;
      const r6 = this.emit('Reshape', [xt.name, six], {}, 'float32', [n, k, k, c, h, w]);
      const tr = this.t(this.transpose(r6, [0, 3, 1, 4, 2, 5]));
      const hw = this.intOp('Mul', this.shapeOf(xt, 2, 4), this.i64([k, k]), 2);
      const four = this.emit('Concat', [this.i64([0, 0]), hw], { axis: { int: 0 } }, 'int64', [4]).name;
      const mul = (d: Dim): Dim => (typeof d === 'number' ? d * k : null);
      merged = this.emit('Reshape', [tr.name, four], {}, 'float32', [n, c, mul(h), mul(w)]);
    }
    // Crop the zero padding away: the spatial size of `like`.
    const end = this.shapeOf(lt, 2, 4);
    return this.emit('Slice', [merged.name, this.i64([0, 0]), end, this.i64([2, 3])], {}, 'float32', [merged.dims[0], merged.dims[1], lt.dims[2], lt.dims[3]]);
  }

  private pickInt(v: string, i: number): string {
    return this.emit('Slice', [v, this.i64([i]), this.i64([i + 1]), this.i64([0])], {}, 'int64', [1]).name;
  }

  // ---- stochastic ---------------------------------------------------------------------------------

  dropout(x: Tensor, _rate: number): Tensor {
    return x;
  }

  bernoulli(_like: Tensor, _p: number): Tensor {
    throw new Error('onnx bernoulli: an exported graph is the deterministic inference form and cannot sample');
  }
}

/**
 * The size a Reshape's −1 stands for, when it is known at build time: the input's element count
 * over the other output dims, where symbolic dims cancel against the same symbol (a reshape of
 * [N, 6, 1, 1] to [0, −1] gives [N, 6]).
 */
function inferredDim(input: Dim[], output: Dim[], at: number): Dim {
  const num = [...input];
  let den = 1;
  for (let i = 0; i < output.length; i++) {
    if (i === at) continue;
    const d = output[i];
    if (typeof d === 'number') den *= d;
    else {
      const j = d === null ? -1 : num.indexOf(d);
      if (j < 0) return null;
      num.splice(j, 1);
    }
  }
  if (!num.every((d) => typeof d === 'number')) return null;
  const total = numel(num as number[]);
  return den > 0 && total % den === 0 ? total / den : null;
}

// ---- build-time output sizes -----------------------------------------------------------------------

/** Conv output size; a symbolic size survives only when the op preserves it. */
function spatialOut(d: Dim, k: number, s: number, dil: number, padTotal: number): Dim {
  const span = dil * (k - 1) + 1;
  if (typeof d === 'number') return Math.floor((d + padTotal - span) / s) + 1;
  return s === 1 && padTotal === span - 1 ? d : null;
}

function spatialSame(d: Dim, s: number): Dim {
  if (typeof d === 'number') return Math.ceil(d / s);
  return s === 1 ? d : null;
}

/** PyTorch pooling output size: with ceil mode the last window must start inside the input or its left padding. */
function poolOut(d: Dim, k: number, s: number, p: number, ceil: boolean): Dim {
  if (typeof d !== 'number') return s === 1 && 2 * p === k - 1 ? d : null;
  let out = (ceil ? Math.ceil((d + 2 * p - k) / s) : Math.floor((d + 2 * p - k) / s)) + 1;
  if (ceil && (out - 1) * s >= d + p) out--;
  return out;
}
