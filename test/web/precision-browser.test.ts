// The web demo's precision choice in Chromium, and the MobileNetV2 int8 deployment preset
// (issue 20): `wsss serve`'s server offers cam-mobilenet_v2 (torchvision ImageNet backbone,
// seeded head) in fp32, fp16 and int8; a page limited to wasm picks int8, says so, and labels
// images as onnxruntime-node labels them with the same int8 file. The int8 file is under 4 MB.
// With WebGPU the page picks fp16 exactly when the adapter reports shader-f16, else fp32.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import * as ortNode from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { exportOnnx } from '../../export/export-onnx.ts';
import { imagenetCam } from '../../export/imagenet-cam.ts';
import { loadCalibrationImages } from '../../export/quantize/calibration-images.ts';
import { quantizeModel } from '../../export/quantize/quantize-model.ts';
import { defaultClassNames } from '../../graphs/registry.ts';
import { startServer, type RunningServer } from '../../runtime/node/server/server.ts';
import { segmentImageFile } from '../../runtime/node/server/segment-image.ts';
import { openModel, type OpenModel, type OrtModule } from '../../runtime/session.ts';
import { ensureDemoBuilt } from '../../web-demo/build.ts';
import { FIXTURES } from '../backbones/fixtures.ts';
import { chromiumMissing, launchChromium } from './chromium.ts';
import { syntheticImage } from './fixture-model.ts';

const WEIGHTS = join(FIXTURES, 'torchvision-mobilenet_v2', 'weights.safetensors');
const skip = chromiumMissing() ?? (existsSync(WEIGHTS) ? false : `${WEIGHTS} not found`);
const ort = ortNode as unknown as OrtModule;

let dir: string;
let server: RunningServer;
let fp32: OpenModel;
let int8: OpenModel;
let int8Bytes: Uint8Array;

async function writePng(width: number, height: number, seed: number): Promise<string> {
  const path = join(dir, `img-${width}x${height}-${seed}.png`);
  await sharp(Buffer.from(syntheticImage(width, height, seed)), { raw: { width, height, channels: 3 } }).png().toFile(path);
  return path;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wsss-precision-browser-'));
  const { graph, values } = imagenetCam('mobilenet_v2', WEIGHTS, defaultClassNames());
  const fp32Bytes = exportOnnx(graph, values);
  for (let s = 1; s <= 6; s++) await writePng(96, 96, s);
  const cal = await loadCalibrationImages(dir, 6);
  int8Bytes = (await quantizeModel(fp32Bytes, graph.name, { precision: 'int8', calibration: { feeds: cal.feeds, method: 'minmax', source: dir } })).bytes;
  const fp16Bytes = (await quantizeModel(fp32Bytes, graph.name, { precision: 'fp16' })).bytes;
  fp32 = await openModel(ort, fp32Bytes, { providers: ['cpu'], source: 'fp32' });
  int8 = await openModel(ort, int8Bytes, { providers: ['cpu'], source: 'int8' });
  const build = await ensureDemoBuilt();
  server = await startServer({ model: fp32, modelBytes: fp32Bytes, variants: { int8: int8Bytes, fp16: fp16Bytes }, staticRoot: build.dist, port: 0 });
});

after(async () => {
  await server?.close();
  await fp32?.release();
  await int8?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageState {
  state: string;
  error: string | null;
  provider: string | null;
  precision: string | null;
  precisionReason: string | null;
  segmentations: number;
  result: { width: number; height: number; labelsBase64: string } | null;
}
const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __wsss: PageState }).__wsss);

test('MobileNetV2 int8 preset: under 4 MB; a wasm page picks it and labels as onnxruntime-node does', { skip, timeout: 300_000 }, async (t) => {
  t.diagnostic(`cam-mobilenet_v2 int8: ${int8Bytes.byteLength} bytes`);
  assert.ok(int8Bytes.byteLength < 4e6, `${int8Bytes.byteLength} bytes`);
  const api = (await (await fetch(`${server.url}api/model`)).json()) as { models: Record<string, string> };
  assert.deepEqual(api.models, { fp32: '/model.onnx', int8: '/model-int8.onnx', fp16: '/model-fp16.onnx' });

  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}?ep=wasm`);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
    const st = await pageState(page);
    assert.equal(st.state, 'ready', st.error ?? '');
    assert.equal(st.provider, 'wasm');
    assert.equal(st.precision, 'int8');
    assert.match(st.precisionReason ?? '', /no WebGPU; int8/);
    assert.match(await page.locator('#ep').textContent() ?? '', /int8/, 'the page shows the precision it chose');

    for (const [w, h, seed] of [[160, 120, 41], [96, 128, 42]]) {
      const path = await writePng(w, h, seed);
      const before = st.segmentations;
      await page.setInputFiles('#image-file', path);
      await page.waitForFunction((n) => { const s = (window as unknown as { __wsss: PageState }).__wsss; return s.segmentations > n || s.state === 'error'; }, before, { timeout: 120_000 });
      const done = await pageState(page);
      assert.equal(done.state, 'done', done.error ?? '');
      const web = new Uint8Array(Buffer.from(done.result!.labelsBase64, 'base64'));
      const node = await segmentImageFile(int8, path, { maxSide: 512 });
      const ref = await segmentImageFile(fp32, path, { maxSide: 512 });
      assert.equal(new Set(node.labels.data).size >= 2, true, 'more than one label in the Node map (a non-trivial comparison)');
      let same = 0;
      let sameFp32 = 0;
      for (let i = 0; i < web.length; i++) {
        same += web[i] === node.labels.data[i] ? 1 : 0;
        sameFp32 += node.labels.data[i] === ref.labels.data[i] ? 1 : 0;
      }
      t.diagnostic(`${w}×${h}: page (wasm, int8) vs node (int8): ${((100 * same) / web.length).toFixed(2)} %; node int8 vs fp32: ${((100 * sameFp32) / web.length).toFixed(2)} %`);
      assert.ok(same / web.length >= 0.999, `${path}: ${same}/${web.length} pixels agree`);
      st.segmentations = done.segmentations;
    }
  } finally {
    await browser.close();
  }
});

test('a WebGPU page picks fp16 when the adapter reports shader-f16, else fp32', { skip, timeout: 300_000 }, async (t) => {
  const browser = await launchChromium({ webgpu: true });
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
    const st = await pageState(page);
    assert.equal(st.state, 'ready', st.error ?? '');
    const f16 = await page.evaluate(async () => {
      const a = await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ features: Set<string> } | null> } }).gpu.requestAdapter();
      return a ? a.features.has('shader-f16') : null;
    });
    t.diagnostic(`adapter shader-f16: ${f16}; page chose ${st.precision} on ${st.provider} (${st.precisionReason})`);
    assert.notEqual(f16, null, 'Chromium offers a WebGPU adapter');
    assert.equal(st.provider, 'webgpu');
    assert.equal(st.precision, f16 ? 'fp16' : 'fp32');
    assert.match(st.precisionReason ?? '', f16 ? /shader-f16/ : /WebGPU without shader-f16/);
  } finally {
    await browser.close();
  }
});
