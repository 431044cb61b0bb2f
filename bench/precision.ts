// Benchmark: what fp16 and int8 cost and save (issue 20). One table per model:
//   file size, onnxruntime-node CPU latency (median of interleaved runs, so machine noise hits
//   every precision alike), and — for the data-set model — label agreement with fp32 and the
//   mIoU delta on the val split (single-scale labels of the runtime's CAM rule, background 0.15).
// Models:
//   - the trained model: --model M.onnx, or --run RUN (RUN/model.onnx or RUN/cam/model.onnx);
//     default runs/start/cam/model.onnx from `npm start`. int8 is calibrated on the data set's
//     train split (--calibration-images N), MinMax and percentile (--percentile P, default 99.99);
//   - the CAM baseline on ImageNet backbones (--imagenet resnet50,mobilenet_v2; '' for none) with
//     the torchvision weights of ../shared/fixtures and a seeded random head: size and latency at
//     --size (default 224) — the int8 latency/size targets, and the MobileNetV2 deployment preset's
//     size. Their calibration images are the train images upscaled to that size.
// --browser also times the web demo in Chromium per precision on wasm and WebGPU (bench/browser-latency.ts).
// --profile writes onnxruntime's per-op profile of each ImageNet model and prints the top ops.
// fp16-all-ops is fp16 without the float32 block list (what the block list buys).
// The last line is one JSON object with every figure and the acceptance checks.
//
//   npm run bench -- precision [--model M.onnx | --run RUN] [--data DIR] [--runs 20] [--threads 2]

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../export/export-onnx.ts';
import { imagenetCam } from '../export/imagenet-cam.ts';
import { loadCalibrationImages } from '../export/quantize/calibration-images.ts';
import type { CalibrationFeed } from '../export/quantize/calibrate.ts';
import { quantizeModel } from '../export/quantize/quantize-model.ts';
import { defaultClassNames } from '../graphs/registry.ts';
import { ConfusionMatrix } from '../runtime/metrics/confusion.ts';
import { segmentationScores } from '../runtime/metrics/miou.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { resizeBilinearCHW } from '../runtime/resize.ts';
import { segmentPixels } from '../runtime/segment.ts';
import { openModel, type OpenModel, type OrtModule } from '../runtime/session.ts';
import { benchArg, benchFlag } from './lib/args.ts';
import { median } from './lib/stats.ts';

const runs = Number(benchArg('runs', '20'));
const threads = Number(benchArg('threads', '2'));
const dataDir = benchArg('data', 'data/synth-small');
const calImages = Number(benchArg('calibration-images', '64'));
const percentile = Number(benchArg('percentile', '99.99'));
const size = Number(benchArg('size', '224'));
const imagenet = benchArg('imagenet', 'resnet50,mobilenet_v2').split(',').filter(Boolean);
const limit = Number(benchArg('limit', '0'));
const runDir = benchArg('run', '');
const modelPath = benchArg('model', runDir ? [join(runDir, 'model.onnx'), join(runDir, 'cam', 'model.onnx')].find(existsSync) ?? join(runDir, 'model.onnx') : 'runs/start/cam/model.onnx');
const ortModule = ort as unknown as OrtModule;

interface Variant {
  name: string;
  bytes: Uint8Array;
}

/** fp32, fp16, int8 (MinMax) and int8 (percentile) of one float32 model. */
async function variants(fp32: Uint8Array, source: string, feeds: CalibrationFeed[]): Promise<Variant[]> {
  const out: Variant[] = [{ name: 'fp32', bytes: fp32 }];
  out.push({ name: 'fp16', bytes: (await quantizeModel(fp32, source, { precision: 'fp16' })).bytes });
  // fp16 everywhere (empty block list): what the block list buys.
  out.push({ name: 'fp16-all-ops', bytes: (await quantizeModel(fp32, source, { precision: 'fp16', fp32Ops: [] })).bytes });
  out.push({ name: 'int8', bytes: (await quantizeModel(fp32, source, { precision: 'int8', calibration: { feeds, method: 'minmax', source: dataDir } })).bytes });
  out.push({ name: `int8-p${percentile}`, bytes: (await quantizeModel(fp32, source, { precision: 'int8', calibration: { feeds, method: 'percentile', percentile, source: dataDir } })).bytes });
  return out;
}

