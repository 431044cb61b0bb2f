// The committed WebAssembly module (runtime/crf/wasm/crf.wasm) must be built from the C sources in
// the tree (crf.wasm.json records their sha256; rebuild with `npm run build:crf-wasm`), and it must
// compute what the native addon computes.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { sourceHash } from '../../runtime/crf/build-wasm.mjs';
import { denseCrf } from '../../runtime/crf/dense-crf.ts';
import { crfParams } from '../../runtime/crf/params.ts';
import { argmaxLabels } from '../../runtime/crf/unaries.ts';
import { loadNativeCrf, loadWasmCrf } from '../../runtime/node/crf/crf-engines.ts';
import { crfScene, maxAbsDiff } from './scenes.ts';

test('crf.wasm was built from the current C sources', () => {
  const info = JSON.parse(readFileSync(new URL('../../runtime/crf/wasm/crf.wasm.json', import.meta.url), 'utf8')) as { sha256: string };
  assert.equal(info.sha256, sourceHash(), 'runtime/crf/native/*.c changed since crf.wasm was built: run `npm run build:crf-wasm` and commit the result');
});

test('wasm and native engines agree (labels equal, Q within 1e-5)', { skip: typeof loadNativeCrf() === 'string' && 'native CRF not built' }, async () => {
  const native = loadNativeCrf();
  assert.ok(typeof native !== 'string');
  const wasm = await loadWasmCrf();
  for (const [preset, labels] of [['psa', 5], ['irn', 3], ['edam', 21]] as const) {
    const s = crfScene(61, 47, labels, 7);
    const a = denseCrf(native, s.image, s.probs, crfParams(preset), { threads: 2 });
    const b = denseCrf(wasm, s.image, s.probs, crfParams(preset));
    assert.ok(maxAbsDiff(a, b) <= 1e-5, `${preset}, ${labels} labels: max |Q_native − Q_wasm| ${maxAbsDiff(a, b)}`);
    assert.deepEqual(argmaxLabels(a, labels), argmaxLabels(b, labels));
  }
});
