// The method registry and what the CLI and runtime read from it: options resolved against their
// specs, backbone taps, the label rule carried through the model's metadata, `wsss methods`, and
// `wsss train` refusing what does not fit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureBackbone, featureBackboneBase, FEATURE_BACKBONES } from '../../graphs/backbones/index.ts';
import { resolveOptions } from '../../graphs/methods/method.ts';
import { allMethods, getMethod } from '../../graphs/methods/registry.ts';
import { multiScaleCamRule } from '../../runtime/cam/label-rule.ts';
import { metadataProps, parseModelMetadata } from '../../runtime/model-metadata.ts';
import { exportMetadata } from '../../export/metadata.ts';
import { lastJson, wsss } from '../cam/cli-fixtures.ts';

test('options: defaults filled in, wrong types, unknown names and bad choices refused by name', () => {
  const cam = getMethod('cam');
  assert.deepEqual(resolveOptions(cam, {}), { 'head-lr-mult': 10 });
  assert.deepEqual(resolveOptions(cam, { 'head-lr-mult': 1 }), { 'head-lr-mult': 1 });
  assert.throws(() => resolveOptions(cam, { 'head-lr-mult': 'x' }), /--head-lr-mult must be a number/);
  assert.throws(() => resolveOptions(cam, { 'no-such': 1 }), /method cam has no option --no-such/);
  assert.throws(() => getMethod('nope'), /unknown method 'nope'; known methods: cam/);
});

test('backbone taps: stride-4 low-level features and the final map on every backbone', () => {
  const expected: Record<string, { low: string; final: string; os: number }> = {
    'cam-tiny': { low: 'conv4', final: 'conv6', os: 4 },
    'resnet50-w16': { low: 'layer1', final: 'layer4', os: 16 },
    'resnet101-os8-w16': { low: 'layer1', final: 'layer4', os: 8 },
    'resnet38d-w16': { low: 'conv3', final: 'conv6', os: 8 },
    'vgg16d-w16': { low: 'conv3', final: 'conv6', os: 8 },
    'mobilenet_v2-w16': { low: 'layer1', final: 'features', os: 32 },
  };
  for (const [name, e] of Object.entries(expected)) {
    const b = createFeatureBackbone(name);
    assert.equal(b.tap('low').name, e.low, name);
    assert.equal(b.tap('low').stride, 4, name);
    assert.equal(b.tap('final').name, e.final, name);
    assert.equal(b.outputStride, e.os, name);
    // No ImageNet classifier in a feature extractor.
    assert.ok(!b.parameters().some((p) => /^(fc|classifier)\./.test(p.name)), `${name} has no classifier`);
  }
  assert.equal(featureBackboneBase('resnet50-os8-w16'), 'resnet50');
  assert.throws(() => featureBackboneBase('alexnet'), /unknown backbone 'alexnet'; known: cam-tiny, resnet50/);
  for (const m of allMethods()) for (const b of m.backbones) assert.ok(b in FEATURE_BACKBONES, `${m.name}: ${b}`);
});

test("label rule: the method's rule goes into the model's metadata and comes back as the runtime's parameters", () => {
  const model = getMethod('cam').build({ backbone: 'cam-tiny', classNames: ['a', 'b'], options: resolveOptions(getMethod('cam'), {}) });
  const info = parseModelMetadata(exportMetadata(model.graph), 'm.onnx');
  assert.deepEqual(info.labelRule, { kind: 'multiscale-cam', merge: 'max-flip-sum', bg_threshold: 0.15 });
  assert.deepEqual(multiScaleCamRule(info.labelRule, 'm.onnx'), { merge: 'max-flip-sum', bgThreshold: 0.15, normEps: 1e-5, saliency: null });
  // Another rule's parameters are read as given; a model without a rule gets CAM's.
  const other = parseModelMetadata(metadataProps({ ...info, labelRule: { kind: 'multiscale-cam', merge: 'sum', bg_threshold: 0.3 } }), 'o.onnx');
  assert.deepEqual(multiScaleCamRule(other.labelRule, 'o.onnx'), { merge: 'sum', bgThreshold: 0.3, normEps: 1e-5, saliency: null });
  assert.deepEqual(multiScaleCamRule(null, 'x'), { merge: 'max-flip-sum', bgThreshold: 0.15, normEps: 1e-5, saliency: null });
  assert.throws(() => multiScaleCamRule({ kind: 'pamr-masks' }, 'p.onnx'), /p\.onnx: its label rule 'pamr-masks'/);
  assert.throws(() => multiScaleCamRule({ kind: 'multiscale-cam', merge: 'median' }, 'q.onnx'), /merge 'median' is not one of/);
  assert.throws(() => parseModelMetadata({ ...exportMetadata(model.graph), label_rule: '[1]' }), /label_rule' must be a JSON object/);
});

test('wsss methods --json lists the registry; wsss train refuses unknown backbones and foreign options', () => {
  const r = wsss('methods', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = lastJson(r.stdout) as { methods: { name: string; backbones: string[]; options: Record<string, { default: unknown }> }[] };
  assert.deepEqual(j.methods.map((m) => m.name), allMethods().map((m) => m.name));
  assert.equal(j.methods[0].options['head-lr-mult'].default, 10);
  const bad = wsss('train', '--data', '/nonexistent', '--out', '/tmp/x', '--backbone', 'alexnet');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown backbone 'alexnet'/);
  const run = wsss('export', '--run', '/nonexistent-run', '--out', '/tmp/x.onnx');
  assert.equal(run.status, 2);
  assert.match(run.stderr, /\/nonexistent-run: no checkpoint\.safetensors/);
});
