// The TypeScript port (runtime/crf/js-engine.ts) computes what the C engines compute: labels
// equal and Q within 1e-5 (it rounds in float64 where C rounds to float32).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { denseCrf } from '../../runtime/crf/dense-crf.ts';
import { crfParams } from '../../runtime/crf/params.ts';
import { argmaxLabels } from '../../runtime/crf/unaries.ts';
import { loadCrfEngine } from '../../runtime/node/crf/crf-engines.ts';
import { crfScene, maxAbsDiff } from './scenes.ts';

test('js and C engines agree (labels equal, Q within 1e-5) on each preset', async () => {
  const c = await loadCrfEngine('auto');
  const js = await loadCrfEngine('js');
  assert.equal(js.name, 'js');
  for (const [preset, labels, seed] of [['psa', 5, 7], ['irn', 3, 8], ['edam', 21, 9]] as const) {
    const s = crfScene(53, 41, labels, seed);
    const a = denseCrf(c, s.image, s.probs, crfParams(preset));
    const b = denseCrf(js, s.image, s.probs, crfParams(preset));
    assert.ok(maxAbsDiff(a, b) <= 1e-5, `${preset}: max |Q_${c.name} − Q_js| ${maxAbsDiff(a, b)}`);
    assert.deepEqual(argmaxLabels(b, labels), argmaxLabels(a, labels));
  }
});
