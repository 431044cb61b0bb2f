// Composite parity: small blocks in the shape the methods use them — a ResNet bottleneck with
// inference-mode batch norm (folded and unfolded), batch-level attention over the tokens of all
// feature maps (EDAM's CMA), patch split → shared conv → merge (PPL), and one PAMR refinement step
// (1-Stage, SPEC §1.3) — exported to ONNX and compared with the tfjs forward at two input sizes
// each, so the run-time size computations of the exported graphs are exercised.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchNorm2d, Conv2d, Linear } from '../graphs/layers.ts';
import { Module, initialiseAll, type ParamValues } from '../graphs/module.ts';
import type { Ops, Tensor } from '../graphs/ops.ts';
import { Rng } from '../graphs/rng.ts';
import { exportOnnx } from '../export/export-onnx.ts';
import { inspectOnnx } from '../export/inspect.ts';
import { ParamBag, lambdaGraph, parity, randomFeed } from './export-helpers.ts';

/** Gives every BN non-trivial statistics (PyTorch's init is mean 0, var 1: folding would be a no-op). */
function withRealisticBatchNorm(values: ParamValues, seed: number): ParamValues {
  const rng = new Rng(seed);
  const fill = (name: string, f: () => number) => {
    const v = values.get(name)!;
    v.data.forEach((_, i) => (v.data[i] = f()));
  };
  for (const name of [...values.keys()].filter((n) => n.endsWith('.running_mean'))) {
    const bn = name.slice(0, -'.running_mean'.length);
    fill(`${bn}.running_mean`, () => 0.5 * rng.normal());
    fill(`${bn}.running_var`, () => 0.3 + 2 * rng.uniform());
    fill(`${bn}.weight`, () => 0.5 + rng.uniform());
    fill(`${bn}.bias`, () => 0.3 * rng.normal());
  }
  return values;
}

/** nn.Sequential: children named 0, 1, … */
class Sequential extends Module {
  constructor(modules: Module[]) {
    super();
    modules.forEach((m, i) => this.child(i, m));
  }
}

/** torchvision's Bottleneck (expansion via conv3, projection shortcut "downsample.0/.1"). */
class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly down: Conv2d;
  readonly downBn: BatchNorm2d;
  constructor(cin: number, mid: number, cout: number, stride: number) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(cin, mid, 1, { bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm2d(mid));
    this.conv2 = this.child('conv2', new Conv2d(mid, mid, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm2d(mid));
    this.conv3 = this.child('conv3', new Conv2d(mid, cout, 1, { bias: false }));
    this.bn3 = this.child('bn3', new BatchNorm2d(cout));
    this.down = new Conv2d(cin, cout, 1, { stride, bias: false });
    this.downBn = new BatchNorm2d(cout);
    this.child('downsample', new Sequential([this.down, this.downBn]));
    this.finalise();
  }
  forward(ops: Ops, x: Tensor): Tensor {
    let y = ops.relu(this.bn1.forward(ops, this.conv1.forward(ops, x)));
    y = ops.relu(this.bn2.forward(ops, this.conv2.forward(ops, y)));
    y = this.bn3.forward(ops, this.conv3.forward(ops, y));
    const identity = this.downBn.forward(ops, this.down.forward(ops, x));
    return ops.relu(ops.add(y, identity));
  }
}

