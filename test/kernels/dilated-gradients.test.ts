// Gradients through dilated convolutions (tfjs's own gradients refuse dilation > 1 on every
// backend). Two implementations are checked against central finite differences of a float64
// reference convolution: the space-to-batch formulation our gradient config uses on backends
// without our kernels (exercised here on the stock 'cpu' backend, as it would run on tfjs-node),
// and our dilation-aware kernels on wsss-cpu. The loss Σ r ⊙ conv(x, w) is linear in x and in w,
// so a central difference with step 1 is exact up to float64 rounding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv2dFused } from '../../train/kernels/fused-ops.ts';
import { fastBackends, on, randomValues, relErr } from './helpers.ts';

const backends = ['cpu', ...(await fastBackends())];
const TOL = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  depthwise: boolean;
  batch: number;
  h: number;
  w: number;
  cin: number;
  mult: number; // depthwise channel multiplier
  cout: number; // dense only
  k: [number, number];
  dilation: [number, number];
  pad: Pad;
}

/** float64 forward of the same convolution (tfjs's padding rules via computeConv2DInfo). */
function referenceConv(c: Case, x: Float64Array, w: Float64Array): { y: Float64Array; shape: number[] } {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.h, c.w, c.cin], [c.k[0], c.k[1], c.cin, c.depthwise ? c.mult : c.cout], 1, c.dilation, c.pad, undefined, c.depthwise);
  const { outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const y = new Float64Array(c.batch * oh * ow * oc);
  for (let n = 0; n < c.batch; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let kh = 0; kh < c.k[0]; kh++) {
          const ih = i - info.padInfo.top + kh * c.dilation[0];
          if (ih < 0 || ih >= c.h) continue;
          for (let kw = 0; kw < c.k[1]; kw++) {
            const iw = j - info.padInfo.left + kw * c.dilation[1];
            if (iw < 0 || iw >= c.w) continue;
            for (let ci = 0; ci < c.cin; ci++) {
              const xv = x[((n * c.h + ih) * c.w + iw) * c.cin + ci];
              const yo = ((n * oh + i) * ow + j) * oc;
              if (c.depthwise) for (let q = 0; q < c.mult; q++) y[yo + ci * c.mult + q] += xv * w[((kh * c.k[1] + kw) * c.cin + ci) * c.mult + q];
              else for (let o = 0; o < oc; o++) y[yo + o] += xv * w[((kh * c.k[1] + kw) * c.cin + ci) * oc + o];
            }
          }
        }
  return { y, shape: [c.batch, oh, ow, oc] };
}

function loss(c: Case, x: Float64Array, w: Float64Array, r: Float32Array): number {
  const { y } = referenceConv(c, x, w);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

/** Central differences at `count` evenly spread indices of the chosen argument. */
function finiteDifferences(c: Case, x: Float32Array, w: Float32Array, r: Float32Array, which: 'x' | 'w', count: number) {
  const xs = Float64Array.from(x);
  const ws = Float64Array.from(w);
  const v = which === 'x' ? xs : ws;
  const picks: number[] = [];
  for (let i = 0; i < count; i++) picks.push(Math.floor(((i + 0.5) * v.length) / count));
  return picks.map((i) => {
    const keep = v[i];
    v[i] = keep + 1;
    const plus = loss(c, xs, ws, r);
    v[i] = keep - 1;
    const minus = loss(c, xs, ws, r);
    v[i] = keep;
    return { i, value: (plus - minus) / 2 };
  });
}

const cases: Case[] = [];
const pads: Pad[] = ['same', 'valid', [[0, 0], [2, 1], [0, 3], [0, 0]]];
for (const depthwise of [false, true])
  for (const dilation of [[2, 2], [4, 4], [2, 3]] as [number, number][])
    for (const pad of pads)
      for (const batch of [1, 3])
        cases.push({ depthwise, batch, h: 13, w: 12, cin: depthwise ? 6 : 5, mult: batch === 1 ? 1 : 2, cout: 7, k: [3, 3], dilation, pad });

const name = (c: Case) =>
  `${c.depthwise ? `depthwise ×${c.mult}` : 'dense'} n${c.batch} d${c.dilation.join(',')} pad ${typeof c.pad === 'string' ? c.pad : 'explicit'}`;

for (const c of cases) {
  test(`dilated gradient vs finite differences: ${name(c)}`, async () => {
    const xShape = [c.batch, c.h, c.w, c.cin];
    const wShape = [c.k[0], c.k[1], c.cin, c.depthwise ? c.mult : c.cout];
    const xv = randomValues(xShape.reduce((p, d) => p * d), 21);
    const wv = randomValues(wShape.reduce((p, d) => p * d), 22);
    const outShape = referenceConv(c, new Float64Array(xv.length), new Float64Array(wv.length)).shape;
    const rv = randomValues(outShape.reduce((p, d) => p * d), 23);
    const fdX = finiteDifferences(c, xv, wv, rv, 'x', 40);
    const fdW = finiteDifferences(c, xv, wv, rv, 'w', 40);
    const scaleX = Math.max(...fdX.map((d) => Math.abs(d.value)));
    const scaleW = Math.max(...fdW.map((d) => Math.abs(d.value)));
    let first: Float32Array[] | undefined;
    for (const backend of backends) {
      const [gx, gw] = await on(backend, () => {
        const f = (x: tf.Tensor, w: tf.Tensor) => {
          const y = c.depthwise
            ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad, 'NHWC', c.dilation)
            : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad, 'NHWC', c.dilation);
          return tf.sum(tf.mul(y, tf.tensor(rv, outShape)));
        };
        return tf.grads(f)([tf.tensor(xv, xShape), tf.tensor(wv, wShape)]);
      });
      for (const d of fdX) assert.ok(Math.abs(gx[d.i] - d.value) <= TOL * scaleX, `${backend} dx[${d.i}] ${gx[d.i]} vs ${d.value}`);
      for (const d of fdW) assert.ok(Math.abs(gw[d.i] - d.value) <= TOL * scaleW, `${backend} dw[${d.i}] ${gw[d.i]} vs ${d.value}`);
      // and the complete gradients of every backend agree with each other
      if (!first) first = [gx, gw];
      else {
        assert.ok(relErr(gx, first[0]) <= TOL, `${backend} dx vs ${backends[0]}: ${relErr(gx, first[0])}`);
        assert.ok(relErr(gw, first[1]) <= TOL, `${backend} dw vs ${backends[0]}: ${relErr(gw, first[1])}`);
      }
    }
  });
}

test('fused depthwise convolution with bias and relu6: gradients agree across backends', async () => {
  const run = () => {
    const x = tf.tensor(randomValues(2 * 11 * 9 * 8, 31), [2, 11, 9, 8]) as tf.Tensor4D;
    const w = tf.tensor(randomValues(3 * 3 * 8 * 2, 32), [3, 3, 8, 2]) as tf.Tensor4D;
    const b = tf.tensor(randomValues(16, 33), [16]);
    const r = tf.tensor(randomValues(2 * 11 * 9 * 16, 34), [2, 11, 9, 16]);
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(depthwiseConv2dFused({ x: tf.mul(x, 4) as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, pad: 'same', dilations: 2, activation: 'relu6' }), r));
    return tf.grads(f)([x, w, b]);
  };
  const ref = await on('cpu', run);
  for (const backend of backends.slice(1)) {
    const got = await on(backend, run);
    for (let i = 0; i < 3; i++) assert.ok(relErr(got[i], ref[i]) <= TOL, `${backend} grad ${i}: ${relErr(got[i], ref[i])}`);
  }
});
