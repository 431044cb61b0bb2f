// The web demo in Chromium against onnxruntime-node: the page loads a real exported model from
// `wsss serve`, segments synthetic images picked through its file input, and its label maps must
// agree with Node's on ≥ 99.9 % of pixels — with the wasm EP on three image sizes (one large
// enough to be shrunk by the shared resize) and with the WebGPU EP (SwiftShader, slow, so one
// small image). onnxruntime-web silently drops EPs it cannot create, so each run asserts the EP
// that actually ran: the page's report and onnxruntime's own node-placement log.
//
// Leaves a screenshot of the page with an overlay at artifacts/web-demo.png.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import * as ortNode from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../runtime/node/server/server.ts';
import { segmentImageFile } from '../../runtime/node/server/segment-image.ts';
import { openModel, type OpenModel, type OrtModule } from '../../runtime/session.ts';
import { ensureDemoBuilt } from '../../web-demo/build.ts';
import { chromiumMissing, launchChromium } from './chromium.ts';
import { fixtureModelBytes, syntheticImage } from './fixture-model.ts';
import { camTinyModelBytes, gradCamTinyModelBytes, oneStageTinyModelBytes, vweTinyModelBytes } from './models.ts';

const skip = chromiumMissing() ?? false;
const MAX_SIDE = 512; // the page's default; Node must shrink the same way
const MIN_AGREEMENT = 0.999;

let dir: string;
let server: RunningServer;
let model: OpenModel;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wsss-browser-test-'));
  const bytes = camTinyModelBytes(0);
  model = await openModel(ortNode as unknown as OrtModule, bytes, { providers: ['cpu'], source: 'cam-tiny.onnx' });
  const build = await ensureDemoBuilt();
  server = await startServer({ model, modelBytes: bytes, staticRoot: build.dist, port: 0 });
});

after(async () => {
  await server?.close();
  await model?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function writePng(width: number, height: number, seed: number): Promise<string> {
  const path = join(dir, `synthetic-${width}x${height}.png`);
  await sharp(Buffer.from(syntheticImage(width, height, seed)), { raw: { width, height, channels: 3 } }).png().toFile(path);
  return path;
}

interface PageState {
  state: string;
  error: string | null;
  provider: string | null;
  adapter: string | null;
  threads: number;
  crossOriginIsolated: boolean;
  segmentations: number;
  result: { width: number; height: number; labelsBase64: string } | null;
}

const pageState = (page: Page) => page.evaluate(() => (window as unknown as { __wsss: PageState }).__wsss);

/** Opens the demo with `ep`, collecting console lines (onnxruntime's verbose log among them). */
async function openDemo(page: Page, ep: string, consoleLines: string[]): Promise<PageState> {
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}?ep=${ep}&log=verbose`);
  await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
  const st = await pageState(page);
  assert.equal(st.state, 'ready', `page failed to load the model: ${st.error}`);
  return st;
}

/** Picks `path` in the page's file input and returns the page's label map. */
async function segmentInPage(page: Page, path: string): Promise<{ width: number; height: number; labels: Uint8Array }> {
  const before = (await pageState(page)).segmentations;
  await page.setInputFiles('#image-file', path);
  await page.waitForFunction(
    (n) => {
      const s = (window as unknown as { __wsss: PageState }).__wsss;
      return s.segmentations > n || s.state === 'error';
    },
    before,
    { timeout: 180_000 },
  );
  const st = await pageState(page);
  assert.equal(st.state, 'done', `page failed to segment ${path}: ${st.error}`);
  const r = st.result!;
  return { width: r.width, height: r.height, labels: new Uint8Array(Buffer.from(r.labelsBase64, 'base64')) };
}

async function agreement(page: Page, path: string): Promise<{ agree: number; pixels: number; width: number; height: number }> {
  const node = await segmentImageFile(model, path, { maxSide: MAX_SIDE });
  const web = await segmentInPage(page, path);
  assert.equal(web.width, node.labels.width);
  assert.equal(web.height, node.labels.height);
  let same = 0;
  for (let i = 0; i < web.labels.length; i++) if (web.labels[i] === node.labels.data[i]) same++;
  const distinct = new Set(node.labels.data).size;
  assert.ok(distinct >= 2, `the Node label map of ${path} has ${distinct} label(s); the comparison would be trivial`);
  return { agree: same / web.labels.length, pixels: web.labels.length, width: web.width, height: web.height };
}

test('wasm EP: page labels agree with onnxruntime-node on 3 image sizes; screenshot saved', { skip, timeout: 300_000 }, async (t) => {
  const images = [await writePng(64, 48, 11), await writePng(203, 157, 12), await writePng(700, 530, 13)];
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const lines: string[] = [];
    const st = await openDemo(page, 'wasm', lines);
    assert.equal(st.provider, 'wasm');
    assert.equal(st.adapter, null);
    assert.equal(st.crossOriginIsolated, true, 'COOP/COEP headers make the page cross-origin isolated');
    assert.ok(st.threads >= 1);
    assert.ok(lines.some((l) => /placed on \[CPUExecutionProvider\]/.test(l)), "onnxruntime's log shows the nodes on the wasm (CPU) EP");
    assert.ok(!lines.some((l) => /JsExecutionProvider/.test(l)), 'no WebGPU EP was created');
    for (const path of images) {
      const a = await agreement(page, path);
      t.diagnostic(`wasm ${a.width}×${a.height}: ${(100 * a.agree).toFixed(3)} % of ${a.pixels} pixels agree`);
      assert.ok(a.agree >= MIN_AGREEMENT, `${path}: ${(100 * a.agree).toFixed(3)} % agreement`);
    }
    assert.equal((await segmentInPage(page, images[2])).width, MAX_SIDE, 'the large image was shrunk to the page maximum');
    // Screenshot of the page with the overlay of the middle image.
    await segmentInPage(page, images[1]);
    mkdirSync('artifacts', { recursive: true });
    const tmp = join('artifacts', `.web-demo.${process.pid}.png`);
    writeFileSync(tmp, await page.screenshot({ fullPage: true }));
    renameSync(tmp, join('artifacts', 'web-demo.png'));

    // Paste and drag-and-drop deliver the same image to the same pipeline as the file picker.
    const picked = await segmentInPage(page, images[0]);
    for (const how of ['paste', 'drop']) {
      const before = (await pageState(page)).segmentations;
      await page.evaluate(
        ({ b64, how }) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
          document.dispatchEvent(how === 'paste' ? new ClipboardEvent('paste', { clipboardData: dt }) : new DragEvent('drop', { dataTransfer: dt }));
        },
        { b64: readFileSync(images[0]).toString('base64'), how },
      );
      await page.waitForFunction((n) => (window as unknown as { __wsss: PageState }).__wsss.segmentations > n, before, { timeout: 60_000 });
      const st = await pageState(page);
      assert.equal(st.state, 'done', `${how}: ${st.error}`);
      assert.equal(st.result!.labelsBase64, Buffer.from(picked.labels).toString('base64'), `${how} gives the file picker's labels`);
    }
  } finally {
    await browser.close();
  }
});

