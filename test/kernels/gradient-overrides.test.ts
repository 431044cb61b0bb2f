// Our leaner gradients for FusedBatchNorm, Mean and Relu against the same functions written
// with elementary ops whose gradients are tfjs's own (Sub, Add, Mul, Rsqrt, Sum, Step): same
// values on the stock backend and on ours. Criterion: relative error ≤ 1e-4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { fastBackends, on, relErr, tensor } from './helpers.ts';

const backends = ['cpu', ...(await fastBackends())];
const TOL = 1e-4;

test('batch norm: gradients w.r.t. x, mean, variance, scale and offset', async () => {
  const inputs = () => [
    tf.add(tf.mul(tensor([3, 6, 5, 8], 1), 3), 0.5),
    tensor([8], 2),
    tf.add(tf.abs(tensor([8], 3)), 0.2),
    tensor([8], 4),
    tensor([8], 5),
  ];
  const r = () => tensor([3, 6, 5, 8], 6);
  const fused = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
    tf.sum(tf.mul(tf.batchNorm(x, m, v, o, s, 1e-3), r()));
  const elementary = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
    tf.sum(tf.mul(tf.add(tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, 1e-3))), s), o), r()));
  const ref = await on('cpu', () => tf.grads(elementary)(inputs()));
  for (const backend of backends) {
    const got = await on(backend, () => tf.grads(fused)(inputs()));
    ['x', 'mean', 'variance', 'scale', 'offset'].forEach((k, i) => assert.ok(relErr(got[i], ref[i]) <= TOL, `${backend} d${k}: ${relErr(got[i], ref[i])}`));
  }
});

test('batch norm in training (moments of the batch): gradient w.r.t. the input', async () => {
  const r = () => tensor([4, 5, 3, 6], 8);
  const viaOps = (x: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    // (tfjs's FusedBatchNorm gradient needs a scale tensor: it saves it for the backward pass)
    return tf.sum(tf.mul(tf.batchNorm(x, mean, variance, tf.zeros([6]), tf.ones([6]), 1e-5), r()));
  };
  const elementary = (x: tf.Tensor) => {
    const mean = tf.div(tf.sum(x, [0, 1, 2]), 60);
    const variance = tf.div(tf.sum(tf.square(tf.sub(x, mean)), [0, 1, 2]), 60);
    return tf.sum(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), r()));
  };
  const x = () => tf.mul(tensor([4, 5, 3, 6], 7), 2);
  const ref = await on('cpu', () => tf.grads(elementary)([x()]));
  for (const backend of backends) {
    const got = await on(backend, () => tf.grads(viaOps)([x()]));
    assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
  }
});

test('mean over middle axes and over everything: gradients', async () => {
  const f = (x: tf.Tensor) => tf.add(tf.sum(tf.mul(tf.mean(x, [1, 2]), tensor([2, 5], 9))), tf.mean(x));
  const g = (x: tf.Tensor) => tf.add(tf.sum(tf.mul(tf.div(tf.sum(x, [1, 2]), 12), tensor([2, 5], 9))), tf.div(tf.sum(x), 120));
  const x = () => tensor([2, 3, 4, 5], 10);
  const ref = await on('cpu', () => tf.grads(g)([x()]));
  for (const backend of backends) {
    const got = await on(backend, () => tf.grads(f)([x()]));
    assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
  }
});

test('relu gradient', async () => {
  const r = () => tensor([3, 7, 5, 4], 12);
  const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), r()));
  const g = (x: tf.Tensor) => tf.sum(tf.mul(tf.mul(x, tf.step(x)), r()));
  const x = () => tensor([3, 7, 5, 4], 11);
  const ref = await on('cpu', () => tf.grads(g)([x()]));
  for (const backend of backends) {
    const got = await on(backend, () => tf.grads(f)([x()]));
    assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend}: ${relErr(got[0], ref[0])}`);
  }
});
