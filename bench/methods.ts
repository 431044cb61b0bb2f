// `npm run bench -- methods [--only a,b] [--seeds N] [--data-seed S] [--preset P] [--backbone B]
//                           [--epochs E] [--rows KEY,...] [--jobs J] [--out DIR]`
//
// The project's version of the papers' tables: every method of --only (default: all), each of the
// ablation variants it registers, and the CAM baseline, trained with the same backbone, epochs,
// data and seeds; each run's model pseudo-labels the train split with the method's default
// inference (the label rule in its metadata, the image-level labels applied) and is evaluated
// against the ground truth: pseudo-label mIoU, mIoU at the best CAM background threshold, and head
// / body recall (the synthetic set's part masks). Prints mean and min–max over seeds, writes an
// HTML report (table, chart, the same images overlaid per method), and ends with one JSON line.
// The regime is bistable (../shared/BENCHMARK.md): a single seed proves nothing, hence --seeds 3.
//
// Every stage is the `wsss` command a user would run, and every finished configuration is cached
// under --out by its full configuration, so an interrupted bench resumes where it stopped.
// --rows keeps only the named rows (e.g. `--only cam,vwe --rows cam,vwe`: no ablation variants).
// --jobs J runs J configurations at once, each with WSSS_THREADS = cores / J unless it is set
// (on 2 cores, two 1-thread trainings finish sooner than two 2-thread ones in turn).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { getMethod, methodNames } from '../graphs/methods/registry.ts';
import type { OptionValue } from '../graphs/methods/method.ts';
import { PartRecallCounter } from '../runtime/metrics/part-recall.ts';
import { writeFileAtomic } from '../runtime/node/files/atomic-write.ts';
import { dataUri, decodeImageRgb, encodePngRgb } from '../runtime/node/dataset/images.ts';
import { readLabelPng } from '../runtime/node/files/palette-png.ts';
import { parseImageList } from '../runtime/node/dataset/voc-dataset.ts';
import { composeOverlay } from '../runtime/postprocess.ts';
import { vocPalette } from '../runtime/voc-palette.ts';
import { benchArg } from './lib/args.ts';
import { benchDataDir, methodRunDir, wsss } from './lib/method-runs.ts';

function intArg(name: string, dflt: number): number {
  const v = Number(benchArg(name, String(dflt)));
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
  return v;
}

// Methods trained on label maps (deeplab) are a second stage: `npm run bench -- second-stage`.
const firstStage = methodNames().filter((m) => !getMethod(m).pixelLabels);
const only = (benchArg('only') ?? firstStage.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const m of only)
  if (!firstStage.includes(m)) {
    console.error(`--only: '${m}' is not a method trained on image-level labels; known: ${firstStage.join(', ')}${methodNames().includes(m) ? ` (${m} trains on pseudo-labels: npm run bench -- second-stage)` : ''}`);
    process.exit(2);
  }
const seeds = intArg('seeds', 3);
const dataSeed = intArg('data-seed', 0);
const preset = benchArg('preset', 'small')!;
const backbone = benchArg('backbone', 'cam-tiny')!;
const epochs = benchArg('epochs');
const out = resolve(benchArg('out', 'runs/bench-methods')!);
const jobs = intArg('jobs', 1);
if (jobs < 1) {
  console.error('--jobs must be at least 1');
  process.exit(2);
}
if (jobs > 1 && !process.env.WSSS_THREADS) process.env.WSSS_THREADS = String(Math.max(1, Math.floor(availableParallelism() / jobs)));
if (seeds < 1) {
  console.error('--seeds must be at least 1');
  process.exit(2);
}

/** One row of the table: a method, one of its registered variants, or one of its label variants. */
interface Entry {
  key: string;
  method: string;
  options: Record<string, OptionValue>;
  /** A label variant: the model (and saved CAMs) of entry `modelOf`, relabelled with these extra flags. */
  labelOf?: { modelOf: string; flags: string[] };
}
const entries: Entry[] = [];
for (const m of ['cam', ...only.filter((x) => x !== 'cam')]) {
  const def = getMethod(m);
  if (!def.backbones.some((b) => backbone === b || backbone.startsWith(`${b}-`))) {
    console.error(`method ${m} does not support backbone ${backbone}`);
    process.exit(2);
  }
  entries.push({ key: m, method: m, options: {} });
  for (const [v, options] of Object.entries(def.variants ?? {})) entries.push({ key: `${m}:${v}`, method: m, options });
  for (const [v, lv] of Object.entries(def.labelVariants ?? {})) {
    const base = lv.variant ? `${m}:${lv.variant}` : m;
    const options = lv.variant ? def.variants?.[lv.variant] : {};
    if (!options) {
      console.error(`method ${m}: label variant '${v}' names no variant '${lv.variant}'`);
      process.exit(2);
    }
    entries.push({ key: `${m}:${v}`, method: m, options, labelOf: { modelOf: base, flags: lv.pseudoLabelFlags } });
  }
}
// --rows: only these rows of the table (a label variant brings the run it relabels).
const rowsArg = benchArg('rows');
if (rowsArg !== undefined) {
  const wanted = new Set(rowsArg.split(',').map((s) => s.trim()).filter(Boolean));
  for (const r of wanted)
    if (!entries.some((e) => e.key === r)) {
      console.error(`--rows: no row '${r}' for --only ${only.join(',')}; rows: ${entries.map((e) => e.key).join(', ')}`);
      process.exit(2);
    }
  for (const e of entries) if (wanted.has(e.key) && e.labelOf) wanted.add(e.labelOf.modelOf);
  entries.splice(0, entries.length, ...entries.filter((e) => wanted.has(e.key)));
}

