// `npm run bench -- vwe-words --run RUN [--data DIR] [--images N] [--out DIR]`
//
// What a trained VWE run's visual words learned (issue 14's diagnostic):
// - the word-to-image loss over the run's last epoch against the class-frequency baseline, the
//   loss of the best constant prediction (each class's logit at its frequency in the training
//   list: mean over classes of the binary entropy of that frequency) — a word branch that learned
//   nothing but the class prior sits at the baseline;
// - the words' use during training: word labels per image and the mean peak of the soft
//   assignment (1/K would be uniform);
// - pseudo-labels of the first N training images from the run's model with each CAM: the image
//   branch, the word branch alone (Σ_k W_w2i[k,c]·P[k]) and the paper's two-branch max, each
//   exported from the run and labelled with `wsss pseudo-label` (the model's label rule and the
//   image labels), with their mIoU and head / body recall (the synthetic set's part masks), and
//   each exported variant checked against the tfjs forward on the trained weights.
// Ends with one JSON line.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportOnnx } from '../export/export-onnx.ts';
import { verifyExport } from '../export/verify.ts';
import { resolveOptions } from '../graphs/methods/method.ts';
import { getMethod } from '../graphs/methods/registry.ts';
import { PartRecallCounter } from '../runtime/metrics/part-recall.ts';
import { readJsonl } from '../runtime/node/files/jsonl.ts';
import { readLabelPng } from '../runtime/node/files/palette-png.ts';
import { parseImageList } from '../runtime/node/dataset/voc-dataset.ts';
import { openRun } from '../train/run-model.ts';
import { startTfjs } from '../train/tfjs-start.ts';
import { benchArg } from './lib/args.ts';

const WSSS = fileURLToPath(new URL('../bin/wsss.js', import.meta.url));
const runDir = benchArg('run');
if (!runDir) {
  console.error('usage: npm run bench -- vwe-words --run RUN_DIR [--data DIR] [--images 300] [--out DIR]');
  process.exit(2);
}
await startTfjs();
const run = openRun(resolve(runDir));
if (run.config.method !== 'vwe') {
  console.error(`${runDir}: a ${run.config.method} run, not vwe`);
  process.exit(2);
}
const data = resolve(benchArg('data', run.config.data));
const images = Number(benchArg('images', '300'));
if (!Number.isInteger(images) || images < 1) {
  console.error('--images must be a positive integer');
  process.exit(2);
}
const out = resolve(benchArg('out', join(runDir, 'vwe-words')));
mkdirSync(out, { recursive: true });

// ---- the word-to-image loss against the class-frequency baseline ---------------------------------
const labelsById = JSON.parse(readFileSync(join(data, 'cls_labels.json'), 'utf8')) as Record<string, number[]>;
const trainIds = parseImageList(readFileSync(join(data, 'ImageSets', 'Segmentation', `${run.config.split}.txt`), 'utf8'));
const classes = run.config.classNames.length;
const freq = Array.from({ length: classes }, (_, c) => trainIds.reduce((a, id) => a + (labelsById[id][c] ? 1 : 0), 0) / trainIds.length);
const entropy = (p: number) => (p <= 0 || p >= 1 ? 0 : -(p * Math.log(p) + (1 - p) * Math.log(1 - p)));
const baseline = freq.reduce((a, p) => a + entropy(p), 0) / classes;
const metrics = readJsonl(join(runDir, 'metrics.jsonl'));
const stepsPerEpoch = Math.floor(trainIds.length / run.config.hyper.batch);
const lastStep = metrics.length ? (metrics[metrics.length - 1].step as number) : 0;
const lastEpoch = metrics.filter((r) => (r.step as number) > lastStep - stepsPerEpoch);
const mean = (rows: Record<string, unknown>[], k: string) => rows.reduce((a, r) => a + (r[k] as number), 0) / rows.length;
const training = {
  w2i_loss_last_epoch: mean(lastEpoch, 'w2i'),
  w2i_loss_first_logged: metrics[0]?.w2i as number,
  class_frequency_baseline: baseline,
  word_loss_last_epoch: mean(lastEpoch, 'word'),
  cls_loss_last_epoch: mean(lastEpoch, 'cls'),
  words_per_image_last_epoch: mean(lastEpoch, 'words_per_image'),
  assignment_peak_last_epoch: mean(lastEpoch, 'assignment_peak'),
};
console.log(`word-to-image loss, last epoch: ${training.w2i_loss_last_epoch.toFixed(4)} (first logged ${training.w2i_loss_first_logged.toFixed(4)}); class-frequency baseline ${baseline.toFixed(4)}`);
console.log(`word labels per image ${training.words_per_image_last_epoch.toFixed(1)}, mean assignment peak ${training.assignment_peak_last_epoch.toFixed(4)}`);

// ---- pseudo-labels with each CAM ---------------------------------------------------------------
const list = join(out, 'list.txt');
writeFileSync(list, trainIds.slice(0, images).join('\n') + '\n');
function wsss(args: string[]): string {
  const r = spawnSync(process.execPath, [WSSS, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  if (r.status !== 0) throw new Error(`wsss ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout.trim().split('\n').pop() ?? '';
}
const def = getMethod('vwe');
const cams: Record<string, { miou: number; head_recall: number; body_recall: number; export_rel_err: number }> = {};
for (const cam of ['image', 'words', 'two-branch']) {
  const graph = def.build({ backbone: run.config.backbone, classNames: run.config.classNames, options: resolveOptions(def, { ...run.config.options, cam }) }).graph;
  const model = join(out, `cam-${cam}.onnx`);
  const bytes = exportOnnx(graph, run.values);
  writeFileSync(model, bytes);
  // The exported variant against the tfjs forward on the run's trained weights (random 61×45 inputs).
  const parity = await verifyExport(graph, run.values, bytes);
  const pseudo = join(out, `pseudo-${cam}`);
  wsss(['pseudo-label', '--model', model, '--data', data, '--list', list, '--split', run.config.split, '--out', pseudo, '--use-image-labels', '--ep', 'cpu']);
  const ev = JSON.parse(wsss(['eval', '--gt', data, '--pred', join(pseudo, 'labels'), '--list', list])) as { miou: number };
  const counter = new PartRecallCounter();
  for (const id of trainIds.slice(0, images)) {
    const parts = (await readLabelPng(join(data, 'PartMasks', `${id}.png`))).data;
    const gt = (await readLabelPng(join(data, 'SegmentationClass', `${id}.png`))).data;
    const pred = (await readLabelPng(join(pseudo, 'labels', `${id}.png`))).data;
    counter.addLabelMap(pred, gt, parts);
  }
  const r = counter.result();
  cams[cam] = { miou: ev.miou, head_recall: r.head.recall, body_recall: r.body.recall, export_rel_err: parity.relErr };
  console.log(
    `${cam.padEnd(11)} CAM: mIoU ${ev.miou.toFixed(4)}, head recall ${r.head.recall.toFixed(4)}, body recall ${r.body.recall.toFixed(4)} (${images} train images); export vs tfjs ${parity.relErr.toExponential(1)} (${parity.worst})`,
  );
}
console.log(JSON.stringify({ run: resolve(runDir), images, training, cams }));
