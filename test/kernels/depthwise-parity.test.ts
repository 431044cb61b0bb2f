// Parity of our depthwise-convolution kernels with tfjs's stock CPU kernels: forward (plain and
// fused with bias + activation) for strides 1/2, dilations 1/2/4 and all padding kinds, and the
// two backprop kernels at dilation 1 (the stock ones ignore dilation; dilated gradients are
// covered by dilated-gradients.test.ts). Criterion: relative error ≤ 1e-4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { fastBackends, on, relErr, tensor } from './helpers.ts';

const backends = await fastBackends();
const TOL = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const pads: Pad[] = ['same', 'valid', [[0, 0], [1, 0], [2, 1], [0, 0]]];

for (const [stride, dilation] of [[1, 1], [2, 1], [1, 2], [1, 4]])
  for (const pad of pads)
    for (const [batch, mult] of [[1, 1], [3, 2]]) {
      const label = `n${batch} ×${mult} s${stride} d${dilation} pad ${typeof pad === 'string' ? pad : 'explicit'}`;
      test(`depthwise parity: ${label}`, async () => {
        const xShape = [batch, 13, 11, 6];
        const wShape = [3, 3, 6, mult];
        const forward = () => {
          const x = tensor(xShape, 1) as tf.Tensor4D;
          const w = tensor(wShape, 2) as tf.Tensor4D;
          const b = tensor([6 * mult], 3);
          return [
            tf.depthwiseConv2d(x, w, stride, pad, 'NHWC', dilation),
            // (its typing omits explicit pads; the op passes them through to computeConv2DInfo)
            tf.fused.depthwiseConv2d({ x, filter: w, bias: b, strides: stride, pad: pad as 'same', dilations: dilation, activation: 'relu' }),
          ];
        };
        const backprop = () => {
          const x = tensor(xShape, 1) as tf.Tensor4D;
          const w = tensor(wShape, 2) as tf.Tensor4D;
          const y = tf.depthwiseConv2d(x, w, stride, pad);
          const dy = tensor(y.shape, 5);
          const attrs = { strides: stride, pad, dilations: 1, dimRoundingMode: undefined };
          return [
            tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xShape } as never) as tf.Tensor,
            tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: wShape } as never) as tf.Tensor,
          ];
        };
        const ref = await on('cpu', forward);
        const refBack = dilation === 1 ? await on('cpu', backprop) : null;
        for (const backend of backends) {
          const got = await on(backend, forward);
          assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend} DepthwiseConv2dNative: ${relErr(got[0], ref[0])}`);
          assert.ok(relErr(got[1], ref[1]) <= TOL, `${backend} FusedDepthwiseConv2D: ${relErr(got[1], ref[1])}`);
          if (refBack) {
            const b = await on(backend, backprop);
            assert.ok(relErr(b[0], refBack[0]) <= TOL, `${backend} backprop input: ${relErr(b[0], refBack[0])}`);
            assert.ok(relErr(b[1], refBack[1]) <= TOL, `${backend} backprop filter: ${relErr(b[1], refBack[1])}`);
          }
        }
      });
    }
