// Full-width backbones have exactly the official parameter names and shapes (so official and
// torchvision checkpoints import by name), and the published parameter counts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { backboneGraph, createBackbone, parseBackboneName } from '../../graphs/backbones/index.ts';
import { fixturePath, haveFixture } from './fixtures.ts';

function paramCount(name: string, buffers = false): number {
  return createBackbone(name)
    .parameters()
    .filter((p) => buffers || !p.spec.buffer)
    .reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

for (const arch of ['resnet38d', 'vgg16d']) {
  test(`${arch}: names, order and shapes equal the official state_dict (state_dict_manifest.json)`, { skip: !haveFixture(arch) && `fixture ${arch} missing` }, () => {
    const manifest = JSON.parse(readFileSync(fixturePath(arch, 'state_dict_manifest.json'), 'utf8')) as {
      keys: { name: string; shape: number[] }[];
      n_parameters: number;
    };
    // num_batches_tracked is PyTorch bookkeeping the pretrained files do not carry either.
    const official = manifest.keys.filter((k) => !k.name.endsWith('.num_batches_tracked')).map((k) => `${k.name} [${k.shape.join(',')}]`);
    const ours = createBackbone(arch)
      .parameters()
      .map((p) => `${p.name} [${p.shape.join(',')}]`);
    assert.deepEqual(ours, official);
    assert.equal(paramCount(arch), manifest.n_parameters);
  });
}

test('torchvision parameter counts: resnet50, resnet101, vgg16, mobilenet_v2', () => {
  // torchvision's documented counts (trainable parameters, classifier included).
  assert.equal(paramCount('resnet50'), 25_557_032);
  assert.equal(paramCount('resnet101'), 44_549_160);
  assert.equal(paramCount('vgg16'), 138_357_544);
  assert.equal(paramCount('mobilenet_v2'), 3_504_872);
  // Dilation changes no parameter.
  assert.equal(paramCount('resnet50-os8', true), paramCount('resnet50', true));
});

test('stages: names, channels and strides; dilated ResNets keep layer4 at stride 16 / 8', () => {
  const s = (name: string) => createBackbone(name).stages.map((st) => `${st.name}:${st.channels}/${st.stride}`);
  assert.deepEqual(s('resnet50'), ['stem:64/4', 'layer1:256/4', 'layer2:512/8', 'layer3:1024/16', 'layer4:2048/32', 'pool:2048/0', 'logits:1000/0']);
  assert.deepEqual(s('resnet101-os16').slice(3, 5), ['layer3:1024/16', 'layer4:2048/16']);
  assert.deepEqual(s('resnet50-os8').slice(2, 5), ['layer2:512/8', 'layer3:1024/8', 'layer4:2048/8']);
  assert.deepEqual(s('resnet38d'), ['conv3:256/4', 'conv3_act:256/4', 'conv4:512/8', 'conv5:1024/8', 'conv6:4096/8']);
  assert.deepEqual(s('vgg16d-w16'), ['conv3:16/4', 'conv4:32/8', 'conv5:32/8', 'conv6:64/8']);
  assert.deepEqual(s('mobilenet_v2').slice(0, 5), ['layer1:24/4', 'layer2:32/8', 'layer3:96/16', 'layer4:320/32', 'features:1280/32']);
  assert.deepEqual(s('vgg16').slice(0, 6), ['conv1:64/1', 'conv2:128/2', 'conv3:256/4', 'conv4:512/8', 'conv5:512/16', 'pool5:512/32']);
});

test('backbone names: suffixes, and clear errors for unknown names or options that do not apply', () => {
  assert.deepEqual(parseBackboneName('resnet101-os8-w16'), { arch: 'resnet101', options: { outputStride: 8, width: 1 / 16 } });
  assert.deepEqual(parseBackboneName('vgg16d-fc6dil4'), { arch: 'vgg16d', options: { fc6Dilation: 4 } });
  assert.deepEqual(parseBackboneName('resnet38d-edam'), { arch: 'resnet38d', options: { finalRelu: false } });
  assert.deepEqual(createBackbone('mobilenet_v2-headless').stages.map((st) => st.name).slice(-2), ['features', 'pool']);
  assert.equal(createBackbone('resnet101-headless').findParameter('fc.weight'), undefined);
  assert.throws(() => parseBackboneName('resnet152'), /unknown backbone 'resnet152'/);
  assert.throws(() => parseBackboneName('vgg16-os8'), /suffix '-os8' does not apply to vgg16/);
  assert.throws(() => createBackbone('vgg16d', { numClasses: 10 }), /numClasses does not apply to vgg16d/);
  assert.throws(() => backboneGraph('resnet50', { outputs: ['layer5'] }), /no output named 'layer5' \(available: stem, layer1/);
  const g = backboneGraph('resnet50-w16');
  assert.deepEqual(g.outputs.map((o) => o.name), ['logits', 'layer4']);
  assert.equal(g.normalisation, null);
  assert.equal(g.inputConvention, 'normalised float32 NCHW (torchvision)');
});