interface RunResult {
  config: Record<string, unknown>;
  miou: number;
  best_threshold_miou: number;
  best_threshold: number;
  head_recall: number;
  body_recall: number;
  run: string;
  pseudo: string;
}

const data = benchDataDir(out, preset, dataSeed);
mkdirSync(out, { recursive: true });
const benchLog = join(out, 'bench.log');
if (!existsSync(join(data, 'synth.json'))) {
  console.log(`generating the ${preset} synthetic set (seed ${dataSeed}) in ${data}`);
  await wsss(['synth', '--out', data, '--preset', preset, '--seed', String(dataSeed)], benchLog);
}
const trainIds = parseImageList(readFileSync(join(data, 'ImageSets', 'Segmentation', 'train.txt'), 'utf8'));

async function partRecall(pseudo: string): Promise<{ head: number; body: number }> {
  const counter = new PartRecallCounter();
  for (const id of trainIds) {
    const parts = (await readLabelPng(join(data, 'PartMasks', `${id}.png`))).data;
    const gt = (await readLabelPng(join(data, 'SegmentationClass', `${id}.png`))).data;
    const pred = (await readLabelPng(join(pseudo, 'labels', `${id}.png`))).data;
    counter.addLabelMap(pred, gt, parts);
  }
  const r = counter.result();
  return { head: r.head.recall, body: r.body.recall };
}

/** Train, export, pseudo-label and evaluate one (entry, seed); cached by configuration. */
const runDir = (key: string, seed: number) => methodRunDir(out, key, { backbone, preset, dataSeed, seed, epochs });

async function runOne(e: Entry, seed: number): Promise<RunResult> {
  // pseudo_flags: the label variant's flags as the method declares them ('{data}' unexpanded).
  const config = { method: e.method, options: e.options, backbone, preset, data_seed: dataSeed, seed, epochs: epochs ?? null, ...(e.labelOf ? { pseudo_flags: e.labelOf.flags } : {}) };
  const dir = runDir(e.key, seed);
  const resultPath = join(dir, 'result.json');
  if (existsSync(resultPath)) {
    const cached = JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult;
    if (JSON.stringify(cached.config) === JSON.stringify(config)) {
      console.log(`  ${e.key} seed ${seed}: cached (mIoU ${cached.miou.toFixed(4)}, ${dir})`);
      return cached;
    }
  }
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'log.txt');
  const run = join(dir, 'run');
  const optionFlags = Object.entries(e.options).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const t0 = performance.now();
  // A label variant trains nothing: it relabels the CAMs its base entry saved (it waits for that
  // run) with its flags; --model gives the base model's label rule (not run).
  const modelDir = e.labelOf ? runDir(e.labelOf.modelOf, seed) : dir;
  const model = join(modelDir, 'model.onnx');
  const pseudo = join(dir, 'pseudo');
  const cams = join(modelDir, 'pseudo', 'cams');
  const label = (out: string, logFile: string) => wsss(['pseudo-label', '--model', model, '--data', data, '--split', 'train', '--out', out, '--use-image-labels', '--ep', 'cpu'], logFile);
  if (!e.labelOf) {
    await wsss(['train', '--method', e.method, '--backbone', backbone, '--data', data, '--out', run, '--seed', String(seed), ...(epochs ? ['--epochs', epochs] : []), ...optionFlags], log);
    if (!existsSync(model)) await wsss(['export', '--run', run, '--out', model, '--verify'], log);
    await label(pseudo, log);
  } else {
    if (!existsSync(model)) throw new Error(`${e.key}: no model ${model} (its base entry ${e.labelOf.modelOf} runs first)`);
    if (!existsSync(cams)) await label(join(modelDir, 'pseudo'), join(modelDir, 'log.txt'));
    const extra = e.labelOf.flags.map((f) => f.replaceAll('{data}', data));
    await wsss(['pseudo-label', '--from-cams', cams, '--model', model, '--data', data, '--split', 'train', '--out', pseudo, '--use-image-labels', ...extra], log);
  }
  const evalJson = JSON.parse(
    await wsss(['eval', '--gt', data, '--pred', join(pseudo, 'labels'), '--cams', cams, '--list', join(data, 'ImageSets', 'Segmentation', 'train.txt')], log),
  ) as { miou: number; best_threshold: number; cams: { miou: number } };
  const recall = await partRecall(pseudo);
  const r: RunResult = {
    config,
    miou: evalJson.miou,
    best_threshold_miou: evalJson.cams.miou,
    best_threshold: evalJson.best_threshold,
    head_recall: recall.head,
    body_recall: recall.body,
    run: e.labelOf ? join(modelDir, 'run') : run,
    pseudo,
  };
  await writeFileAtomic(resultPath, JSON.stringify(r, null, 1) + '\n');
  console.log(`  ${e.key} seed ${seed}: mIoU ${r.miou.toFixed(4)} (${((performance.now() - t0) / 60000).toFixed(1)} min)`);
  return r;
}

