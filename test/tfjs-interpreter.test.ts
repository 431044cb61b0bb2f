// The tfjs interpreter against straightforward JS references (naive loops over logical NCHW
// arrays, PyTorch's formulas), on small random inputs with odd sizes, plus parameter-store round
// trips, batch-norm statistics and gradient checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initTfjs } from '../train/tfjs-backend.ts';
import { TfjsOps } from '../train/tfjs-interpreter.ts';
import { TfjsParams } from '../train/tfjs-params.ts';
import { fromTf, isHwio, logicalShape, toTfLogical } from '../train/tfjs-layout.ts';
import { Rng } from '../graphs/rng.ts';
import { Module, initialiseAll, type ParamRef, type ParamValues } from '../graphs/module.ts';
import { BatchNorm2d, Conv2d } from '../graphs/layers.ts';
import type { Conv2dOptions, PoolOptions, Tensor } from '../graphs/ops.ts';

await initTfjs();

// ---- helpers -------------------------------------------------------------------------------------

const rng = new Rng(1234);
function rand(shape: number[], scale = 1): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** A logical NCHW array with an indexer. */
class Arr {
  constructor(
    readonly shape: number[],
    readonly data: Float32Array,
  ) {}
  static zeros(shape: number[]): Arr {
    return new Arr(shape, new Float32Array(shape.reduce((p, d) => p * d, 1)));
  }
  idx(...i: number[]): number {
    let k = 0;
    for (let a = 0; a < this.shape.length; a++) k = k * this.shape[a] + i[a];
    return k;
  }
  get(...i: number[]): number {
    return this.data[this.idx(...i)];
  }
}

