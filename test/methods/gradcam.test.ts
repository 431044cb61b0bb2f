// Grad-CAM (issue 17, acceptance 1): the head's backward pass written as graph ops
// (graphs/methods/gradcam/model.ts) against tfjs's automatic differentiation
// (train/gradcam-autodiff.ts), tfjs's gradients against central finite differences, and the
// exported ONNX model — every class's map from one session.run — against both. A small net
// (cam-tiny at width/16, one hidden layer of 5, 3 classes) keeps it to seconds.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { exportOnnx } from '../../export/export-onnx.ts';
import { ortForward, tfjsForward, verifyExport } from '../../export/verify.ts';
import { createFeatureBackbone } from '../../graphs/backbones/index.ts';
import { GradCamNet, gradCamGraph } from '../../graphs/methods/gradcam/model.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { gradCamByAutodiff } from '../../train/gradcam-autodiff.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { fromTf, opsTensor, toTfLogical } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import { startTfjs } from '../../train/tfjs-start.ts';

const CLASSES = ['a', 'b', 'c'];

function smallNet(widths: number[]) {
  const net = new GradCamNet(createFeatureBackbone('cam-tiny-w16'), CLASSES.length, widths, 0.5).finalise();
  const values = initialiseAll(net, 3);
  // Non-zero biases, so that hidden units switch on and off from image to image.
  for (const [name, v] of values) if (name.endsWith('.bias')) v.data.forEach((_, i) => (v.data[i] = 0.3 * Math.sin(7 * i + 1)));
  return { net, values, graph: gradCamGraph(net, 'gradcam-test', CLASSES) };
}

function randomImage(n: number, h: number, w: number, seed: number) {
  const rng = new Rng(seed);
  const data = new Float32Array(n * 3 * h * w);
  for (let i = 0; i < data.length; i++) data[i] = 255 * rng.uniform();
  return { dims: [n, 3, h, w], data };
}

/** Each [h·w] plane divided by its max (the maps as they are compared: max-normalised). */
function maxNormalised(x: Float32Array, planes: number): Float32Array {
  const hw = x.length / planes;
  const out = new Float32Array(x.length);
  for (let p = 0; p < planes; p++) {
    let m = 0;
    for (let i = 0; i < hw; i++) m = Math.max(m, x[p * hw + i]);
    for (let i = 0; i < hw; i++) out[p * hw + i] = m > 0 ? x[p * hw + i] / m : 0;
  }
  return out;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

before(() => startTfjs());

test('tfjs gradients of the class scores equal central finite differences', async () => {
  const { net, values } = smallNet([5]);
  const ref = await gradCamByAutodiff(net, values, randomImage(2, 16, 12, 1));
  const params = new TfjsParams(values, net);
  const ops = new TfjsOps(params, { training: false });
  const scoresAt = (a: Float32Array) => fromTf(net.head.scores(ops, opsTensor(toTfLogical(a, ref.features.shape)))).data;
  const eps = 1e-2;
  let worst = 0;
  let scale = 0;
  const a = new Float32Array(ref.features.data);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    a[i] = v + eps;
    const up = scoresAt(a);
    a[i] = v - eps;
    const down = scoresAt(a);
    a[i] = v;
    const n = Math.floor(i / (a.length / 2)); // the image this feature belongs to
    for (let c = 0; c < CLASSES.length; c++) {
      const fd = (up[n * CLASSES.length + c] - down[n * CLASSES.length + c]) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - ref.gradients[c][i]));
      scale = Math.max(scale, Math.abs(ref.gradients[c][i]));
    }
  }
  params.dispose();
  assert.ok(scale > 1e-3, 'the gradients are not all zero');
  assert.ok(worst <= 1e-3 * Math.max(1, scale), `finite differences differ from tf.grad by ${worst} (gradients up to ${scale})`);
});

