// PPL (issue 16) from the paper's definitions, since no reference code exists: with K = 1 and
// identity φ1, φ2 the patch path equals the undestructed one; on a ragged 11×14 map with K = 4
// patch learning equals a hand-built reference (each zero-padded patch run alone, stitched by
// index) and round-trips; the explicit branches' stop-gradient and the implicit steps' freezing
// are checked by which parameters receive gradient / change; an implicit run killed inside its
// second step resumes to the same parameters; the exported models equal tfjs on CAMs at two
// sizes that are not multiples of K·stride.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx } from '../../export/export-onnx.ts';
import { verifyExport } from '../../export/verify.ts';
import { Conv2d } from '../../graphs/layers.ts';
import { initialiseAll, globToRegExp, type ParamValues } from '../../graphs/module.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { PplNet } from '../../graphs/methods/ppl/model.ts';
import { implicitClassifierShare, pplMethod, stagePlans } from '../../graphs/methods/ppl/index.ts';
import { patchLearning } from '../../graphs/methods/ppl/patch-learning.ts';
import { createFeatureBackbone } from '../../graphs/backbones/index.ts';
import { Rng } from '../../graphs/rng.ts';
import type { Ops, Tensor } from '../../graphs/ops.ts';
import { loadCheckpoint } from '../../train/checkpoint.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { trainMethod, type MethodTrainConfig } from '../../train/method-trainer.ts';
import { openRun } from '../../train/run-model.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { fromTf, opsTensor, tfTensor, toTfLogical } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import { startTfjs } from '../../train/tfjs-start.ts';

let root: string;
let data: string;
before(async () => {
  await startTfjs();
  root = mkdtempSync(join(tmpdir(), 'wsss-ppl-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 5), train: 8, val: 1 });
});
after(() => rmSync(root, { recursive: true, force: true }));

function randomArray(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

const input = (ops: TfjsOps, data: Float32Array, shape: number[]): Tensor => opsTensor(toTfLogical(data, shape));
const read = (t: Tensor) => fromTf(tfTensor(t));

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** An image batch in [0, 255]. */
function image(n: number, h: number, w: number, seed: number): { data: Float32Array; shape: number[] } {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: n * 3 * h * w }, () => 255 * rng.uniform()), shape: [n, 3, h, w] };
}

/** Make a PatchConv (3×3 conv + BN + ReLU) the identity on non-negative inputs, in inference mode. */
function setIdentityPhi(values: ParamValues, prefix: string, channels: number): void {
  const w = new Float32Array(channels * channels * 9);
  for (let c = 0; c < channels; c++) w[(c * channels + c) * 9 + 4] = 1;
  values.set(`${prefix}.conv.weight`, { shape: [channels, channels, 3, 3], data: w });
  values.set(`${prefix}.bn.weight`, { shape: [channels], data: new Float32Array(channels).fill(1) });
  values.set(`${prefix}.bn.bias`, { shape: [channels], data: new Float32Array(channels) });
  values.set(`${prefix}.bn.running_mean`, { shape: [channels], data: new Float32Array(channels) });
  // (x − 0) / sqrt(var + 1e-5) with var = 1 − 1e-5 divides by exactly 1.
  values.set(`${prefix}.bn.running_var`, { shape: [channels], data: new Float32Array(channels).fill(1 - 1e-5) });
}

