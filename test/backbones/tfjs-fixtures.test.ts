// Backbones run eagerly in tfjs (the training interpreter) against the reference outputs, with
// weights imported by `importWeights`; and tfjs against the exported ONNX model for every
// architecture and output stride on random weights (interpreter parity).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importWeights } from '../../export/import-weights.ts';
import { backboneGraph, createBackbone } from '../../graphs/backbones/index.ts';
import { initialiseAll, type ParamValues } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { selectTfjsBackend } from '../../train/backend-select.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import { firstImages, fixturePath, haveFixture, loadNpy, relativeL2, runExported, runTfjs, worstToleranceRatio } from './fixtures.ts';

// The training backend the project would pick (fast kernels where available, else stock tfjs).
const backend = (await selectTfjsBackend()).name;
/** The stock pure-JS kernels take ~10 s of CPU per full-size ResNet-50 image: test less there. */
const slowBackend = backend === 'cpu';

function imported(file: string, backbone: string): ParamValues {
  const { values, report } = importWeights(fixturePath(file), { backbone });
  assert.ok(values, `import of ${file} failed: ${JSON.stringify(report)}`);
  return values;
}

test('resnet38d-w16 in tfjs: every stage, EDAM conv6 and odd sizes within the official tolerance', { skip: !haveFixture('resnet38d-w16') && 'fixture missing' }, () => {
  const values = imported('resnet38d-w16/weights.safetensors', 'resnet38d-w16');
  const pairs: [string, string][] = [
    ['conv3', 'conv3.npy'],
    ['conv3_act', 'conv3_seam.npy'],
    ['conv4', 'conv4.npy'],
    ['conv5', 'conv5.npy'],
    ['conv6', 'conv6.npy'],
  ];
  const out = runTfjs('resnet38d-w16', values, loadNpy('resnet38d-w16', 'input.npy'), pairs.map((p) => p[0]));
  for (const [name, file] of pairs) {
    const r = worstToleranceRatio(out[name], loadNpy('resnet38d-w16', file));
    assert.ok(r <= 1, `${name}: worst error ${r.toFixed(2)}× the tolerance`);
  }
  const edam = runTfjs('resnet38d-edam-w16', values, loadNpy('resnet38d-w16', 'input.npy'), ['conv6']);
  assert.ok(worstToleranceRatio(edam.conv6, loadNpy('resnet38d-w16', 'conv6_edam.npy')) <= 1);
  const odd = runTfjs('resnet38d-w16', values, loadNpy('resnet38d-w16', 'odd', 'input.npy'), ['conv3', 'conv4', 'conv5', 'conv6']);
  for (const name of ['conv3', 'conv4', 'conv5', 'conv6']) assert.ok(worstToleranceRatio(odd[name], loadNpy('resnet38d-w16', 'odd', `${name}.npy`)) <= 1, `odd ${name}`);
});

test('vgg16d-w16 in tfjs: conv3…conv6, fc6 dilation 4, odd sizes', { skip: !haveFixture('vgg16d-w16') && 'fixture missing' }, () => {
  const values = imported('vgg16d-w16/weights.safetensors', 'vgg16d-w16');
  const names = ['conv3', 'conv4', 'conv5', 'conv6'];
  const out = runTfjs('vgg16d-w16', values, loadNpy('vgg16d-w16', 'input.npy'), names);
  for (const name of names) assert.ok(worstToleranceRatio(out[name], loadNpy('vgg16d-w16', `${name}.npy`)) <= 1, name);
  const dil4 = runTfjs('vgg16d-fc6dil4-w16', values, loadNpy('vgg16d-w16', 'input.npy'), ['conv6']);
  assert.ok(worstToleranceRatio(dil4.conv6, loadNpy('vgg16d-w16', 'conv6_fc6dil4.npy')) <= 1);
  const odd = runTfjs('vgg16d-w16', values, loadNpy('vgg16d-w16', 'odd', 'input.npy'), ['conv3', 'conv6']);
  for (const name of ['conv3', 'conv6']) assert.ok(worstToleranceRatio(odd[name], loadNpy('vgg16d-w16', 'odd', `${name}.npy`)) <= 1, `odd ${name}`);
});

