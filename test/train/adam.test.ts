// Adam against PyTorch's torch.optim.Adam (1.13, float64): parameter groups with their own learning
// rate and weight decay, a zero gradient (ε decides the step), and a parameter that only starts
// receiving gradients at step 3 (its bias correction counts its own updates, as PyTorch's per-
// parameter `step`). The expected values were printed by this script, run outside the project:
//   a, b, c = Parameters [0.5, -1, 2], [[0.3, -0.2], [0.1, 0]], [1, -3]
//   Adam([{a}, {b, lr 0.1, weight_decay 0}, {c}], lr=0.01, weight_decay=0.1); four steps with the
//   gradients below (c gets none in the first two), printing the parameters after each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../../train/adam.ts';
import { startTfjs } from '../../train/tfjs-start.ts';

const GRADS: { a: number[][]; b: number[][]; c: (number[] | null)[] } = {
  a: [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.0, 0.2], [0.2, 0.2, 0.2]],
  b: [[1.0, -2.0, 0.5, 0.0], [-1.0, 0.5, 0.25, 3.0], [0.0, 0.1, -0.2, 0.3], [2.0, 2.0, -2.0, 0.0]],
  c: [null, null, [0.5, -0.5], [1.0, 0.25]],
};

const TORCH_AFTER_STEP = [
  { a: [0.4900000006666666, -0.9900000003333334, 1.9900000002], b: [0.20000000099999998, -0.1000000005, 1.9999999711917127e-9, 0.0], c: [1.0, -3.0] },
  { a: [0.4803080332131446, -0.9905429538357655, 1.9819811190767274], b: [0.20526315884210522, -0.05305318370133484, -0.09321795952253766, -0.07441368200599646], c: [1.0, -3.0] },
  { a: [0.4811621485709144, -0.9895005501155802, 1.9731630751713196], b: [0.2093315950991689, -0.01990392182083301, -0.1395210170132375, -0.13800950141779184], c: [0.9900000001666667, -2.990000000125] },
  { a: [0.4780712238584093, -0.9899812917013814, 1.9639660587965673], b: [0.1637853787782232, -0.0408879859094575, -0.0945862329474396, -0.19010332694843976], c: [0.9802582689346854, -2.9828568057565317] },
];

function fresh(): Map<string, tf.Variable> {
  return new Map<string, tf.Variable>([
    ['a', tf.variable(tf.tensor1d([0.5, -1.0, 2.0]))],
    ['b', tf.variable(tf.tensor2d([0.3, -0.2, 0.1, 0.0], [2, 2]))],
    ['c', tf.variable(tf.tensor1d([1.0, -3.0]))],
  ]);
}

const groups = [{ label: 'b', match: (n: string) => n === 'b', lrMult: 10, weightDecay: 0 }];

function step(opt: Adam, vars: Map<string, tf.Variable>, t: number): void {
  const grads: Record<string, tf.Tensor> = { a: tf.tensor1d(GRADS.a[t]), b: tf.tensor2d(GRADS.b[t], [2, 2]) };
  const gc = GRADS.c[t];
  if (gc) grads.c = tf.tensor1d(gc);
  opt.step(0.01, vars, grads);
  tf.dispose(Object.values(grads));
}

function assertClose(vars: Map<string, tf.Variable>, want: Record<string, number[]>, what: string): void {
  for (const [name, expected] of Object.entries(want)) {
    const got = vars.get(name)!.dataSync();
    expected.forEach((e, i) => assert.ok(Math.abs(got[i] - e) <= 2e-6, `${what}: ${name}[${i}] = ${got[i]}, torch ${e}`));
  }
}

test('Adam: four steps equal torch.optim.Adam (groups, L2 decay, ε, late-starting parameter)', async () => {
  await startTfjs();
  const vars = fresh();
  const opt = new Adam({ weightDecay: 0.1, groups });
  for (let t = 0; t < 4; t++) {
    step(opt, vars, t);
    assertClose(vars, TORCH_AFTER_STEP[t], `after step ${t + 1}`);
  }
  opt.dispose();
  tf.dispose([...vars.values()]);
});

test('Adam: state() + restore() into a new optimiser continues exactly; SGD state is refused', async () => {
  await startTfjs();
  const vars = fresh();
  const first = new Adam({ weightDecay: 0.1, groups });
  step(first, vars, 0);
  step(first, vars, 1);
  const saved = first.state();
  first.dispose();
  assert.deepEqual([...saved.keys()].sort(), ['adam.m.a', 'adam.m.b', 'adam.t.a', 'adam.t.b', 'adam.v.a', 'adam.v.b']);
  const second = new Adam({ weightDecay: 0.1, groups });
  second.restore(saved, 'ck.safetensors');
  step(second, vars, 2);
  step(second, vars, 3);
  assertClose(vars, TORCH_AFTER_STEP[3], 'after resume and two more steps');
  second.dispose();
  const third = new Adam({ weightDecay: 0 });
  assert.throws(() => third.restore(new Map([['momentum.a', { shape: [3], data: new Float32Array(3) }]]), 'ck.safetensors'), /ck\.safetensors: optimiser state 'momentum\.a' is not Adam's/);
  tf.dispose([...vars.values()]);
});