test('K = 1 with identity φ1, φ2: the patch path equals the undestructed path (at every cam-tiny position)', () => {
  const specs = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map((position) => ({ position, k: 1 }));
  const net = new PplNet(createFeatureBackbone('cam-tiny-w4'), 3, specs).finalise();
  const values = initialiseAll(net, 11);
  net.branches.forEach((b, i) => {
    setIdentityPhi(values, `branches.${i}.phi1`, net.backbone.tap(b.spec.position).channels);
    setIdentityPhi(values, `branches.${i}.phi2`, net.backbone.tap('final').channels);
  });
  const params = new TfjsParams(values, net);
  const ops = new TfjsOps(params, { training: false });
  const img = image(2, 45, 37, 5);
  const f = net.features(ops, input(ops, img.data, img.shape), specs.map((_, i) => i), false);
  const g = read(f.global);
  assert.deepEqual(g.shape, [2, 16, 12, 10]);
  for (const [i, t] of f.patched) {
    const p = read(t);
    assert.deepEqual(p.shape, g.shape);
    assert.ok(maxDiff(p.data, g.data) <= 1e-5 * Math.max(1, ...g.data), `${specs[i].position}: ${maxDiff(p.data, g.data)}`);
  }
  params.dispose();
});

test('ragged 11×14, K = 4: patch learning equals each zero-padded 3×4 patch run alone and stitched; round trip; pointwise commutes', () => {
  const params = new TfjsParams(new Map());
  const ops = new TfjsOps(params, { training: false });
  const [n, c, h, w, k] = [2, 3, 11, 14, 4];
  const x = randomArray([n, c, h, w], 21);
  const wt = randomArray([c, c, 3, 3], 22);
  const w1 = randomArray([c, c, 1, 1], 23);
  const xt = input(ops, x, [n, c, h, w]);
  const conv3 = (o: Ops, t: Tensor) => o.conv2d(t, input(ops, wt, [c, c, 3, 3]), null, { padding: 1 });
  const conv1 = (o: Ops, t: Tensor) => o.conv2d(t, input(ops, w1, [c, c, 1, 1]), null);
  const id = (_: Ops, t: Tensor) => t;

  // Reference: zero-pad to 12×16 by hand, cut patch (i, j) by index, run the conv on it alone, write it back.
  const [ph, pw] = [Math.ceil(h / k), Math.ceil(w / k)];
  const want = new Float32Array(n * c * h * w);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const patch = new Float32Array(n * c * ph * pw);
      for (let b = 0; b < n * c; b++)
        for (let y = 0; y < ph; y++)
          for (let z = 0; z < pw; z++) {
            const [yy, zz] = [i * ph + y, j * pw + z];
            if (yy < h && zz < w) patch[(b * ph + y) * pw + z] = x[(b * h + yy) * w + zz];
          }
      const out = read(conv3(ops, input(ops, patch, [n, c, ph, pw]))).data;
      for (let b = 0; b < n * c; b++)
        for (let y = 0; y < ph; y++)
          for (let z = 0; z < pw; z++) {
            const [yy, zz] = [i * ph + y, j * pw + z];
            if (yy < h && zz < w) want[(b * h + yy) * w + zz] = out[(b * ph + y) * pw + z];
          }
    }
  const got = read(patchLearning(ops, xt, { k, phi1: id, following: conv3, phi2: id }, xt));
  assert.deepEqual(got.shape, [n, c, h, w]);
  assert.ok(maxDiff(got.data, want) <= 1e-5, `vs hand-built patches: ${maxDiff(got.data, want)}`);
  // The cut matters: the same conv on the whole map differs at the patch borders.
  assert.ok(maxDiff(got.data, read(conv3(ops, xt)).data) > 0.1, 'patching changed nothing');
  assert.equal(maxDiff(read(patchLearning(ops, xt, { k, phi1: id, following: id, phi2: id }, xt)).data, x), 0, 'round trip');
  assert.ok(maxDiff(read(patchLearning(ops, xt, { k, phi1: id, following: conv1, phi2: id }, xt)).data, read(conv1(ops, xt)).data) <= 1e-5, 'a 1×1 conv commutes with patching');
  params.dispose();
});