// At most `jobs` runs at once: a finishing run hands its slot to the next waiting one.
let freeSlots = jobs;
const waiting: (() => void)[] = [];
async function inSlot<T>(f: () => Promise<T>): Promise<T> {
  if (freeSlots > 0) freeSlots--;
  else await new Promise<void>((r) => waiting.push(r));
  try {
    return await f();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else freeSlots++;
  }
}
// A label variant relabels its base entry's CAMs, so it starts once that run (same seed) is done.
const pending = new Map<string, Promise<RunResult>>();
for (const e of entries)
  for (let s = 0; s < seeds; s++) {
    const base = e.labelOf ? pending.get(`${e.labelOf.modelOf}@${s}`) : undefined;
    pending.set(`${e.key}@${s}`, (async () => {
      if (base) await base;
      return inSlot(() => runOne(e, s));
    })());
  }
const results = new Map<string, RunResult[]>();
for (const e of entries) results.set(e.key, await Promise.all(Array.from({ length: seeds }, (_, s) => pending.get(`${e.key}@${s}`)!)));

const stat = (xs: number[]) => ({ mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) });
const spread = (xs: number[]) => {
  const s = stat(xs);
  return `${s.mean.toFixed(4)} [${s.min.toFixed(4)}, ${s.max.toFixed(4)}]`;
};
const w = Math.max(10, ...entries.map((e) => e.key.length)) + 2;
const header = `${'method'.padEnd(w)}${'pseudo-label mIoU'.padEnd(27)}${'best-threshold mIoU'.padEnd(27)}${'head recall'.padEnd(27)}body recall`;
const rows = entries.map((e) => {
  const rs = results.get(e.key)!;
  return `${e.key.padEnd(w)}${spread(rs.map((r) => r.miou)).padEnd(27)}${spread(rs.map((r) => r.best_threshold_miou)).padEnd(27)}${spread(rs.map((r) => r.head_recall)).padEnd(27)}${spread(rs.map((r) => r.body_recall))}`;
});
console.log(`\n${backbone}, ${preset} preset (data seed ${dataSeed}), ${seeds} seed(s), ${epochs ? `${epochs} epochs` : "each method's default epochs"}; mean [min, max] over seeds`);
console.log([header, ...rows].join('\n'));

