// Backend selection and `wsss doctor`: with the native tfjs packages absent (this machine, CI)
// selection falls through to wsss-cpu and says why; doctor reports backends, kernels and EPs
// and ends with a JSON line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { describeImportFailure, selectTfjsBackend } from '../../train/backend-select.ts';

const require = createRequire(import.meta.url);
const installed = (pkg: string) => {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
};
const nativeAbsent = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu');

test('selectTfjsBackend falls through to wsss-cpu and records why the native packages were skipped', { skip: !nativeAbsent && 'a native tfjs package is installed' }, async () => {
  const choice = await selectTfjsBackend('auto');
  assert.equal(choice.name, 'wsss-cpu');
  assert.equal(tf.getBackend(), 'wsss-cpu');
  assert.deepEqual(choice.tried.map((t) => [t.name, t.ok]), [['tfjs-node-gpu', false], ['tfjs-node', false], ['wsss-cpu', true]]);
  for (const t of choice.tried.slice(0, 2)) assert.match(t.why, /not installed/);
  assert.match(choice.reason, /^wsss-cpu: fast kernels: (native|javascript)/);
  // gradients are registered, ours on top: a dilated convolution differentiates
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same', 'NHWC', 2)))(tf.ones([1, 5, 5, 1]));
  assert.equal(g.dataSync()[12], 9); // the centre pixel feeds all 9 taps
});

test('a named backend that cannot be had is an error that says why', { skip: !nativeAbsent && 'a native tfjs package is installed' }, async () => {
  await assert.rejects(selectTfjsBackend('tfjs-node'), /tfjs-node: not installed/);
  await assert.rejects(selectTfjsBackend('tensorflow-gpu'), /unknown tfjs backend 'tensorflow-gpu'/);
  const stock = await selectTfjsBackend('cpu');
  assert.equal(stock.name, 'cpu');
  await selectTfjsBackend('wsss-cpu');
});

test('import failures are told apart: absent package vs broken install', () => {
  const absent = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node' imported from x"), { code: 'ERR_MODULE_NOT_FOUND' });
  assert.match(describeImportFailure('@tensorflow/tfjs-node', absent), /^not installed/);
  const broken = Object.assign(new Error('libtensorflow.so.2: cannot open shared object file'), { code: 'ERR_DLOPEN_FAILED' });
  assert.equal(describeImportFailure('@tensorflow/tfjs-node', broken), 'installed but failed to load: libtensorflow.so.2: cannot open shared object file');
});

test('wsss doctor reports backends, kernels and execution providers, then one JSON line', () => {
  const r = spawnSync(process.execPath, ['bin/wsss.js', 'doctor'], { encoding: 'utf8', env: { ...process.env, WSSS_KERNELS: 'js' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const report = JSON.parse(lines[lines.length - 1]);
  assert.equal(report.fast_kernels.engine, 'javascript, 1 thread'); // WSSS_KERNELS=js forces the fallback
  assert.ok(report.tfjs_tried.length >= 1 && report.tfjs_tried.every((t: { why: string }) => t.why.length > 0));
  assert.ok(report.onnxruntime_node.eps.some((e: { name: string; available: boolean }) => e.name === 'cpu' && e.available));
  const cuda = report.onnxruntime_node.eps.find((e: { name: string }) => e.name === 'cuda');
  if (cuda && !cuda.available) assert.match(cuda.note, /ONNXRUNTIME_NODE_INSTALL=cuda12|no NVIDIA driver/);
  assert.match(r.stdout, /tfjs training backend/);
  if (nativeAbsent) assert.match(r.stdout, /tfjs-node +no +— not installed/);
});