test('ResNet bottleneck with inference batch norm: folded and unfolded, two input sizes', async () => {
  const block = new Bottleneck(8, 4, 16, 2);
  const graph = lambdaGraph('bottleneck', 8, (ops, ins) => ({ y: block.forward(ops, ins.x) }), block);
  const values = withRealisticBatchNorm(initialiseAll(block, 3), 4);
  const feeds = [randomFeed(1, { x: [2, 8, 13, 17] }), randomFeed(2, { x: [1, 8, 22, 9] })];
  for (const fold of [true, false]) {
    const r = await parity(graph, feeds, { values, foldBatchNorm: fold });
    assert.equal(r.outputs.length, 2);
    assert.deepEqual(r.failures, [], `foldBatchNorm=${fold}`);
    // The folded model really has no batch norm left (and the unfolded one keeps all four).
    const ops = new Map(inspectOnnx(exportOnnx(graph, values, { foldBatchNorm: fold }), 'bottleneck.onnx').ops);
    assert.equal(ops.get('BatchNormalization') ?? 0, fold ? 0 : 4);
    assert.equal(ops.get('Conv'), 4);
    // The residual Add of two run-time-sized maps keeps the size unknown (a wrong static guess
    // here once declared [N, 16, 1, 1]).
    assert.deepEqual(inspectOnnx(exportOnnx(graph, values), 'b.onnx').outputs[0].dims, ['N', 16, null, null]);
  }
});

/**
 * Attention over the tokens of a whole batch of feature maps, as EDAM's CMA: every position of
 * every image attends to all B·H·W positions. Keys and values are flattened to [B·H·W, d];
 * queries keep their [B, H, W, d] layout so the result needs no un-flattening of a run-time size.
 */
class BatchAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly pos: ParamBag;
  constructor(readonly channels: number, readonly dim: number) {
    super();
    this.q = this.child('q', new Linear(channels, dim));
    this.k = this.child('k', new Linear(channels, dim));
    this.v = this.child('v', new Linear(channels, channels));
    this.pos = this.child('pos', new ParamBag({ embedding: { shape: [1, channels, 4, 4], init: { kind: 'normal', std: 0.3 } } }));
    this.finalise();
  }
  forward(ops: Ops, x: Tensor): Tensor {
    // Positional encoding: a learned 4×4 grid resized to the feature map (any input size).
    const pe = ops.resizeBilinear(ops.param(this.pos.get('embedding')), { like: x }, false);
    const f = ops.add(x, pe);
    const pix = ops.transpose(f, [0, 2, 3, 1]); // [B, H, W, C]
    const tokens = ops.transpose(ops.reshape(ops.transpose(f, [1, 0, 2, 3]), [0, -1]), [1, 0]); // [B·H·W, C]
    const q = this.q.forward(ops, pix); // [B, H, W, d]
    const k = this.k.forward(ops, tokens); // [B·H·W, d]
    const v = this.v.forward(ops, tokens); // [B·H·W, C]
    const att = ops.softmax(ops.div(ops.matmul(q, k, { transposeB: true }), Math.sqrt(this.dim)), 3); // [B, H, W, B·H·W]
    const out = ops.matmul(att, v); // [B, H, W, C]
    return ops.add(x, ops.transpose(out, [0, 3, 1, 2]));
  }
}

test('batch-level attention (EDAM CMA form): tokens of all images, positional encoding, two sizes', async () => {
  const block = new BatchAttention(6, 5);
  const graph = lambdaGraph('cma', 6, (ops, ins) => ({ y: block.forward(ops, ins.x) }), block);
  const r = await parity(graph, [randomFeed(3, { x: [2, 6, 13, 17] }), randomFeed(4, { x: [3, 6, 7, 10] })], { seed: 5 });
  assert.equal(r.outputs.length, 2);
  assert.deepEqual(r.failures, []);
});

test('patch split → shared conv → merge (PPL) with K = 2, 4, 6 on a ragged map, two sizes', async () => {
  const bag = new ParamBag({ 'phi.weight': { shape: [5, 4, 3, 3] }, 'phi.bias': { shape: [5] } });
  const graph = lambdaGraph(
    'ppl',
    4,
    (ops, ins) => {
      const out: Record<string, Tensor> = {};
      for (const k of [2, 4, 6]) {
        const patches = ops.patchSplit(ins.x, k);
        const y = ops.relu(ops.conv2d(patches, ops.param(bag.get('phi.weight')), ops.param(bag.get('phi.bias')), { padding: 1 }));
        out[`k${k}`] = ops.patchMerge(y, k, ins.x);
      }
      return out;
    },
    bag,
  );
  const r = await parity(graph, [randomFeed(5, { x: [2, 4, 13, 17] }), randomFeed(6, { x: [1, 4, 24, 11] })]);
  assert.equal(r.outputs.length, 6);
  assert.deepEqual(r.failures, []);
});

