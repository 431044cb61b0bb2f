// Benchmark: one SGD training step of the reference net on tfjs's stock CPU kernels vs ours.
//
// The net (issue 3): four 3×3 convolutions 3→16→32→64→128 with strides 1,2,2,2 ('same'),
// bias + ReLU, global average pooling, a linear layer to 10 classes, softmax cross-entropy;
// batch 16 of 64×64 images; plain SGD. Convolutions use conv2dFused (bias and ReLU inside the
// kernel, forward and backward) — the same code on both backends.
//
// Both backends start from the same weights and batch, and after the first step their updated
// weights must agree (printed as a relative difference) — a fast wrong step is no result.
// Stock steps take about a minute each, so by default the stock backend runs one timed step
// and ours a warm-up plus --steps timed ones (median). GFLOP/s counts 3 × the forward FLOPs.
// The last line is one JSON object: { stock_ms, fast_ms, ratio, gflops, ... }.
//
//   npm run bench -- train-step [--steps 20] [--stock-steps 1] [--no-stock] [--js]
//     --no-stock  skip the stock backend (stock_ms and ratio are then null)
//     --js        also time our backend on the portable JavaScript kernels

import * as tf from '@tensorflow/tfjs-core';
import { jsEngine } from '../train/kernels/js-engine.ts';
import { selectTfjsBackend } from '../train/backend-select.ts';
import { FAST_CPU_BACKEND, registerFastCpuBackend } from '../train/kernels/fast-backend.ts';
import { conv2dFused } from '../train/kernels/fused-ops.ts';
import { benchArg, benchFlag } from './lib/args.ts';
import { median } from './lib/stats.ts';

const BATCH = 16;
const SIZE = 64;
const CHANNELS = [3, 16, 32, 64, 128];
const STRIDES = [1, 2, 2, 2];
const CLASSES = 10;
const LR = 0.01;

/** Forward FLOPs (multiply-adds × 2) of the convolutions and the linear layer. */
function forwardFlops(): number {
  let flops = 0;
  let size = SIZE;
  for (let i = 0; i < STRIDES.length; i++) {
    size = Math.ceil(size / STRIDES[i]);
    flops += 2 * BATCH * size * size * 9 * CHANNELS[i] * CHANNELS[i + 1];
  }
  return flops + 2 * BATCH * CHANNELS[4] * CLASSES;
}

/** Deterministic initial weights and batch (a small LCG: identical for every backend). */
function initialData() {
  let s = 12345;
  const uniform = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => uniform() * scale);
  const convs = STRIDES.map((_, i) => {
    const fanIn = 9 * CHANNELS[i];
    return { w: fill(9 * CHANNELS[i] * CHANNELS[i + 1], Math.sqrt(6 / fanIn)), b: fill(CHANNELS[i + 1], 0.1) };
  });
  return {
    convs,
    fc: fill(CHANNELS[4] * CLASSES, Math.sqrt(6 / CHANNELS[4])),
    fcBias: fill(CLASSES, 0.1),
    images: fill(BATCH * SIZE * SIZE * 3, 1),
    labels: Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % CLASSES),
  };
}

interface Model {
  vars: tf.Variable[];
  step: () => number;
  dispose: () => void;
}

function buildModel(data: ReturnType<typeof initialData>): Model {
  const convW = data.convs.map((c, i) => tf.variable(tf.tensor4d(c.w, [3, 3, CHANNELS[i], CHANNELS[i + 1]]), true, `conv${i}/w`));
  const convB = data.convs.map((c, i) => tf.variable(tf.tensor1d(c.b), true, `conv${i}/b`));
  const fcW = tf.variable(tf.tensor2d(data.fc, [CHANNELS[4], CLASSES]), true, 'fc/w');
  const fcB = tf.variable(tf.tensor1d(data.fcBias), true, 'fc/b');
  const x = tf.tensor4d(data.images, [BATCH, SIZE, SIZE, 3]);
  const onehot = tf.oneHot(tf.tensor1d(data.labels, 'int32'), CLASSES);
  const optimizer = tf.train.sgd(LR);
  const loss = () => {
    let h = x;
    for (let i = 0; i < STRIDES.length; i++)
      h = conv2dFused({ x: h, filter: convW[i] as tf.Tensor4D, bias: convB[i], strides: STRIDES[i], pad: 'same', activation: 'relu' });
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(pooled, fcW as tf.Tensor2D), fcB);
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  };
  const vars = [...convW, ...convB, fcW, fcB];
  return {
    vars,
    step: () => {
      const l = optimizer.minimize(loss, true, vars);
      const v = l!.dataSync()[0];
      l!.dispose();
      return v;
    },
    dispose: () => {
      tf.dispose([...vars, x, onehot]);
      optimizer.dispose();
    },
  };
}

