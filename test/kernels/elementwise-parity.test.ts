// Parity of our element-wise kernels with tfjs's stock ones: broadcasting binary operators,
// Sum / Mean / Max over contiguous axis blocks (and the stock fallback for other axes), and
// WsssActivationGrad against its tfjs-op formulation. Criterion: relative error ≤ 1e-4 (binary
// operators are exact up to float32 rounding).

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
  { shape: [2, 300, 7], axis: [1], keepDims: false }, // middle block: split across tasks
  { shape: [16, 8, 8, 128], axis: [1, 2], keepDims: true }, // global average pooling
  { shape: [70000], axis: 0, keepDims: false }, // one long sum
];

const binaries = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum, squaredDifference: tf.squaredDifference } as const;
const pairs: [number[], number[]][] = [
  [[3, 17, 9, 33], [3, 17, 9, 33]], // same shape
  [[3, 17, 9, 33], [33]], // per-channel (bias, batch-norm)
  [[3, 1, 1, 33], [3, 17, 9, 33]], // per-image-and-channel (global pooling gradient)
  [[5, 7], []], // scalar
  [[], [4, 6]],
  [[4, 1, 6], [1, 5, 1]], // both broadcast
  [[2, 3, 1, 5, 1, 4], [3, 2, 5, 7, 1]],
  [[40000], [40000]], // long rows: split inside the row
];
for (const [sa, sb] of pairs)
  for (const [label, op] of Object.entries(binaries))
    test(`${label} parity: [${sa}] with [${sb}]`, async () => {
      const run = () => op(tensor(sa, 5), tf.add(tensor(sb, 6), label === 'div' ? 2.5 : 0));
      const ref = await on('cpu', run);
      for (const backend of backends) {
        const got = await on(backend, run);
        assert.ok(relErr(got[0], ref[0]) <= 1e-6, `${backend}: ${relErr(got[0], ref[0])}`);
      }
    });

test('maximum and minimum propagate NaN as tfjs does', async () => {
  const run = () => [tf.maximum(tf.tensor([NaN, 1, 2]), tf.tensor([0, NaN, 1])), tf.minimum(tf.tensor([NaN, 1, 2]), tf.tensor([0, NaN, 1]))];
  const plain = (v: Float32Array[]) => v.map((a) => Array.from(a)); // NaN payloads may differ; NaN-ness must not
  const ref = plain(await on('cpu', run));
  for (const backend of backends) assert.deepEqual(plain(await on(backend, run)), ref);
});

const reducers = { sum: tf.sum, mean: tf.mean, max: tf.max } as const;
for (const s of sums)
  for (const [label, reduce] of Object.entries(reducers))
  test(`${label} parity: [${s.shape}] over ${JSON.stringify(s.axis)}${s.keepDims ? ', keepDims' : ''}`, async () => {
    const run = () => reduce(tensor(s.shape, 7), s.axis, s.keepDims);
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

const unaries: [string, (x: tf.Tensor) => tf.Tensor][] = [
  ['relu', tf.relu], ['relu6', tf.relu6], ['leakyRelu', (x) => tf.leakyRelu(x, 0.3)], ['step', (x) => tf.step(x, 0.25)],
  ['neg', tf.neg], ['square', tf.square], ['abs', tf.abs], ['sqrt', (x) => tf.sqrt(tf.abs(x))], ['rsqrt', (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1))],
  ['exp', tf.exp], ['log', (x) => tf.log(tf.add(tf.abs(x), 0.1))], ['sigmoid', tf.sigmoid], ['tanh', tf.tanh], ['elu', tf.elu],
];
for (const [name, f] of unaries)
  test(`unary parity: ${name}`, async () => {
    const run = () => f(tf.mul(tensor([3, 11, 7, 5], 21), 4));
    const ref = await on('cpu', run);
    for (const backend of backends) {
      const got = await on(backend, run);
      assert.ok(relErr(got[0], ref[0]) <= 1e-6, `${backend}: ${relErr(got[0], ref[0])}`);
    }
  });

test('batchNorm forward parity (per-channel and scalar statistics, with and without affine)', async () => {
  const run = () => [
    tf.batchNorm(tensor([3, 5, 4, 6], 22), tensor([6], 23), tf.add(tf.abs(tensor([6], 24)), 0.1), tensor([6], 25), tensor([6], 26), 1e-3),
    tf.batchNorm(tensor([3, 5, 4, 6], 22), tf.scalar(0.3), tf.scalar(2), undefined, undefined, 1e-5),
  ];
  const ref = await on('cpu', run);
  for (const backend of backends) {
    const got = await on(backend, run);
    for (let i = 0; i < 2; i++) assert.ok(relErr(got[i], ref[i]) <= 1e-5, `${backend} ${i}: ${relErr(got[i], ref[i])}`);
  }
});
