// The dense CRF's inputs: unaries as pydensecrf makes them, presets as the repos set them, and clear
// errors for inputs it cannot take.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import { denseCrf } from '../../runtime/crf/dense-crf.ts';
import { CRF_PRESETS, crfParams } from '../../runtime/crf/params.ts';
import { argmaxLabels, unaryFromLabels, unaryFromProbabilities } from '../../runtime/crf/unaries.ts';
import { loadCrfEngine } from '../../runtime/node/crf/crf-engines.ts';
import { readNpyFloat32 } from '../../runtime/node/files/npy.ts';
import { crfScene } from './scenes.ts';

const IRN = new URL('../../../shared/reference/crf/probs_irn_c3.npy', import.meta.url).pathname;

test('unaries: −log(clip(p, 1e−5, 1)), and label unaries equal −log of the reference IRN probabilities', { skip: !existsSync(IRN) && 'no ../shared' }, () => {
  const u = unaryFromProbabilities(new Float32Array([0, 1e-6, 0.5, 1, 1.5, 0.25]), 2);
  const want = [-Math.log(1e-5), -Math.log(1e-5), -Math.log(0.5), 0, 0, -Math.log(0.25)];
  u.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `unary ${i}: ${v} vs ${want[i]}`));
  // probs_irn_c3 holds 0.7 for the label and 0.15 for the others (README of the reference set)
  const irn = readNpyFloat32(IRN);
  const fromLabels = unaryFromLabels(argmaxLabels(irn.data, 3), 3, 0.7);
  const fromProbs = unaryFromProbabilities(irn.data, 3);
  let worst = 0;
  for (let i = 0; i < fromLabels.length; i++) worst = Math.max(worst, Math.abs(fromLabels[i] - fromProbs[i]));
  assert.ok(worst < 1e-5, `max difference ${worst}`);
});

test('presets carry the repositories’ parameters; overrides apply and are checked', () => {
  assert.deepEqual(CRF_PRESETS.psa, { iterations: 10, gaussian: { sxy: 3, compat: 3 }, bilateral: { sxy: 80, srgb: 13, compat: 10 }, unary: { kind: 'probabilities' } });
  assert.equal(CRF_PRESETS.edam.iterations, 3);
  assert.deepEqual(CRF_PRESETS.irn.bilateral, { sxy: 50, srgb: 5, compat: 10 });
  assert.deepEqual(CRF_PRESETS.irn.unary, { kind: 'labels', gtProb: 0.7 });
  assert.equal(crfParams('edam', { iterations: 7 }).iterations, 7);
  assert.throws(() => crfParams('deeplab'), /unknown CRF preset 'deeplab' \(one of psa, edam, irn\)/);
  assert.throws(() => crfParams('psa', { iterations: -1 }), /iterations must be an integer/);
  assert.throws(() => crfParams('psa', { bilateralSrgb: 0 }), /bilateral srgb/);
  assert.throws(() => crfParams('irn', { gtProb: 1 }), /gt_prob must be in \(0, 1\)/);
});

test('bad inputs give clear errors naming the input: size mismatch, NaN, 1×1 image', async () => {
  const engine = await loadCrfEngine('auto');
  const s = crfScene(10, 8, 3, 1);
  const psa = crfParams('psa');
  assert.throws(() => denseCrf(engine, s.image, { data: s.probs.data, dims: [3, 10, 8] }, psa, { source: 'a.png' }), /a\.png: probabilities are 8×10 \(W×H\) but the image is 10×8/);
  const nan = s.probs.data.slice();
  nan[2 * 80 + 13] = NaN;
  assert.throws(() => denseCrf(engine, s.image, { data: nan, dims: s.probs.dims }, psa, { source: 'b.npy' }), /b\.npy: NaN probability at label 2, pixel 13/);
  assert.throws(() => denseCrf(engine, s.image, { data: nan, dims: s.probs.dims }, crfParams('irn'), { source: 'b.npy' }), /b\.npy: NaN probability/);
  const one = { data: new Uint8Array([1, 2, 3]), width: 1, height: 1, channels: 3 as const };
  assert.throws(() => denseCrf(engine, one, { data: new Float32Array([0.5, 0.5]), dims: [2, 1, 1] }, psa, { source: 'c.png' }), /c\.png: image is 1×1; the dense CRF needs at least 2×2 pixels/);
  assert.throws(() => denseCrf(engine, s.image, { data: s.probs.data, dims: [240] }, psa), /probabilities must be \[C, H, W\]/);
});

test('the CRF moves noisy probabilities towards the scene’s true labels (both engines)', async () => {
  const s = crfScene(48, 36, 3, 5);
  const before = argmaxLabels(s.probs.data, 3);
  const correct = (l: Uint8Array) => l.reduce((n, v, i) => n + (v === s.truth[i] ? 1 : 0), 0) / l.length;
  for (const engine of [await loadCrfEngine('auto'), await loadCrfEngine('wasm')]) {
    const after = argmaxLabels(denseCrf(engine, s.image, s.probs, crfParams('psa')), 3);
    assert.ok(correct(after) > correct(before) + 0.02 && correct(after) > 0.98, `${engine.name}: ${correct(before)} → ${correct(after)}`);
  }
});
