// Per-op parity: every op of the interface (graphs/ops.ts) and its options, run by the tfjs
// interpreter and by the exported ONNX model in onnxruntime-node (CPU), on seeded random inputs of
// odd spatial size (batch 2, 13×17). (tfjs has no strided dilated convolution; export.test.ts
// checks that case against explicit padding instead.) Ops are grouped into a few models (one output per case) so a
// handful of sessions cover everything. Tolerance: max |diff| ≤ 1e-4·max(1, max |tfjs|).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ops, Tensor } from '../graphs/ops.ts';
import { ParamBag, lambdaGraph, parity, randomFeed } from './export-helpers.ts';

const N = 2;
const C = 4;
const H = 13;
const W = 17;
const BIG = Number.MAX_SAFE_INTEGER;

type Cases = Record<string, (ops: Ops, x: Tensor, p: ParamBag, extra: Record<string, Tensor>) => Tensor>;

async function checkGroup(name: string, cases: Cases, bag: ParamBag = new ParamBag({}), extraInputs: { name: string; channels: number; dims: number[] }[] = []) {
  const graph = lambdaGraph(
    name,
    [{ name: 'x', channels: C, meaning: 'test input' }, ...extraInputs.map((e) => ({ name: e.name, channels: e.channels, meaning: 'test input' }))],
    (ops, ins) => Object.fromEntries(Object.entries(cases).map(([k, f]) => [k, ops.scope(k, () => f(ops, ins.x, bag, ins))])),
    bag,
  );
  const shapes: Record<string, number[]> = { x: [N, C, H, W] };
  for (const e of extraInputs) shapes[e.name] = e.dims;
  const r = await parity(graph, [randomFeed(7, shapes)]);
  assert.equal(r.outputs.length, Object.keys(cases).length, 'every case produced an output');
  assert.deepEqual(r.failures, [], `${name}: outputs over tolerance`);
}

test('conv2d: stride, dilation, groups, padding forms, bias', async () => {
  const bag = new ParamBag({
    'c33.weight': { shape: [6, 4, 3, 3] },
    'c33.bias': { shape: [6] },
    'g2.weight': { shape: [6, 2, 3, 3] },
    'dw.weight': { shape: [4, 1, 3, 3] },
    'dw.bias': { shape: [4] },
    'c44.weight': { shape: [5, 4, 4, 4] },
    'c22.weight': { shape: [3, 4, 2, 2] },
    'rect.weight': { shape: [6, 4, 3, 5] },
    'rect.bias': { shape: [6] },
    'c11.weight': { shape: [7, 4, 1, 1] },
  });
  const w = (ops: Ops, p: ParamBag, n: string) => ops.param(p.get(n));
  await checkGroup(
    'conv',
    {
      s1_pad1_bias: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), w(o, p, 'c33.bias'), { padding: 1 }),
      s2_pad1: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), w(o, p, 'c33.bias'), { stride: 2, padding: 1 }),
      d2_pad2: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), null, { dilation: 2, padding: 2 }),
      groups2: (o, x, p) => o.conv2d(x, w(o, p, 'g2.weight'), null, { groups: 2, padding: 1 }),
      depthwise_bias: (o, x, p) => o.conv2d(x, w(o, p, 'dw.weight'), w(o, p, 'dw.bias'), { groups: 4, padding: [1, 1] }),
      depthwise_s2: (o, x, p) => o.conv2d(x, w(o, p, 'dw.weight'), null, { groups: 4, stride: 2, padding: 1 }),
      pad_pair: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), null, { padding: [1, 0] }),
      pad_explicit4: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), w(o, p, 'c33.bias'), { padding: [0, 1, 2, 1] }),
      same_s1: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), null, { padding: 'same' }),
      same_s2: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), w(o, p, 'c33.bias'), { padding: 'same', stride: 2 }),
      same_d2: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), null, { padding: 'same', dilation: 2 }),
      same_rect_d: (o, x, p) => o.conv2d(x, w(o, p, 'rect.weight'), w(o, p, 'rect.bias'), { padding: 'same', dilation: [2, 1] }),
      same_rect_s: (o, x, p) => o.conv2d(x, w(o, p, 'rect.weight'), null, { padding: 'same', stride: [1, 2] }),
      same_k4_s2: (o, x, p) => o.conv2d(x, w(o, p, 'c44.weight'), null, { padding: 'same', stride: 2 }),
      same_k2: (o, x, p) => o.conv2d(x, w(o, p, 'c22.weight'), null, { padding: 'same' }),
      valid: (o, x, p) => o.conv2d(x, w(o, p, 'c33.weight'), w(o, p, 'c33.bias'), { padding: 'valid' }),
      k4_s2_pad1: (o, x, p) => o.conv2d(x, w(o, p, 'c44.weight'), null, { stride: 2, padding: 1 }),
      rect_strided: (o, x, p) => o.conv2d(x, w(o, p, 'rect.weight'), w(o, p, 'rect.bias'), { stride: [2, 1], padding: [1, 4] }),
      rect_dilated: (o, x, p) => o.conv2d(x, w(o, p, 'rect.weight'), null, { dilation: [1, 2], padding: [2, 0, 1, 3] }),
      pointwise: (o, x, p) => o.conv2d(x, w(o, p, 'c11.weight'), null),
    },
    bag,
  );
});

