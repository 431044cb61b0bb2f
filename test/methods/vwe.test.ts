// The VWE method (issue 14): HSPP on small and odd feature maps against a naive reference through
// both interpreters (acceptance 3), the exported model equal to the tfjs forward on both CAM
// variants (acceptance 1), and a trained VWE model run by `wsss export --run`, `wsss pseudo-label`
// and `wsss segment` from its metadata alone (acceptance 4; the web demo: test/web/browser.test.ts).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { exportOnnx } from '../../export/export-onnx.ts';
import { tfjsForward, verifyExport } from '../../export/verify.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { globToRegExp, initialiseAll } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { camRuleBgThreshold } from '../../runtime/cam/label-rule.ts';
import { decodeLabelPng } from '../../runtime/node/files/palette-png.ts';
import { openModelFile } from '../../runtime/node/open-model-file.ts';
import { segmentPixels } from '../../runtime/segment.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { trainMethod } from '../../train/method-trainer.ts';
import { startTfjs } from '../../train/tfjs-start.ts';
import { lastJson, wsss } from '../cam/cli-fixtures.ts';
import { forwardAll, INTERPRETERS } from '../golden/graph-forward.ts';
import { hsppGraph } from '../golden/modules/hspp.ts';

/** HSPP written out loop by loop: (γ·mean + Σ_i mean over windows of the window max) / (γ + 3), kernel max(1, ⌊S/i⌋). */
function naiveHspp(x: Float32Array, n: number, c: number, h: number, w: number, gamma = 2): Float32Array {
  const out = new Float32Array(n * c);
  for (let p = 0; p < n * c; p++) {
    const at = (y: number, xx: number) => x[p * h * w + y * w + xx];
    let mean = 0;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) mean += at(y, xx) / (h * w);
    let total = gamma * mean;
    for (const bins of [1, 2, 4]) {
      const kh = Math.max(1, Math.floor(h / bins));
      const kw = Math.max(1, Math.floor(w / bins));
      const nh = Math.floor(h / kh);
      const nw = Math.floor(w / kw);
      let sum = 0;
      for (let i = 0; i < nh; i++)
        for (let j = 0; j < nw; j++) {
          let m = -Infinity;
          for (let y = i * kh; y < (i + 1) * kh; y++) for (let xx = j * kw; xx < (j + 1) * kw; xx++) m = Math.max(m, at(y, xx));
          sum += m;
        }
      total += sum / (nh * nw);
    }
    out[p] = total / (gamma + 3);
  }
  return out;
}

before(async () => {
  await startTfjs();
});

for (const [h, w] of [
  [1, 1],
  [3, 5],
  [11, 14],
]) {
  test(`HSPP on a ${h}×${w} map: the naive reference, through tfjs and the exported graph`, async () => {
    const rng = new Rng(h * 100 + w);
    const [n, c] = [2, 3];
    const data = Float32Array.from({ length: n * c * h * w }, () => rng.normal());
    const expected = naiveHspp(data, n, c, h, w);
    for (const via of INTERPRETERS) {
      const [out] = await forwardAll(hsppGraph(c), new Map(), [{ x: { dims: [n, c, h, w], data } }], via);
      assert.deepEqual(out.pooled.dims, [n, c, 1, 1], via);
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(out.pooled.data[i] - expected[i]) <= 1e-5, `${via} [${i}]: ${out.pooled.data[i]} vs ${expected[i]}`);
    }
    // A 1×1 map is every level's only window: HSPP gives the map back.
    if (h * w === 1) for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(expected[i] - data[i]) < 1e-6);
  });
}