/** Neighbour N_δ(X) with replicate padding d on every side (already applied to `padded`). */
function shifted(ops: Ops, padded: Tensor, d: number, dy: number, dx: number): Tensor {
  const end = (off: number) => (d - off > 0 ? -(d - off) : Number.MAX_SAFE_INTEGER);
  return ops.slice(padded, [d + dy, d + dx], [end(dy), end(dx)], [2, 3]);
}

/** One PAMR step (SPEC §1.3): affinities from the image at the given dilations, one mask update. */
function pamrStep(ops: Ops, image: Tensor, mask: Tensor, dilations: number[]): Tensor {
  const offsets: [number, number][] = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];
  const imgNeighbours: Tensor[] = [];
  const maskNeighbours: Tensor[] = [];
  const samples: Tensor[] = []; // the 9·|D| samples of σ (centre once per dilation)
  for (const d of dilations) {
    const pi = ops.pad(image, [d, d, d, d], 'edge');
    const pm = ops.pad(mask, [d, d, d, d], 'edge');
    samples.push(image);
    for (const [a, b] of offsets) {
      const n = shifted(ops, pi, d, a * d, b * d);
      imgNeighbours.push(n);
      samples.push(n);
      maskNeighbours.push(shifted(ops, pm, d, a * d, b * d));
    }
  }
  // Unbiased std per colour channel over the samples.
  let sum = samples[0];
  for (const s of samples.slice(1)) sum = ops.add(sum, s);
  const mean = ops.div(sum, samples.length);
  let sq = ops.pow(ops.sub(samples[0], mean), 2);
  for (const s of samples.slice(1)) sq = ops.add(sq, ops.pow(ops.sub(s, mean), 2));
  const sigma = ops.sqrt(ops.div(sq, samples.length - 1));
  const denom = ops.add(ops.mul(sigma, 0.1), 1e-8);
  const kernel = imgNeighbours.map((n) => ops.neg(ops.reduceMean(ops.div(ops.abs(ops.sub(image, n)), denom), [1], true)));
  const alpha = ops.softmax(ops.concat(kernel, 1), 1); // [B, P, H, W]
  const weights = ops.split(alpha, kernel.map(() => 1), 1);
  let out = ops.mul(weights[0], maskNeighbours[0]);
  for (let j = 1; j < weights.length; j++) out = ops.add(out, ops.mul(weights[j], maskNeighbours[j]));
  return out;
}

test('PAMR step: replicate-padded dilated neighbours (1, 2, 4), local std, affinity softmax, two sizes', async () => {
  const graph = lambdaGraph(
    'pamr',
    [
      { name: 'image', channels: 3, meaning: 'RGB in [0,1]' },
      { name: 'mask', channels: 3, meaning: 'class probabilities' },
    ],
    (ops, ins) => ({ refined: pamrStep(ops, ins.image, ops.softmax(ins.mask, 1), [1, 2, 4]) }),
  );
  const feed = (seed: number, n: number, h: number, w: number) => {
    const f = randomFeed(seed, { image: [n, 3, h, w], mask: [n, 3, h, w] });
    f.image.data.forEach((v, i) => (f.image.data[i] = 0.5 + 0.2 * v)); // an image-like range
    return f;
  };
  const r = await parity(graph, [feed(7, 2, 13, 17), feed(8, 1, 9, 20)]);
  assert.equal(r.outputs.length, 2);
  assert.deepEqual(r.failures, []);
});