test('batchNorm (inference, non-trivial running statistics)', async () => {
  const bag = new ParamBag({
    'bn.weight': { shape: [C], init: { kind: 'uniform', low: 0.5, high: 1.5 } },
    'bn.bias': { shape: [C] },
    'bn.running_mean': { shape: [C], buffer: true },
    'bn.running_var': { shape: [C], init: { kind: 'uniform', low: 0.2, high: 3 }, buffer: true },
  });
  const bnp = (p: ParamBag) => ({ weight: p.get('bn.weight'), bias: p.get('bn.bias'), runningMean: p.get('bn.running_mean'), runningVar: p.get('bn.running_var') });
  await checkGroup(
    'bn',
    {
      default_eps: (o, x, p) => o.batchNorm(x, bnp(p)),
      eps_1e3: (o, x, p) => o.batchNorm(x, bnp(p), { eps: 1e-3 }),
      frozen: (o, x, p) => o.batchNorm(x, bnp(p), { frozen: true, momentum: 0.01 }),
    },
    bag,
  );
});

test('elementwise ops, broadcasting with [1,C,1,1] and scalars', async () => {
  const pos = (o: Ops, x: Tensor) => o.add(o.abs(x), 0.1);
  const perC = (o: Ops) => o.constant([0.5, -1.5, 2, 0.25], [1, C, 1, 1]);
  const perC2 = (o: Ops) => o.constant([1.5, 0.75, 2, 3], [1, C, 1, 1]);
  await checkGroup('elementwise', {
    relu: (o, x) => o.relu(x),
    leakyRelu: (o, x) => o.leakyRelu(x, 0.1),
    sigmoid: (o, x) => o.sigmoid(x),
    tanh: (o, x) => o.tanh(x),
    exp: (o, x) => o.exp(x),
    log: (o, x) => o.log(pos(o, x)),
    abs: (o, x) => o.abs(x),
    sqrt: (o, x) => o.sqrt(pos(o, x)),
    neg: (o, x) => o.neg(x),
    add_tt: (o, x) => o.add(x, o.relu(x)),
    add_perC: (o, x) => o.add(x, perC(o)),
    add_scalar_left: (o, x) => o.add(3, x),
    sub_tt: (o, x) => o.sub(x, o.tanh(x)),
    sub_perC_left: (o, x) => o.sub(perC(o), x),
    sub_scalar: (o, x) => o.sub(x, 0.5),
    sub_scalar_left: (o, x) => o.sub(1, x),
    mul_tt: (o, x) => o.mul(x, x),
    mul_perC: (o, x) => o.mul(perC(o), x),
    mul_scalar: (o, x) => o.mul(x, -2.5),
    div_tt: (o, x) => o.div(x, pos(o, x)),
    div_perC: (o, x) => o.div(x, perC2(o)),
    div_scalar_left: (o, x) => o.div(1, pos(o, x)),
    maximum_scalar: (o, x) => o.maximum(x, 0.3),
    maximum_perC: (o, x) => o.maximum(perC(o), x),
    minimum_tt: (o, x) => o.minimum(x, o.neg(x)),
    minimum_scalar_left: (o, x) => o.minimum(-0.2, x),
    pow_scalar_exp: (o, x) => o.pow(pos(o, x), 2.5),
    pow_square: (o, x) => o.pow(x, 2),
    pow_scalar_base: (o, x) => o.pow(2, x),
    pow_perC: (o, x) => o.pow(pos(o, x), perC2(o)),
    // [N,1,H,W] against [1,C,1,1]: both operands broadcast.
    outer_broadcast: (o, x) => o.mul(o.reduceMean(x, [1], true), perC(o)),
    rank3_vs_rank4: (o, x) => o.add(x, o.constant([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], [1, 1, W])),
  });
});

