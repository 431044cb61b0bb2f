// The 1-Stage method (issue 13) at test size: the warm-up schedule scaled by the run's epochs, a
// run killed inside the mask-loss stage (Stochastic Gate sampling, PAMR, pseudo-GT) resumes to the
// same parameters as an uninterrupted one, the exported model equals the tfjs forward (masks ≤ 1e-4),
// and pseudo-labelling applies the model's 1-Stage rule; `wsss refine --pamr` on saved CAMs.
// The modules' numbers are held to the reference code by the golden vectors (test/golden).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { runPseudoLabel } from '../../cli/pseudo-label-run.ts';
import { exportOnnx } from '../../export/export-onnx.ts';
import { tfjsForward, verifyExport } from '../../export/verify.ts';
import { oneStageStages, warmupEpochs } from '../../graphs/methods/onestage/index.ts';
import { pamrGraph } from '../../graphs/onestage/pamr-graph.ts';
import { Rng } from '../../graphs/rng.ts';
import { decodeImageFile } from '../../runtime/node/dataset/decode-image.ts';
import { VocDataset } from '../../runtime/node/dataset/voc-dataset.ts';
import { encodeNpy, readNpyFloat32 } from '../../runtime/node/files/npy.ts';
import { readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { pixelsToPlanarRgb } from '../../runtime/preprocess.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { trainMethod, type MethodTrainConfig } from '../../train/method-trainer.ts';
import { openRun } from '../../train/run-model.ts';
import { startTfjs } from '../../train/tfjs-start.ts';
import { lastJson, wsss } from '../cam/cli-fixtures.ts';

let root: string;
let data: string;
before(async () => {
  await startTfjs();
  root = mkdtempSync(join(tmpdir(), 'wsss-onestage-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 5), train: 8, val: 1 });
});
after(() => rmSync(root, { recursive: true, force: true }));

test("warm-up: the paper's 5 of 24 epochs scaled by the run (6 → 1, 12 → 3, 24 → 5), then cls + mask", () => {
  assert.deepEqual([1, 2, 6, 12, 24].map(warmupEpochs), [0, 0, 1, 3, 5]);
  assert.deepEqual(oneStageStages(6), [
    { name: 'classification', epochs: 1, frozen: [], losses: ['cls'] },
    { name: 'segmentation', epochs: 5, frozen: [], losses: ['cls', 'mask'] },
  ]);
  assert.deepEqual(oneStageStages(1).map((s) => s.name), ['segmentation']);
});

function config(outDir: string, options: Record<string, unknown> = {}): MethodTrainConfig {
  return {
    method: 'onestage',
    backbone: 'cam-tiny-w4',
    options: { width: 8, ...options },
    data,
    split: 'train',
    // 8 images, batch 4: 2 steps an epoch; 5 epochs → 1 warm-up epoch (steps 1–2), the mask loss from step 3.
    hyper: { epochs: 5, batch: 4, crop: 32, lr: 0.01, warmup: 1 },
    seed: 7,
    outDir,
    checkpointEvery: 1,
    augment: { scale: [0.9, 1.1], flip: true },
    maxSteps: 4,
    progress: false,
  };
}

test('onestage: exact resume inside the mask-loss stage, export parity of the masks, pseudo-label by the 1-Stage rule', async () => {
  const straightDir = join(root, 'straight');
  const killedDir = join(root, 'killed');
  const straight = await trainMethod(config(straightDir));
  assert.equal(straight.steps, 4);
  assert.ok(Number.isFinite(straight.finalLoss));
  await trainMethod({ ...config(killedDir), stopAfter: 3 });
  const second = await trainMethod(config(killedDir));
  assert.equal(second.resumedFrom, 3);
  const a = openRun(straightDir);
  const b = openRun(killedDir);
  let worst = 0;
  for (const [name, v] of a.values) {
    const r = b.values.get(name)!;
    for (let i = 0; i < v.data.length; i++) worst = Math.max(worst, Math.abs(v.data[i] - r.data[i]));
  }
  assert.ok(worst <= 1e-6, `resumed run differs from the straight one by ${worst}`);

  const bytes = exportOnnx(a.graph, a.values, { source: a.modelPath });
  const v = await verifyExport(a.graph, a.values, bytes, { size: [45, 37], batch: 2 });
  const masks = v.outputs.find((o) => o.name === 'masks')!;
  assert.deepEqual(masks.onnxDims, [2, 7, 45, 37], 'masks: background + 6 classes at the input size');
  assert.ok(masks.shapeMatch && masks.relErr <= 1e-4, `masks: relative error ${masks.relErr}`);
  assert.ok(v.relErr <= 1e-4, `worst output ${v.worst}: ${v.relErr}`);

  const modelPath = join(straightDir, 'model.onnx');
  writeFileSync(modelPath, bytes);
  const out = join(straightDir, 'pseudo');
  const pl = await runPseudoLabel({ model: modelPath, data, split: 'train', out, providers: ['cpu'], scales: [1, 0.5], flip: true, useImageLabels: true, writeCams: true, workers: 0, quiet: true });
  assert.equal(pl.failed, 0);
  assert.equal(pl.processed, 8);
  assert.match(pl.merge_rule, /^onestage-masks/, "the 1-Stage rule from the model's metadata");
  // With the image labels, only labelled classes (or background) appear.
  const ds = VocDataset.open(data);
  for (const id of ds.ids('train')) {
    const labels = new Set([0, ...(await ds.labels(id))]);
    for (const l of (await readLabelPng(join(out, 'labels', `${id}.png`))).data) assert.ok(labels.has(l), `${id}: label ${l} not among the image's classes`);
  }
});

test('wsss refine --pamr: CAMs + constant background refined by PAMR; --iters 0 is the plain argmax; reruns resume; bad files reported', async () => {
  const ds = VocDataset.open(data);
  const ids = ds.ids('train').slice(0, 3);
  const cams = join(root, 'cams');
  mkdirSync(cams, { recursive: true });
  const rng = new Rng(3);
  const maps: Record<string, Float32Array> = {};
  const size = defaultSynthParams('tiny', 5).size;
  for (const id of ids) {
    maps[id] = Float32Array.from({ length: 6 * size * size }, () => rng.uniform());
    writeFileSync(join(cams, `${id}.npy`), encodeNpy([6, size, size], maps[id]));
  }
  writeFileSync(join(cams, 'broken.npy'), new Uint8Array([1, 2, 3]));
  const plain = join(root, 'refined-0');
  const r0 = wsss('refine', '--pamr', '--cams', '--iters', '0', '--bg-score', '0.5', '--data', data, '--probs', cams, '--out', plain);
  assert.equal(r0.status, 1, 'the broken file fails the batch, the others are written');
  assert.match(r0.stderr, /broken/);
  const j = lastJson(r0.stdout) as { refined: number; failed: number; bg_score: number };
  assert.deepEqual([j.refined, j.failed, j.bg_score], [3, 1, 0.5]);
  for (const id of ids) {
    const hw = size * size;
    const got = (await readLabelPng(join(plain, 'labels', `${id}.png`))).data;
    for (let p = 0; p < hw; p += 37) {
      let best = 0;
      let bestV = 0.5;
      for (let c = 0; c < 6; c++) if (maps[id][c * hw + p] > bestV) (best = c + 1), (bestV = maps[id][c * hw + p]);
      assert.equal(got[p], best, `${id} pixel ${p}`);
    }
  }
  const refined = join(root, 'refined');
  const r = wsss('refine', '--pamr', '--cams', '--use-image-labels', '--data', data, '--probs', cams, '--out', refined, '--list', writeList(ids));
  assert.equal(r.status, 0, r.stderr);
  assert.equal((lastJson(r.stdout) as { refined: number }).refined, 3);
  assert.equal(readdirSync(join(refined, 'cams')).length, 3);
  const again = wsss('refine', '--pamr', '--cams', '--use-image-labels', '--data', data, '--probs', cams, '--out', refined, '--list', writeList(ids));
  assert.equal((lastJson(again.stdout) as { skipped_existing: number }).skipped_existing, 3);
  assert.equal(wsss('refine', '--pamr', '--dilations', '1,x', '--data', data, '--probs', cams, '--out', refined).status, 2);
  assert.ok(existsSync(join(refined, 'labels', `${ids[0]}.png`)));
});

test('wsss refine --pamr --stride 4: PAMR on the image and maps shrunk to ceil(64/4), then resized back', async () => {
  // Reference from other code: tf.image.resizeBilinear (align corners) down and up, PAMR through
  // the tfjs interpreter (the CLI runs the exported graph in onnxruntime and resizes in runtime/resize.ts).
  const ds = VocDataset.open(data);
  const id = ds.ids('train')[0];
  const size = defaultSynthParams('tiny', 5).size;
  const small = Math.ceil(size / 4);
  const k = 6;
  const bg = 0.3;
  const cams = join(root, 'cams-stride');
  mkdirSync(cams, { recursive: true });
  const rng = new Rng(9);
  const fg = Float32Array.from({ length: k * size * size }, () => rng.uniform());
  writeFileSync(join(cams, `${id}.npy`), encodeNpy([k, size, size], fg));
  const out = join(root, 'refined-stride4');
  const r = wsss('refine', '--pamr', '--cams', '--stride', '4', '--bg-score', String(bg), '--data', data, '--probs', cams, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((lastJson(r.stdout) as { stride: number }).stride, 4);
  assert.equal(wsss('refine', '--pamr', '--stride', '0', '--data', data, '--probs', cams, '--out', out).status, 2);

  const maps = new Float32Array((k + 1) * size * size).fill(bg, 0, size * size);
  maps.set(fg, size * size);
  const image = pixelsToPlanarRgb(await decodeImageFile(ds.imagePath(id)));
  // CHW ↔ NHWC through tfjs, resized with tfjs's own bilinear kernel.
  const resized = (chw: Float32Array, c: number, from: number, to: number) =>
    tf.tidy(() => tf.transpose(tf.image.resizeBilinear(tf.transpose(tf.tensor4d(chw, [1, c, from, from]), [0, 2, 3, 1]) as tf.Tensor4D, [to, to], true), [0, 3, 1, 2]).dataSync() as Float32Array);
  const refinedSmall = await tfjsForward(pamrGraph({ channels: k + 1 }), new Map(), {
    image: { dims: [1, 3, small, small], data: resized(image, 3, size, small) },
    maps: { dims: [1, k + 1, small, small], data: resized(maps, k + 1, size, small) },
  });
  const expected = resized(refinedSmall.refined.data as Float32Array, k + 1, small, size).subarray(size * size);
  const got = readNpyFloat32(join(out, 'cams', `${id}.npy`));
  assert.deepEqual(got.shape, [k, size, size]);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - expected[i]));
  assert.ok(worst <= 1e-4, `max |refined − reference| ${worst}`);
  // And the stride changed the result (the test is not comparing two full-resolution runs).
  const full = join(root, 'refined-stride1');
  assert.equal(wsss('refine', '--pamr', '--cams', '--bg-score', String(bg), '--data', data, '--probs', cams, '--out', full).status, 0);
  const fullMaps = readNpyFloat32(join(full, 'cams', `${id}.npy`)).data;
  assert.ok(fullMaps.some((v, i) => Math.abs(v - got.data[i]) > 1e-3));
});

function writeList(ids: string[]): string {
  const p = join(root, 'list.txt');
  writeFileSync(p, ids.join('\n') + '\n');
  return p;
}

test('wsss pseudo-label --from-cams --pamr (the CAM + PAMR bench row) labels as wsss refine --pamr does; misuse is refused', async () => {
  const ds = VocDataset.open(data);
  const ids = ds.ids('train').slice(0, 2);
  const size = defaultSynthParams('tiny', 5).size;
  const cams = join(root, 'cams-relabel');
  mkdirSync(cams, { recursive: true });
  const rng = new Rng(21);
  for (const id of ids) writeFileSync(join(cams, `${id}.npy`), encodeNpy([6, size, size], Float32Array.from({ length: 6 * size * size }, () => rng.uniform())));
  const list = writeList(ids);
  const viaPseudo = join(root, 'relabel-pamr');
  const r = wsss('pseudo-label', '--from-cams', cams, '--pamr', '--bg-threshold', '0.4', '--use-image-labels', '--data', data, '--list', list, '--out', viaPseudo);
  assert.equal(r.status, 0, r.stderr);
  const s = lastJson(r.stdout) as { processed: number; bg_threshold: number; pamr: { iterations: number } };
  assert.deepEqual([s.processed, s.bg_threshold, s.pamr.iterations], [2, 0.4, 10]);
  const viaRefine = join(root, 'relabel-refine');
  assert.equal(wsss('refine', '--pamr', '--cams', '--bg-score', '0.4', '--use-image-labels', '--data', data, '--probs', cams, '--list', list, '--out', viaRefine).status, 0);
  for (const id of ids) {
    const a = (await readLabelPng(join(viaPseudo, 'labels', `${id}.png`))).data;
    const b = (await readLabelPng(join(viaRefine, 'labels', `${id}.png`))).data;
    assert.deepEqual(Array.from(a), Array.from(b), id);
    assert.ok(new Set(a).size > 1, `${id}: more than one label`);
  }
  assert.equal(wsss('pseudo-label', '--model', 'm.onnx', '--pamr', '--data', data, '--out', join(root, 'x')).status, 2);
  assert.equal(wsss('pseudo-label', '--from-cams', cams, '--pamr', '--saliency-only', '--use-image-labels', '--data', data, '--out', join(root, 'y')).status, 2);
});