test('a model picked in the page replaces the served one; a model without metadata is refused', { skip, timeout: 120_000 }, async () => {
  const fixturePath = join(dir, 'fixture.onnx');
  writeFileSync(fixturePath, fixtureModelBytes());
  const barePath = join(dir, 'bare.onnx');
  writeFileSync(barePath, fixtureModelBytes({ withoutMetadata: true }));
  const image = await writePng(90, 60, 31);
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await openDemo(page, 'wasm', []);
    await page.setInputFiles('#model-file', fixturePath);
    await page.waitForFunction(() => /fixture-cam/.test(document.getElementById('model-info')?.textContent ?? '') && (window as unknown as { __wsss: PageState }).__wsss.state === 'ready', null, { timeout: 60_000 });
    const web = await segmentInPage(page, image);
    const fixture = await openModel(ortNode as unknown as OrtModule, fixtureModelBytes(), { providers: ['cpu'], source: 'fixture.onnx' });
    try {
      const node = await segmentImageFile(fixture, image, { maxSide: MAX_SIDE });
      assert.deepEqual(web.labels, node.labels.data);
    } finally {
      await fixture.release();
    }
    assert.equal(await page.locator('#legend li').count(), 4, 'legend: background + the 3 fixture classes');
    await page.setInputFiles('#model-file', barePath);
    await page.waitForFunction(() => (window as unknown as { __wsss: PageState }).__wsss.state === 'error', null, { timeout: 60_000 });
    assert.match((await pageState(page)).error ?? '', /model the chosen model has no wsss metadata: missing method/);
  } finally {
    await browser.close();
  }
});

/**
 * Segments `image` with a method's model in Node and, picked through the page's model input, on
 * wasm: the label maps must agree (the model's label rule read from its metadata on both sides).
 */