test('matmul, reshape, transpose, concat, split, slice, pad', async () => {
  const tokens = (o: Ops, x: Tensor) => o.reshape(x, [0, 0, -1]); // [N, C, H·W]
  const bag = new ParamBag({ 'lin.weight': { shape: [3, C] } });
  await checkGroup(
    'shape',
    {
      matmul_batched: (o, x) => o.matmul(tokens(o, x), o.transpose(tokens(o, x), [0, 2, 1])),
      matmul_transB: (o, x) => o.matmul(tokens(o, x), tokens(o, x), { transposeB: true }),
      matmul_transA: (o, x) => o.matmul(tokens(o, x), tokens(o, x), { transposeA: true }),
      matmul_transAB: (o, x) => o.matmul(o.transpose(tokens(o, x), [0, 2, 1]), tokens(o, x), { transposeA: true, transposeB: true }),
      matmul_rank4: (o, x) => o.matmul(x, o.transpose(x, [0, 1, 3, 2])),
      matmul_broadcast_weight: (o, x, p) => o.matmul(o.transpose(tokens(o, x), [0, 2, 1]), o.param(p.get('lin.weight')), { transposeB: true }),
      reshape_flatten: (o, x) => o.reshape(x, [0, -1]),
      reshape_copy_dims: (o, x) => o.reshape(x, [0, 2, -1]),
      reshape_rank5: (o, x) => o.reshape(x, [0, 2, 2, 0, -1]),
      transpose_nhwc: (o, x) => o.transpose(x, [0, 2, 3, 1]),
      transpose_mixed: (o, x) => o.transpose(x, [3, 1, 0, 2]),
      transpose_rank3: (o, x) => o.transpose(tokens(o, x), [2, 0, 1]),
      concat_c: (o, x) => o.concat([x, o.relu(x), o.neg(x)], 1),
      concat_h: (o, x) => o.concat([x, o.slice(x, [0], [5], [2])], 2),
      concat_w: (o, x) => o.concat([o.slice(x, [3], [9], [3]), x], 3),
      concat_n: (o, x) => o.concat([x, o.exp(x)], 0),
      split_c: (o, x) => {
        const [a, b] = o.split(x, [1, 3], 1);
        return o.sub(o.reduceSum(b, [1], true), a);
      },
      split_three: (o, x) => o.split(x, [2, 1, 1], 1)[2],
      slice_neg: (o, x) => o.slice(x, [1, 2], [3, -2], [1, 2]),
      slice_tail: (o, x) => o.slice(x, [-5], [100], [3]),
      slice_open_end: (o, x) => o.slice(x, [1, 3], [BIG, BIG], [0, 2]),
      pad_constant: (o, x) => o.pad(x, [1, 2, 3, 0], 'constant', 0.5),
      pad_zero: (o, x) => o.pad(x, [2, 0, 0, 3]),
      pad_reflect: (o, x) => o.pad(x, [2, 1, 1, 3], 'reflect'),
      pad_edge: (o, x) => o.pad(x, [3, 3, 0, 1], 'edge'),
    },
    bag,
  );
});

