// Benchmark of the dense CRF: median ms per call (lattice build + mean-field inference, unaries
// made beforehand, as the C++ reference is timed) on one image and probability map.
//
//   npm run bench -- crf --image PNG --probs P.npy [--preset psa|edam|irn] [--iters N]
//     [--threads N[,N…]] [--engine native|wasm|js[,…]] [--runs 5] [--out Q.npy] [--reference BIN]
//
// Defaults: ../shared/reference/crf's image.png and probs_c21.npy, preset psa, engine native,
// threads 1. Lists (--engine native,wasm --threads 1,2) time every combination; the first one is
// the headline (`median_ms`, `engine`, `threads`). --reference BIN runs the C++ reference driver
// (bench/crf-reference-driver.cpp, built outside the project) on the same input; its runs
// alternate with ours so machine noise hits both alike, and each configuration gets a
// `ratio_to_reference` (ours / C++; < 1 is faster). --out writes the headline's Q as float32 [C, H, W].
// The last line is one JSON object.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { checkCrfInput, denseCrfFromUnary, type CrfEngine } from '../runtime/crf/dense-crf.ts';
import { CRF_PRESET_NAMES, crfParams } from '../runtime/crf/params.ts';
import { argmaxLabels, unaryFromLabels, unaryFromProbabilities } from '../runtime/crf/unaries.ts';
import { loadCrfEngine, type CrfEngineChoice } from '../runtime/node/crf/crf-engines.ts';
import { decodeImageFile } from '../runtime/node/dataset/decode-image.ts';
import { readNpyFloat32, writeNpy } from '../runtime/node/files/npy.ts';
import { benchArg } from './lib/args.ts';
import { median } from './lib/stats.ts';

const refDir = join(import.meta.dirname, '..', '..', 'shared', 'reference', 'crf');
const imagePath = resolve(benchArg('image', join(refDir, 'image.png')));
const probsPath = resolve(benchArg('probs', join(refDir, 'probs_c21.npy')));
const preset = benchArg('preset', 'psa');
if (!CRF_PRESET_NAMES.includes(preset as never)) throw new Error(`--preset must be one of ${CRF_PRESET_NAMES.join(', ')}`);
const itersOpt = benchArg('iters', '');
const params = crfParams(preset, itersOpt ? { iterations: Number(itersOpt) } : {});
const runs = Number(benchArg('runs', '5'));
const engines = benchArg('engine', 'native').split(',');
const threadList = benchArg('threads', '1').split(',').map(Number);
const out = benchArg('out', '');
const reference = benchArg('reference', '');
for (const e of engines) if (e !== 'native' && e !== 'wasm' && e !== 'js') throw new Error(`--engine ${e}: the engines are native, wasm and js`);
if (threadList.some((t) => !(Number.isInteger(t) && t >= 1))) throw new Error('--threads takes positive integers');

const image = await decodeImageFile(imagePath);
const probsNpy = readNpyFloat32(probsPath);
const probs = { data: probsNpy.data, dims: probsNpy.shape };
const labels = checkCrfInput(image, probs, probsPath);
const unary = params.unary.kind === 'labels' ? unaryFromLabels(argmaxLabels(probs.data, labels), labels, params.unary.gtProb) : unaryFromProbabilities(probs.data, labels, probsPath);

interface Config {
  engine: CrfEngine;
  threads: number;
  ms: number[];
}
const configs: Config[] = [];
for (const name of engines) {
  const engine = await loadCrfEngine(name as CrfEngineChoice);
  for (const threads of name === 'native' ? threadList : [1]) configs.push({ engine, threads, ms: [] });
}

// the reference reads raw inputs
let refRun: (() => number) | null = null;
let tmp = '';
if (reference) {
  tmp = mkdtempSync(join(tmpdir(), 'wsss-crf-bench-'));
  writeFileSync(join(tmp, 'image.rgb'), image.data);
  writeFileSync(join(tmp, 'unary.f32'), unary);
  const g = params.gaussian ?? { sxy: 1, compat: 0 };
  const b = params.bilateral ?? { sxy: 1, srgb: 1, compat: 0 };
  const args = [image.width, image.height, join(tmp, 'image.rgb'), join(tmp, 'unary.f32'), labels, params.iterations, g.sxy, g.compat, b.sxy, b.srgb, b.compat, 1].map(String);
  refRun = () => {
    const r = spawnSync(reference, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${reference} failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}').median_ms as number;
  };
}

const refMs: number[] = [];
let q: Float32Array | null = null;
for (const c of configs) denseCrfFromUnary(c.engine, image, unary, labels, params, { threads: c.threads }); // warm-up
for (let r = 0; r < runs; r++) {
  for (const c of configs) {
    const t0 = performance.now();
    const result = denseCrfFromUnary(c.engine, image, unary, labels, params, { threads: c.threads });
    c.ms.push(performance.now() - t0);
    if (c === configs[0]) q = result;
  }
  if (refRun) refMs.push(refRun());
  process.stderr.write(`run ${r + 1}/${runs}\n`);
}
if (tmp) rmSync(tmp, { recursive: true, force: true });

const refMedian = refMs.length ? median(refMs) : null;
const rows = configs.map((c) => ({ engine: c.engine.name, isa: c.engine.isa, threads: c.threads, median_ms: +median(c.ms).toFixed(1), ...(refMedian ? { ratio_to_reference: +(median(c.ms) / refMedian).toFixed(3) } : {}) }));
console.log(`dense CRF, ${image.width}×${image.height}, ${labels} labels, preset ${preset}, ${params.iterations} iterations, ${runs} runs`);
for (const row of rows) console.log(`  ${row.engine.padEnd(6)} (${row.isa}) threads ${row.threads}: ${row.median_ms} ms${row.ratio_to_reference ? ` (${row.ratio_to_reference}× the C++ reference)` : ''}`);
if (refMedian) console.log(`  C++ reference (${reference}): ${refMedian.toFixed(1)} ms`);
if (out && q) {
  await writeNpy(resolve(out), [labels, image.height, image.width], q);
  console.log(`  wrote ${out}`);
}
console.log(
  JSON.stringify({
    median_ms: rows[0].median_ms,
    engine: rows[0].engine,
    threads: rows[0].threads,
    width: image.width,
    height: image.height,
    labels,
    preset,
    iterations: params.iterations,
    runs,
    configs: rows,
    ...(refMedian ? { reference_median_ms: +refMedian.toFixed(1), ratio_to_reference: rows[0].ratio_to_reference } : {}),
  }),
);
