// Is the synthetic benchmark's weak body cue learnable? (../shared/BENCHMARK.md, issue 22)
// `npm run bench -- body-cue [--cue S] [--seeds N] [--epochs E] [--optimizer adam|sgd] [--train N] [--val N] [--data-seed S] [--out DIR]`
// (default: cue 0.04, 3 seeds, 40 epochs — 12, the CAM default, leaves the bodies-only net near chance)
//
// The question is whether the cue can be learned from the pixels, so the net is trained by a
// learner that reliably starts: Adam (lr 0.001, no weight decay, the classifier at ×1). With the
// CAM recipe's SGD (lr 0.05, momentum 0.9, classifier ×10) a from-scratch bodies-only net starts
// learning at a random epoch, or not within 40 (README: seeds of a PyTorch copy learned at epoch
// 15, 25 and not by 15); `--optimizer sgd` runs that recipe instead.
//
// Trains the reference net (cam-tiny) on bodies-only images (`wsss synth --head-scale 0`: every
// object keeps its body and its class's body cue, but has no head) at the given cue strength and
// at cue 0 (the control), with the same scenes, epochs and seeds, then scores the validation
// images. Reported per class over the single-object validation images (with several objects,
// a score that merely counts objects would look informative; see BENCHMARK.md):
//   - AP of the class score, ranking all single-object images (chance = the class's share);
//   - top-1 accuracy: the highest score names the object's class (chance = 1 / classes).
// Every stage resumes: data sets are generated once, a finished run is not retrained, and a
// killed run continues from its checkpoint. Last line: one JSON object.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tfjsForward } from '../export/verify.ts';
import { getGraph } from '../graphs/registry.ts';
import { averagePrecision } from '../runtime/metrics/average-precision.ts';
import { decodeImageRgb } from '../runtime/node/dataset/images.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import { defaultSynthParams } from '../train/data/synth/params.ts';
import { writeSynthDataset } from '../train/data/synth/write-dataset.ts';
import { startTfjs } from '../train/tfjs-start.ts';
import { benchArg } from './lib/args.ts';

const defaults = defaultSynthParams('small');
const cue = Number(benchArg('cue', String(defaults.bodyCue)));
const seeds = Number(benchArg('seeds', '3'));
const epochs = Number(benchArg('epochs', '40'));
const trainImages = Number(benchArg('train', String(defaults.train)));
const valImages = Number(benchArg('val', '900'));
const dataSeed = Number(benchArg('data-seed', '0'));
const optimizer = benchArg('optimizer', 'adam');
if (optimizer !== 'adam' && optimizer !== 'sgd') {
  console.error(`--optimizer: expected adam or sgd, got ${optimizer}`);
  process.exit(2);
}
/** `wsss train` flags of the recipe (sgd: the CAM defaults). */
const recipe = optimizer === 'adam' ? ['--optimizer', 'adam', '--lr', '0.001', '--weight-decay', '0', '--head-lr-mult', '1'] : [];
const out = resolve(benchArg('out', 'runs/bench-body-cue'));
for (const [k, v] of Object.entries({ cue, seeds, epochs, train: trainImages, val: valImages, 'data-seed': dataSeed }))
  if (!Number.isFinite(v) || v < 0 || (k !== 'cue' && !Number.isInteger(v)) || ((k === 'seeds' || k === 'epochs') && v < 1)) {
    console.error(`--${k}: expected a ${k === 'cue' ? 'non-negative number' : k === 'seeds' || k === 'epochs' ? 'positive integer' : 'non-negative integer'}, got ${benchArg(k, '')}`);
    process.exit(2);
  }
if (cue === 0) {
  console.error('--cue 0 is the control, always run; give the strength to test against it');
  process.exit(2);
}

const WSSS = join(import.meta.dirname, '..', 'bin', 'wsss.js');

interface CueResult {
  cue: number;
  classes: string[];
  /** Per seed: AP per class and top-1 accuracy on single-object validation images. */
  runs: { seed: number; ap: number[]; top1: number }[];
  singleObjectImages: number;
  /** Share of each class among the single-object images (the AP of a random ranking). */
  chanceAp: number[];
}

async function dataset(strength: number): Promise<string> {
  const dir = join(out, `data-cue${strength}-seed${dataSeed}`);
  const p = { ...defaults, seed: dataSeed, train: trainImages, val: valImages, headScale: 0, bodyCue: strength };
  const r = await writeSynthDataset(dir, p);
  console.log(`${dir}: ${r.status === 'exists' ? 'reused' : `generated in ${r.seconds.toFixed(1)} s`} (bodies only, cue ${strength})`);
  return dir;
}