/** Names of the trainable parameters that receive a non-zero gradient from `objective`. */
function paramsWithGradient(net: PplNet, params: TfjsParams, objective: (ops: Ops) => Tensor): Set<string> {
  const names = params.trainableNames();
  const vars = params.trainableVariables();
  const byVar = new Map(vars.map((v, i) => [v.name, names[i]]));
  const ops = new TfjsOps(params, { training: true, seed: 3 });
  const { value, grads } = tf.variableGrads(() => tf.sum(tfTensor(objective(ops))) as tf.Scalar, vars);
  ops.discardStateUpdates();
  const out = new Set<string>();
  for (const [v, g] of Object.entries(grads)) {
    if (tf.max(tf.abs(g)).dataSync()[0] > 0) out.add(byVar.get(v)!);
    g.dispose();
  }
  value.dispose();
  return out;
}

test('explicit: stop-gradient — a branch trains only φ1, φ2 and the stages after its cut; F̂ still trains them all', () => {
  const net = new PplNet(createFeatureBackbone('cam-tiny-w4'), 3, [
    { position: 'conv3', k: 2 },
    { position: 'conv4', k: 4 },
  ]).finalise();
  const params = new TfjsParams(initialiseAll(net, 4), net);
  const img = image(2, 32, 32, 9);
  const sq = (ops: Ops, t: Tensor) => ops.reduceSum(ops.mul(t, t), [0, 1, 2, 3]);
  const branchOnly = (i: number, detach: boolean) =>
    paramsWithGradient(net, params, (ops) => sq(ops, net.features(ops, input(ops as TfjsOps, img.data, img.shape), [i], detach).patched.get(i)!));
  const prefixes = (s: Set<string>) => [...new Set([...s].map((n) => n.split('.').slice(0, 3).join('.').replace(/\.(conv|bn)$/, '')))].sort();
  // Branch at conv4 (index 1): conv5, conv6 (backbone.4, backbone.5) and its φs; nothing at or below conv4.
  assert.deepEqual(prefixes(branchOnly(1, true)), ['backbone.4', 'backbone.5', 'branches.1.phi1', 'branches.1.phi2']);
  assert.deepEqual(prefixes(branchOnly(0, true)), ['backbone.3', 'backbone.4', 'backbone.5', 'branches.0.phi1', 'branches.0.phi2']);
  // Without the stop-gradient (single / implicit) the cut passes gradient to every stage below it.
  assert.deepEqual(prefixes(branchOnly(1, false)), ['backbone.0', 'backbone.1', 'backbone.2', 'backbone.3', 'backbone.4', 'backbone.5', 'branches.1.phi1', 'branches.1.phi2']);
  // The whole explicit loss reaches every parameter (the undestructed path trains the low stages).
  const labels = Float32Array.from([1, 0, 1, 0, 1, 0]);
  const all = paramsWithGradient(net, params, (ops) => net.training(ops, input(ops as TfjsOps, img.data, img.shape), input(ops as TfjsOps, labels, [2, 3]), [0, 1], true).losses.cls);
  assert.deepEqual([...all].sort(), [...params.trainableNames()].sort());
  params.dispose();
});

