// Parity of our Sum (leading-axes fast path) and WsssActivationGrad kernels with tfjs's stock
// kernels / tfjs-op formulation. Criterion: relative error ≤ 1e-4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { activationGrad } from '../../train/kernels/gradients.ts';
import { fastBackends, on, relErr, tensor } from './helpers.ts';

const backends = await fastBackends();
const TOL = 1e-4;

const sums: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
  { shape: [3, 17, 9, 33], axis: [0, 1, 2], keepDims: false },
  { shape: [3, 17, 9, 33], axis: [2, 0, 1], keepDims: true },
  { shape: [5, 7, 11], axis: 0, keepDims: false },
  { shape: [4000, 3], axis: [0], keepDims: false },
  { shape: [3, 17, 9, 33], axis: [0, 1, 2, 3], keepDims: false }, // everything
  { shape: [3, 17, 9, 33], axis: [1, 2], keepDims: false }, // not leading: the stock kernel
  { shape: [6, 5], axis: -1, keepDims: true },
];

for (const s of sums)
  test(`Sum parity: [${s.shape}] over ${JSON.stringify(s.axis)}${s.keepDims ? ', keepDims' : ''}`, async () => {
    const run = () => tf.sum(tensor(s.shape, 7), s.axis, s.keepDims);
    const ref = await on('cpu', run);
    const refShape = await (async () => {
      await tf.setBackend('cpu');
      return tf.tidy(run).shape;
    })();
    for (const backend of backends) {
      const got = await on(backend, run);
      assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
      await tf.setBackend(backend);
      assert.deepEqual(tf.tidy(run).shape, refShape);
    }
  });

for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'])
  test(`activation gradient parity: ${activation}`, async () => {
    const run = () => {
      const x = tf.mul(tensor([4, 9, 7, 5], 8), 8);
      const apply = (v: tf.Tensor) =>
        activation === 'linear' ? v : activation === 'relu' ? tf.relu(v) : activation === 'relu6' ? tf.relu6(v)
          : activation === 'leakyrelu' ? tf.leakyRelu(v, 0.3) : activation === 'elu' ? tf.elu(v) : tf.sigmoid(v);
      const dy = tensor([4, 9, 7, 5], 9);
      return activationGrad(dy, apply(x), activation, 0.3);
    };
    const ref = await on('cpu', run); // tfjs ops (no WsssActivationGrad kernel on 'cpu')
    for (const backend of backends) {
      const got = await on(backend, run);
      assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
    }
  });
