// Acceptance 4 of issue 15: an EDAM model with saliency post-processing gives the same labels in
// `wsss pseudo-label --saliency` (Node, onnxruntime-node), `wsss segment --saliency` and in the web demo (Chromium,
// onnxruntime-web wasm) given the same image and saliency map: both merge multi-scale CAMs by the
// model's rule and apply its Algorithm 1 (runtime/cam/rule-labels.ts). The model is a seeded
// random-init EDAM on cam-tiny: these check the pipeline, not accuracy.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import * as ortNode from 'onnxruntime-node';
import { exportOnnx } from '../../export/export-onnx.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { encodeGreyPng, readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { startServer, type RunningServer } from '../../runtime/node/server/server.ts';
import { openModel, type OpenModel, type OrtModule } from '../../runtime/session.ts';
import { ensureDemoBuilt } from '../../web-demo/build.ts';
import { lastJson, wsss } from '../cam/cli-fixtures.ts';
import { chromiumMissing, launchChromium } from './chromium.ts';
import { syntheticImage } from './fixture-model.ts';

const skip = chromiumMissing() ?? false;
const CLASSES = ['a', 'b', 'c'];
const [W, H] = [72, 56];

let dir: string;
let server: RunningServer;
let model: OpenModel;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wsss-edam-web-'));
  const def = getMethod('edam');
  const built = def.build({ backbone: 'cam-tiny', classNames: CLASSES, options: resolveOptions(def, {}) });
  const bytes = exportOnnx(built.graph, initialiseAll(built.module, 5), { classNames: CLASSES });
  writeFileSync(join(dir, 'edam.onnx'), bytes);
  for (const d of ['JPEGImages', 'SaliencyMaps', 'ImageSets/Segmentation']) mkdirSync(join(dir, 'data', d), { recursive: true });
  await sharp(Buffer.from(syntheticImage(W, H, 7)), { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dir, 'data', 'JPEGImages', 'img.png'));
  // A salient blob over a weak gradient: values on both sides of θ = 20, the paper's default.
  const sal = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) sal[y * W + x] = Math.hypot(x - 30, y - 26) < 18 ? 230 : Math.round((x / W) * 40);
  writeFileSync(join(dir, 'data', 'SaliencyMaps', 'img.png'), encodeGreyPng({ width: W, height: H, data: sal }));
  writeFileSync(join(dir, 'data', 'ImageSets', 'Segmentation', 'train.txt'), 'img\n');
  model = await openModel(ortNode as unknown as OrtModule, bytes, { providers: ['cpu'], source: 'edam.onnx' });
  server = await startServer({ model, modelBytes: bytes, staticRoot: (await ensureDemoBuilt()).dist, port: 0 });
});

after(async () => {
  await server?.close();
  await model?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageState {
  state: string;
  error: string | null;
  saliency: boolean;
  segmentations: number;
  result: { width: number; height: number; labelsBase64: string } | null;
}

test('EDAM + saliency map: the web demo gives the labels of wsss pseudo-label --saliency', { skip, timeout: 300_000 }, async (t) => {
  const r = wsss('pseudo-label', '--model', join(dir, 'edam.onnx'), '--data', join(dir, 'data'), '--out', join(dir, 'pseudo'), '--saliency', join(dir, 'data', 'SaliencyMaps'), '--ep', 'cpu', '--workers', '0');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((lastJson(r.stdout) as { saliency: unknown }).saliency, { dir: join(dir, 'data', 'SaliencyMaps'), rule: 'paper', theta: 20, alpha: 0.25, beta: 0.95 });
  const node = await readLabelPng(join(dir, 'pseudo', 'labels', 'img.png'));
  const distinct = new Set(node.data);
  assert.ok(distinct.size >= 3 && distinct.has(0), `Node's labels use ${[...distinct]}: the comparison would be trivial`);

  // `wsss segment --saliency` labels the image as the pseudo-labeller does.
  const seg = wsss('segment', '--model', join(dir, 'edam.onnx'), '--saliency', join(dir, 'data', 'SaliencyMaps'), '--ep', 'cpu', '--out', join(dir, 'seg'), join(dir, 'data', 'JPEGImages', 'img.png'));
  assert.equal(seg.status, 0, seg.stderr);
  assert.deepEqual((await readLabelPng(join(dir, 'seg', 'img.png'))).data, node.data);

  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const state = () => page.evaluate(() => (window as unknown as { __wsss: PageState }).__wsss);
    await page.goto(`${server.url}?ep=wasm`);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
    assert.equal((await state()).state, 'ready', (await state()).error ?? '');
    assert.equal(await page.locator('#saliency-row').isVisible(), true, "an EDAM model's page offers a saliency map");
    await page.setInputFiles('#saliency-file', join(dir, 'data', 'SaliencyMaps', 'img.png'));
    await page.waitForFunction(() => (document.getElementById('saliency-out') as HTMLOutputElement).value !== '', null, { timeout: 30_000 });
    await page.setInputFiles('#image-file', join(dir, 'data', 'JPEGImages', 'img.png'));
    await page.waitForFunction(() => {
      const s = (window as unknown as { __wsss: PageState }).__wsss;
      return s.segmentations > 0 || s.state === 'error';
    }, null, { timeout: 180_000 });
    const st = await state();
    assert.equal(st.state, 'done', st.error ?? '');
    assert.equal(st.saliency, true);
    assert.deepEqual([st.result!.width, st.result!.height], [W, H]);
    const web = new Uint8Array(Buffer.from(st.result!.labelsBase64, 'base64'));
    let same = 0;
    for (let i = 0; i < web.length; i++) if (web[i] === node.data[i]) same++;
    t.diagnostic(`${same} of ${web.length} pixels agree; labels ${[...distinct].sort().join(', ')}`);
    assert.equal(same, web.length, 'the same label at every pixel');
  } finally {
    await browser.close();
  }
});
