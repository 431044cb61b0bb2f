// Benchmark: is our exported MobileNetV2 as fast as torch.onnx's export of the same network?
//
// Imports the fixture's torchvision weights with `importWeights`, exports them with our exporter,
// and times both models (ours and the fixture's model.onnx) in onnxruntime-node on the CPU EP
// with the same session options and the fixture's input. Runs alternate between the two models
// so machine noise hits both alike; the figure is the median per-run latency. The last line is
// one JSON object: { ours_ms, reference_ms, ratio, … } (target: ratio ≤ 1.05).
//
//   npm run bench -- export-speed [--runs 60] [--threads 1] [--fixture DIR]

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { importWeights } from '../export/import-weights.ts';
import { exportOnnx } from '../export/export-onnx.ts';
import { backboneGraph } from '../graphs/backbones/index.ts';
import { readNpyFloat32 } from '../runtime/node/files/npy.ts';

function opHistogram(bytes: Uint8Array): Record<string, number> {
  // Cheap structural summary for the log: counts of op types (decoded with the ONNX protobuf).
  return ortOps(bytes);
}

import p from 'onnx-proto';
import { benchArg } from './lib/args.ts';
import { median } from './lib/stats.ts';
function ortOps(bytes: Uint8Array): Record<string, number> {
  const m = p.onnx.ModelProto.decode(bytes);
  const h: Record<string, number> = {};
  for (const n of m.graph?.node ?? []) h[n.opType ?? '?'] = (h[n.opType ?? '?'] ?? 0) + 1;
  return h;
}

const fixture = resolve(benchArg('fixture', join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'torchvision-mobilenet_v2')));
const runs = Number(benchArg('runs', '60'));
const threads = Number(benchArg('threads', '1'));

const { values, report } = importWeights(join(fixture, 'weights.safetensors'), { backbone: 'mobilenet_v2' });
if (!values) throw new Error(`import failed: ${JSON.stringify(report)}`);
const ours = exportOnnx(backboneGraph('mobilenet_v2', { outputs: ['logits'] }), values);
const reference = new Uint8Array(readFileSync(join(fixture, 'model.onnx')));
const x = readNpyFloat32(join(fixture, 'input.npy'));

const opts: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  logSeverityLevel: 3,
};
const sessions = {
  ours: await ort.InferenceSession.create(ours, opts),
  reference: await ort.InferenceSession.create(reference, opts),
};
const feeds = {
  ours: { [sessions.ours.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) },
  reference: { [sessions.reference.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) },
};

// Same answer first: a fast wrong model is no result.
const a = (await sessions.ours.run(feeds.ours))[sessions.ours.outputNames[0]].data as Float32Array;
const b = (await sessions.reference.run(feeds.reference))[sessions.reference.outputNames[0]].data as Float32Array;
let num = 0;
let den = 0;
for (let i = 0; i < b.length; i++) {
  num += (a[i] - b[i]) ** 2;
  den += b[i] ** 2;
}
const relErr = Math.sqrt(num / den);
if (!(relErr < 1e-3)) throw new Error(`our export disagrees with the reference model: relative error ${relErr}`);

const times: Record<'ours' | 'reference', number[]> = { ours: [], reference: [] };
for (let i = 0; i < 5; i++) for (const k of ['ours', 'reference'] as const) await sessions[k].run(feeds[k]);
for (let i = 0; i < runs; i++) {
  // Alternate which model goes first so neither always runs on a warmer cache.
  const order = i % 2 ? (['ours', 'reference'] as const) : (['reference', 'ours'] as const);
  for (const k of order) {
    const t0 = performance.now();
    await sessions[k].run(feeds[k]);
    times[k].push(performance.now() - t0);
  }
}
const oursMs = median(times.ours);
const referenceMs = median(times.reference);
console.log(`input [${x.shape.join(', ')}], onnxruntime-node CPU EP, ${threads} thread(s), ${runs} alternating runs`);
console.log(`ours:      median ${oursMs.toFixed(3)} ms  ops ${JSON.stringify(opHistogram(ours))}`);
console.log(`reference: median ${referenceMs.toFixed(3)} ms  ops ${JSON.stringify(opHistogram(reference))}`);
console.log(
  JSON.stringify({
    ours_ms: Number(oursMs.toFixed(3)),
    reference_ms: Number(referenceMs.toFixed(3)),
    ratio: Number((oursMs / referenceMs).toFixed(4)),
    rel_err: relErr,
    runs,
    threads,
    input: x.shape,
  }),
);
