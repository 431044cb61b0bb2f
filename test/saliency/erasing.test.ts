// Saliency with iterative erasing (issue 17, acceptance 3): the erasing steps on a constructed
// image, expected values worked out by hand; `wsss saliency` (runSaliency) with an exported
// stand-in saliency model, with and without erasing, and its resume.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runSaliency } from '../../cli/saliency-run.ts';
import { exportOnnx } from '../../export/export-onnx.ts';
import { decodeImageFile } from '../../runtime/node/dataset/decode-image.ts';
import { readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { pixelsToPlanarRgb } from '../../runtime/preprocess.ts';
import { saliencyWithErasing, type PlanarRgb } from '../../runtime/saliency/iterative-erasing.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { lambdaGraph } from '../export-helpers.ts';

/** The stand-in detector: each pixel's channel mean over the image's largest (finds the brightest object). */
async function relativeBrightness(img: PlanarRgb): Promise<Float32Array> {
  const hw = img.height * img.width;
  const m = Float32Array.from({ length: hw }, (_, p) => (img.data[p] + img.data[hw + p] + img.data[2 * hw + p]) / 3);
  const peak = Math.max(...m);
  return m.map((v) => v / (peak + 1e-6));
}

const grey = (values: number[]): PlanarRgb => ({ data: Float32Array.from([...values, ...values, ...values]), height: 1, width: values.length });

test('iterative erasing on a constructed image: a bright and a dimmer object, both found after erasing', async () => {
  // Pixels: bright object 250, dim object 160, background 20, 20. The fill is the ImageNet mean
  // pixel, whose channel mean is f = (0.485 + 0.456 + 0.406)·255/3 ≈ 114.5.
  const f = ((0.485 + 0.456 + 0.406) * 255) / 3;
  const r = await saliencyWithErasing(relativeBrightness, grey([250, 160, 20, 20]));
  const near = (got: Float32Array, want: number[], what: string) => want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-5, `${what}[${i}]: ${got[i]} vs ${w}`));
  assert.equal(r.maps.length, 3);
  near(r.maps[0], [1, 160 / 250, 20 / 250, 20 / 250], 'S0'); // only the bright object is above 0.7
  near(r.maps[1], [f / 160, 1, 20 / 160, 20 / 160], 'S1'); // it is erased; the dim object is now the brightest
  near(r.maps[2], [1, 1, 20 / f, 20 / f], 'S2'); // both erased (S1 > 0.8 at the dim one)
  near(r.saliency, [1, 1, 20 / f, 20 / f], 'S = max(S0, S1, S2)');
  // The erased images: the fill in every channel where erased, the pixels untouched elsewhere.
  const mean = [0.485 * 255, 0.456 * 255, 0.406 * 255];
  for (let c = 0; c < 3; c++) {
    assert.deepEqual([...r.erased[0].data.subarray(4 * c, 4 * c + 4)], [Math.fround(mean[c]), 160, 20, 20]);
    assert.deepEqual([...r.erased[1].data.subarray(4 * c, 4 * c + 4)], [Math.fround(mean[c]), Math.fround(mean[c]), 20, 20]);
  }
  // Without thresholds: the detector alone.
  near((await saliencyWithErasing(relativeBrightness, grey([250, 160, 20, 20]), [])).saliency, [1, 160 / 250, 20 / 250, 20 / 250], 'no erasing');
});

let root: string;
let data: string;
let model: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsss-saliency-cli-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 3), train: 3, val: 1 });
  // The stand-in exported as an ONNX model (no wsss metadata needed): one channel from RGB.
  const graph = lambdaGraph('standin-saliency', 3, (ops, { x }) => {
    const m = ops.reduceMean(x, [1], true);
    return { saliency: ops.div(m, ops.add(ops.reduceMax(m, [2, 3], true), 1e-6)) };
  });
  model = join(root, 'standin.onnx');
  writeFileSync(model, exportOnnx(graph, new Map()));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('wsss saliency with an ONNX stand-in: maps as the detector gives them, erasing as computed, resume', async () => {
  const base = { model, data, split: 'train', providers: ['cpu'], input: '0-255' as const, quiet: true };
  const plain = await runSaliency({ ...base, out: join(root, 'plain'), erase: [] });
  const erased = await runSaliency({ ...base, out: join(root, 'erased'), erase: [0.7, 0.8] });
  assert.equal(plain.processed, 3);
  assert.equal(erased.processed, 3);
  let raised = 0;
  for (const id of ['train_000000', 'train_000001', 'train_000002']) {
    const px = await decodeImageFile(join(data, 'JPEGImages', `${id}.jpg`));
    const img = { data: pixelsToPlanarRgb(px), height: px.height, width: px.width };
    const want = await saliencyWithErasing(relativeBrightness, img);
    const gotPlain = (await readLabelPng(join(root, 'plain', `${id}.png`))).data;
    const gotErased = (await readLabelPng(join(root, 'erased', `${id}.png`))).data;
    for (let p = 0; p < gotPlain.length; p++) {
      assert.ok(Math.abs(gotPlain[p] - 255 * want.maps[0][p]) <= 0.51, `${id} plain pixel ${p}: ${gotPlain[p]} vs ${255 * want.maps[0][p]}`);
      assert.ok(Math.abs(gotErased[p] - 255 * want.saliency[p]) <= 0.51, `${id} erased pixel ${p}: ${gotErased[p]} vs ${255 * want.saliency[p]}`);
      if (gotErased[p] > gotPlain[p]) raised++;
    }
  }
  assert.ok(raised > 0, 'erasing found saliency the first map did not');
  const again = await runSaliency({ ...base, out: join(root, 'erased'), erase: [0.7, 0.8] });
  assert.deepEqual([again.processed, again.skipped_existing], [0, 3]);
});