function assertClose(actual: { shape: number[]; data: Float32Array }, expected: Arr | { shape: number[]; data: ArrayLike<number> }, what: string, tol = 1e-4): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let scale = 1;
  for (let i = 0; i < expected.data.length; i++) scale = Math.max(scale, Math.abs(expected.data[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(actual.data[i] - expected.data[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at flat index ${at} (got ${actual.data[at]}, want ${expected.data[at]})`);
}

const noParams = new TfjsParams(new Map());
const evalOps = new TfjsOps(noParams, { training: false });

function input(shape: number[], scale = 1): { arr: Arr; t: Tensor } {
  const data = rand(shape, scale);
  return { arr: new Arr(shape, data), t: evalOps.constant(data, shape) };
}

/** A ParamRef stand-in: the interpreter only reads `.name`. */
function ref(name: string): ParamRef {
  return { name } as ParamRef;
}

// ---- naive references ----------------------------------------------------------------------------

function refConv(x: Arr, w: Arr, b: Float32Array | null, o: { stride: [number, number]; dilation: [number, number]; pads: [number, number, number, number]; groups: number }): Arr {
  const [n, cin, h, wd] = x.shape;
  const [cout, ipg, kh, kw] = w.shape;
  const [top, left, bottom, right] = o.pads;
  const [sh, sw] = o.stride;
  const [dh, dw] = o.dilation;
  const oh = Math.floor((h + top + bottom - ((kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((wd + left + right - ((kw - 1) * dw + 1)) / sw) + 1;
  const opg = cout / o.groups;
  assert.equal(cin, ipg * o.groups);
  const y = Arr.zeros([n, cout, oh, ow]);
  for (let b0 = 0; b0 < n; b0++)
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / opg);
      for (let yy = 0; yy < oh; yy++)
        for (let xx = 0; xx < ow; xx++) {
          let s = b ? b[co] : 0;
          for (let ci = 0; ci < ipg; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = yy * sh - top + ky * dh;
                const ix = xx * sw - left + kx * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += x.get(b0, g * ipg + ci, iy, ix) * w.get(co, ci, ky, kx);
              }
          y.data[y.idx(b0, co, yy, xx)] = s;
        }
    }
  return y;
}

/** PyTorch pooling output size (ceil_mode drops a last window starting beyond input + pad). */
function refPoolOut(size: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = (ceil ? Math.ceil((size + 2 * p - k) / s) : Math.floor((size + 2 * p - k) / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

function refPool(x: Arr, kind: 'max' | 'avg', k: number, s: number, p: number, ceil: boolean, includePad = true): Arr {
  const [n, c, h, w] = x.shape;
  const oh = refPoolOut(h, k, s, p, ceil);
  const ow = refPoolOut(w, k, s, p, ceil);
  const y = Arr.zeros([n, c, oh, ow]);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let h0 = i * s - p;
          let w0 = j * s - p;
          let h1 = Math.min(h0 + k, h + p);
          let w1 = Math.min(w0 + k, w + p);
          const poolSize = (h1 - h0) * (w1 - w0);
          h0 = Math.max(h0, 0);
          w0 = Math.max(w0, 0);
          h1 = Math.min(h1, h);
          w1 = Math.min(w1, w);
          let acc = kind === 'max' ? -Infinity : 0;
          for (let yy = h0; yy < h1; yy++)
            for (let xx = w0; xx < w1; xx++) {
              const v = x.get(b, ch, yy, xx);
              acc = kind === 'max' ? Math.max(acc, v) : acc + v;
            }
          if (kind === 'avg') acc /= includePad ? poolSize : (h1 - h0) * (w1 - w0);
          y.data[y.idx(b, ch, i, j)] = acc;
        }
  return y;
}

function refAdaptive(x: Arr, bins: number, kind: 'max' | 'avg'): Arr {
  const [n, c, h, w] = x.shape;
  const y = Arr.zeros([n, c, bins, bins]);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < bins; i++)
        for (let j = 0; j < bins; j++) {
          const h0 = Math.floor((i * h) / bins);
          const h1 = Math.ceil(((i + 1) * h) / bins);
          const w0 = Math.floor((j * w) / bins);
          const w1 = Math.ceil(((j + 1) * w) / bins);
          let acc = kind === 'max' ? -Infinity : 0;
          for (let yy = h0; yy < h1; yy++) for (let xx = w0; xx < w1; xx++) acc = kind === 'max' ? Math.max(acc, x.get(b, ch, yy, xx)) : acc + x.get(b, ch, yy, xx);
          y.data[y.idx(b, ch, i, j)] = kind === 'max' ? acc : acc / ((h1 - h0) * (w1 - w0));
        }
  return y;
}

/** PyTorch upsample_bilinear2d source index and weights for one output index. */
function refSource(o: number, inSize: number, outSize: number, alignCorners: boolean): [number, number, number] {
  let src: number;
  if (alignCorners) src = outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
  else src = Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0);
  const i0 = Math.floor(src);
  const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
  return [i0, i1, src - i0];
}

function refBilinear(x: Arr, oh: number, ow: number, ac: boolean): Arr {
  const [n, c, h, w] = x.shape;
  const y = Arr.zeros([n, c, oh, ow]);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < oh; i++) {
        const [y0, y1, ly] = refSource(i, h, oh, ac);
        for (let j = 0; j < ow; j++) {
          const [x0, x1, lx] = refSource(j, w, ow, ac);
          y.data[y.idx(b, ch, i, j)] =
            (1 - ly) * ((1 - lx) * x.get(b, ch, y0, x0) + lx * x.get(b, ch, y0, x1)) + ly * ((1 - lx) * x.get(b, ch, y1, x0) + lx * x.get(b, ch, y1, x1));
        }
      }
  return y;
}

/** d/dx of Σ resize(x)·g: scatter each output's gradient to its four sources. */
function refBilinearGrad(inShape: number[], g: Arr, ac: boolean): Arr {
  const [n, c, h, w] = inShape;
  const [, , oh, ow] = g.shape;
  const dx = Arr.zeros(inShape);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < oh; i++) {
        const [y0, y1, ly] = refSource(i, h, oh, ac);
        for (let j = 0; j < ow; j++) {
          const [x0, x1, lx] = refSource(j, w, ow, ac);
          const v = g.get(b, ch, i, j);
          dx.data[dx.idx(b, ch, y0, x0)] += v * (1 - ly) * (1 - lx);
          dx.data[dx.idx(b, ch, y0, x1)] += v * (1 - ly) * lx;
          dx.data[dx.idx(b, ch, y1, x0)] += v * ly * (1 - lx);
          dx.data[dx.idx(b, ch, y1, x1)] += v * ly * lx;
        }
      }
  return dx;
}

// ---- tests ---------------------------------------------------------------------------------------

test('layout: toTfLogical/fromTf round trip, NHWC storage of rank 4, logical shape', () => {
  const { arr } = input([2, 3, 5, 7]);
  const t = toTfLogical(arr.data, arr.shape);
  assert.deepEqual(t.shape, [2, 5, 7, 3]); // physical NHWC
  assert.deepEqual(logicalShape(t), [2, 3, 5, 7]);
  assert.equal(t.dataSync()[1], arr.get(0, 1, 0, 0)); // physical index 1 = channel 1 of pixel (0,0)
  assertClose(fromTf(t), arr, 'round trip', 0);
  const r3 = toTfLogical([1, 2, 3, 4, 5, 6], [1, 2, 3]);
  assert.deepEqual(r3.shape, [1, 2, 3]);
  assert.deepEqual([...fromTf(r3).data], [1, 2, 3, 4, 5, 6]);
});

test('conv2d: groups, dilation, stride, asymmetric and same padding against a naive convolution', () => {
  const cases: { x: number[]; w: number[]; o: Conv2dOptions; pads: [number, number, number, number] }[] = [
    { x: [2, 3, 13, 17], w: [4, 3, 3, 3], o: { padding: [1, 0, 2, 1], dilation: 2 }, pads: [1, 0, 2, 1] },
    { x: [2, 4, 13, 17], w: [6, 2, 3, 3], o: { padding: 1, stride: 2, groups: 2 }, pads: [1, 1, 1, 1] },
    { x: [2, 3, 13, 17], w: [6, 1, 3, 3], o: { padding: 'same', dilation: 2, groups: 3 }, pads: [2, 2, 2, 2] },
    // SAME_UPPER with stride 2 on odd/even sizes: 13 → total pad 2 (1, 1); 16 → total 1 (0, 1).
    { x: [2, 2, 13, 16], w: [3, 2, 3, 3], o: { padding: 'same', stride: 2 }, pads: [1, 0, 1, 1] },
    { x: [2, 2, 13, 17], w: [3, 2, 2, 3], o: { padding: [1, 2], stride: [2, 1] }, pads: [1, 2, 1, 2] },
    { x: [2, 3, 13, 17], w: [5, 3, 1, 1], o: {}, pads: [0, 0, 0, 0] },
  ];
  for (const [ci, c] of cases.entries()) {
    const x = input(c.x);
    const w = new Arr(c.w, rand(c.w, 0.5));
    const b = rand([c.w[0]]);
    const want = refConv(x.arr, w, b, {
      stride: typeof c.o.stride === 'number' ? [c.o.stride, c.o.stride] : (c.o.stride ?? [1, 1]),
      dilation: typeof c.o.dilation === 'number' ? [c.o.dilation, c.o.dilation] : (c.o.dilation ?? [1, 1]),
      pads: c.pads,
      groups: c.o.groups ?? 1,
    });
    // Weights as stored parameters (HWIO) and as plain constants (converted inside conv2d).
    const params = new TfjsParams(new Map([['w', { shape: c.w, data: w.data }], ['b', { shape: [c.w[0]], data: b }]]));
    const ops = new TfjsOps(params, { training: false });
    assert.ok(isHwio(params.get('w')));
    assertClose(fromTf(ops.conv2d(x.t, ops.param(ref('w')), ops.param(ref('b')), c.o)), want, `case ${ci} (param weight)`);
    assertClose(fromTf(ops.conv2d(x.t, ops.constant(w.data, c.w), ops.constant(b, [c.w[0]]), c.o)), want, `case ${ci} (constant weight)`);
    params.dispose();
  }
  assert.throws(() => evalOps.conv2d(input([1, 2, 9, 9]).t, evalOps.constant(rand([2, 2, 3, 3]), [2, 2, 3, 3]), null, { stride: 2, dilation: 2 }), /conv2d.*stride > 1 together with dilation > 1/);
  assert.throws(() => evalOps.conv2d(input([1, 3, 9, 9]).t, evalOps.constant(rand([2, 2, 3, 3]), [2, 2, 3, 3]), null, {}), /conv2d: channels do not match/);
});

test('a rank-4 parameter used outside conv2d behaves as its logical OIHW value', () => {
  const shape = [1, 3, 5, 7];
  const data = rand(shape);
  const params = new TfjsParams(new Map([['pos', { shape, data }]]));
  const ops = new TfjsOps(params, { training: false });
  const x = input([2, 3, 5, 7]);
  const y = fromTf(ops.add(x.t, ops.param(ref('pos'))));
  const want = x.arr.data.map((v, i) => v + data[i % data.length]);
  assertClose(y, { shape: [2, 3, 5, 7], data: want }, 'add(x, pos)');
  assert.deepEqual(ops.shape(ops.param(ref('pos'))), shape);
  assertClose(fromTf(ops.param(ref('pos'))), { shape, data }, 'fromTf(param)', 0);
  params.dispose();
});

test('maxPool/avgPool: PyTorch ceil_mode and count_include_pad', () => {
  const x = input([2, 3, 13, 17]);
  const cases: [number, number, number, boolean][] = [
    [3, 2, 1, true], // ceil adds a partial last window
    [2, 2, 1, true], // ceil would start a window in the padding: dropped (13 → 7, 17 → 9)
    [3, 2, 0, true],
    [3, 3, 1, false],
    [2, 2, 0, false],
    [3, 1, 1, false],
  ];
  for (const [k, s, p, ceil] of cases) {
    const o: PoolOptions = { kernel: k, stride: s, padding: p, ceilMode: ceil };
    const tag = `k${k} s${s} p${p} ceil=${ceil}`;
    assertClose(fromTf(evalOps.maxPool(x.t, o)), refPool(x.arr, 'max', k, s, p, ceil), `max ${tag}`);
    for (const includePad of [true, false])
      assertClose(fromTf(evalOps.avgPool(x.t, { ...o, countIncludePad: includePad })), refPool(x.arr, 'avg', k, s, p, ceil, includePad), `avg ${tag} includePad=${includePad}`);
  }
  assert.deepEqual(evalOps.shape(evalOps.maxPool(x.t, { kernel: 2, stride: 2, padding: 1, ceilMode: true })), [2, 3, 7, 9]);
  assertClose(fromTf(evalOps.globalAvgPool(x.t)), refAdaptive(x.arr, 1, 'avg'), 'globalAvgPool');
  assertClose(fromTf(evalOps.globalMaxPool(x.t)), refAdaptive(x.arr, 1, 'max'), 'globalMaxPool');
});

test('adaptive pooling on divisible and non-divisible sizes', () => {
  const x = input([2, 3, 13, 17]);
  for (const bins of [1, 2, 3, 4, 6, 13]) {
    assertClose(fromTf(evalOps.adaptiveAvgPool(x.t, bins)), refAdaptive(x.arr, bins, 'avg'), `avg bins=${bins}`);
    assertClose(fromTf(evalOps.adaptiveMaxPool(x.t, bins)), refAdaptive(x.arr, bins, 'max'), `max bins=${bins}`);
  }
  const y = input([2, 3, 12, 8]);
  assertClose(fromTf(evalOps.adaptiveMaxPool(y.t, 4)), refAdaptive(y.arr, 4, 'max'), 'max 12x8 → 4');
});

test('bilinear resize: both conventions, up and down, values and gradient', () => {
  const x = input([2, 3, 13, 17]);
  const sizes: [number, number][] = [[29, 40], [5, 7], [13, 40], [1, 1], [26, 9]];
  for (const ac of [true, false])
    for (const [oh, ow] of sizes) {
      const tag = `${oh}x${ow} alignCorners=${ac}`;
      assertClose(fromTf(evalOps.resizeBilinear(x.t, { size: [oh, ow] }, ac)), refBilinear(x.arr, oh, ow, ac), tag);
      // Gradient of Σ resize(x)·g against the scattered adjoint.
      const g = new Arr([2, 3, oh, ow], rand([2, 3, oh, ow]));
      const gt = toTfLogical(g.data, g.shape);
      const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(evalOps.resizeBilinear(xi as unknown as Tensor, { size: [oh, ow] }, ac) as unknown as tf.Tensor, gt)))(
        x.t as unknown as tf.Tensor,
      );
      assertClose(fromTf(dx), refBilinearGrad(x.arr.shape, g, ac), `grad ${tag}`);
    }
  const like = input([1, 1, 6, 8]);
  assert.deepEqual(evalOps.shape(evalOps.resizeBilinear(x.t, { like: like.t }, false)), [2, 3, 6, 8]);
});

test('nearest resize: PyTorch floor(dst·in/out)', () => {
  const x = input([2, 3, 13, 17]);
  for (const [oh, ow] of [[29, 40], [5, 7], [39, 51]] as [number, number][]) {
    const want = Arr.zeros([2, 3, oh, ow]);
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) want.data[want.idx(b, c, i, j)] = x.arr.get(b, c, Math.floor((i * 13) / oh), Math.floor((j * 17) / ow));
    assertClose(fromTf(evalOps.resizeNearest(x.t, { size: [oh, ow] })), want, `nearest ${oh}x${ow}`, 0);
  }
});

test('reshape and transpose across ranks follow the logical layout', () => {
  const x = input([2, 3, 5, 7]);
  // Reshape never reorders logical data.
  for (const shape of [[2, 3, 35], [6, 5, 7], [2, 105], [0, 3, -1], [2, 3, 7, 5], [1, 2, 3, 5, 7]]) {
    const y = fromTf(evalOps.reshape(x.t, shape));
    assert.deepEqual([...y.data], [...x.arr.data], `reshape to [${shape}]`);
  }
  assert.deepEqual(evalOps.shape(evalOps.reshape(x.t, [0, 3, -1])), [2, 3, 35]);
  const back = evalOps.reshape(evalOps.reshape(x.t, [6, 35]), [2, 3, 5, 7]);
  assertClose(fromTf(back), x.arr, 'rank 4 → 2 → 4', 0);
  assert.throws(() => evalOps.reshape(x.t, [4, -1, 3]), /reshape.*cannot reshape/);
  // Transpose against index arithmetic, for rank 4 (in and out) and rank 3/5.
  const perms: number[][] = [[0, 2, 3, 1], [1, 0, 3, 2], [3, 1, 2, 0], [0, 1, 3, 2]];
  for (const perm of perms) {
    const y = fromTf(evalOps.transpose(x.t, perm));
    const shape = perm.map((p) => x.arr.shape[p]);
    const want = Arr.zeros(shape);
    for (let a = 0; a < shape[0]; a++)
      for (let b = 0; b < shape[1]; b++)
        for (let c = 0; c < shape[2]; c++)
          for (let d = 0; d < shape[3]; d++) {
            const src = [0, 0, 0, 0];
            [a, b, c, d].forEach((v, i) => (src[perm[i]] = v));
            want.data[want.idx(a, b, c, d)] = x.arr.get(...src);
          }
    assertClose(y, want, `transpose [${perm}]`, 0);
  }
  const r3 = evalOps.reshape(x.t, [2, 3, 35]);
  const t3 = fromTf(evalOps.transpose(r3, [0, 2, 1])); // [2, 35, 3]
  assert.equal(t3.data[(1 * 35 + 4) * 3 + 2], x.arr.data[(1 * 3 + 2) * 35 + 4]);
  const r5 = evalOps.reshape(x.t, [2, 3, 5, 7, 1]);
  const t5 = evalOps.transpose(r5, [4, 0, 1, 2, 3]);
  assertClose(fromTf(evalOps.reshape(t5, [2, 3, 5, 7])), x.arr, 'rank 5 round trip', 0);
});

test('elementwise broadcasting of rank 4 against lower ranks, numbers and rank 5', () => {
  const x = input([2, 3, 5, 7]);
  const c = input([3, 1, 1]);
  const w = input([7]);
  const hw = input([5, 7]);
  const y = fromTf(evalOps.add(evalOps.mul(x.t, c.t), evalOps.sub(w.t, evalOps.div(hw.t, 2))));
  const want = Arr.zeros([2, 3, 5, 7]);
  for (let n = 0; n < 2; n++)
    for (let ch = 0; ch < 3; ch++)
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 7; j++) want.data[want.idx(n, ch, i, j)] = x.arr.get(n, ch, i, j) * c.arr.data[ch] + (w.arr.data[j] - hw.arr.get(i, j) / 2);
  assertClose(y, want, 'x·c + (w − hw/2)');
  const p = fromTf(evalOps.pow(evalOps.maximum(x.t, 0), 2));
  assertClose(p, { shape: [2, 3, 5, 7], data: x.arr.data.map((v) => Math.max(v, 0) ** 2) }, 'pow(max(x, 0), 2)');
  const m = fromTf(evalOps.minimum(1, x.t));
  assertClose(m, { shape: [2, 3, 5, 7], data: x.arr.data.map((v) => Math.min(1, v)) }, 'minimum(1, x)');
  const five = input([4, 1, 3, 1, 1]);
  const z = fromTf(evalOps.mul(x.t, five.t)); // [4, 2, 3, 5, 7]
  assert.deepEqual(z.shape, [4, 2, 3, 5, 7]);
  assert.ok(Math.abs(z.data[(((3 * 2 + 1) * 3 + 2) * 5 + 4) * 7 + 6] - x.arr.get(1, 2, 4, 6) * five.arr.data[3 * 3 + 2]) < 1e-5);
  assert.throws(() => evalOps.add(x.t, input([4]).t), /add: shapes \[2, 3, 5, 7\] and \[4\] do not broadcast/);
});

test('matmul: rank-4 batches, broadcasting and transposes', () => {
  const a = input([2, 3, 5, 4]);
  const b = input([1, 3, 6, 4]); // used transposed
  const y = fromTf(evalOps.matmul(a.t, b.t, { transposeB: true }));
  const want = Arr.zeros([2, 3, 5, 6]);
  for (let n = 0; n < 2; n++)
    for (let h = 0; h < 3; h++)
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 6; j++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += a.arr.get(n, h, i, k) * b.arr.get(0, h, j, k);
          want.data[want.idx(n, h, i, j)] = s;
        }
  assertClose(y, want, 'a·bᵀ');
  const m = input([5, 2]);
  const y2 = fromTf(evalOps.matmul(a.t, m.t, { transposeA: true })); // aᵀ [2,3,4,5] × [5,2]
  const want2 = Arr.zeros([2, 3, 4, 2]);
  for (let n = 0; n < 2; n++)
    for (let h = 0; h < 3; h++)
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 2; j++) {
          let s = 0;
          for (let k = 0; k < 5; k++) s += a.arr.get(n, h, k, i) * m.arr.get(k, j);
          want2.data[want2.idx(n, h, i, j)] = s;
        }
  assertClose(y2, want2, 'aᵀ·m');
  assert.throws(() => evalOps.matmul(a.t, m.t), /matmul: .* do not match/);
});

test('slice, concat, split and pad on logical axes', () => {
  const x = input([2, 3, 13, 17]);
  const s = fromTf(evalOps.slice(x.t, [1, -5, 3], [3, 100, -2], [1, 2, 3]));
  assert.deepEqual(s.shape, [2, 2, 5, 12]);
  assert.equal(s.data[((1 * 2 + 1) * 5 + 4) * 12 + 11], x.arr.get(1, 2, 12, 14));
  const parts = evalOps.split(x.t, [1, 2], 1);
  assert.deepEqual(parts.map((p) => evalOps.shape(p)), [[2, 1, 13, 17], [2, 2, 13, 17]]);
  assertClose(fromTf(evalOps.concat([parts[1], parts[0]], 1)), fromTf(evalOps.concat([evalOps.slice(x.t, [1], [3], [1]), evalOps.slice(x.t, [0], [1], [1])], -3)), 'concat', 0);
  const hParts = evalOps.split(x.t, [6, 7], 2);
  assertClose(fromTf(evalOps.concat(hParts, 2)), x.arr, 'split/concat H', 0);
  const r3 = input([2, 4, 5]);
  assert.deepEqual(evalOps.split(r3.t, [1, 3], -2).map((p) => evalOps.shape(p)), [[2, 1, 5], [2, 3, 5]]);
  // pad: constant, reflect (numpy 'reflect'), edge (replicate), [top, left, bottom, right]
  const pads: [number, number, number, number] = [2, 1, 3, 4];
  const src = (i: number, n: number, mode: string) => {
    if (mode === 'edge') return Math.min(Math.max(i, 0), n - 1);
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
  };
  for (const mode of ['constant', 'reflect', 'edge'] as const) {
    const want = Arr.zeros([2, 3, 13 + 5, 17 + 5]);
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < 18; i++)
          for (let j = 0; j < 22; j++) {
            const yi = i - 2;
            const xj = j - 1;
            const inside = yi >= 0 && yi < 13 && xj >= 0 && xj < 17;
            want.data[want.idx(n, c, i, j)] = mode === 'constant' ? (inside ? x.arr.get(n, c, yi, xj) : 0.5) : x.arr.get(n, c, src(yi, 13, mode), src(xj, 17, mode));
          }
    assertClose(fromTf(evalOps.pad(x.t, pads, mode, 0.5)), want, `pad ${mode}`, 0);
  }
});

test('softmax, logSoftmax, reductions, argmax and l2Normalize on logical axes', () => {
  const x = input([2, 3, 5, 7]);
  for (const axis of [1, 2, -1]) {
    const a = axis < 0 ? axis + 4 : axis;
    const sm = fromTf(evalOps.softmax(x.t, axis));
    const lsm = fromTf(evalOps.logSoftmax(x.t, axis));
    const sum = fromTf(evalOps.reduceSum(x.t, [axis]));
    const mean = fromTf(evalOps.reduceMean(x.t, [axis], true));
    const max = fromTf(evalOps.reduceMax(x.t, [axis]));
    const am = fromTf(evalOps.argmax(x.t, axis));
    const l2 = fromTf(evalOps.l2Normalize(x.t, axis));
    const reducedShape = x.arr.shape.filter((_, i) => i !== a);
    assert.deepEqual(sum.shape, reducedShape);
    assert.deepEqual(mean.shape, x.arr.shape.map((d, i) => (i === a ? 1 : d)));
    const red = new Arr(reducedShape, sum.data);
    const len = x.arr.shape[a];
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++)
        for (let h = 0; h < 5; h++)
          for (let w = 0; w < 7; w++) {
            const at = [n, c, h, w];
            if (at[a] !== 0) continue;
            const vals = Array.from({ length: len }, (_, k) => x.arr.get(...at.map((v, i) => (i === a ? k : v))));
            const mx = Math.max(...vals);
            const z = vals.reduce((s, v) => s + Math.exp(v - mx), 0);
            const nrm = Math.sqrt(vals.reduce((s, v) => s + v * v, 0));
            const rIdx = red.idx(...at.filter((_, i) => i !== a));
            assert.ok(Math.abs(sum.data[rIdx] - vals.reduce((s, v) => s + v, 0)) < 1e-4);
            assert.ok(Math.abs(max.data[rIdx] - mx) < 1e-6);
            assert.equal(am.data[rIdx], vals.indexOf(mx));
            assert.ok(Math.abs(mean.data[new Arr(mean.shape, mean.data).idx(...at)] - vals.reduce((s, v) => s + v, 0) / len) < 1e-5);
            for (let k = 0; k < len; k++) {
              const full = x.arr.idx(...at.map((v, i) => (i === a ? k : v)));
              assert.ok(Math.abs(sm.data[full] - Math.exp(vals[k] - mx) / z) < 1e-5, `softmax axis ${axis}`);
              assert.ok(Math.abs(lsm.data[full] - (vals[k] - mx - Math.log(z))) < 1e-4, `logSoftmax axis ${axis}`);
              assert.ok(Math.abs(l2.data[full] - vals[k] / Math.max(nrm, 1e-12)) < 1e-5, `l2Normalize axis ${axis}`);
            }
          }
  }
  // Several axes at once, keepDims false on H and W only: logical [N, C] order.
  const hw = fromTf(evalOps.reduceMean(x.t, [2, 3]));
  assert.deepEqual(hw.shape, [2, 3]);
  const m12 = Array.from({ length: 35 }, (_, k) => x.arr.get(1, 2, Math.floor(k / 7), k % 7)).reduce((s, v) => s + v, 0) / 35;
  assert.ok(Math.abs(hw.data[5] - m12) < 1e-5);
  const nh = fromTf(evalOps.reduceSum(x.t, [0, 2]));
  assert.deepEqual(nh.shape, [3, 7]);
  // argmax: first index on ties, float values, keepDims.
  const ties = evalOps.constant([1, 3, 3, 0, 2, 2, 2, 1], [2, 4, 1, 1]);
  const ai = fromTf(evalOps.argmax(ties, 1, true));
  assert.deepEqual(ai.shape, [2, 1, 1, 1]);
  assert.deepEqual([...ai.data], [1, 0]);
  // l2Normalize eps: a zero vector stays zero.
  const zero = fromTf(evalOps.l2Normalize(evalOps.constant([0, 0, 0], [1, 3]), 1));
  assert.deepEqual([...zero.data], [0, 0, 0]);
});

test('patchSplit / patchMerge: layout of patches, zero padding, round trip', () => {
  const x = input([2, 3, 13, 17]);
  const k = 3;
  const ph = Math.ceil(13 / k);
  const pw = Math.ceil(17 / k);
  const p = fromTf(evalOps.patchSplit(x.t, k));
  assert.deepEqual(p.shape, [2 * k * k, 3, ph, pw]);
  const pa = new Arr(p.shape, p.data);
  for (let n = 0; n < 2; n++)
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++)
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < ph; y++)
            for (let xx = 0; xx < pw; xx++) {
              const gy = i * ph + y;
              const gx = j * pw + xx;
              const want = gy < 13 && gx < 17 ? x.arr.get(n, c, gy, gx) : 0;
              assert.equal(pa.get((n * k + i) * k + j, c, y, xx), want);
            }
  assertClose(fromTf(evalOps.patchMerge(evalOps.patchSplit(x.t, k), k, x.t)), x.arr, 'merge(split(x))', 0);
  assertClose(fromTf(evalOps.patchMerge(evalOps.patchSplit(x.t, 1), 1, x.t)), x.arr, 'k = 1', 0);
});

test('batch norm: batch statistics, running-stat updates (unbiased var), frozen and eval modes', () => {
  const shape = [2, 3, 5, 7];
  const x = input(shape, 2);
  const gamma = rand([3]);
  const beta = rand([3]);
  const rm = rand([3]);
  const rv = Float32Array.from(rand([3]), (v) => 1 + Math.abs(v));
  const values: ParamValues = new Map([
    ['bn.weight', { shape: [3], data: gamma }],
    ['bn.bias', { shape: [3], data: beta }],
    ['bn.running_mean', { shape: [3], data: rm }],
    ['bn.running_var', { shape: [3], data: rv }],
  ]);
  const params = new TfjsParams(values);
  assert.deepEqual(params.trainableNames(), ['bn.weight', 'bn.bias']);
  const p = { weight: ref('bn.weight'), bias: ref('bn.bias'), runningMean: ref('bn.running_mean'), runningVar: ref('bn.running_var') };
  const eps = 1e-5;
  const m = 0.1;
  const count = 2 * 5 * 7;
  const mean = [0, 1, 2].map((c) => {
    let s = 0;
    for (let n = 0; n < 2; n++) for (let i = 0; i < 35; i++) s += x.arr.data[(n * 3 + c) * 35 + i];
    return s / count;
  });
  const varB = [0, 1, 2].map((c) => {
    let s = 0;
    for (let n = 0; n < 2; n++) for (let i = 0; i < 35; i++) s += (x.arr.data[(n * 3 + c) * 35 + i] - mean[c]) ** 2;
    return s / count;
  });
  const norm = (ms: number[], vs: number[]) => x.arr.data.map((v, i) => {
    const c = Math.floor(i / 35) % 3;
    return ((v - ms[c]) / Math.sqrt(vs[c] + eps)) * gamma[c] + beta[c];
  });
  const train = new TfjsOps(params, { training: true });
  assertClose(fromTf(train.batchNorm(x.t, p)), { shape, data: norm(mean, varB) }, 'training output');
  const wantRm = [0, 1, 2].map((c) => (1 - m) * rm[c] + m * mean[c]);
  const wantRv = [0, 1, 2].map((c) => (1 - m) * rv[c] + (m * varB[c] * count) / (count - 1));
  assertClose(fromTf(train.pendingStateUpdates.get('bn.running_mean')!), { shape: [3], data: wantRm }, 'running mean');
  assertClose(fromTf(train.pendingStateUpdates.get('bn.running_var')!), { shape: [3], data: wantRv }, 'running var');
  // Buffers are unchanged until the update is committed.
  assertClose(fromTf(params.get('bn.running_mean')), { shape: [3], data: rm }, 'not yet committed', 0);
  // Frozen BN in training uses running statistics and records nothing new.
  train.discardStateUpdates();
  assertClose(fromTf(train.batchNorm(x.t, p, { frozen: true })), { shape, data: norm([...rm], [...rv]) }, 'frozen');
  assert.equal(train.pendingStateUpdates.size, 0);
  // Two applications in one step update in sequence; commit writes the buffers.
  train.batchNorm(x.t, p);
  train.batchNorm(x.t, p);
  train.commitStateUpdates();
  const twice = [0, 1, 2].map((c) => (1 - m) * wantRm[c] + m * mean[c]);
  assertClose(fromTf(params.get('bn.running_mean')), { shape: [3], data: twice }, 'two updates committed');
  const evalMode = new TfjsOps(params, { training: false });
  const after = fromTf(params.get('bn.running_var')).data;
  assertClose(fromTf(evalMode.batchNorm(x.t, p)), { shape, data: norm(twice, [...after]) }, 'eval uses running stats');
  params.dispose();
});

test('parameter store: PyTorch layouts round trip, trainable flags from the module, load', () => {
  class Net extends Module {
    conv = this.child('conv', new Conv2d(3, 4, 3, { padding: 1 }));
    bn = this.child('bn', new BatchNorm2d(4));
  }
  const net = new Net().finalise();
  net.setTrainable('conv.bias', false);
  const values = initialiseAll(net, 7);
  const params = new TfjsParams(values, net);
  assert.deepEqual(params.get('conv.weight').shape, [3, 3, 3, 4]); // HWIO
  assert.deepEqual(params.trainableNames(), ['conv.weight', 'bn.weight', 'bn.bias']);
  for (const [name, v] of params.toParamValues()) {
    assert.deepEqual(v.shape, values.get(name)!.shape, name);
    assert.deepEqual([...v.data], [...values.get(name)!.data], name);
  }
  net.setTrainable('**', false);
  params.syncTrainable(net);
  assert.deepEqual(params.trainableNames(), []);
  const fresh = initialiseAll(net, 8);
  params.load(fresh, 'ckpt.safetensors');
  assert.deepEqual([...params.toParamValues().get('conv.weight')!.data], [...fresh.get('conv.weight')!.data]);
  assert.throws(() => params.load(new Map([['nope', { shape: [1], data: new Float32Array(1) }]]), 'ckpt.safetensors'), /ckpt.safetensors: unexpected tensor 'nope'/);
  const missing = new Map(values);
  missing.delete('bn.running_var');
  assert.throws(() => new TfjsParams(missing, net, 'model.safetensors'), /model.safetensors: .*missing tensor 'bn.running_var'/s);
  params.dispose();
});

test('gradients: conv + bn + pool + resize net gives finite non-zero grads; stopGradient blocks', () => {
  class Net extends Module {
    conv1 = this.child('conv1', new Conv2d(3, 4, 3, { padding: [1, 0, 2, 1] }));
    bn = this.child('bn', new BatchNorm2d(4));
    conv2 = this.child('conv2', new Conv2d(4, 4, 3, { padding: 1, groups: 2 }));
  }
  const net = new Net().finalise();
  const params = new TfjsParams(initialiseAll(net, 3), net);
  const ops = new TfjsOps(params, { training: true, seed: 5 });
  const x = input([2, 3, 13, 17]);
  const loss = () =>
    tf.tidy(() => {
      let h = net.conv1.forward(ops, x.t);
      h = ops.relu(net.bn.forward(ops, h));
      h = ops.maxPool(h, { kernel: 3, stride: 2, padding: 1, ceilMode: true });
      h = net.conv2.forward(ops, h);
      h = ops.avgPool(h, { kernel: 2, stride: 2, ceilMode: true, countIncludePad: false });
      h = ops.resizeBilinear(h, { size: [13, 17] }, false);
      h = ops.dropout(h, 0.2);
      const y = ops.reduceMean(ops.mul(h, h), [0, 1, 2, 3]);
      return y as unknown as tf.Scalar;
    });
  const { value, grads } = tf.variableGrads(loss, params.trainableVariables());
  assert.ok(Number.isFinite(value.dataSync()[0]));
  const names = params.trainableNames();
  assert.equal(Object.keys(grads).length, names.length);
  for (const [i, v] of params.trainableVariables().entries()) {
    const g = grads[v.name].dataSync();
    assert.deepEqual(grads[v.name].shape, v.shape, names[i]);
    assert.ok(g.every(Number.isFinite), `${names[i]}: finite`);
    assert.ok(g.some((e) => e !== 0), `${names[i]}: non-zero`);
  }
  tf.dispose([value, ...Object.values(grads)]);
  ops.discardStateUpdates();
  // Conv gradient with asymmetric padding against central differences on one weight.
  const w = params.get('conv1.weight');
  const f = () => tf.tidy(() => tf.sum(tf.square(net.conv1.forward(ops, x.t) as unknown as tf.Tensor)) as tf.Scalar);
  const g = tf.variableGrads(f, [w]).grads[w.name];
  const flat = w.dataSync().slice();
  const probe = 17;
  const h = 1e-2;
  const at = (delta: number) => {
    const d = flat.slice();
    d[probe] += delta;
    w.assign(tf.tensor(d, w.shape));
    return f().dataSync()[0];
  };
  const numeric = (at(h) - at(-h)) / (2 * h);
  w.assign(tf.tensor(flat, w.shape));
  assert.ok(Math.abs(numeric - g.dataSync()[probe]) <= 1e-2 * Math.max(1, Math.abs(numeric)), `conv grad ${g.dataSync()[probe]} vs numeric ${numeric}`);
  // stopGradient: no gradient flows to the input.
  const z = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(ops.stopGradient(xi as unknown as Tensor) as unknown as tf.Tensor, xi)))(x.t as unknown as tf.Tensor);
  assertClose(fromTf(z), x.arr, 'd/dx Σ stop(x)·x = x', 1e-6);
  params.dispose();
});

test('dropout: identity in eval, seeded inverted dropout in training', () => {
  const x = input([2, 3, 13, 17]);
  assert.deepEqual([...fromTf(evalOps.dropout(x.t, 0.5)).data], [...x.arr.data]);
  const a = new TfjsOps(noParams, { training: true, seed: 9 });
  const b = new TfjsOps(noParams, { training: true, seed: 9 });
  const ya = fromTf(a.dropout(x.t, 0.25)).data;
  const yb = fromTf(b.dropout(x.t, 0.25)).data;
  assert.deepEqual([...ya], [...yb], 'same seed, same mask');
  const ya2 = fromTf(a.dropout(x.t, 0.25)).data;
  assert.notDeepEqual([...ya2], [...ya], 'next call draws a new mask');
  let dropped = 0;
  for (let i = 0; i < ya.length; i++) {
    if (ya[i] === 0) dropped++;
    else assert.ok(Math.abs(ya[i] - x.arr.data[i] / 0.75) < 1e-5);
  }
  const frac = dropped / ya.length;
  assert.ok(frac > 0.18 && frac < 0.32, `dropped fraction ${frac}`);
});
