// PPL diagnostic (issue 16, acceptance 2): the pseudo-label mIoU of each feature group's CAM alone
// — the undestructed F̂ and each patch branch's merged F̃ — next to the exported fusion, each
// through the pseudo-labeller's own multi-scale + flip merge under the model's label rule (PPL and
// CAM: scales 1, 0.5, 1.5, 2; max with the flipped view, sum over scales, /(max + 1e-5), background
// 0.15) and the image labels,
// on the train images the methods bench labels. Where a fused row loses to CAM, this says whether
// the undestructed group already does or the branches pull the mean down. It also scores the
// other order of §III-E's fusion: each group merged over the views and normalised first, then
// averaged (the exported model normalises every view's groups before the runtime merges them).
// A CAM run has one group, whose row reproduces the bench's CAM figure (the fused rows do, for PPL).
// `npm run bench -- ppl-group-miou --run OUT/runs/<ppl or cam run dir> [--images 1500]`
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CamNet } from '../graphs/methods/cam/model.ts';
import { inferenceBranches, type PplMode } from '../graphs/methods/ppl/index.ts';
import { PplNet } from '../graphs/methods/ppl/model.ts';
import type { Ops, Tensor } from '../graphs/ops.ts';
import { multiScaleCamRule } from '../runtime/cam/label-rule.ts';
import { camLabelMap, DEFAULT_MULTISCALE, mergeImageCams, viewInputs, type ImageCams, type MultiScaleOptions, type ScaleOutput } from '../runtime/cam/multiscale-cams.ts';
import { ConfusionMatrix } from '../runtime/metrics/confusion.ts';
import { segmentationScores } from '../runtime/metrics/miou.ts';
import type { LabelRuleInfo } from '../runtime/model-metadata.ts';
import { pixelsToPlanarRgb } from '../runtime/preprocess.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { openRun } from '../train/run-model.ts';
import { TfjsOps } from '../train/tfjs-interpreter.ts';
import { fromTf, opsTensor, toTfLogical } from '../train/tfjs-layout.ts';
import { TfjsParams } from '../train/tfjs-params.ts';
import { startTfjs } from '../train/tfjs-start.ts';
import { benchArg } from './lib/args.ts';

const runArg = benchArg('run');
const maxImages = Number(benchArg('images', '1500'));
if (!runArg || !Number.isInteger(maxImages) || maxImages < 1) {
  console.error('usage: npm run bench -- ppl-group-miou --run OUT/runs/<run dir> [--images N]');
  process.exit(2);
}
const runDir = resolve(runArg);
const trained = join(runDir, 'run');
if (!existsSync(join(trained, 'model.safetensors'))) {
  console.error(`${runDir}: no trained model (run/model.safetensors); give a finished methods-bench run directory`);
  process.exit(1);
}
await startTfjs();

const opened = openRun(trained);
const module = opened.model.module;
if (!(module instanceof PplNet) && !(module instanceof CamNet)) {
  console.error(`${runDir}: a ${opened.config.method} run; this diagnostic reads PPL and CAM runs`);
  process.exit(1);
}
const net: PplNet | CamNet = module;
const active = net instanceof PplNet ? inferenceBranches(net, (opened.config.options as { mode: PplMode }).mode) : [];
const groupNames = ['F̂', ...(net instanceof PplNet ? active.map((i) => `F̃ ${net.branches[i].spec.position} K=${net.branches[i].spec.k}`) : [])];
const classes = opened.model.graph.classNames.length;
// The model's own label rule: merge, normalisation guard and background threshold, as `wsss pseudo-label` applies them.
const rule = multiScaleCamRule((opened.model.graph.labelRule ?? null) as LabelRuleInfo | null, runDir);
const multiScale: MultiScaleOptions = { ...DEFAULT_MULTISCALE, rule: rule.merge, normEps: rule.normEps };
const bg = rule.bgThreshold;
const data = VocDataset.open(opened.config.data);
const ids = data.ids('train').slice(0, maxImages);
const params = new TfjsParams(opened.values, opened.model.module);

/** Per view: each group's raw CAM, then the exported raw_cams (the fusion). */
function viewOutputs(ops: Ops, image: Tensor): Tensor[] {
  if (net instanceof CamNet) return [opened.model.graph.inference(ops, { image }).raw_cams];
  const f = net.features(ops, image, active, false);
  return [...net.groupRawCams(ops, f), net.rawCams(ops, f)];
}

const rows = [...groupNames.map((g) => `${g} alone`), ...(groupNames.length > 1 ? ['fused (exported)', 'fused, groups merged first'] : [])];
const confusion = new Map(rows.map((r) => [r, new ConfusionMatrix(classes + 1)]));
const started = Date.now();
for (const [n, id] of ids.entries()) {
  const s = await data.sample(id);
  const { width: w, height: h } = s.image;
  const outputs: ScaleOutput[][] = [];
  for (const { scale, input } of viewInputs({ data: pixelsToPlanarRgb({ ...s.image, channels: 3 }), height: h, width: w }, multiScale)) {
    const outs = tf.tidy(() => viewOutputs(new TfjsOps(params, { training: false }), opsTensor(toTfLogical(input.data, input.dims as number[]))).map((t) => fromTf(t)));
    outs.forEach((o, g) => (outputs[g] ??= []).push({ scale, rawCams: { data: o.data, dims: o.shape } }));
  }
  const merged = outputs.map((o) => mergeImageCams(o, h, w, multiScale));
  const maps = new Map<string, ImageCams>(groupNames.map((g, i) => [`${g} alone`, merged[i]]));
  if (groupNames.length > 1) {
    maps.set('fused (exported)', merged[groupNames.length]);
    const mean = new Float32Array(classes * h * w);
    for (let g = 0; g < groupNames.length; g++) for (let i = 0; i < mean.length; i++) mean[i] += merged[g].cams[i] / groupNames.length;
    maps.set('fused, groups merged first', { ...merged[0], cams: mean });
  }
  const keys = s.labels.map((l) => l - 1);
  for (const [row, m] of maps) confusion.get(row)!.add(s.mask!.data, camLabelMap(m, bg, keys));
  if ((n + 1) % 250 === 0) console.error(`${n + 1}/${ids.length} images, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
params.dispose();

const result = rows.map((r) => ({ row: r, miou: Math.round(segmentationScores(confusion.get(r)!).miou * 1e4) / 1e4 }));
console.log(`${runDir}: ${ids.length} train images, multi-scale + flip, background ${bg}, image labels`);
for (const r of result) console.log(`  ${r.row.padEnd(30)} mIoU ${r.miou.toFixed(4)}`);
console.log(JSON.stringify({ run: runDir, images: ids.length, bg_threshold: bg, rows: result }));