/** Median ms of `runs` interleaved runs of every model on `input` (2 warm-up rounds). */
async function latencies(models: OpenModel[], input: { data: Float32Array; dims: number[] }): Promise<number[]> {
  const times: number[][] = models.map(() => []);
  for (let r = 0; r < runs + 2; r++)
    for (const [i, m] of models.entries()) {
      const t0 = performance.now();
      await m.run({ [m.inputNames[0]]: input });
      if (r >= 2) times[i].push(performance.now() - t0);
    }
  return times.map(median);
}

const open = (v: Variant, sessionOptions = {}) => openModel(ortModule, v.bytes, { providers: ['cpu'], threads, source: v.name, sessionOptions });
const mb = (n: number) => (n / 1e6).toFixed(2);
const pad = (s: string, n: number) => s.padEnd(n);
const results: Record<string, unknown> = {};

// ---- the trained model on the data set ------------------------------------------------------
if (!existsSync(modelPath)) {
  console.error(`${modelPath}: no model; run \`npm start\` first (it trains and exports one), or pass --model M.onnx / --run RUN`);
  process.exit(2);
}
const ds = VocDataset.open(dataDir);
let ids = ds.ids('val');
if (limit > 0) ids = ids.slice(0, limit);
const fp32Bytes = new Uint8Array(readFileSync(modelPath));
const cal = await loadCalibrationImages(dataDir, calImages);
console.log(`${modelPath}: calibrating int8 on ${cal.feeds.length} train images of ${dataDir}; evaluating on ${ids.length} val images`);
const dsVariants = await variants(fp32Bytes, modelPath, cal.feeds);
const dsModels = await Promise.all(dsVariants.map((v) => open(v)));
const confusions = dsVariants.map(() => new ConfusionMatrix(ds.numClasses));
const agreeCounts = dsVariants.map(() => 0);
let pixels = 0;
let firstInput: { data: Float32Array; dims: number[] } | null = null;
for (const id of ids) {
  const s = await ds.sample(id);
  const img = { data: s.image.data, width: s.image.width, height: s.image.height, channels: 3 as const };
  const labels = [];
  for (const [i, m] of dsModels.entries()) {
    const seg = await segmentPixels(m, img);
    labels.push(seg.labels.data);
    confusions[i].add(s.mask!.data, seg.labels.data);
    if (!firstInput) firstInput = { data: planar(s.image), dims: [1, 3, s.image.height, s.image.width] };
  }
  for (let i = 0; i < labels.length; i++) {
    let same = 0;
    for (let k = 0; k < labels[0].length; k++) same += labels[i][k] === labels[0][k] ? 1 : 0;
    agreeCounts[i] += same;
  }
  pixels += labels[0].length;
}
const dsLatency = await latencies(dsModels, firstInput!);
const rows = dsVariants.map((v, i) => ({
  precision: v.name,
  bytes: v.bytes.byteLength,
  sizeRatio: v.bytes.byteLength / fp32Bytes.byteLength,
  latencyMs: dsLatency[i],
  latencyRatio: dsLatency[i] / dsLatency[0],
  labelAgreement: agreeCounts[i] / pixels,
  miou: segmentationScores(confusions[i]).miou,
}));
for (const r of rows) (r as Record<string, unknown>).miouDeltaPoints = (r.miou - rows[0].miou) * 100;
console.log(`\n${modelPath} (${ids.length} val images, latency at ${firstInput!.dims[3]}×${firstInput!.dims[2]}, ${threads} threads)`);
console.log(`${pad('precision', 16)}${pad('size MB', 10)}${pad('size ×', 9)}${pad('CPU ms', 9)}${pad('latency ×', 11)}${pad('labels = fp32', 15)}${pad('mIoU', 8)}ΔmIoU (points)`);
for (const r of rows as (typeof rows[number] & { miouDeltaPoints: number })[])
  console.log(`${pad(r.precision, 16)}${pad(mb(r.bytes), 10)}${pad(r.sizeRatio.toFixed(3), 9)}${pad(r.latencyMs.toFixed(2), 9)}${pad(r.latencyRatio.toFixed(2), 11)}${pad(`${(100 * r.labelAgreement).toFixed(2)} %`, 15)}${pad(r.miou.toFixed(4), 8)}${r.miouDeltaPoints >= 0 ? '+' : ''}${r.miouDeltaPoints.toFixed(2)}`);
