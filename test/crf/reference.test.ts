// Acceptance of the dense CRF against the C++ reference (pydensecrf's densecrf) outputs in
// ../shared/reference/crf: each preset's Q on 3 labels and the 21-label argmax, both engines.
// Required: argmax agreement ≥ 99.5 %; measured: 100 % and mean |Q − Q_ref| ≈ 1e−8 (printed).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { denseCrf, type CrfEngine } from '../../runtime/crf/dense-crf.ts';
import { crfParams } from '../../runtime/crf/params.ts';
import { argmaxLabels } from '../../runtime/crf/unaries.ts';
import { loadCrfEngine, loadNativeCrf } from '../../runtime/node/crf/crf-engines.ts';
import { decodeImageFile } from '../../runtime/node/dataset/decode-image.ts';
import { readNpyFloat32 } from '../../runtime/node/files/npy.ts';
import { agreement, maxAbsDiff, meanAbsDiff } from './scenes.ts';

const REF = new URL('../../../shared/reference/crf', import.meta.url).pathname;
const skip = !existsSync(join(REF, 'q_psa_c3.npy')) && 'no ../shared/reference/crf';

function probs(name: string) {
  const a = readNpyFloat32(join(REF, name));
  return { data: a.data, dims: a.shape };
}

async function checkEngine(engine: CrfEngine, t: { diagnostic(m: string): void }) {
  const image = await decodeImageFile(join(REF, 'image.png'));
  for (const [preset, input, output] of [['psa', 'probs_c3.npy', 'q_psa_c3.npy'], ['edam', 'probs_c3.npy', 'q_edam_c3.npy'], ['irn', 'probs_irn_c3.npy', 'q_irn_c3.npy']] as const) {
    const q = denseCrf(engine, image, probs(input), crfParams(preset));
    const ref = readNpyFloat32(join(REF, output)).data;
    const agree = agreement(argmaxLabels(q, 3), argmaxLabels(ref, 3));
    const msg = `${engine.name} ${preset} c3: agreement ${(agree * 100).toFixed(3)} %, mean |Q − Q_ref| ${meanAbsDiff(q, ref).toExponential(2)}, max ${maxAbsDiff(q, ref).toExponential(2)}`;
    t.diagnostic(msg);
    assert.ok(agree >= 0.995, msg);
    assert.ok(meanAbsDiff(q, ref) < 1e-4, msg);
  }
  const q21 = denseCrf(engine, image, probs('probs_c21.npy'), crfParams('psa'));
  const labels = (await decodeImageFile(join(REF, 'labels_psa_c21.png'))).data.filter((_, i) => i % 3 === 0);
  const agree = agreement(argmaxLabels(q21, 21), labels);
  t.diagnostic(`${engine.name} psa c21: agreement ${(agree * 100).toFixed(3)} %`);
  assert.ok(agree >= 0.995);
}

test('native CRF matches the C++ reference (psa, edam, irn on 3 labels; psa on 21)', { skip: skip || (typeof loadNativeCrf() === 'string' && 'native CRF not built') }, async (t) => {
  await checkEngine(await loadCrfEngine('native'), t);
});

test('wasm CRF matches the C++ reference (psa, edam, irn on 3 labels; psa on 21)', { skip }, async (t) => {
  await checkEngine(await loadCrfEngine('wasm'), t);
});
