// Parity of our dense-convolution kernels (forward, fused forward, both gradients) with tfjs's
// stock CPU kernels, over strides 1 and 2, dilations 1, 2 and 4, 'same' / 'valid' / explicit
// padding, odd sizes, batch 1 and 3. Criterion (issue 3): relative error ≤ 1e-4.
// Gradients of dilated convolutions have no stock kernel: there the reference is the stock
// backend differentiating through our space-to-batch gradient (dilated-gradients.test.ts checks
// that one against finite differences).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dFused } from '../../train/kernels/fused-ops.ts';
import { fastBackends, on, relErr, tensor } from './helpers.ts';

const backends = await fastBackends();
const TOL = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: [number, number];
  stride: number;
  dilation: number;
  pad: Pad;
}

const pads: Pad[] = ['same', 'valid', [[0, 0], [1, 2], [2, 0], [0, 0]]];
const cases: Case[] = [];
for (const [stride, dilation] of [[1, 1], [2, 1], [1, 2], [1, 4]])
  for (const pad of pads)
    for (const batch of [1, 3])
      cases.push({ batch, h: 13, w: 11, cin: batch === 1 ? 5 : 19, cout: batch === 1 ? 7 : 33, k: [3, 3], stride, dilation, pad });
// shapes the tiling treats specially: 1x1 (pointwise / strided), wide channel counts, 5x3 kernels
cases.push({ batch: 3, h: 9, w: 7, cin: 40, cout: 70, k: [1, 1], stride: 1, dilation: 1, pad: 'valid' });
cases.push({ batch: 2, h: 9, w: 7, cin: 24, cout: 12, k: [1, 1], stride: 2, dilation: 1, pad: 'same' });
cases.push({ batch: 2, h: 15, w: 14, cin: 3, cout: 16, k: [5, 3], stride: 2, dilation: 1, pad: 'same' });
cases.push({ batch: 1, h: 6, w: 6, cin: 300, cout: 20, k: [3, 3], stride: 1, dilation: 1, pad: 'same' });
// 7x7 on 6 channels: merged runs of whole filter rows, cut by the 256-deep packing blocks
cases.push({ batch: 2, h: 12, w: 11, cin: 6, cout: 10, k: [7, 7], stride: 2, dilation: 1, pad: 'same' });

const name = (c: Case) =>
  `n${c.batch} ${c.h}x${c.w}x${c.cin}→${c.cout} k${c.k.join('x')} s${c.stride} d${c.dilation} pad ${typeof c.pad === 'string' ? c.pad : 'explicit'}`;

for (const c of cases) {
  test(`conv2d parity: ${name(c)}`, async () => {
    const xShape = [c.batch, c.h, c.w, c.cin];
    const wShape = [c.k[0], c.k[1], c.cin, c.cout];
    const forward = () => {
      const x = tensor(xShape, 1) as tf.Tensor4D;
      const w = tensor(wShape, 2) as tf.Tensor4D;
      const b = tensor([c.cout], 3);
      const y = tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation);
      const fused = tf.fused.conv2d({ x, filter: w, bias: b, strides: c.stride, pad: c.pad, dilations: c.dilation, activation: 'relu' });
      return [y, fused];
    };
    const gradients = () => {
      const x = tensor(xShape, 1) as tf.Tensor4D;
      const w = tensor(wShape, 2) as tf.Tensor4D;
      const b = tensor([c.cout], 3);
      const probe = tf.tidy(() => tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation));
      const r = tensor(probe.shape, 4);
      probe.dispose();
      // a loss whose gradient w.r.t. the conv output is the random tensor r (through ReLU)
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2dFused({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: c.stride, pad: c.pad, dilations: c.dilation, activation: 'relu' }), r));
      return tf.grads(f)([x, w, b]);
    };
    const ref = await on('cpu', forward);
    const refGrads = await on('cpu', gradients);
    // stock backprop kernels directly (dilation 1 only: they have no dilation)
    const direct = () => {
      const x = tensor(xShape, 1) as tf.Tensor4D;
      const w = tensor(wShape, 2) as tf.Tensor4D;
      const y = tf.conv2d(x, w, c.stride, c.pad);
      const dy = tensor(y.shape, 5);
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xShape } as never) as tf.Tensor;
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: wShape } as never) as tf.Tensor;
      return [dx, dw];
    };
    const refDirect = c.dilation === 1 ? await on('cpu', direct) : null;
    for (const backend of backends) {
      const got = await on(backend, forward);
      assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend} Conv2D: rel err ${relErr(got[0], ref[0])}`);
      assert.ok(relErr(got[1], ref[1]) <= TOL, `${backend} FusedConv2D: rel err ${relErr(got[1], ref[1])}`);
      const grads = await on(backend, gradients);
      ['dx', 'dw', 'db'].forEach((what, i) =>
        assert.ok(relErr(grads[i], refGrads[i]) <= TOL, `${backend} ${what}: rel err ${relErr(grads[i], refGrads[i])}`),
      );
      if (refDirect) {
        const d = await on(backend, direct);
        assert.ok(relErr(d[0], refDirect[0]) <= TOL, `${backend} Conv2DBackpropInput: rel err ${relErr(d[0], refDirect[0])}`);
        assert.ok(relErr(d[1], refDirect[1]) <= TOL, `${backend} Conv2DBackpropFilter: rel err ${relErr(d[1], refDirect[1])}`);
      }
    }
  });
}

test('conv2d gradients on wsss-cpu agree with tfjs stock gradients of the unfused ops', async () => {
  // dilation 1: tfjs's own Conv2D/Add/Relu gradients on the stock backend are an independent
  // reference for our FusedConv2D gradient config
  const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    const r = tensor([3, 7, 6, 9], 14);
    return tf.sum(tf.mul(tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), b)), r));
  };
  const g = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    const r = tensor([3, 7, 6, 9], 14);
    return tf.sum(tf.mul(conv2dFused({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: 2, pad: 'same', activation: 'relu' }), r));
  };
  const inputs = () => [tensor([3, 13, 11, 4], 11), tensor([3, 3, 4, 9], 12), tensor([9], 13)];
  const ref = await on('cpu', () => tf.grads(f)(inputs()));
  for (const backend of backends) {
    const got = await on(backend, () => tf.grads(g)(inputs()));
    for (let i = 0; i < 3; i++) assert.ok(relErr(got[i], ref[i]) <= TOL, `${backend} grad ${i}: ${relErr(got[i], ref[i])}`);
  }
});
