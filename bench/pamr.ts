// `npm run bench -- pamr [--size 321] [--classes 21] [--reps 3] [--threads 1] [--python /usr/bin/python3]`
//
// PAMR speed (issue 13): one image of SIZE×SIZE, CLASSES mask channels, the default dilations
// (1, 2, 4, 8, 12, 24) and 10 iterations — the same graph (graphs/onestage/pamr.ts) timed in the
// tfjs interpreter (the training path, our CPU kernels) and exported to onnxruntime-node (CPU EP),
// each against a PyTorch CPU implementation of the same computation (bench/pamr-torch.py, written
// from SPEC.md; needs python3 with torch, else those ratios are skipped). Median of REPS runs
// after one warm-up; ratios are PyTorch time / ours (> 1: ours faster). Ends with one JSON line.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../export/export-onnx.ts';
import { pamrGraph } from '../graphs/onestage/pamr-graph.ts';
import { Rng } from '../graphs/rng.ts';
import { TfjsOps } from '../train/tfjs-interpreter.ts';
import { opsTensor, tfTensor, toTfLogical } from '../train/tfjs-layout.ts';
import { TfjsParams } from '../train/tfjs-params.ts';
import { startTfjs } from '../train/tfjs-start.ts';
import { benchArg } from './lib/args.ts';
import { median } from './lib/stats.ts';

const size = Number(benchArg('size', '321'));
const classes = Number(benchArg('classes', '21'));
const reps = Number(benchArg('reps', '3'));
const threads = Number(benchArg('threads', '1'));
const python = benchArg('python', '/usr/bin/python3');
for (const [k, v] of Object.entries({ size, classes, reps, threads }))
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${k} must be a positive integer`);
    process.exit(2);
  }

const rng = new Rng(0);
const image = Float32Array.from({ length: 3 * size * size }, () => 255 * rng.uniform());
const maps = Float32Array.from({ length: classes * size * size }, () => rng.uniform());
const graph = pamrGraph({ channels: classes });

async function timed(f: () => Promise<void> | void): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

// tfjs: the training interpreter on the project's backend (inference mode: no tape).
const backend = await startTfjs();
const params = new TfjsParams(new Map(), graph.module);
const tfjsMs = await timed(() => {
  tf.tidy(() => {
    const ops = new TfjsOps(params, { training: false });
    const out = graph.inference(ops, { image: opsTensor(toTfLogical(image, [1, 3, size, size])), maps: opsTensor(toTfLogical(maps, [1, classes, size, size])) });
    tfTensor(out.refined).dataSync();
  });
});
console.log(`tfjs (${backend}): ${tfjsMs.toFixed(1)} ms`);

const session = await ort.InferenceSession.create(exportOnnx(graph, new Map(), { source: 'bench pamr' }), { executionProviders: ['cpu'], intraOpNumThreads: threads });
const feed = { image: new ort.Tensor('float32', image, [1, 3, size, size]), maps: new ort.Tensor('float32', maps, [1, classes, size, size]) };
const ortMs = await timed(async () => {
  await session.run(feed);
});
console.log(`onnxruntime-node CPU EP (${threads} thread(s)): ${ortMs.toFixed(1)} ms`);

let torchMs: number | null = null;
const py = spawnSync(python, [join(import.meta.dirname, 'pamr-torch.py'), String(threads), String(size), String(classes), String(reps)], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
if (py.status === 0) {
  torchMs = (JSON.parse(py.stdout.trim().split('\n').pop()!) as { torch_ms: number }).torch_ms;
  console.log(`PyTorch CPU (${threads} thread(s)): ${torchMs.toFixed(1)} ms`);
} else console.log(`PyTorch reference skipped (${python} bench/pamr-torch.py: ${(py.stderr || py.error?.message || '').trim().split('\n').pop()})`);

console.log(
  JSON.stringify({
    size,
    classes,
    dilations: [1, 2, 4, 8, 12, 24],
    iterations: 10,
    threads,
    tfjs_ms: tfjsMs,
    ort_ms: ortMs,
    torch_ms: torchMs,
    torch_over_tfjs: torchMs === null ? null : torchMs / tfjsMs,
    torch_over_ort: torchMs === null ? null : torchMs / ortMs,
  }),
);