interface Run {
  times: number[];
  firstLoss: number;
  weightsAfterFirst: Float32Array[];
}

async function runOn(backend: string, steps: number, warmup: number): Promise<Run> {
  await tf.setBackend(backend);
  const model = buildModel(initialData());
  const times: number[] = [];
  let firstLoss = NaN;
  let weightsAfterFirst: Float32Array[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const loss = model.step();
    const dt = performance.now() - t0;
    if (i === 0) {
      firstLoss = loss;
      weightsAfterFirst = model.vars.map((v) => v.dataSync().slice() as Float32Array);
    }
    if (i >= warmup) times.push(dt);
  }
  model.dispose();
  return { times, firstLoss, weightsAfterFirst };
}

/** max |a - b| / max |b| over all updated weights. */
function weightDifference(a: Float32Array[], b: Float32Array[]): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < a[i].length; j++) {
      diff = Math.max(diff, Math.abs(a[i][j] - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    }
  return diff / scale;
}

const steps = Number(benchArg('steps', '20'));
const stockSteps = Number(benchArg('stock-steps', '1'));
const withStock = !benchFlag('no-stock');
const withJs = benchFlag('js');

await selectTfjsBackend(FAST_CPU_BACKEND);
const engine = registerFastCpuBackend(); // already registered: returns its engine
if (withJs) registerFastCpuBackend(`${FAST_CPU_BACKEND}-js`, jsEngine);
// the stock backend's first write prints an "install tfjs-node" banner: noise in a benchmark
const stockBackend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
if (stockBackend) stockBackend.firstUse = false;
const flops = forwardFlops();
console.log(`reference net: batch ${BATCH}, ${SIZE}×${SIZE}, forward ${(flops / 1e9).toFixed(3)} GFLOP, step counted as ${((3 * flops) / 1e9).toFixed(3)} GFLOP`);
console.log(`fast kernels: ${engine.description}`);

const fast = await runOn(FAST_CPU_BACKEND, steps, 2);
const fastMs = median(fast.times);
const gflops = (3 * flops) / (fastMs / 1000) / 1e9;
console.log(`wsss-cpu (${engine.kind}): ${fastMs.toFixed(1)} ms/step (median of ${steps}; min ${Math.min(...fast.times).toFixed(1)}), ${gflops.toFixed(1)} GFLOP/s, first loss ${fast.firstLoss.toFixed(5)}`);

let jsMs: number | null = null;
if (withJs) {
  const js = await runOn(`${FAST_CPU_BACKEND}-js`, 2, 1);
  jsMs = median(js.times);
  console.log(`wsss-cpu (javascript kernels): ${jsMs.toFixed(0)} ms/step, ${((3 * flops) / (jsMs / 1000) / 1e9).toFixed(2)} GFLOP/s, weights vs native after one step: ${weightDifference(js.weightsAfterFirst, fast.weightsAfterFirst).toExponential(2)}`);
}

let stockMs: number | null = null;
let ratio: number | null = null;
let agreement: number | null = null;
if (withStock) {
  console.log(`stock cpu: timing ${stockSteps} step(s), about a minute each...`);
  const stock = await runOn('cpu', stockSteps, 0);
  stockMs = median(stock.times);
  ratio = stockMs / fastMs;
  agreement = weightDifference(fast.weightsAfterFirst, stock.weightsAfterFirst);
  console.log(`stock cpu: ${stockMs.toFixed(0)} ms/step, ${((3 * flops) / (stockMs / 1000) / 1e9).toFixed(3)} GFLOP/s, first loss ${stock.firstLoss.toFixed(5)}`);
  console.log(`speed-up ${ratio.toFixed(1)}×; weights after one step agree to ${agreement.toExponential(2)} (relative)`);
  if (!(agreement < 1e-4)) {
    console.error('train-step: the fast and stock steps disagree; the timing is meaningless');
    process.exitCode = 1;
  }
}
const PYTORCH_MS = 11; // the figure for PyTorch, 2 threads, on the reference machine
console.log(`vs PyTorch's ~${PYTORCH_MS} ms/step (issue 3): ${(fastMs / PYTORCH_MS).toFixed(2)}× its step time`);
console.log(
  JSON.stringify({
    stock_ms: stockMs === null ? null : Math.round(stockMs),
    fast_ms: Number(fastMs.toFixed(2)),
    ratio: ratio === null ? null : Number(ratio.toFixed(1)),
    gflops: Number(gflops.toFixed(1)),
    engine: engine.description,
    js_ms: jsMs === null ? null : Math.round(jsMs),
    weight_agreement: agreement,
    vs_pytorch: Number((fastMs / PYTORCH_MS).toFixed(2)),
  }),
);