test('implicit stages: step 1 trains everything but the other branch, step 2 fixes every stage up to its cut', () => {
  const net = new PplNet(createFeatureBackbone('cam-tiny-w4'), 3, [
    { position: 'conv3', k: 2 },
    { position: 'conv4', k: 4 },
  ]).finalise();
  const plans = stagePlans(net, 'implicit', 6, 0.5);
  assert.deepEqual(plans.map((p) => [p.stage.epochs, p.active]), [[3, [0]], [3, [1]]]);
  const trained = (frozen: string[]) => {
    const res = frozen.map(globToRegExp);
    return [...new Set(net.parameters().filter((p) => !p.spec.buffer && !res.some((r) => r.test(p.name))).map((p) => p.name.split('.').slice(0, 2).join('.')))].sort();
  };
  assert.deepEqual(trained(plans[0].stage.frozen), ['backbone.0', 'backbone.1', 'backbone.2', 'backbone.3', 'backbone.4', 'backbone.5', 'branches.0', 'head.classifier']);
  // Step 2 cuts after conv4: conv1…conv4 are fixed, conv5 and conv6 (the stages the patches run through) train.
  assert.deepEqual(trained(plans[1].stage.frozen), ['backbone.4', 'backbone.5', 'branches.1', 'head.classifier']);
  // With a classifier stage first (cam-tiny's stand-in for Algorithm 1's ImageNet weights): 3 epochs, then the steps share the other 3.
  const pretrained = stagePlans(net, 'implicit', 6, 0.5, 0.5);
  assert.deepEqual(pretrained.map((p) => [p.stage.name, p.stage.epochs, p.active]), [['classifier', 3, []], ['step1-conv3-k2', 2, [0]], ['step2-conv4-k4', 1, [1]]]);
  assert.deepEqual(trained(pretrained[0].stage.frozen), ['backbone.0', 'backbone.1', 'backbone.2', 'backbone.3', 'backbone.4', 'backbone.5', 'head.classifier']);
  assert.deepEqual(pretrained.slice(1).map((p) => p.stage.frozen), plans.map((p) => p.stage.frozen));
  assert.equal(implicitClassifierShare('cam-tiny-w4', 'auto'), 0.5);
  assert.equal(implicitClassifierShare('resnet50', 'auto'), 0);
  assert.equal(implicitClassifierShare('cam-tiny', '0.25'), 0.25);
  assert.throws(() => implicitClassifierShare('cam-tiny', '1'), /implicit-classifier-share/);
  assert.throws(() => stagePlans(net, 'implicit', 3, 0.5, 0.5), /needs at least 4 epochs/);
  const explicit = stagePlans(net, 'explicit', 6, 0.5);
  assert.deepEqual(explicit.map((p) => [p.stage.name, p.stage.epochs, p.active, p.detach]), [['classifier', 3, [], false], ['explicit', 3, [0, 1], true]]);
});

function config(mode: string, outDir: string): MethodTrainConfig {
  return {
    method: 'ppl',
    backbone: 'cam-tiny-w4',
    // No classifier stage before the implicit steps, so that 4 steps exercise both step boundaries.
    options: { mode, 'implicit-classifier-share': '0' },
    data,
    split: 'train',
    // 8 images, batch 4: 2 steps an epoch; 2 epochs = 2 steps per implicit step (or explicit stage).
    hyper: { epochs: 2, batch: 4, crop: 32, lr: 0.01, warmup: 1 },
    seed: 7,
    outDir,
    checkpointEvery: 1,
    augment: { scale: [0.9, 1.1], flip: true },
    progress: false,
  };
}

/** The exported model against tfjs at two sizes that no K·stride (8, 16) divides. */
async function assertExportParity(runDir: string): Promise<void> {
  const run = openRun(runDir);
  const bytes = exportOnnx(run.graph, run.values, { source: run.modelPath });
  for (const size of [
    [45, 37],
    [53, 70],
  ] as [number, number][]) {
    const v = await verifyExport(run.graph, run.values, bytes, { size, batch: 2 });
    const cams = v.outputs.find((o) => o.name === 'cams')!;
    assert.ok(cams.shapeMatch && cams.relErr <= 1e-4, `${runDir} ${size}: cams relative error ${cams.relErr}`);
    assert.ok(v.relErr <= 1e-4, `${runDir} ${size}: worst output ${v.worst}: ${v.relErr}`);
  }
}

