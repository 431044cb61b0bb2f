// PPL diagnostic (issue 16, acceptance 2): what did each feature group learn? For the finished
// methods-bench runs of one seed (CAM and every PPL row), the CAM of each feature group alone —
// the undestructed F̂ and each patch branch's merged F̃ (its classifier slice on its features) —
// and their fused mean, thresholded, scored by head and body recall on the synthetic set's
// part masks (and the background hit rate, the price of recall). Single scale, no flip: a
// comparison between groups, not the pseudo-label figure of the methods bench.
// `npm run bench -- ppl-groups [--out /work/bench-methods] [--seed 0] [--images 300] [--thresholds 0.15,0.3]`
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CamNet } from '../graphs/methods/cam/model.ts';
import { inferenceBranches, type PplMode } from '../graphs/methods/ppl/index.ts';
import { PplNet } from '../graphs/methods/ppl/model.ts';
import type { Ops, Tensor } from '../graphs/ops.ts';
import { PartRecallCounter, type PartRecallResult } from '../runtime/metrics/part-recall.ts';
import { readLabelPng } from '../runtime/node/files/palette-png.ts';
import { pixelsToPlanarRgb } from '../runtime/preprocess.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { openRun } from '../train/run-model.ts';
import { TfjsOps } from '../train/tfjs-interpreter.ts';
import { fromTf, opsTensor, toTfLogical } from '../train/tfjs-layout.ts';
import { TfjsParams } from '../train/tfjs-params.ts';
import { startTfjs } from '../train/tfjs-start.ts';
import { benchArg } from './lib/args.ts';

const out = resolve(benchArg('out', 'runs/bench-methods')!);
const seed = Number(benchArg('seed', '0'));
const maxImages = Number(benchArg('images', '300'));
const thresholds = benchArg('thresholds', '0.15,0.3')!.split(',').map(Number);
if (!Number.isInteger(seed) || seed < 0 || !Number.isInteger(maxImages) || maxImages < 1 || thresholds.some((t) => !(t >= 0 && t < 1))) {
  console.error('--seed: integer ≥ 0, --images: positive integer, --thresholds: numbers in [0, 1)');
  process.exit(2);
}
await startTfjs();

const runsDir = join(out, 'runs');
const runs = existsSync(runsDir)
  ? readdirSync(runsDir)
      .filter((d) => /^(cam|ppl)-/.test(d) && d.includes(`-s${seed}-`) && existsSync(join(runsDir, d, 'run', 'model.safetensors')))
      .sort()
  : [];
if (!runs.length) {
  console.error(`${runsDir}: no finished cam/ppl run of seed ${seed} (run \`npm run bench -- methods --only cam,ppl --out ${out}\` first)`);
  process.exit(1);
}

/** Normalised CAMs [N, C, H, W] at input size, per feature group. */
type GroupCams = Record<string, (ops: Ops, image: Tensor) => Tensor>;

function groupsOf(model: { module: unknown; graph: { inference: (ops: Ops, i: Record<string, Tensor>) => Record<string, Tensor> } }, mode: PplMode | null): GroupCams {
  const net = model.module;
  if (net instanceof CamNet) return { 'F̂ (CAM)': (ops, image) => model.graph.inference(ops, { image }).cams };
  if (!(net instanceof PplNet) || !mode) throw new Error('ppl-groups: not a CAM or PPL run');
  const active = inferenceBranches(net, mode);
  const groups: GroupCams = {
    'F̂': (ops, image) => net.head.normalisedCams(ops, net.head.rawCams(ops, net.features(ops, image, [], false).global), image),
  };
  for (const i of active) {
    const b = net.branches[i];
    groups[`F̃ ${b.spec.position} K=${b.spec.k}`] = (ops, image) =>
      net.head.normalisedCams(ops, net.groupRawCams(ops, net.features(ops, image, [i], false))[1], image);
  }
  groups['fused (exported)'] = (ops, image) => model.graph.inference(ops, { image }).cams;
  return groups;
}

const rows: { run: string; group: string; thresholds: ({ threshold: number } & PartRecallResult)[] }[] = [];
for (const dir of runs) {
  const opened = openRun(join(runsDir, dir, 'run'));
  const data = VocDataset.open(opened.config.data);
  const ids = data.ids('train').slice(0, maxImages);
  const params = new TfjsParams(opened.values, opened.model.module);
  const groups = groupsOf(opened.model, opened.config.method === 'ppl' ? ((opened.config.options as { mode: PplMode }).mode) : null);
  const counters = Object.fromEntries(Object.keys(groups).map((g) => [g, thresholds.map(() => new PartRecallCounter())]));
  for (const id of ids) {
    const s = await data.sample(id);
    const parts = (await readLabelPng(data.auxPath('PartMasks', id)!)).data;
    const gt = s.mask!.data;
    const { width: w, height: h } = s.image;
    const chw = pixelsToPlanarRgb({ ...s.image, channels: 3 });
    for (const [g, fn] of Object.entries(groups)) {
      const cams = tf.tidy(() => {
        const ops = new TfjsOps(params, { training: false });
        return fromTf(fn(ops, opsTensor(toTfLogical(chw, [1, 3, h, w]))));
      });
      // Object pixels score with their own class's CAM; background pixels with the strongest present class's.
      const score = new Float32Array(h * w);
      for (let p = 0; p < h * w; p++) {
        if (gt[p] > 0 && gt[p] !== 255) score[p] = cams.data[(gt[p] - 1) * h * w + p];
        else for (const l of s.labels) score[p] = Math.max(score[p], cams.data[(l - 1) * h * w + p]);
      }
      thresholds.forEach((t, i) => counters[g][i].addScoreMap(score, parts, t));
    }
  }
  params.dispose();
  for (const g of Object.keys(groups)) rows.push({ run: dir, group: g, thresholds: thresholds.map((t, i) => ({ threshold: t, ...counters[g][i].result() })) });
}

console.log(`seed ${seed}, first ${maxImages} train images, single scale; per feature group: head recall / body recall / background hit at each CAM threshold`);
for (const r of rows)
  console.log(`${r.run.padEnd(44)}${r.group.padEnd(20)}${r.thresholds.map((t) => `>${t.threshold}: ${t.head.recall.toFixed(3)} / ${t.body.recall.toFixed(3)} / ${t.falsePositiveRate.toFixed(3)}`).join('   ')}`);
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
console.log(
  JSON.stringify({
    seed,
    images: maxImages,
    groups: rows.map((r) => ({ run: r.run, group: r.group, at: r.thresholds.map((t) => ({ threshold: t.threshold, head_recall: r4(t.head.recall), body_recall: r4(t.body.recall), background_hit: r4(t.falsePositiveRate) })) })),
  }),
);
