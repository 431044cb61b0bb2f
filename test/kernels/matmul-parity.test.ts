// Parity of our BatchMatMul / _FusedMatMul kernels and the fused matmul gradient with tfjs's
// stock CPU kernels and gradients: every transpose combination, odd sizes, broadcast batches,
// per-column and scalar biases, the fused activations. Criterion: relative error ≤ 1e-4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { matMulFused } from '../../train/kernels/fused-ops.ts';
import { fastBackends, on, relErr, tensor } from './helpers.ts';

const backends = await fastBackends();
const TOL = 1e-4;

const shapes: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [];
for (const tA of [false, true])
  for (const tB of [false, true]) {
    const [m, k, n] = [37, 53, 29];
    shapes.push({ a: tA ? [k, m] : [m, k], b: tB ? [n, k] : [k, n], tA, tB });
    shapes.push({ a: tA ? [3, k, m] : [3, m, k], b: tB ? [3, n, k] : [3, k, n], tA, tB }); // batched
    shapes.push({ a: tA ? [2, 3, k, m] : [2, 3, m, k], b: tB ? [n, k] : [k, n], tA, tB }); // b broadcast
    shapes.push({ a: tA ? [k, m] : [m, k], b: tB ? [4, n, k] : [4, k, n], tA, tB }); // a broadcast
  }
shapes.push({ a: [1, 200], b: [200, 1], tA: false, tB: false });
shapes.push({ a: [130, 1], b: [1, 70], tA: false, tB: false });

for (const s of shapes) {
  test(`BatchMatMul parity: [${s.a}]${s.tA ? 'ᵀ' : ''} · [${s.b}]${s.tB ? 'ᵀ' : ''}`, async () => {
    const run = () => tf.matMul(tensor(s.a, 1), tensor(s.b, 2), s.tA, s.tB);
    const ref = await on('cpu', run);
    for (const backend of backends) {
      const got = await on(backend, run);
      assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
    }
  });
}

for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'] as const)
  for (const biasShape of [[29], [1]]) {
    test(`_FusedMatMul parity: ${activation}, bias [${biasShape}]`, async () => {
      const run = () =>
        tf.fused.matMul({ a: tensor([37, 53], 1), b: tensor([29, 53], 2), transposeB: true, bias: tf.mul(tensor(biasShape, 3), 3), activation, leakyreluAlpha: 0.3 });
      const ref = await on('cpu', run);
      for (const backend of backends) {
        const got = await on(backend, run);
        assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
      }
    });
  }

for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]])
  test(`matMulFused gradients agree with tfjs's unfused gradients (transposeA ${tA}, transposeB ${tB})`, async () => {
    const [m, k, n] = [19, 23, 17];
    const inputs = () => [tensor(tA ? [k, m] : [m, k], 1), tensor(tB ? [n, k] : [k, n], 2), tensor([n], 3)];
    const r = () => tensor([m, n], 4);
    const unfused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.add(tf.matMul(a, b, tA, tB), c)), r()));
    const fused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(matMulFused({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, transposeA: tA, transposeB: tB, activation: 'relu' }), r()));
    const ref = await on('cpu', () => tf.grads(unfused)(inputs()));
    for (const backend of ['cpu', ...backends]) {
      const got = await on(backend, () => tf.grads(fused)(inputs()));
      for (let i = 0; i < 3; i++) assert.ok(relErr(got[i], ref[i]) <= TOL, `${backend} grad ${i}: ${relErr(got[i], ref[i])}`);
    }
  });
