// Backbones exported to ONNX (weights imported with `importWeights`) against the outputs of
// the reference implementations: torchvision ResNet-50 (incl. dilated os16/os8) and
// MobileNetV2, and the official resnet38d / vgg16d at 1/16 width.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importWeights } from '../../export/import-weights.ts';
import type { ParamValues } from '../../graphs/module.ts';
import { fixturePath, haveFixture, loadNpy, relativeL2, runExported, worstToleranceRatio } from './fixtures.ts';

const importedCache = new Map<string, ParamValues>();
/** Weights imported from a fixture file (cached: ResNet-50's float16 file takes seconds to decode). */
function imported(file: string, backbone: string): ParamValues {
  const key = `${file}|${backbone}`;
  let values = importedCache.get(key);
  if (!values) {
    const r = importWeights(fixturePath(file), { backbone });
    assert.ok(r.values, `import of ${file} failed: ${JSON.stringify(r.report)}`);
    values = r.values;
    importedCache.set(key, values);
  }
  return values;
}

const skipTv = !haveFixture('torchvision-resnet50') && 'fixture torchvision-resnet50 missing';
const skipMb = !haveFixture('torchvision-mobilenet_v2') && 'fixture torchvision-mobilenet_v2 missing';
const skipR38 = !haveFixture('resnet38d-w16') && 'fixture resnet38d-w16 missing';
const skipVgg = !haveFixture('vgg16d-w16') && 'fixture vgg16d-w16 missing';

test('resnet50 (torchvision, float16 weights): logits and layer4 at output stride 32, 16, 8', { skip: skipTv }, async () => {
  const values = imported('torchvision-resnet50/weights.safetensors', 'resnet50');
  const x = loadNpy('torchvision-resnet50', 'input.npy');
  const os32 = await runExported('resnet50', values, x, ['logits', 'layer4']);
  assert.ok(relativeL2(os32.logits, loadNpy('torchvision-resnet50', 'logits.npy')) < 1e-3);
  assert.ok(relativeL2(os32.layer4, loadNpy('torchvision-resnet50', 'layer4.npy')) < 1e-3);
  // Same weights, dilated: torchvision replace_stride_with_dilation [F,F,T] and [F,T,T].
  for (const [os, file, hw] of [
    [16, 'layer4_os16.npy', [6, 8]],
    [8, 'layer4_os8.npy', [12, 16]],
  ] as const) {
    const out = await runExported(`resnet50-os${os}`, values, x, ['layer4']);
    assert.deepEqual(out.layer4.shape.slice(2), [96 / os, 128 / os]);
    assert.deepEqual(out.layer4.shape.slice(2), hw);
    const err = relativeL2(out.layer4, loadNpy('torchvision-resnet50', file));
    assert.ok(err < 1e-3, `os${os}: relative error ${err}`);
  }
});

test('resnet50 imported from an .onnx (our export, batch norms folded) still matches torchvision', { skip: skipTv }, async () => {
  const { exportOnnx } = await import('../../export/export-onnx.ts');
  const { backboneGraph } = await import('../../graphs/backbones/index.ts');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'wsss-r50-'));
  try {
    const file = join(dir, 'resnet50.onnx');
    writeFileSync(file, exportOnnx(backboneGraph('resnet50', { outputs: ['logits'] }), imported('torchvision-resnet50/weights.safetensors', 'resnet50')));
    const { values, report } = importWeights(file, { backbone: 'resnet50' });
    assert.ok(values, JSON.stringify(report));
    assert.equal(report.unfolded.length, 53); // every BN of ResNet-50 follows a conv
    const x = loadNpy('torchvision-resnet50', 'input.npy');
    const out = await runExported('resnet50', values, x, ['logits', 'layer4']);
    assert.ok(relativeL2(out.logits, loadNpy('torchvision-resnet50', 'logits.npy')) < 1e-3);
    assert.ok(relativeL2(out.layer4, loadNpy('torchvision-resnet50', 'layer4.npy')) < 1e-3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mobilenet_v2 (torchvision): logits and features, imported from .safetensors and from torch.onnx’s .onnx', { skip: skipMb }, async () => {
  const x = loadNpy('torchvision-mobilenet_v2', 'input.npy');
  const logits = loadNpy('torchvision-mobilenet_v2', 'logits.npy');
  const features = loadNpy('torchvision-mobilenet_v2', 'features.npy');
  for (const file of ['weights.safetensors', 'model.onnx']) {
    const out = await runExported('mobilenet_v2', imported(`torchvision-mobilenet_v2/${file}`, 'mobilenet_v2'), x, ['logits', 'features']);
    const e1 = relativeL2(out.logits, logits);
    const e2 = relativeL2(out.features, features);
    assert.ok(e1 < 1e-3 && e2 < 1e-3, `${file}: logits ${e1}, features ${e2}`);
  }
});