results.dataset = { model: modelPath, data: dataDir, valImages: ids.length, calibrationImages: cal.feeds.length, rows };
if (benchFlag('browser')) {
  // The web demo in Chromium: page inference time per precision on wasm and WebGPU.
  const { browserLatencies } = await import('./browser-latency.ts');
  const s0 = await ds.sample(ids[0]);
  const served = dsVariants.filter((v) => ['fp32', 'fp16', 'int8'].includes(v.name)).map((v) => ({ precision: v.name as 'fp32' | 'fp16' | 'int8', bytes: v.bytes }));
  const side = Number(benchArg('browser-size', '256'));
  const big = { data: upscaleRgb(s0.image, side), width: side, height: side };
  const b = await browserLatencies(served, big, { runs: Number(benchArg('browser-runs', '5')), eps: benchArg('browser-eps', 'wasm,webgpu').split(',') });
  if (typeof b === 'string') console.log(`\nbrowser latency: skipped (${b})`);
  else {
    console.log(`\nweb demo in Chromium, ${side}×${side} image (median page inference ms)`);
    for (const r of b) console.log(`  ${r.ep.padEnd(7)} ${r.precision.padEnd(5)} ${r.inferenceMs === null ? `failed: ${r.error}` : `${r.inferenceMs.toFixed(1)} ms`}${r.adapter ? ` (adapter: ${r.adapter})` : ''}`);
  }
  results.browser = b;
}

/** Nearest-neighbour upscale of an RGB image to side×side (a larger page input for timing). */
function upscaleRgb(img: { data: Uint8Array; width: number; height: number }, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const sx = Math.floor((x * img.width) / side);
      const sy = Math.floor((y * img.height) / side);
      for (let c = 0; c < 3; c++) out[3 * (y * side + x) + c] = img.data[3 * (sy * img.width + sx) + c];
    }
  return out;
}
await Promise.all(dsModels.map((m) => m.release()));

function planar(img: { data: Uint8Array; width: number; height: number }): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = img.data[3 * i + c];
  return out;
}

