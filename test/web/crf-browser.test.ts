// Acceptance 3 of the dense CRF: the committed WebAssembly build runs in Chromium through the
// runtime's API (bundled as the web demo bundles it) and gives the labels Node gives, on the
// reference photo with each preset (and, without ../shared, on a synthetic scene).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';

import { denseCrf } from '../../runtime/crf/dense-crf.ts';
import { crfParams, type CrfPresetName } from '../../runtime/crf/params.ts';
import { argmaxLabels } from '../../runtime/crf/unaries.ts';
import { loadCrfEngine, WASM_CRF_PATH } from '../../runtime/node/crf/crf-engines.ts';
import { decodeImageFile } from '../../runtime/node/dataset/decode-image.ts';
import { readNpyFloat32 } from '../../runtime/node/files/npy.ts';
import { crfScene } from '../crf/scenes.ts';
import { chromiumMissing, launchChromium } from './chromium.ts';

const REF = new URL('../../../shared/reference/crf', import.meta.url).pathname;
const skip = chromiumMissing() ?? false;

interface Case {
  name: string;
  preset: CrfPresetName;
  width: number;
  height: number;
  rgb: Uint8Array;
  probs: Float32Array;
  labels: number;
}

async function cases(): Promise<Case[]> {
  if (!existsSync(join(REF, 'image.png'))) {
    const s = crfScene(120, 90, 4, 11);
    return (['psa', 'edam', 'irn'] as const).map((preset) => ({ name: `scene ${preset}`, preset, width: 120, height: 90, rgb: s.image.data, probs: s.probs.data, labels: 4 }));
  }
  const image = await decodeImageFile(join(REF, 'image.png'));
  const c3 = readNpyFloat32(join(REF, 'probs_c3.npy')).data;
  const irn = readNpyFloat32(join(REF, 'probs_irn_c3.npy')).data;
  return [
    { name: 'reference photo psa', preset: 'psa', width: image.width, height: image.height, rgb: image.data, probs: c3, labels: 3 },
    { name: 'reference photo edam', preset: 'edam', width: image.width, height: image.height, rgb: image.data, probs: c3, labels: 3 },
    { name: 'reference photo irn', preset: 'irn', width: image.width, height: image.height, rgb: image.data, probs: irn, labels: 3 },
  ];
}

const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

test('wasm CRF in Chromium gives the labels of Node (native engine where built)', { skip, timeout: 300_000 }, async (t) => {
  const bundle = await esbuild.build({ entryPoints: [join(import.meta.dirname, 'crf-entry.ts')], bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'silent' });
  const script = bundle.outputFiles[0].text;
  const node = await loadCrfEngine('auto');
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto('about:blank');
    // tsx compiles this file with esbuild's keepNames: functions passed to page.evaluate call __name
    await page.addScriptTag({ content: `globalThis.__name = (f) => f;\n${script}` });
    const wasm = readFileSync(WASM_CRF_PATH).toString('base64');
    for (const c of await cases()) {
      const want = argmaxLabels(denseCrf(node, { data: c.rgb, width: c.width, height: c.height, channels: 3 }, { data: c.probs, dims: [c.labels, c.height, c.width] }, crfParams(c.preset)), c.labels);
      const got = await page.evaluate(
        async ({ wasm, rgb, probs, width, height, labels, preset }) => {
          const bytes = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const api = (globalThis as any).__crf;
          const engine = await api.instantiateWasmCrf(bytes(wasm));
          const p = new Float32Array(bytes(probs).buffer);
          const t0 = performance.now();
          const q = api.denseCrf(engine, { data: bytes(rgb), width, height, channels: 3 }, { data: p, dims: [labels, height, width] }, api.crfParams(preset));
          const ms = performance.now() - t0;
          return { labels: Array.from(api.argmaxLabels(q, labels) as Uint8Array), ms, engine: engine.name as string };
        },
        { wasm, rgb: b64(c.rgb), probs: b64(c.probs), width: c.width, height: c.height, labels: c.labels, preset: c.preset },
      );
      assert.equal(got.engine, 'wasm');
      let same = 0;
      for (let i = 0; i < want.length; i++) if (want[i] === got.labels[i]) same++;
      t.diagnostic(`${c.name}: ${((100 * same) / want.length).toFixed(3)} % of pixels equal to Node's ${node.name} engine; ${got.ms.toFixed(0)} ms in Chromium`);
      assert.equal(same, want.length, `${c.name}: every label equal`);
    }
  } finally {
    await browser.close();
  }
});