const R38_OUTPUTS: [string, string][] = [
  ['conv3', 'conv3.npy'],
  ['conv3_act', 'conv3_seam.npy'],
  ['conv4', 'conv4.npy'],
  ['conv5', 'conv5.npy'],
  ['conv6', 'conv6.npy'],
];

test('resnet38d-w16: every exposed stage matches the official code within 1e-4 (and odd input sizes)', { skip: skipR38 }, async () => {
  const values = imported('resnet38d-w16/weights.safetensors', 'resnet38d-w16');
  const out = await runExported('resnet38d-w16', values, loadNpy('resnet38d-w16', 'input.npy'), R38_OUTPUTS.map((o) => o[0]));
  for (const [name, file] of R38_OUTPUTS) {
    const r = worstToleranceRatio(out[name], loadNpy('resnet38d-w16', file));
    assert.ok(r <= 1, `${name}: worst error is ${r.toFixed(2)}× the tolerance`);
  }
  const edam = await runExported('resnet38d-edam-w16', values, loadNpy('resnet38d-w16', 'input.npy'), ['conv6']);
  assert.ok(worstToleranceRatio(edam.conv6, loadNpy('resnet38d-w16', 'conv6_edam.npy')) <= 1, 'EDAM conv6 (no final ReLU)');
  const oddNames = ['conv3', 'conv4', 'conv5', 'conv6'];
  const odd = await runExported('resnet38d-w16', values, loadNpy('resnet38d-w16', 'odd', 'input.npy'), oddNames);
  for (const name of oddNames) assert.ok(worstToleranceRatio(odd[name], loadNpy('resnet38d-w16', 'odd', `${name}.npy`)) <= 1, `odd ${name}`);
});

test('vgg16d-w16: conv3…conv6, fc6 dilation 4, odd input sizes', { skip: skipVgg }, async () => {
  const values = imported('vgg16d-w16/weights.safetensors', 'vgg16d-w16');
  const names = ['conv3', 'conv4', 'conv5', 'conv6'];
  const out = await runExported('vgg16d-w16', values, loadNpy('vgg16d-w16', 'input.npy'), names);
  for (const name of names) assert.ok(worstToleranceRatio(out[name], loadNpy('vgg16d-w16', `${name}.npy`)) <= 1, name);
  const dil4 = await runExported('vgg16d-fc6dil4-w16', values, loadNpy('vgg16d-w16', 'input.npy'), ['conv6']);
  assert.ok(worstToleranceRatio(dil4.conv6, loadNpy('vgg16d-w16', 'conv6_fc6dil4.npy')) <= 1, 'fc6 dilation 4');
  const odd = await runExported('vgg16d-w16', values, loadNpy('vgg16d-w16', 'odd', 'input.npy'), ['conv3', 'conv6']);
  for (const name of ['conv3', 'conv6']) assert.ok(worstToleranceRatio(odd[name], loadNpy('vgg16d-w16', 'odd', `${name}.npy`)) <= 1, `odd ${name}`);
});

test('exported MobileNetV2 writes ReLU6 as Clip, as torch.onnx does (no Relu/Min pairs left)', { skip: skipMb }, async () => {
  const { exportOnnx } = await import('../../export/export-onnx.ts');
  const { backboneGraph } = await import('../../graphs/backbones/index.ts');
  const p = (await import('onnx-proto')).default;
  const values = imported('torchvision-mobilenet_v2/weights.safetensors', 'mobilenet_v2');
  const model = p.onnx.ModelProto.decode(exportOnnx(backboneGraph('mobilenet_v2', { outputs: ['logits'] }), values));
  const ops: Record<string, number> = {};
  for (const n of model.graph!.node!) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  assert.equal(ops.Clip, 35);
  assert.equal(ops.Min, undefined);
  assert.equal(ops.Relu, undefined);
  assert.equal(ops.BatchNormalization, undefined);
  assert.equal(ops.Conv, 52);
});