// ---- the CAM baseline on ImageNet backbones ---------------------------------------------------
const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'fixtures');
const imagenetResults: Record<string, unknown> = {};
for (const backbone of imagenet) {
  const weights = join(FIXTURES, `torchvision-${backbone}`, 'weights.safetensors');
  if (!existsSync(weights)) {
    console.log(`\n${backbone}: skipped (${weights} not found)`);
    continue;
  }
  const { graph, values } = imagenetCam(backbone, weights, defaultClassNames());
  const fp32 = exportOnnx(graph, values);
  const feeds = cal.feeds.slice(0, Math.min(cal.feeds.length, 32)).map((f) => ({ ...f, data: resizeBilinearCHW(f.data, 3, f.dims[2], f.dims[3], size, size, false), dims: [1, 3, size, size] }));
  const vs = (await variants(fp32, graph.name, feeds)).filter((v) => v.name !== `int8-p${percentile}` && v.name !== 'fp16-all-ops');
  const profile = benchFlag('profile');
  if (profile) mkdirSync('artifacts', { recursive: true });
  const models = await Promise.all(vs.map((v) => open(v, profile ? { enableProfiling: true, profileFilePrefix: join('artifacts', `profile-${backbone}-${v.name}`) } : {})));
  const input = feeds[0];
  const lat = await latencies(models, input);
  // Output error of the raw CAMs relative to their peak, on a held-out image.
  const held = { data: resizeBilinearCHW(firstInput!.data, 3, firstInput!.dims[2], firstInput!.dims[3], size, size, false), dims: [1, 3, size, size] };
  const outs = await Promise.all(models.map((m) => m.run({ [m.inputNames[0]]: held }, ['raw_cams'])));
  const ref = outs[0].raw_cams.data;
  let peak = 0;
  for (const v of ref) peak = Math.max(peak, Math.abs(v));
  const rowsB = vs.map((v, i) => {
    let err = 0;
    for (let k = 0; k < ref.length; k++) err = Math.max(err, Math.abs(outs[i].raw_cams.data[k] - ref[k]));
    return { precision: v.name, bytes: v.bytes.byteLength, sizeRatio: v.bytes.byteLength / fp32.byteLength, latencyMs: lat[i], latencyRatio: lat[i] / lat[0], rawCamRelErr: err / peak };
  });
  console.log(`\ncam-${backbone} (torchvision ImageNet weights, random head; ${size}×${size}, ${threads} threads)`);
  console.log(`${pad('precision', 12)}${pad('size MB', 10)}${pad('size ×', 9)}${pad('CPU ms', 10)}${pad('latency ×', 11)}raw CAM error / peak`);
  for (const r of rowsB) console.log(`${pad(r.precision, 12)}${pad(mb(r.bytes), 10)}${pad(r.sizeRatio.toFixed(3), 9)}${pad(r.latencyMs.toFixed(1), 10)}${pad(r.latencyRatio.toFixed(2), 11)}${r.rawCamRelErr.toExponential(2)}`);
  if (profile) {
    for (const [i, m] of models.entries()) {
      // onnxruntime-node writes '<prefix>_<timestamp>.json' when profiling ends.
      m.session.endProfiling();
      const prefix = `profile-${backbone}-${vs[i].name}_`;
      const file = readdirSync('artifacts').filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort().pop();
      if (file) console.log(`  ${vs[i].name} per-op kernel time (artifacts/${file}): ${topOps(join('artifacts', file))}`);
    }
  }
  imagenetResults[backbone] = { size, rows: rowsB };
  await Promise.all(models.map((m) => m.release()));
}
results.imagenet = imagenetResults;

/** The five op types with the most kernel time in an onnxruntime profile, as 'Op ms (share)'. */
function topOps(file: string): string {
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events)
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      total += e.dur;
    }
  if (!benchFlag('keep-profiles')) rmSync(file, { force: true });
  return [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([op, us]) => `${op} ${(us / 1000).toFixed(1)} ms (${((100 * us) / total).toFixed(0)} %)`).join(', ');
}

// ---- acceptance checks (issue 20) -------------------------------------------------------------
const byName = (name: string) => rows.find((r) => r.precision === name)! as (typeof rows)[number] & { miouDeltaPoints: number };
const r50 = (imagenetResults.resnet50 as { rows: { precision: string; latencyRatio: number; sizeRatio: number }[] } | undefined)?.rows.find((r) => r.precision === 'int8');
const mnv2 = (imagenetResults.mobilenet_v2 as { rows: { precision: string; bytes: number }[] } | undefined)?.rows.find((r) => r.precision === 'int8');
results.acceptance = {
  fp16MiouWithin0_5: Math.abs(byName('fp16').miouDeltaPoints) <= 0.5,
  int8MiouWithin1_5: Math.abs(byName('int8').miouDeltaPoints) <= 1.5,
  ...(r50 ? { resnet50Int8Latency: r50.latencyRatio, resnet50Int8LatencyUnder0_7: r50.latencyRatio <= 0.7, resnet50Int8Size: r50.sizeRatio, resnet50Int8SizeUnder0_3: r50.sizeRatio <= 0.3 } : {}),
  ...(mnv2 ? { mobilenetV2Int8Bytes: mnv2.bytes, mobilenetV2Int8Under4MB: mnv2.bytes < 4e6 } : {}),
};
console.log(JSON.stringify(results));
