// DeepLab on pseudo-labels (issue 18) at test size: every head (LargeFOV, ASPP-v2, v3+), with and
// without multi-scale inputs, exports logits equal to the tfjs forward (≤ 1e-4, odd input sizes so
// the 0.75 / 0.5 scales round); the multi-scale fusion equals a naive reference built from
// single-scale forwards on images resized by runtime/resize.ts and fused in plain JS; the
// cross-entropy ignores label 255 (checked against a hand count); label crops stay aligned with
// their image crops; a run killed mid-way resumes to the same parameters; the exported model
// labels images by argmax from its metadata alone (`wsss segment`).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx } from '../../export/export-onnx.ts';
import { exportMetadata } from '../../export/metadata.ts';
import { ortForward, tfjsForward, verifyExport, type Feed } from '../../export/verify.ts';
import type { VGG16d } from '../../graphs/backbones/vgg16.ts';
import type { GraphDef } from '../../graphs/graph.ts';
import { crossEntropyIgnore } from '../../graphs/losses/cross-entropy-ignore.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import type { DeepLabNet } from '../../graphs/methods/deeplab/model.ts';
import { MULTI_SCALE_INPUTS } from '../../graphs/methods/deeplab/multi-scale-inputs.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { parseModelMetadata } from '../../runtime/model-metadata.ts';
import { chooseLabelRule } from '../../runtime/postprocess.ts';
import { resizeBilinearCHW } from '../../runtime/resize.ts';
import { readLabelPng } from '../../runtime/node/files/palette-png.ts';
import { augmentedCropWithLabels } from '../../train/data/training-images.ts';
import { defaultSynthParams } from '../../train/data/synth/params.ts';
import { writeSynthDataset } from '../../train/data/synth/write-dataset.ts';
import { oneHotTargets, trainMethod, type MethodTrainConfig } from '../../train/method-trainer.ts';
import { openRun } from '../../train/run-model.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { opsTensor, tfTensor } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import { startTfjs } from '../../train/tfjs-start.ts';
import { lastJson, wsss } from '../cam/cli-fixtures.ts';

const deeplab = getMethod('deeplab');
const CLASSES = ['a', 'b', 'c'];

function build(backbone: string, options: Record<string, unknown>) {
  const model = deeplab.build({ backbone, classNames: CLASSES, options: resolveOptions(deeplab, options) });
  return { model, values: initialiseAll(model.module, 3) };
}