function train(data: string, run: string, seed: number): void {
  if (existsSync(join(run, 'summary.json'))) return;
  console.log(`training ${run}`);
  const r = spawnSync(process.execPath, [WSSS, 'train', '--data', data, '--out', run, '--seed', String(seed), '--epochs', String(epochs), ...recipe], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`training ${run} failed (exit ${r.status})`);
}

/** Class scores of the validation images with exactly one object, and those objects' classes. */
async function singleObjectScores(data: string, model: string): Promise<{ scores: Float32Array[]; truth: number[]; classes: string[] }> {
  const ds = VocDataset.open(data);
  const objects = JSON.parse(readFileSync(join(data, 'objects.json'), 'utf8')) as Record<string, { objects: { label: number }[] }>;
  const ids = ds.ids('val').filter((id) => objects[id].objects.length === 1);
  const graph = getGraph('cam-tiny', { classNames: ds.classNames });
  const values = loadCheckpoint(model).params;
  const scores: Float32Array[] = [];
  const batch = 50;
  for (let i = 0; i < ids.length; i += batch) {
    const chunk = ids.slice(i, i + batch);
    const imgs = await Promise.all(chunk.map((id) => decodeImageRgb(ds.imagePath(id))));
    const { width: w, height: h } = imgs[0];
    const x = new Float32Array(chunk.length * 3 * h * w);
    imgs.forEach((img, n) => {
      for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) x[((n * 3 + c) * h * w) + p] = img.data[p * 3 + c];
    });
    const res = await tfjsForward(graph, values, { image: { dims: [chunk.length, 3, h, w], data: x } });
    const k = ds.classNames.length;
    for (let n = 0; n < chunk.length; n++) scores.push(res.scores.data.slice(n * k, (n + 1) * k));
  }
  return { scores, truth: ids.map((id) => objects[id].objects[0].label - 1), classes: ds.classNames };
}

async function measure(strength: number): Promise<CueResult> {
  const data = await dataset(strength);
  const result: CueResult = { cue: strength, classes: [], runs: [], singleObjectImages: 0, chanceAp: [] };
  for (let seed = 0; seed < seeds; seed++) {
    const run = join(out, `run-cue${strength}-data${dataSeed}-e${epochs}${optimizer === 'sgd' ? '' : `-${optimizer}`}-seed${seed}`);
    train(data, run, seed);
    const { scores, truth, classes } = await singleObjectScores(data, join(run, 'model.safetensors'));
    const ap = classes.map((_, c) => averagePrecision(scores.map((s) => s[c]), truth.map((t) => (t === c ? 1 : 0))));
    const top1 = truth.filter((t, i) => argmax(scores[i]) === t).length / truth.length;
    result.runs.push({ seed, ap, top1 });
    result.classes = classes;
    result.singleObjectImages = truth.length;
    result.chanceAp = classes.map((_, c) => truth.filter((t) => t === c).length / truth.length);
  }
  return result;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const spread = (a: number[]) => `${mean(a).toFixed(3)} (${Math.min(...a).toFixed(3)}–${Math.max(...a).toFixed(3)})`;

await startTfjs();
const results = [await measure(cue), await measure(0)];

const classes = results[0].classes;
console.log(`\nbodies-only validation, single-object images (${results[0].singleObjectImages}); ${seeds} seeds, ${epochs} epochs, ${optimizer}, data seed ${dataSeed}`);
console.log(`mean (min–max over seeds)`);
console.log(['class'.padEnd(10), ...results.map((r) => `AP at cue ${r.cue}`.padEnd(22)), 'chance AP'].join(' '));
classes.forEach((name, c) => {
  console.log([name.padEnd(10), ...results.map((r) => spread(r.runs.map((x) => x.ap[c])).padEnd(22)), results[0].chanceAp[c].toFixed(3)].join(' '));
});
console.log(['top-1'.padEnd(10), ...results.map((r) => spread(r.runs.map((x) => x.top1)).padEnd(22)), (1 / classes.length).toFixed(3)].join(' '));

const summary = (r: CueResult) => ({
  cue: r.cue,
  ap: Object.fromEntries(classes.map((n, c) => [n, r3(mean(r.runs.map((x) => x.ap[c])))])),
  ap_min: Object.fromEntries(classes.map((n, c) => [n, r3(Math.min(...r.runs.map((x) => x.ap[c])))])),
  top1: r3(mean(r.runs.map((x) => x.top1))),
  top1_min: r3(Math.min(...r.runs.map((x) => x.top1))),
  seeds: r.runs.map((x) => ({ seed: x.seed, ap: x.ap.map(r3), top1: r3(x.top1) })),
});
console.log(
  JSON.stringify({
    data_seed: dataSeed,
    epochs,
    optimizer,
    single_object_images: results[0].singleObjectImages,
    chance_ap: Object.fromEntries(classes.map((n, c) => [n, r3(results[0].chanceAp[c])])),
    default: summary(results[0]),
    zero: summary(results[1]),
  }),
);
