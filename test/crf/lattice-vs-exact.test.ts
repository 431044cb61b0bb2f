// The permutohedral lattice approximates the Gaussian kernels; this bounds its error against exact
// mean-field (brute-force O(N²) kernels, ./exact-mean-field.ts) on tiny images. Parameters are
// chosen so that Q stays soft after inference (small compat weights, 5 iterations): with the
// presets' weights on a 24×18 image Q saturates to one-hot and any error would hide.
//
// Stated bound (measured errors in brackets, 6 cases): mean |Q − Q_exact| ≤ 0.006 [0.0007–0.0041]
// and ≤ 10 % of the CRF's own change mean |Q_exact − softmax(−U)| [1.5–3.2 %]; argmax agreement
// ≥ 99 % [99.8–100 %].

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { denseCrf, type CrfEngine } from '../../runtime/crf/dense-crf.ts';
import { crfParams, type CrfParams } from '../../runtime/crf/params.ts';
import { argmaxLabels, unaryFromProbabilities } from '../../runtime/crf/unaries.ts';
import { loadCrfEngine } from '../../runtime/node/crf/crf-engines.ts';
import { exactMeanField } from './exact-mean-field.ts';
import { agreement, crfScene, meanAbsDiff } from './scenes.ts';

const soft = { iterations: 5 };
const CASES: [string, CrfParams][] = [
  ['Gaussian + bilateral', crfParams('psa', { ...soft, gaussianSxy: 1.5, gaussianCompat: 1, bilateralSxy: 6, bilateralSrgb: 20, bilateralCompat: 2 })],
  ['bilateral only', { ...crfParams('psa', { ...soft, bilateralSxy: 4, bilateralSrgb: 10, bilateralCompat: 2 }), gaussian: null }],
  ['Gaussian only', { ...crfParams('psa', { ...soft, gaussianSxy: 2, gaussianCompat: 1.5 }), bilateral: null }],
];

async function check(engine: CrfEngine) {
  for (const [name, params] of CASES)
    for (const seed of [1, 3]) {
      const s = crfScene(24, 18, 4, seed);
      const q = denseCrf(engine, s.image, s.probs, params);
      const unary = unaryFromProbabilities(s.probs.data, 4);
      const exact = exactMeanField(24, 18, s.image.data, unary, 4, params);
      const start = exactMeanField(24, 18, s.image.data, unary, 4, { ...params, iterations: 0 });
      const err = meanAbsDiff(q, exact);
      const change = meanAbsDiff(exact, start);
      const agree = agreement(argmaxLabels(q, 4), argmaxLabels(exact, 4));
      const what = `${engine.name}, ${name}, seed ${seed}: mean |Q − Q_exact| ${err.toFixed(5)}, CRF change ${change.toFixed(4)}, agreement ${agree}`;
      assert.ok(change > 0.02, `${what}: the case exercises the CRF`);
      assert.ok(err <= 0.006, what);
      assert.ok(err <= 0.1 * change, what);
      assert.ok(agree >= 0.99, what);
    }
}

test('lattice mean-field stays within the stated bound of exact mean-field (native)', async () => {
  await check(await loadCrfEngine('auto'));
});

test('lattice mean-field stays within the stated bound of exact mean-field (wasm)', async () => {
  await check(await loadCrfEngine('wasm'));
});

test('lattice mean-field stays within the stated bound of exact mean-field (js)', async () => {
  await check(await loadCrfEngine('js'));
});