test('implicit: a run killed inside step 2 resumes to the straight run; step 2 leaves conv1…conv4 and branch 0 untouched; export = tfjs', async () => {
  const straightDir = join(root, 'implicit-straight');
  const killedDir = join(root, 'implicit-killed');
  const straight = await trainMethod(config('implicit', straightDir));
  assert.equal(straight.steps, 4);
  // Killed at the step boundary, then again inside step 2, then resumed to the end.
  await trainMethod({ ...config('implicit', killedDir), stopAfter: 2 });
  const afterStep1 = loadCheckpoint(join(killedDir, 'checkpoint.safetensors')).params;
  assert.equal((await trainMethod({ ...config('implicit', killedDir), stopAfter: 3 })).resumedFrom, 2);
  assert.equal((await trainMethod(config('implicit', killedDir))).resumedFrom, 3);
  const a = openRun(straightDir).values;
  const b = openRun(killedDir).values;
  let worst = 0;
  for (const [name, v] of a) worst = Math.max(worst, maxDiff(v.data, b.get(name)!.data));
  assert.ok(worst <= 1e-6, `resumed run differs from the straight one by ${worst}`);
  const frozen = /^(backbone\.[0-3]\.(conv|bn\.(weight|bias))|branches\.0\.)/;
  for (const [name, v] of a) {
    if (/running_/.test(name)) continue;
    const moved = maxDiff(v.data, afterStep1.get(name)!.data);
    if (frozen.test(name)) assert.equal(moved, 0, `${name} is fixed in step 2 but moved`);
    else if (/^(backbone\.[45]|branches\.1|head)\./.test(name)) assert.ok(moved > 0, `${name} trains in step 2 but did not move`);
  }
  await assertExportParity(straightDir);
});

test('explicit: trains (classifier stage, then all branches) and its three-group model exports equal to tfjs', async () => {
  const dir = join(root, 'explicit');
  assert.equal((await trainMethod(config('explicit', dir))).steps, 4);
  const run = openRun(dir);
  assert.equal(run.graph.outputs.find((o) => o.name === 'raw_cams')!.meaning.includes('F̃(conv4, K=4)'), true);
  await assertExportParity(dir);
});

test('options: positions and K lists, mode single takes one position, bad positions named', () => {
  const build = (options: Record<string, unknown>) => pplMethod.build({ backbone: 'cam-tiny-w4', classNames: ['a', 'b'], options: resolveOptions(pplMethod, options) });
  assert.deepEqual((build({ mode: 'single' }).module as PplNet).branches.map((b) => b.spec), [{ position: 'conv4', k: 4 }]);
  assert.deepEqual((build({ positions: 'conv2,conv5', grid: '3,2' }).module as PplNet).branches.map((b) => b.spec), [{ position: 'conv2', k: 3 }, { position: 'conv5', k: 2 }]);
  assert.throws(() => build({ positions: 'conv6', grid: '2' }), /'conv6' is not a destruction position of cam-tiny \(choose from conv1, conv2, conv3, conv4, conv5\)/);
  assert.throws(() => build({ positions: 'conv3' }), /--positions and --grid together/);
  assert.throws(() => build({ mode: 'single', positions: 'conv3,conv4', grid: '2,4' }), /mode single takes one position/);
  assert.throws(() => build({ positions: 'conv3', grid: '0' }), /K must be a positive integer/);
  const r50 = pplMethod.build({ backbone: 'resnet50-w16', classNames: ['a'], options: resolveOptions(pplMethod, {}) }).module as PplNet;
  assert.deepEqual(r50.branches.map((b) => b.spec), [{ position: 'layer1', k: 2 }, { position: 'layer2', k: 4 }, { position: 'layer3', k: 6 }]);
});

test("ResNet-50 (width/16) with the paper's cuts (layer1–3, K = 2, 4, 6) exports equal to tfjs at a ragged size", async () => {
  const model = pplMethod.build({ backbone: 'resnet50-w16', classNames: ['a', 'b'], options: resolveOptions(pplMethod, {}) });
  const values = initialiseAll(model.module, 5);
  const v = await verifyExport(model.graph, values, exportOnnx(model.graph, values, {}), { size: [75, 61], batch: 1 });
  assert.ok(v.relErr <= 1e-4, `worst output ${v.worst}: ${v.relErr}`);
});