let root: string;
let data: string;
before(async () => {
  await startTfjs();
  root = mkdtempSync(join(tmpdir(), 'wsss-deeplab-'));
  data = join(root, 'data');
  await writeSynthDataset(data, { ...defaultSynthParams('tiny', 5), train: 8, val: 2 });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('export: logits of every variant, single- and multi-scale, equal tfjs within 1e-4 at odd sizes; metadata says argmax', async () => {
  for (const variant of ['largefov', 'aspp', 'v3plus'])
    for (const msi of [false, true]) {
      const { model, values } = build('cam-tiny-w4', { variant, 'multi-scale-inputs': msi, width: 8 });
      const bytes = exportOnnx(model.graph, values, { source: 'test' });
      const v = await verifyExport(model.graph, values, bytes, { size: [45, 37], batch: 2 });
      const logits = v.outputs.find((o) => o.name === 'logits')!;
      assert.deepEqual(logits.onnxDims, [2, 4, 45, 37], `${variant} msi=${msi}: background + 3 classes at the input size`);
      assert.ok(logits.shapeMatch && logits.relErr <= 1e-4, `${variant} msi=${msi}: relative error ${logits.relErr}`);
    }
  // The papers' backbones at 1/16 width: LargeFOV on vgg16d (fc6 dilated 12), ASPP on ResNet-50.
  for (const [variant, backbone] of [['largefov', 'vgg16d-w16'], ['aspp', 'resnet50-w16'], ['v3plus', 'resnet50-w16']]) {
    const { model, values } = build(backbone, { variant, width: 16 });
    const v = await verifyExport(model.graph, values, exportOnnx(model.graph, values, { source: 'test' }), { size: [41, 35], batch: 1 });
    assert.ok(v.relErr <= 1e-4, `${variant} on ${backbone}: relative error ${v.relErr}`);
  }
  const { model } = build('vgg16d-w16', { variant: 'largefov' });
  const net = model.module as DeepLabNet;
  assert.equal((net.backbone as VGG16d).fc6.config.dilation, 12, 'LargeFOV: fc6 dilated 12 at output stride 8');
  assert.ok(!net.head.parameters().some((p) => /fc6|fc7/.test(p.name)), 'vgg16d brings fc6/fc7: the head is fc8 only');
  const info = parseModelMetadata(exportMetadata(model.graph), 'm.onnx');
  assert.deepEqual(chooseLabelRule(info), { kind: 'argmax', output: 'logits' });
  assert.equal(info.labelRule?.kind, 'argmax');
});

test('multi-scale inputs: the fused logits equal max over naive single-scale forwards on resized images', async () => {
  const { model, values } = build('cam-tiny-w4', { variant: 'aspp', 'multi-scale-inputs': true });
  const net = model.module as DeepLabNet;
  const [h, w] = [45, 37];
  const rng = new Rng(11);
  const image = Float32Array.from({ length: 3 * h * w }, () => 255 * rng.uniform());
  const fused = (await ortForward(exportOnnx(model.graph, values, { source: 'test' }), { image: { dims: [1, 3, h, w], data: image } })).logits;
  // The reference: one scale at a time through the same weights; resizing and fusion in plain JS.
  const headGraph: GraphDef = { ...model.graph, outputs: [{ name: 'head', meaning: 'one scale' }], inference: (ops, inp) => ({ head: net.logitsAtScale(ops, inp.image) }) };
  const perScale: Feed[] = [];
  for (const s of MULTI_SCALE_INPUTS) {
    const [sh, sw] = [Math.floor(h * s), Math.floor(w * s)];
    const resized = s === 1 ? image : resizeBilinearCHW(image, 3, h, w, sh, sw, false);
    perScale.push((await tfjsForward(headGraph, values, { image: { dims: [1, 3, sh, sw], data: resized } })).head);
  }
  const [, c, fh, fw] = perScale[0].dims;
  assert.deepEqual(perScale.map((f) => f.dims.slice(2)), [[12, 10], [9, 7], [6, 5]], 'stride-4 maps of 45×37, 33×27, 22×18');
  const ref = perScale[0].data.slice();
  for (const f of perScale.slice(1)) {
    const up = resizeBilinearCHW(f.data, c, f.dims[2], f.dims[3], fh, fw, false);
    for (let i = 0; i < ref.length; i++) ref[i] = Math.max(ref[i], up[i]);
  }
  const expected = resizeBilinearCHW(ref, c, fh, fw, h, w, false);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(expected[i] - fused.data[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  assert.ok(worst / scale <= 1e-4, `fused logits differ from the naive reference by ${worst} (scale ${scale})`);
  // The fusion is not a no-op: the smaller scales win somewhere.
  let smallerWins = 0;
  for (let i = 0; i < ref.length; i++) if (ref[i] > perScale[0].data[i] + 1e-3) smallerWins++;
  assert.ok(smallerWins > 0, 'max fusion never picks a smaller scale');
});

test('cross-entropy: label 255 is ignored, the mean is over the labelled pixels only (hand count)', () => {
  const rng = new Rng(5);
  const [n, c, h, w] = [2, 3, 4, 4];
  const logits = Float32Array.from({ length: n * c * h * w }, () => 3 * rng.normal()); // NCHW
  const labels = Uint8Array.from({ length: n * h * w }, (_, i) => (i % 5 === 0 ? 255 : i % 3));
  const labelled = labels.filter((l) => l !== 255).length;
  assert.equal(labelled, 25, '7 of 32 pixels ignored');
  let sum = 0;
  for (let b = 0; b < n; b++)
    for (let p = 0; p < h * w; p++) {
      const l = labels[b * h * w + p];
      if (l === 255) continue;
      const z = [0, 1, 2].map((k) => logits[(b * c + k) * h * w + p]);
      const m = Math.max(...z);
      sum += -(z[l] - m - Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)));
    }
  const loss = (lg: Float32Array, maps: Uint8Array) =>
    tf.tidy(() => {
      const ops = new TfjsOps(new TfjsParams(new Map()), { training: true, seed: 0 });
      const x = opsTensor(tf.transpose(tf.tensor4d(lg, [n, c, h, w]), [0, 2, 3, 1]));
      const t = opsTensor(tf.tensor4d(oneHotTargets(maps, c), [n, h, w, c]));
      return tfTensor(crossEntropyIgnore(ops, x, t)).dataSync()[0];
    });
  assert.ok(Math.abs(loss(logits, labels) - sum / labelled) < 1e-5, `loss ${loss(logits, labels)} vs hand count ${sum / labelled}`);
  // Logits at ignored pixels change nothing; all pixels ignored gives 0, not NaN.
  const changed = logits.slice();
  for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) if (labels[b * h * w + p] === 255) for (let k = 0; k < c; k++) changed[(b * c + k) * h * w + p] = 100;
  assert.ok(Math.abs(loss(changed, labels) - sum / labelled) < 1e-5);
  assert.ok(loss(logits, new Uint8Array(n * h * w).fill(255)) === 0);
});

test('label crops move with their image crops (scale, flip, crop; padding labelled 255)', () => {
  const [w, h] = [30, 20];
  const rng = new Rng(2);
  const labels = Uint8Array.from({ length: w * h }, () => rng.int(0, 3));
  // The image's red channel spells each pixel's label, so alignment can be read back.
  const img = { width: w, height: h, data: new Uint8Array(w * h * 3) };
  labels.forEach((l, i) => (img.data[3 * i] = 60 * l));
  for (let step = 0; step < 6; step++) {
    const { image, labels: crop } = augmentedCropWithLabels(img, labels, step, 0, { seed: 1, crop: 32, augment: { scale: [1, 1], flip: true, imageFill: [250, 0, 0] } });
    let padded = 0;
    for (let i = 0; i < crop!.length; i++) {
      if (crop![i] === 255) {
        padded++;
        assert.equal(image[3 * i], 250, 'padding: image fill under label 255');
      } else assert.equal(image[3 * i], 60 * crop![i], `step ${step}, pixel ${i}`);
    }
    assert.equal(padded, 32 * 32 - w * h, 'a 30×20 image in a 32×32 crop: the rest is padding');
  }
});

function config(outDir: string, labels: string, options: MethodTrainConfig['options'] = { variant: 'v3plus', 'multi-scale-inputs': true, width: 8 }): MethodTrainConfig {
  return {
    method: 'deeplab',
    backbone: 'cam-tiny-w4',
    options,
    data,
    split: 'train',
    hyper: { epochs: 2, batch: 4, crop: 24, lr: 0.01, warmup: 1 },
    seed: 7,
    outDir,
    checkpointEvery: 1,
    labels,
    augment: { scale: [0.7, 1.3], flip: true, imageFill: [124, 116, 104] },
    maxSteps: 3,
    progress: false,
  };
}

test('training on label maps: exact resume after a kill; --labels required by deeplab, refused by cam; wsss segment labels by argmax', async () => {
  const labels = join(data, 'SegmentationClass');
  const straight = await trainMethod(config(join(root, 'straight'), labels));
  assert.equal(straight.steps, 3);
  assert.ok(Number.isFinite(straight.finalLoss) && straight.finalLoss > 0);
  await trainMethod({ ...config(join(root, 'killed'), labels), stopAfter: 2 });
  const resumed = await trainMethod(config(join(root, 'killed'), labels));
  assert.equal(resumed.resumedFrom, 2);
  const a = openRun(join(root, 'straight'));
  const b = openRun(join(root, 'killed'));
  for (const [name, v] of a.values) assert.deepEqual(b.values.get(name)!.data, v.data, name);
  // The other two variants (single-scale) resume alike.
  for (const variant of ['largefov', 'aspp']) {
    const options = { variant, width: 8 };
    await trainMethod(config(join(root, `${variant}-straight`), labels, options));
    await trainMethod({ ...config(join(root, `${variant}-killed`), labels, options), stopAfter: 1 });
    assert.equal((await trainMethod(config(join(root, `${variant}-killed`), labels, options))).resumedFrom, 1);
    const sa = openRun(join(root, `${variant}-straight`)).values;
    const sb = openRun(join(root, `${variant}-killed`)).values;
    for (const [name, v] of sa) assert.deepEqual(sb.get(name)!.data, v.data, `${variant}: ${name}`);
  }

  await assert.rejects(trainMethod({ ...config(join(root, 'x'), labels), labels: undefined }), /deeplab trains on label maps: give --labels DIR/);
  await assert.rejects(trainMethod({ ...config(join(root, 'y'), labels), method: 'cam', options: {} }), /cam trains on image-level labels only/);
  await assert.rejects(trainMethod({ ...config(join(root, 'z'), join(root, 'nowhere')) }), /--labels .*nowhere: 8 of 8 images have no label map/);

  // The exported model needs nothing but an image: labels = argmax of its logits.
  const modelPath = join(root, 'straight', 'model.onnx');
  writeFileSync(modelPath, exportOnnx(a.graph, a.values, { source: a.modelPath }));
  const image = join(data, 'JPEGImages', 'val_000000.jpg');
  const out = join(root, 'seg');
  const r = wsss('segment', '--model', modelPath, '--out', out, '--ep', 'cpu', image);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((lastJson(r.stdout) as { rule: string }).rule, 'argmax on logits');
  const seg = await readLabelPng(join(out, 'val_000000.png'));
  const logits = (await ortForward(exportOnnx(a.graph, a.values, { source: 'm' }), await imageFeed(image))).logits;
  const [, c, hh, ww] = logits.dims;
  for (let p = 0; p < hh * ww; p++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (logits.data[k * hh * ww + p] > logits.data[best * hh * ww + p]) best = k;
    assert.equal(seg.data[p], best, `pixel ${p}`);
  }
});

async function imageFeed(path: string): Promise<Record<string, Feed>> {
  const { decodeImageRgb } = await import('../../runtime/node/dataset/images.ts');
  const img = await decodeImageRgb(path);
  const n = img.width * img.height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < 3; ch++) data[ch * n + i] = img.data[3 * i + ch];
  return { image: { dims: [1, 3, img.height, img.width], data } };
}