test('Grad-CAM written as graph ops equals autodiff in tfjs and in the exported ONNX model (all classes, one run)', async () => {
  const { net, values, graph } = smallNet([5]);
  const image = randomImage(2, 61, 45, 2);
  const ref = await gradCamByAutodiff(net, values, image);
  const planes = 2 * CLASSES.length;
  const refNorm = maxNormalised(ref.maps, planes);
  // The maps are not trivial: some class has a positive map, and they differ between classes.
  assert.ok(maxAbs(ref.maps) > 0, 'some Grad-CAM map is non-zero');

  const tfjs = await tfjsForward(graph, values, { image });
  assert.deepEqual(tfjs.raw_cams.dims, [2, CLASSES.length, 16, 12]);
  const dTfjs = maxAbsDiff(maxNormalised(tfjs.raw_cams.data, planes), refNorm);
  assert.ok(dTfjs <= 1e-4, `graph-op Grad-CAM (tfjs) vs autodiff: ${dTfjs}`);

  const bytes = exportOnnx(graph, values);
  const onnx = await ortForward(bytes, { image });
  const dOnnx = maxAbsDiff(maxNormalised(onnx.raw_cams.data, planes), refNorm);
  assert.ok(dOnnx <= 1e-4, `exported Grad-CAM vs autodiff: ${dOnnx}`);
  const v = await verifyExport(graph, values, bytes, { size: [37, 45], batch: 2 });
  for (const o of v.outputs) assert.ok(o.shapeMatch && o.relErr <= 1e-4, `${o.name}: exported vs tfjs relative error ${o.relErr}`);
});

test('with a linear head (no hidden layer) Grad-CAM is the CAM ReLU(W·A)', async () => {
  const { net, values } = smallNet([]);
  const ref = await gradCamByAutodiff(net, values, randomImage(1, 16, 16, 4));
  const w = values.get('head.classifier.weight')!.data; // [C, F]
  const [, f, h, wd] = ref.features.shape;
  const hw = h * wd;
  const cam = new Float32Array(CLASSES.length * hw);
  for (let c = 0; c < CLASSES.length; c++)
    for (let i = 0; i < hw; i++) {
      let s = 0;
      for (let k = 0; k < f; k++) s += w[c * f + k] * ref.features.data[k * hw + i];
      cam[c * hw + i] = Math.max(0, s);
    }
  const d = maxAbsDiff(ref.maps, cam);
  assert.ok(d <= 1e-4 * Math.max(1, maxAbs(cam)), `Grad-CAM vs CAM of a linear head: ${d}`);
});

test("the paper's configuration, VGG-16 (vgg16d) with fc6/fc7, at width/16: exported Grad-CAM equals autodiff", async () => {
  const def = getMethod('gradcam');
  const m = def.build({ backbone: 'vgg16d-w16', classNames: CLASSES, options: resolveOptions(def, {}) });
  const net = m.module as GradCamNet;
  assert.deepEqual(net.head.hidden.map((l) => l.outFeatures), [256, 256], 'fc6, fc7: 4096/16 each');
  assert.throws(() => def.build({ backbone: 'cam-tiny', classNames: CLASSES, options: resolveOptions(def, { hidden: '8,x' }) }), /--hidden must be 'auto' or a comma list/);
  const values = initialiseAll(net, 5);
  const image = randomImage(1, 41, 35, 6);
  const ref = await gradCamByAutodiff(net, values, image);
  const onnx = await ortForward(exportOnnx(m.graph, values), { image });
  assert.deepEqual(onnx.raw_cams.dims, [1, CLASSES.length, 6, 5]);
  const d = maxAbsDiff(maxNormalised(onnx.raw_cams.data, CLASSES.length), maxNormalised(ref.maps, CLASSES.length));
  assert.ok(maxAbs(ref.maps) > 0, 'some map is non-zero');
  assert.ok(d <= 1e-4, `exported Grad-CAM vs autodiff on vgg16d-w16: ${d}`);
});