test('pooling: max/avg with ceil mode and count_include_pad, global and adaptive', async () => {
  await checkGroup('pool', {
    max_k3s2p1: (o, x) => o.maxPool(x, { kernel: 3, stride: 2, padding: 1 }),
    max_k2: (o, x) => o.maxPool(x, { kernel: 2 }),
    max_k3s2_ceil: (o, x) => o.maxPool(x, { kernel: 3, stride: 2, ceilMode: true }),
    max_k3s2p1_ceil: (o, x) => o.maxPool(x, { kernel: 3, stride: 2, padding: 1, ceilMode: true }),
    max_k3s1p1: (o, x) => o.maxPool(x, { kernel: 3, stride: 1, padding: 1 }),
    // Cases where ceil mode adds a partial window (13×17 with k3/s2 divides evenly, so these use
    // other kernels or a 12×16 crop), including the rule that drops a window starting in the padding.
    max_k2_ceil: (o, x) => o.maxPool(x, { kernel: 2, ceilMode: true }),
    max_k4s3_ceil: (o, x) => o.maxPool(x, { kernel: 4, stride: 3, ceilMode: true }),
    max_k2s2p1_ceil_drop: (o, x) => o.maxPool(x, { kernel: 2, stride: 2, padding: 1, ceilMode: true }),
    max_k3s2p1_ceil_even: (o, x) => o.maxPool(o.slice(x, [0, 0], [12, 16], [2, 3]), { kernel: 3, stride: 2, padding: 1, ceilMode: true }),
    max_rect: (o, x) => o.maxPool(x, { kernel: [2, 3], stride: [1, 2], padding: [1, 1] }),
    avg_k3s2p1: (o, x) => o.avgPool(x, { kernel: 3, stride: 2, padding: 1 }),
    avg_k3s2p1_excl: (o, x) => o.avgPool(x, { kernel: 3, stride: 2, padding: 1, countIncludePad: false }),
    avg_k3s2p1_ceil: (o, x) => o.avgPool(x, { kernel: 3, stride: 2, padding: 1, ceilMode: true }),
    avg_k3s2p1_ceil_excl: (o, x) => o.avgPool(x, { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    avg_k2_ceil: (o, x) => o.avgPool(x, { kernel: 2, ceilMode: true }),
    avg_k4s3_ceil_excl: (o, x) => o.avgPool(x, { kernel: 4, stride: 3, ceilMode: true, countIncludePad: false }),
    avg_k2s2p1_ceil_drop: (o, x) => o.avgPool(x, { kernel: 2, stride: 2, padding: 1, ceilMode: true }),
    avg_k2s2p1_ceil_drop_excl: (o, x) => o.avgPool(x, { kernel: 2, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    avg_k3s2p1_ceil_even: (o, x) => o.avgPool(o.slice(x, [0, 0], [12, 16], [2, 3]), { kernel: 3, stride: 2, padding: 1, ceilMode: true }),
    avg_k3s2p1_ceil_even_excl: (o, x) => o.avgPool(o.slice(x, [0, 0], [12, 16], [2, 3]), { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    avg_k3s1p1: (o, x) => o.avgPool(x, { kernel: 3, stride: 1, padding: 1 }),
    global_avg: (o, x) => o.globalAvgPool(x),
    global_max: (o, x) => o.globalMaxPool(x),
    adaptive_avg_1: (o, x) => o.adaptiveAvgPool(x, 1),
    adaptive_avg_2: (o, x) => o.adaptiveAvgPool(x, 2),
    adaptive_avg_4: (o, x) => o.adaptiveAvgPool(x, 4),
    adaptive_max_1: (o, x) => o.adaptiveMaxPool(x, 1),
    adaptive_max_2: (o, x) => o.adaptiveMaxPool(x, 2),
    adaptive_max_4: (o, x) => o.adaptiveMaxPool(x, 4),
    grid_max_1: (o, x) => o.gridMaxPool(x, 1),
    grid_max_4: (o, x) => o.gridMaxPool(x, 4),
    grid_max_more_bins_than_rows: (o, x) => o.gridMaxPool(x, 15),
  });
});

test('shiftedWeightedSum: the tfjs loop against the ONNX Pad/Slice/Mul/Add form, with shifts past the border and none', async () => {
  const offsets: [number, number][] = [[-1, -1], [0, 2], [3, -2], [0, 0], [40, 1], [-2, -30]];
  await checkGroup(
    'shifted',
    {
      shifted_sum: (o, x, _p, e) => o.shiftedWeightedSum(x, e.w, offsets),
      shifted_sum_one: (o, x, _p, e) => o.shiftedWeightedSum(x, o.slice(e.w, [1], [2], [1]), [offsets[1]]),
    },
    new ParamBag({}),
    [{ name: 'w', channels: offsets.length, dims: [N, offsets.length, H, W] }],
  );
});

test('resize: bilinear (align corners / half pixel, up and down, size and like) and nearest', async () => {
  await checkGroup(
    'resize',
    {
      bilinear_ac_up: (o, x) => o.resizeBilinear(x, { size: [29, 40] }, true),
      bilinear_hp_up: (o, x) => o.resizeBilinear(x, { size: [29, 40] }, false),
      bilinear_ac_down: (o, x) => o.resizeBilinear(x, { size: [6, 5] }, true),
      bilinear_hp_down: (o, x) => o.resizeBilinear(x, { size: [6, 5] }, false),
      bilinear_hp_to_1: (o, x) => o.resizeBilinear(x, { size: [1, 1] }, false),
      bilinear_ac_like_up: (o, x, _p, e) => o.resizeBilinear(x, { like: e.ref }, true),
      bilinear_hp_like_up: (o, x, _p, e) => o.resizeBilinear(x, { like: e.ref }, false),
      bilinear_hp_like_down: (o, x) => o.resizeBilinear(x, { like: o.maxPool(x, { kernel: 3, stride: 3, ceilMode: true }) }, false),
      nearest_up: (o, x) => o.resizeNearest(x, { size: [26, 40] }),
      nearest_down: (o, x) => o.resizeNearest(x, { size: [7, 6] }),
      nearest_like: (o, x, _p, e) => o.resizeNearest(x, { like: e.ref }),
    },
    new ParamBag({}),
    [{ name: 'ref', channels: 1, dims: [N, 1, 31, 23] }],
  );
});

test('softmax, logSoftmax, reductions, argmax, l2Normalize', async () => {
  const r3 = (o: Ops, x: Tensor) => o.reshape(x, [0, 0, -1]);
  await checkGroup('reduce', {
    softmax_1: (o, x) => o.softmax(x, 1),
    softmax_2: (o, x) => o.softmax(x, 2),
    softmax_3: (o, x) => o.softmax(x, 3),
    logSoftmax_1: (o, x) => o.logSoftmax(x, 1),
    logSoftmax_2: (o, x) => o.logSoftmax(x, 2),
    logSoftmax_3: (o, x) => o.logSoftmax(x, 3),
    softmax_rank3_last: (o, x) => o.softmax(r3(o, x), 2),
    softmax_rank3_mid: (o, x) => o.softmax(r3(o, x), 1),
    logSoftmax_rank3: (o, x) => o.logSoftmax(r3(o, x), 2),
    sum_c: (o, x) => o.reduceSum(x, [1]),
    sum_hw_keep: (o, x) => o.reduceSum(x, [2, 3], true),
    mean_c_keep: (o, x) => o.reduceMean(x, [1], true),
    mean_hw: (o, x) => o.reduceMean(x, [2, 3]),
    mean_all: (o, x) => o.reduceMean(x, [1, 2, 3]),
    max_c: (o, x) => o.reduceMax(x, [1]),
    max_hw_keep: (o, x) => o.reduceMax(x, [2, 3], true),
    max_w_rank3: (o, x) => o.reduceMax(r3(o, x), [2]),
    argmax_c: (o, x) => o.argmax(x, 1),
    argmax_c_keep: (o, x) => o.argmax(x, 1, true),
    argmax_w: (o, x) => o.argmax(x, 3),
    argmax_in_arithmetic: (o, x) => o.mul(o.argmax(x, 1, true), x),
    l2_c: (o, x) => o.l2Normalize(x, 1),
    l2_w_eps: (o, x) => o.l2Normalize(x, 3, 0.5),
    l2_zero: (o, x) => o.l2Normalize(o.mul(x, 0), 1),
  });
});

test('patchSplit / patchMerge (K = 2, 3) on a ragged 13×17 map', async () => {
  await checkGroup('patch', {
    split2: (o, x) => o.patchSplit(x, 2),
    split3: (o, x) => o.patchSplit(x, 3),
    merge2_roundtrip: (o, x) => o.patchMerge(o.patchSplit(x, 2), 2, x),
    merge3_processed: (o, x) => o.patchMerge(o.relu(o.patchSplit(x, 3)), 3, x),
    merge3_into_smaller: (o, x) => o.patchMerge(o.patchSplit(x, 3), 3, o.maxPool(x, { kernel: 2, ceilMode: false })),
  });
});

test('values and plumbing: constant, stopGradient, dropout (inference), nested scopes', async () => {
  await checkGroup('misc', {
    constant_perC: (o, x) => o.add(x, o.constant([1, -1, 2, -2], [1, C, 1, 1])),
    constant_matrix: (o, x) => o.matmul(o.constant([1, 0, -1, 2, 0.5, 0.5, 0.5, 0.5, 3, -2, 1, 0], [3, C]), o.reshape(x, [0, 0, -1])),
    stop_gradient: (o, x) => o.stopGradient(o.mul(x, 2)),
    dropout_inference: (o, x) => o.dropout(x, 0.5),
    scoped: (o, x) => o.scope('outer', () => o.scope('inner', () => o.relu(o.add(x, 1)))),
  });
});
