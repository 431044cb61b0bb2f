// Backbones in tfjs training mode: frozen batch norms (resnet38d, as every official repo runs it)
// use running statistics, update nothing and train no affine parameter; torchvision-style
// backbones use batch statistics; gradients reach every trainable parameter.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createBackbone } from '../../graphs/backbones/index.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { selectTfjsBackend } from '../../train/backend-select.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { fromTf, opsTensor, tfTensor, toTfLogical } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';

await selectTfjsBackend();

const rng = new Rng(5);
const input = (shape: number[]) => toTfLogical(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);

test('resnet38d: frozen BNs in training — same conv4 as inference, no statistics updates, no BN parameter trained', () => {
  const net = createBackbone('resnet38d-w16');
  const params = new TfjsParams(initialiseAll(net, 1), net);
  const x = input([2, 3, 32, 40]);
  const train = new TfjsOps(params, { training: true, seed: 3 });
  const infer = new TfjsOps(params, { training: false });
  const a = tf.tidy(() => fromTf(net.forward(train, opsTensor(x), ['conv4']).conv4));
  const b = tf.tidy(() => fromTf(net.forward(infer, opsTensor(x), ['conv4']).conv4));
  assert.deepEqual(a.data, b.data);
  assert.equal(train.pendingStateUpdates.size, 0);
  const trainable = params.trainableNames();
  assert.ok(trainable.length > 0 && trainable.every((n) => /conv/.test(n) && n.endsWith('.weight')), trainable.filter((n) => !/conv/.test(n)).join(', '));
  // Dropout (b6, b7) is active in training: conv6 differs between the two modes.
  const c6t = tf.tidy(() => fromTf(net.forward(train, opsTensor(x), ['conv6']).conv6));
  const c6i = tf.tidy(() => fromTf(net.forward(infer, opsTensor(x), ['conv6']).conv6));
  assert.notDeepEqual(c6t.data, c6i.data);
  params.dispose();
  x.dispose();
});

test('resnet50: batch statistics in training (running stats pending for every BN); gradients reach every trainable parameter', () => {
  const net = createBackbone('resnet50-w16', { numClasses: 5 });
  const params = new TfjsParams(initialiseAll(net, 2), net);
  const x = input([2, 3, 40, 48]);
  const ops = new TfjsOps(params, { training: true });
  const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(tf.square(tfTensor(net.forward(ops, opsTensor(x), ['logits']).logits))) as tf.Scalar));
  const bnCount = net.parameters().filter((p) => p.name.endsWith('running_mean')).length;
  assert.equal(ops.pendingStateUpdates.size, 2 * bnCount);
  ops.discardStateUpdates();
  assert.ok(Number.isFinite(value.dataSync()[0]));
  const names = params.trainableNames();
  assert.equal(Object.keys(grads).length, names.length);
  for (const [name, g] of Object.entries(grads)) assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0, `no gradient for ${name}`);
  tf.dispose([value, ...Object.values(grads)]);
  params.dispose();
  x.dispose();
});
