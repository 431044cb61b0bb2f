// The web demo's dense-CRF toggle: with ?crf=1 the page refines its labels on the WebAssembly CRF
// and they agree with Node's crfRefineSegmentation of Node's segmentation of the same file (the
// CAMs differ between onnxruntime-web and -node only by float rounding); toggling it off restores
// the plain labels.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import sharp from 'sharp';

import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { CRF_PRESETS } from '../../runtime/crf/params.ts';
import { crfRefineSegmentation } from '../../runtime/crf/segmentation-crf.ts';
import { loadCrfEngine } from '../../runtime/node/crf/crf-engines.ts';
import { segmentImageFile } from '../../runtime/node/server/segment-image.ts';
import { startServer, type RunningServer } from '../../runtime/node/server/server.ts';
import { openModel, type OpenModel, type OrtModule } from '../../runtime/session.ts';
import { ensureDemoBuilt } from '../../web-demo/build.ts';
import { chromiumMissing, launchChromium } from './chromium.ts';
import { syntheticImage } from './fixture-model.ts';
import { camTinyModelBytes } from './models.ts';

const skip = chromiumMissing() ?? false;
let dir: string;
let server: RunningServer;
let model: OpenModel;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wsss-crf-demo-'));
  const bytes = camTinyModelBytes(0);
  model = await openModel(ortNode as unknown as OrtModule, bytes, { providers: ['cpu'], source: 'cam-tiny.onnx' });
  server = await startServer({ model, modelBytes: bytes, staticRoot: (await ensureDemoBuilt()).dist, port: 0 });
});

after(async () => {
  await server?.close();
  await model?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface State {
  state: string;
  error: string | null;
  crf: boolean;
  segmentations: number;
  result: { width: number; height: number; labelsBase64: string } | null;
}
const state = (page: Page) => page.evaluate(() => (window as unknown as { __wsss: State }).__wsss);
const labelsOf = (s: State) => new Uint8Array(Buffer.from(s.result!.labelsBase64, 'base64'));

test('web demo: the CRF toggle gives the labels of Node’s CRF refinement', { skip, timeout: 300_000 }, async (t) => {
  const path = join(dir, 'image.png');
  await sharp(Buffer.from(syntheticImage(160, 120, 5)), { raw: { width: 160, height: 120, channels: 3 } }).png().toFile(path);
  const seg = await segmentImageFile(model, path, { maxSide: 512 });
  const want = crfRefineSegmentation(await loadCrfEngine('auto'), seg, { params: CRF_PRESETS.psa, alpha: DEFAULT_CRF_ALPHA });
  let changed = 0;
  for (let i = 0; i < want.data.length; i++) if (want.data[i] !== seg.labels.data[i]) changed++;
  assert.ok(changed > 0, 'the CRF changes some labels of this image (else the test would prove nothing)');

  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}?ep=wasm&crf=1`);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: State }).__wsss?.state ?? ''), null, { timeout: 120_000 });
    await page.setInputFiles('#image-file', path);
    await page.waitForFunction(() => {
      const s = (window as unknown as { __wsss: State }).__wsss;
      return s.segmentations > 0 || s.state === 'error';
    }, null, { timeout: 180_000 });
    const on = await state(page);
    assert.equal(on.state, 'done', String(on.error));
    assert.equal(on.crf, true);
    const got = labelsOf(on);
    let same = 0;
    for (let i = 0; i < got.length; i++) if (got[i] === want.data[i]) same++;
    t.diagnostic(`CRF labels: ${((100 * same) / got.length).toFixed(3)} % of pixels equal to Node's (${changed} pixels changed by the CRF)`);
    assert.ok(same / got.length >= 0.999);
    await page.uncheck('#crf');
    await page.waitForFunction(() => (window as unknown as { __wsss: State }).__wsss.crf === false);
    const off = labelsOf(await state(page));
    let plain = 0;
    for (let i = 0; i < off.length; i++) if (off[i] === seg.labels.data[i]) plain++;
    assert.ok(plain / off.length >= 0.999, 'toggled off: the plain labels again');
  } finally {
    await browser.close();
  }
});