// ---- HTML report ----------------------------------------------------------------------------
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
function chart(): string {
  const barW = 60;
  const h = 200;
  const width = entries.length * (barW + 30) + 60;
  const y = (v: number) => h - v * h + 10;
  const bars = entries.map((e, i) => {
    const s = stat(results.get(e.key)!.map((r) => r.miou));
    const x = 50 + i * (barW + 30);
    return (
      `<rect x="${x}" y="${y(s.mean)}" width="${barW}" height="${h + 10 - y(s.mean)}" fill="#4a7fb5"/>` +
      `<line x1="${x + barW / 2}" x2="${x + barW / 2}" y1="${y(s.max)}" y2="${y(s.min)}" stroke="#000"/>` +
      `<line x1="${x + barW / 2 - 8}" x2="${x + barW / 2 + 8}" y1="${y(s.max)}" y2="${y(s.max)}" stroke="#000"/>` +
      `<line x1="${x + barW / 2 - 8}" x2="${x + barW / 2 + 8}" y1="${y(s.min)}" y2="${y(s.min)}" stroke="#000"/>` +
      `<text x="${x + barW / 2}" y="${h + 28}" text-anchor="middle" font-size="12">${esc(e.key)}</text>` +
      `<text x="${x + barW / 2}" y="${y(s.mean) - 4}" text-anchor="middle" font-size="11">${s.mean.toFixed(3)}</text>`
    );
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => `<text x="40" y="${y(t) + 4}" text-anchor="end" font-size="11">${t}</text><line x1="44" x2="${width}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`);
  return `<svg width="${width}" height="${h + 40}" xmlns="http://www.w3.org/2000/svg">${ticks.join('')}${bars.join('')}</svg>`;
}
async function overlayUri(imagePath: string, labelPath: string): Promise<string> {
  const img = await decodeImageRgb(imagePath);
  const labels = await readLabelPng(labelPath);
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba.set(img.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  const blended = composeOverlay(rgba, { data: labels.data, width: labels.width, height: labels.height }, vocPalette(256), 0.55);
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) rgb.set(blended.subarray(4 * i, 4 * i + 3), 3 * i);
  return dataUri(await encodePngRgb({ width: img.width, height: img.height, data: rgb }), 'image/png');
}
const shown = trainIds.slice(0, 6);
const imageRows: string[] = [];
for (const id of shown) {
  const cells = [`<td><img src="${dataUri(readFileSync(join(data, 'JPEGImages', `${id}.jpg`)), 'image/jpeg')}" width="128"><br>${esc(id)}</td>`];
  cells.push(`<td><img src="${await overlayUri(join(data, 'JPEGImages', `${id}.jpg`), join(data, 'SegmentationClass', `${id}.png`))}" width="128"><br>ground truth</td>`);
  for (const e of entries) {
    const r = results.get(e.key)![0];
    cells.push(`<td><img src="${await overlayUri(join(data, 'JPEGImages', `${id}.jpg`), join(r.pseudo, 'labels', `${id}.png`))}" width="128"><br>${esc(e.key)} (seed 0)</td>`);
  }
  imageRows.push(`<tr>${cells.join('')}</tr>`);
}
const tableRows = entries.map((e) => {
  const rs = results.get(e.key)!;
  const cell = (xs: number[]) => `<td>${spread(xs)}</td>`;
  return `<tr><td>${esc(e.key)}</td>${cell(rs.map((r) => r.miou))}${cell(rs.map((r) => r.best_threshold_miou))}${cell(rs.map((r) => r.head_recall))}${cell(rs.map((r) => r.body_recall))}<td>${rs.map((r) => r.miou.toFixed(4)).join(', ')}</td></tr>`;
});
const html = `<!doctype html><meta charset="utf-8"><title>wsss methods benchmark</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{image-rendering:pixelated}</style>
<h1>Methods on the synthetic benchmark</h1>
<p>Backbone ${esc(backbone)}, preset ${esc(preset)} (data seed ${dataSeed}), ${seeds} seed(s), ${epochs ? `${esc(epochs)} epochs` : "each method's default epochs"}. Pseudo-labels of the train split (${trainIds.length} images) with each method's default inference and the image-level labels; mean [min, max] over seeds.</p>
<table><tr><th>method</th><th>pseudo-label mIoU</th><th>best-threshold mIoU</th><th>head recall</th><th>body recall</th><th>per seed</th></tr>${tableRows.join('')}</table>
<h2>Pseudo-label mIoU (mean, whiskers min–max)</h2>${chart()}
<h2>The same images, overlaid per method</h2><table>${imageRows.join('')}</table>
<p>Command: <code>npm run bench -- methods ${esc(process.argv.slice(3).join(' '))}</code></p>`;
const report = join(out, 'report.html');
await writeFileAtomic(report, html);
console.log(`report: ${report}`);

const methodsJson: Record<string, unknown> = {};
for (const e of entries) {
  const rs = results.get(e.key)!;
  const m = stat(rs.map((r) => r.miou));
  const b = stat(rs.map((r) => r.best_threshold_miou));
  methodsJson[e.key] = {
    miou_mean: m.mean,
    miou_min: m.min,
    miou_max: m.max,
    seeds: rs.map((r) => r.miou),
    best_threshold_miou_mean: b.mean,
    best_threshold_miou_min: b.min,
    best_threshold_miou_max: b.max,
    head_recall_mean: stat(rs.map((r) => r.head_recall)).mean,
    body_recall_mean: stat(rs.map((r) => r.body_recall)).mean,
  };
}
console.log(JSON.stringify({ data_seed: dataSeed, backbone, preset, seeds, epochs: epochs ? Number(epochs) : null, report, methods: methodsJson }));