test('export: the VWE model equals tfjs within 1e-4 on both CAM variants; two-branch CAM = max(image CAM, word CAM)', async () => {
  const def = getMethod('vwe');
  const classNames = ['a', 'b', 'c', 'd'];
  const graphs = (['two-branch', 'image'] as const).map((cam) => def.build({ backbone: 'cam-tiny-w16', classNames, options: resolveOptions(def, { cam, 'words-k': 16 }) }).graph);
  const values = initialiseAll(graphs[0].module, 5);
  for (const g of graphs) {
    const r = await verifyExport(g, values, exportOnnx(g, values), { size: [37, 29] });
    assert.ok(r.relErr <= 1e-4, `${g.name}: ${r.worst} off by ${r.relErr}`);
  }
  const rng = new Rng(2);
  const image = { dims: [1, 3, 24, 20], data: Float32Array.from({ length: 3 * 24 * 20 }, () => 255 * rng.uniform()) };
  const [two, img] = await Promise.all(graphs.map((g) => tfjsForward(g, values, { image })));
  assert.deepEqual(two.scores.data, img.scores.data, 'the CAM option changes the CAMs only');
  let above = 0;
  for (let i = 0; i < two.raw_cams.data.length; i++) {
    assert.ok(two.raw_cams.data[i] >= img.raw_cams.data[i] - 1e-6);
    if (two.raw_cams.data[i] > img.raw_cams.data[i] + 1e-6) above++;
  }
  assert.ok(above > 0, 'the word branch lifts the CAM somewhere');
});

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'wsss-vwe-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('a trained VWE model runs in wsss pseudo-label and wsss segment from its metadata alone (bg 0.14)', async () => {
  const data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 5), train: 8, val: 1 });
  const run = join(root, 'run');
  const s = await trainMethod({
    method: 'vwe',
    backbone: 'cam-tiny-w16',
    options: { 'words-k': 16 },
    data,
    split: 'train',
    hyper: { epochs: 1, batch: 4, crop: 32, lr: 0.01, warmup: 0 },
    seed: 1,
    outDir: run,
    checkpointEvery: 10,
    augment: { scale: [0.9, 1.1], flip: true },
    progress: false,
  });
  assert.equal(s.steps, 2);
  const model = join(root, 'vwe.onnx');
  const exp = wsss('export', '--run', run, '--out', model, '--verify');
  assert.equal(exp.status, 0, exp.stderr);

  const pseudo = join(root, 'pseudo');
  const pl = wsss('pseudo-label', '--model', model, '--data', data, '--split', 'train', '--out', pseudo, '--use-image-labels', '--ep', 'cpu');
  assert.equal(pl.status, 0, pl.stderr);
  const summary = lastJson(pl.stdout);
  assert.equal(summary.bg_threshold, 0.14, "the model's label rule, not CAM's 0.15");
  assert.equal(readdirSync(join(pseudo, 'labels')).filter((f) => f.endsWith('.png')).length, 8);

  const rgb = Uint8Array.from({ length: 40 * 32 * 3 }, (_, i) => (i * 37) % 251);
  const png = join(root, 'img.png');
  writeFileSync(png, await sharp(rgb, { raw: { width: 40, height: 32, channels: 3 } }).png().toBuffer());
  const seg = wsss('segment', '--model', model, '--ep', 'cpu', '--out', join(root, 'seg'), png);
  assert.equal(seg.status, 0, seg.stderr);
  const labels = decodeLabelPng(readFileSync(join(root, 'seg', 'img.png')), 'img.png');
  const m = await openModelFile(model, { providers: ['cpu'] });
  try {
    assert.equal(camRuleBgThreshold(m.metadata.labelRule, model), 0.14);
    const at014 = await segmentPixels(m, { data: rgb, width: 40, height: 32, channels: 3 }, { bgThreshold: 0.14 });
    assert.deepEqual(labels.data, at014.labels.data, "wsss segment applies the rule's threshold");
  } finally {
    await m.release();
  }
  assert.ok(existsSync(join(root, 'seg', 'img.overlay.png')));
});

test("the official code's backbone options: detached stage 2 freezes stem, layer1 and layer2 of a ResNet; frozen batch norms", () => {
  const def = getMethod('vwe');
  const build = (backbone: string, o: Record<string, unknown>) => def.build({ backbone, classNames: ['a', 'b'], options: resolveOptions(def, o) });
  const m = build('resnet50-w16', { 'detach-stage2': true, 'frozen-bn': true });
  const frozen = m.stages(6)[0].frozen.map(globToRegExp);
  const names = m.module.parameters().map((p) => p.name);
  const isFrozen = (n: string) => frozen.some((re) => re.test(n));
  assert.ok(names.filter((n) => /^backbone\.(conv1|bn1|layer1|layer2)\./.test(n)).every(isFrozen));
  assert.ok(!names.filter((n) => /^backbone\.layer[34]\.|^(head|words|w2i|word_classifier)\./.test(n)).some(isFrozen));
  assert.ok(m.module.parameters().filter((p) => /\.bn\d?\.(weight|bias)$|^backbone\.bn1\./.test(p.name)).every((p) => !p.spec.trainable), 'batch norms not trained');
  assert.deepEqual(m.stages(6)[0].losses, ['cls', 'w2i', 'word']);
  assert.deepEqual(build('cam-tiny', { words: false }).stages(6)[0].losses, ['cls']);
  assert.throws(() => build('cam-tiny', { 'detach-stage2': true }), /--detach-stage2 applies to resnet50\/resnet101/);
  assert.throws(() => build('cam-tiny', { 'frozen-bn': true }), /frozen batch norms apply to/);
});
