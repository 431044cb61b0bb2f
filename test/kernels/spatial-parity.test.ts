// Parity of our pooling, bilinear-resize and PAMR shifted-sum kernels with tfjs's stock ones, and the resize
// gradient against the adjoint identity ⟨resize(x), r⟩ = ⟨x, resizeᵀ(r)⟩: tfjs's CPU gradient
// ignores halfPixelCenters, so for that mode (PyTorch's align_corners=False) it is no reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeEngine } from '../../train/kernels/engine.ts';
import { jsEngine } from '../../train/kernels/js-engine.ts';
import { fastBackends, on, randomValues, relErr, tensor } from './helpers.ts';

const backends = await fastBackends();
const TOL = 1e-4;

type Pad = 'same' | 'valid';
for (const [k, s, pad] of [[3, 2, 'same'], [3, 2, 'valid'], [2, 2, 'valid'], [3, 1, 'same'], [5, 3, 'same']] as [number, number, Pad][])
  for (const batch of [1, 3])
    test(`pooling parity: ${k}x${k} stride ${s} ${pad}, batch ${batch}`, async () => {
      const shape = [batch, 11, 9, 7];
      const run = () => {
        const x = tensor(shape, 3);
        const maxY = tf.maxPool(x as tf.Tensor4D, k, s, pad);
        const avgY = tf.avgPool(x as tf.Tensor4D, k, s, pad);
        const r = tensor(maxY.shape, 4);
        const [gMax] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, k, s, pad), r)))([x]);
        const [gAvg] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, k, s, pad), r)))([x]);
        return [maxY, avgY, gMax, gAvg];
      };
      const ref = await on('cpu', run);
      for (const backend of backends) {
        const got = await on(backend, run);
        ['max', 'avg', 'max grad', 'avg grad'].forEach((what, i) => assert.ok(relErr(got[i], ref[i]) <= TOL, `${backend} ${what}: ${relErr(got[i], ref[i])}`));
      }
    });

test('max pooling gradient goes to the first of tied maxima (as tfjs)', async () => {
  const run = () => tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 1, 'valid')))(tf.ones([1, 3, 3, 2]));
  const ref = await on('cpu', run);
  for (const backend of backends) assert.deepEqual(Array.from((await on(backend, run))[0]), Array.from(ref[0]));
});

const resizes: { from: [number, number]; to: [number, number]; align: boolean; half: boolean }[] = [
  { from: [7, 7], to: [13, 13], align: false, half: false },
  { from: [7, 5], to: [16, 9], align: false, half: true },
  { from: [9, 8], to: [4, 3], align: false, half: true }, // downscale
  { from: [6, 7], to: [11, 15], align: true, half: false },
  { from: [5, 5], to: [5, 5], align: false, half: true },
];

for (const r of resizes)
  test(`resizeBilinear: ${r.from} → ${r.to}, alignCorners ${r.align}, halfPixelCenters ${r.half}`, async () => {
    const xShape = [2, ...r.from, 6];
    const forward = () => tf.image.resizeBilinear(tensor(xShape, 5) as tf.Tensor4D, r.to, r.align, r.half);
    const ref = await on('cpu', forward);
    const square = r.from[0] === r.from[1] && r.to[0] === r.to[1];
    // stock gradient: a reference only where it is right (no half-pixel centres, square shapes)
    const gradient = () => {
      const dy = tensor([2, ...r.to, 6], 6);
      return tf.engine().runKernel('ResizeBilinearGrad', { images: tensor(xShape, 5), dy }, { alignCorners: r.align, halfPixelCenters: r.half } as never) as tf.Tensor;
    };
    const refGrad = !r.half && square ? await on('cpu', gradient) : null;
    for (const backend of backends) {
      const got = await on(backend, forward);
      assert.ok(relErr(got[0], ref[0]) <= TOL, `${backend} forward: ${relErr(got[0], ref[0])}`);
      const [gx] = await on(backend, gradient);
      if (refGrad) assert.ok(relErr(gx, refGrad[0]) <= TOL, `${backend} gradient vs stock: ${relErr(gx, refGrad[0])}`);
      // adjoint identity, in float64 from the float32 values
      const [x, dy, y] = await on(backend, () => [tensor(xShape, 5), tensor([2, ...r.to, 6], 6), forward()]);
      let lhs = 0;
      let rhs = 0;
      let scale = 0;
      for (let i = 0; i < y.length; i++) (lhs += y[i] * dy[i]), (scale += Math.abs(y[i] * dy[i]));
      for (let i = 0; i < x.length; i++) rhs += x[i] * gx[i];
      assert.ok(Math.abs(lhs - rhs) <= 1e-5 * scale, `${backend} adjoint: ${lhs} vs ${rhs}`);
      await tf.setBackend(backend);
      assert.deepEqual(tf.tidy(gradient).shape, xShape);
    }
  });

// PAMR's iteration kernel against stock tfjs ops: for each offset, gather the clamped rows and
// columns, weight by that offset's map and sum. Offsets past the border (±9 on a 7×6 map) clamp.
test('shiftedWeightedSum: both engines equal a gather-based tfjs reference, offsets past the border', async () => {
  const [N, H, W, C] = [2, 7, 6, 5];
  const offsets: [number, number][] = [[-1, -1], [0, 1], [2, -3], [9, 0], [-9, 4], [1, 1]];
  const J = offsets.length;
  const x = randomValues(N * H * W * C, 11);
  const w = randomValues(N * H * W * J, 12);
  const [ref] = await on('cpu', () => {
    const xt = tf.tensor4d(x, [N, H, W, C]);
    const wt = tf.tensor4d(w, [N, H, W, J]);
    const clampIdx = (d: number, n: number) => tf.tensor1d(Array.from({ length: n }, (_, i) => Math.min(n - 1, Math.max(0, i + d))), 'int32');
    const terms = offsets.map(([dy, dx], k) => tf.mul(tf.gather(tf.gather(xt, clampIdx(dy, H), 1), clampIdx(dx, W), 2), tf.slice(wt, [0, 0, 0, k], [N, H, W, 1])));
    return tf.addN(terms);
  });
  const engines = [jsEngine, ...(loadNativeEngine().engine ? [loadNativeEngine().engine!] : [])];
  for (const engine of engines) {
    const y = new Float32Array(N * H * W * C).fill(NaN); // the kernel must overwrite, not accumulate
    engine.shiftedWeightedSum(Int32Array.of(N, H, W, C, J), Int32Array.from(offsets.flat()), x, w, y);
    assert.ok(relErr(y, ref) <= 1e-6, `${engine.description}: ${relErr(y, ref)}`);
  }
});