async function pickedModelAgrees(bytes: Uint8Array, method: string, graphName: RegExp, image: string): Promise<void> {
  const path = join(dir, `${method}.onnx`);
  writeFileSync(path, bytes);
  const picked = await openModel(ortNode as unknown as OrtModule, bytes, { providers: ['cpu'], source: `${method}.onnx` });
  const browser = await launchChromium();
  try {
    assert.equal(picked.metadata.method, method);
    const node = await segmentImageFile(picked, image, { maxSide: MAX_SIDE });
    assert.ok(new Set(node.labels.data).size >= 2, 'the Node label map has at least two labels');
    const page = await browser.context.newPage();
    assert.equal((await openDemo(page, 'wasm', [])).provider, 'wasm');
    await page.setInputFiles('#model-file', path);
    await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('model-info')?.textContent ?? '') && (window as unknown as { __wsss: PageState }).__wsss.state === 'ready', graphName.source, { timeout: 60_000 });
    const web = await segmentInPage(page, image);
    let same = 0;
    for (let i = 0; i < web.labels.length; i++) if (web.labels[i] === node.labels.data[i]) same++;
    assert.ok(same / web.labels.length >= MIN_AGREEMENT, `${((100 * same) / web.labels.length).toFixed(3)} % of pixels agree`);
  } finally {
    await browser.close();
    await picked.release();
  }
}

test('a VWE model picked in the page segments as onnxruntime-node does, from its metadata alone', { skip, timeout: 120_000 }, async () => {
  await pickedModelAgrees(vweTinyModelBytes(4), 'vwe', /vwe-cam-tiny/, await writePng(80, 64, 41));
});

test('a Grad-CAM model (the backward pass of its head inside the graph) labels alike on wasm and in Node', { skip, timeout: 180_000 }, async () => {
  await pickedModelAgrees(gradCamTinyModelBytes(0), 'gradcam', /gradcam-cam-tiny/, await writePng(96, 72, 41));
});

test("a 1-Stage model labels alike on wasm and in Node (its masks rule, `onestage-masks`, read from the metadata on both sides)", { skip, timeout: 180_000 }, async () => {
  await pickedModelAgrees(oneStageTinyModelBytes(0), 'onestage', /onestage-cam-tiny/, await writePng(88, 68, 43));
});

test('WebGPU EP (SwiftShader): page labels agree with onnxruntime-node on a small image', { skip, timeout: 300_000 }, async (t) => {
  const image = await writePng(48, 36, 21);
  const browser = await launchChromium({ webgpu: true });
  try {
    const page = await browser.context.newPage();
    const lines: string[] = [];
    const st = await openDemo(page, 'webgpu', lines);
    assert.equal(st.provider, 'webgpu');
    assert.ok(st.adapter && st.adapter.length > 0, 'the GPU adapter is reported');
    t.diagnostic(`WebGPU adapter: ${st.adapter}`);
    const placement = lines.filter((l) => /placed on \[/.test(l));
    assert.ok(placement.some((l) => /JsExecutionProvider/.test(l)), `onnxruntime placed nodes on the WebGPU (JS) EP; placement log: ${placement.join(' | ')}`);
    for (const l of placement) t.diagnostic(l.replace(/^.*\] /, ''));
    // Most of the graph (its convolutions) runs on WebGPU; a few shape nodes may stay on CPU.
    const count = (ep: string) => {
      const all = placement.find((l) => l.includes(`All nodes placed on [${ep}]`));
      if (all) return Number(/Number of nodes: (\d+)/.exec(all)?.[1] ?? 0);
      const some = placement.find((l) => l.includes(`Node(s) placed on [${ep}]`));
      return some ? Number(/Number of nodes: (\d+)/.exec(some)?.[1] ?? 0) : 0;
    };
    assert.ok(count('JsExecutionProvider') > count('CPUExecutionProvider'), 'most nodes run on WebGPU');
    const a = await agreement(page, image);
    t.diagnostic(`webgpu ${a.width}×${a.height}: ${(100 * a.agree).toFixed(3)} % of ${a.pixels} pixels agree`);
    assert.ok(a.agree >= MIN_AGREEMENT, `${(100 * a.agree).toFixed(3)} % agreement`);
  } finally {
    await browser.close();
  }
});

test('without WebGPU the page reports the failure instead of silently using wasm', { skip, timeout: 120_000 }, async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}?ep=webgpu`);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
    const st = await pageState(page);
    // Headless Chromium without --enable-unsafe-webgpu has no adapter: webgpu alone must fail.
    assert.equal(st.state, 'error');
    assert.equal(st.provider, null);
    assert.match(st.error ?? '', /could not open model\.onnx with any execution provider: webgpu: /);
    // With a fallback the page runs, and says that wasm ran and why WebGPU did not.
    await page.goto(`${server.url}?ep=webgpu,wasm`);
    await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { __wsss?: PageState }).__wsss?.state ?? ''), null, { timeout: 120_000 });
    const fb = (await page.evaluate(() => (window as unknown as { __wsss: PageState & { failedProviders: { provider: string }[] } }).__wsss)) as PageState & { failedProviders: { provider: string }[] };
    assert.equal(fb.state, 'ready');
    assert.equal(fb.provider, 'wasm');
    assert.deepEqual(fb.failedProviders.map((f) => f.provider), ['webgpu']);
  } finally {
    await browser.close();
  }
});
