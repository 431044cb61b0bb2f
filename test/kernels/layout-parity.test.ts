// Parity of our data-movement kernels (Slice, Transpose, Tile, PadV2, Concat) with tfjs's stock
// ones: they copy values, so the results must be identical.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { fastBackends, on, tensor } from './helpers.ts';

const backends = await fastBackends();

const cases: [string, () => tf.Tensor][] = [
  ['slice interior of NHWC', () => tf.slice(tensor([3, 9, 8, 5], 1), [1, 2, 1, 0], [2, 5, 6, 5])],
  ['slice channels', () => tf.slice(tensor([2, 4, 6, 10], 2), [0, 0, 0, 3], [-1, -1, -1, 4])],
  ['slice rank 2', () => tf.slice(tensor([7, 9], 3), [2, 1], [3, 7])],
  ['transpose NHWC→NCHW', () => tf.transpose(tensor([3, 5, 7, 4], 4), [0, 3, 1, 2])],
  ['transpose rank 3', () => tf.transpose(tensor([6, 5, 4], 5), [2, 0, 1])],
  ['transpose identity', () => tf.transpose(tensor([3, 4], 6), [0, 1])],
  ['tile per-channel to NHWC', () => tf.tile(tensor([1, 1, 1, 6], 7), [3, 4, 5, 1])],
  ['tile every axis', () => tf.tile(tensor([2, 3, 2], 8), [2, 3, 4])],
  ['pad NHWC with -inf', () => tf.pad(tensor([2, 5, 6, 3], 9), [[0, 0], [1, 2], [3, 0], [0, 0]], -Infinity)],
  ['pad rank 2 with zeros', () => tf.pad(tensor([4, 5], 10), [[2, 1], [0, 3]])],
  ['concat channels', () => tf.concat([tensor([2, 3, 4, 5], 11), tensor([2, 3, 4, 2], 12), tensor([2, 3, 4, 7], 13)], 3)],
  ['concat batch', () => tf.concat([tensor([1, 3, 4, 5], 14), tensor([3, 3, 4, 5], 15)], 0)],
  ['concat rows', () => tf.concat([tensor([3, 2], 16), tensor([3, 5], 17)], 1)],
];

for (const [name, run] of cases)
  test(`layout parity: ${name}`, async () => {
    const ref = await on('cpu', run);
    const refShape = await (async () => {
      await tf.setBackend('cpu');
      return tf.tidy(run).shape;
    })();
    for (const backend of backends) {
      const got = await on(backend, run);
      assert.deepEqual(Array.from(got[0]), Array.from(ref[0]), backend);
      await tf.setBackend(backend);
      assert.deepEqual(tf.tidy(run).shape, refShape);
    }
  });
