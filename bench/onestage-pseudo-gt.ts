// What 1-Stage's self-training target covers (issue 13's why-analysis):
// `npm run bench -- onestage-pseudo-gt --run RUN --data DIR [--images 100]`
//
// For the first N train images, the trained model's masks go through the mask loss's own path
// (PAMR at mask resolution, absent classes zeroed, pseudo ground truth: > 0.6 of each class's
// maximum, 0.7 for the background, floor 0.2, pixels claimed by two classes or none ignored) and
// the result is scored against the part masks: the share of head and body pixels given their own
// class or ignored, and the share of background pixels given a class. Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskScores, keepLabelledClasses } from '../graphs/methods/onestage/masks.ts';
import { pseudoGroundTruth } from '../graphs/methods/onestage/pseudo-gt.ts';
import type { OneStageNet } from '../graphs/methods/onestage/model.ts';
import { pamr } from '../graphs/onestage/pamr.ts';
import { decodeImageRgb } from '../runtime/node/dataset/images.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { readLabelPng } from '../runtime/node/files/palette-png.ts';
import { openRun } from '../train/run-model.ts';
import { startTfjs } from '../train/tfjs-start.ts';
import { TfjsOps } from '../train/tfjs-interpreter.ts';
import { opsTensor, tfTensor } from '../train/tfjs-layout.ts';
import { TfjsParams } from '../train/tfjs-params.ts';
import { benchArg } from './lib/args.ts';
await startTfjs();
const runDir = benchArg('run');
const data = benchArg('data');
const images = Number(benchArg('images', '100'));
if (!runDir || !data || !Number.isInteger(images) || images < 1) {
  console.error('usage: npm run bench -- onestage-pseudo-gt --run RUN --data DIR [--images N]');
  process.exit(2);
}
const run = openRun(runDir);
if (run.config.method !== 'onestage') {
  console.error(`${runDir}: a ${run.config.method} run, not onestage`);
  process.exit(2);
}
const net = run.model.module as OneStageNet;
const params = new TfjsParams(run.values, net);
const ops = new TfjsOps(params, { training: false });
const ds = VocDataset.open(data);
const ids = ds.ids('train').slice(0, images);
const K = ds.classNames.length;
/** Per part: [pixels given the right class (background: given any class), ignored, total]. */
const c = { head: [0, 0, 0], body: [0, 0, 0], bg: [0, 0, 0] };
for (const id of ids) {
  const img = await decodeImageRgb(ds.imagePath(id));
  const { width: w, height: h } = img;
  const labels = new Float32Array(K);
  for (const l of await ds.labels(id)) labels[l - 1] = 1;
  const pgt = tf.tidy(() => {
    const image = opsTensor(tf.tensor4d(Float32Array.from(img.data), [1, h, w, 3]));
    const lab = opsTensor(tf.tensor2d(labels, [1, K]));
    const out = maskScores(ops, net.foregroundLogits(ops, image));
    const small = ops.resizeBilinear(ops.mul(image, 1 / 255), { like: out.masks }, true);
    const refined = pamr(ops, small, out.masks, { dilations: net.config.pamrDilations, iterations: net.config.pamrIterations });
    const clean = keepLabelledClasses(ops, ops.resizeBilinear(refined, { like: image }, true), lab);
    return tf.transpose(tfTensor(pseudoGroundTruth(ops, clean, K + 1)), [0, 3, 1, 2]).dataSync() as Float32Array; // logical NCHW
  });
  const gt = (await readLabelPng(join(data, 'SegmentationClass', `${id}.png`))).data;
  const parts = (await readLabelPng(join(data, 'PartMasks', `${id}.png`))).data;
  const hw = h * w;
  for (let p = 0; p < hw; p++) {
    let lab = -1;
    for (let ch = 0; ch <= K; ch++) if (pgt[ch * hw + p] > 0.5) lab = ch;
    const part = parts[p];
    const key = part === 2 ? 'head' : part === 1 ? 'body' : part === 0 || part === 3 ? 'bg' : null;
    if (!key) continue;
    const cnt = c[key];
    cnt[2]++;
    if (lab < 0) cnt[1]++;
    else if (key === 'bg' ? lab !== 0 : lab === gt[p]) cnt[0]++;
  }
}
const f = (a: number[]) => ({ hit: +(a[0] / a[2]).toFixed(3), ignored: +(a[1] / a[2]).toFixed(3) });
console.log(`pseudo ground truth of ${ids.length} train images: head ${f(c.head).hit} right (${f(c.head).ignored} ignored), body ${f(c.body).hit} right (${f(c.body).ignored} ignored), background given a class ${f(c.bg).hit}`);
console.log(JSON.stringify({ run: runDir, images: ids.length, head: f(c.head), body: f(c.body), background_as_fg: f(c.bg) }));