test('mobilenet_v2 in tfjs: logits and features after import from .safetensors and from .onnx', { skip: !haveFixture('torchvision-mobilenet_v2') && 'fixture missing' }, () => {
  const x = loadNpy('torchvision-mobilenet_v2', 'input.npy');
  for (const file of ['weights.safetensors', 'model.onnx']) {
    const out = runTfjs('mobilenet_v2', imported(`torchvision-mobilenet_v2/${file}`, 'mobilenet_v2'), x, ['logits', 'features']);
    const e1 = relativeL2(out.logits, loadNpy('torchvision-mobilenet_v2', 'logits.npy'));
    const e2 = relativeL2(out.features, loadNpy('torchvision-mobilenet_v2', 'features.npy'));
    assert.ok(e1 < 1e-3 && e2 < 1e-3, `${file}: logits ${e1}, features ${e2}`);
  }
});

test(`resnet50 in tfjs (${backend}): logits and layer4, and layer4 at output stride 16 and 8`, { skip: !haveFixture('torchvision-resnet50') && 'fixture missing' }, () => {
  const net = createBackbone('resnet50');
  // One parameter store for all three: dilation changes no parameter.
  const values = new TfjsParams(imported('torchvision-resnet50/weights.safetensors', 'resnet50'), net);
  // On the stock kernels one image and output stride 32 only, to keep the test to seconds.
  const n = slowBackend ? 1 : 2;
  const x = firstImages(loadNpy('torchvision-resnet50', 'input.npy'), n);
  const out = runTfjs('resnet50', values, x, ['logits', 'layer4']);
  const e1 = relativeL2(out.logits, firstImages(loadNpy('torchvision-resnet50', 'logits.npy'), n));
  const e2 = relativeL2(out.layer4, firstImages(loadNpy('torchvision-resnet50', 'layer4.npy'), n));
  assert.ok(e1 < 1e-3 && e2 < 1e-3, `logits ${e1}, layer4 ${e2}`);
  if (slowBackend) return values.dispose();
  for (const [os, file] of [
    [16, 'layer4_os16.npy'],
    [8, 'layer4_os8.npy'],
  ] as const) {
    const d = runTfjs(`resnet50-os${os}`, values, x, ['layer4']);
    assert.deepEqual(d.layer4.shape, [2, 2048, 96 / os, 128 / os]);
    const e = relativeL2(d.layer4, loadNpy('torchvision-resnet50', file));
    assert.ok(e < 1e-3, `os${os}: ${e}`);
  }
  values.dispose();
});

test('tfjs and the exported ONNX agree for every architecture, stage and output stride (random weights, odd input)', async () => {
  const rng = new Rng(7);
  const x = { shape: [2, 3, 37, 50], data: Float32Array.from({ length: 2 * 3 * 37 * 50 }, () => rng.normal()) };
  const cases = ['resnet50-w16', 'resnet50-os16-w16', 'resnet101-os8-w16', 'resnet38d-w16', 'vgg16-w16', 'vgg16d-fc6dil4-w16', 'mobilenet_v2-w16'];
  for (const name of cases) {
    const graph = backboneGraph(name);
    const values = initialiseAll(graph.module, 11);
    // BN statistics and biases away from their (0, 1, 0) initial values, so a mistake in using them shows.
    for (const [k, v] of values) {
      if (k.endsWith('running_var')) v.data.forEach((_, i) => (v.data[i] = 0.5 + rng.uniform()));
      else if (k.endsWith('running_mean') || k.endsWith('.bias')) v.data.forEach((_, i) => (v.data[i] = 0.1 * rng.normal()));
    }
    const stages = (graph.module as unknown as { stages: { name: string }[] }).stages.map((s) => s.name);
    const t = runTfjs(name, values, x, stages);
    const o = await runExported(name, values, x, stages);
    for (const s of stages) {
      assert.deepEqual(t[s].shape, o[s].shape, `${name} ${s}: shape`);
      let scale = 1e-6;
      let err = 0;
      for (let i = 0; i < o[s].data.length; i++) {
        scale = Math.max(scale, Math.abs(o[s].data[i]));
        err = Math.max(err, Math.abs(o[s].data[i] - t[s].data[i]));
      }
      assert.ok(err <= 1e-4 * scale, `${name} ${s}: max abs error ${err} at scale ${scale}`);
    }
  }
});
