// The exporter as a whole: deterministic bytes, batch-norm folding that keeps the outputs,
// metadata the runtime can read back, node names that keep module paths, dynamic input sizes,
// and the `wsss export` / `wsss inspect` commands including their failure modes (bad checkpoints,
// truncated models, failed verification) which must leave nothing behind.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import p from 'onnx-proto';
import { exportOnnx } from '../export/export-onnx.ts';
import { inspectOnnx } from '../export/inspect.ts';
import { WSSS_VERSION_KEY } from '../export/metadata.ts';
import { ortForward } from '../export/verify.ts';
import { defaultClassNames, getGraph } from '../graphs/registry.ts';
import { initialiseAll, type ParamValues } from '../graphs/module.ts';
import { Rng } from '../graphs/rng.ts';
import { encodeSafetensors } from '../graphs/safetensors.ts';
import { parseModelMetadata } from '../runtime/model-metadata.ts';
import { readOnnxMetadataProps } from '../runtime/onnx-metadata-props.ts';
import { ParamBag, lambdaGraph, randomFeed } from './export-helpers.ts';

const { onnx } = p;
const dir = mkdtempSync(join(tmpdir(), 'wsss-export-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const camTiny = () => getGraph('cam-tiny', { classNames: defaultClassNames() });

/** Random but realistic batch-norm statistics, so folding changes the weights for real. */
function perturbBatchNorm(values: ParamValues, seed: number): ParamValues {
  const rng = new Rng(seed);
  for (const [name, v] of values) {
    if (name.endsWith('running_mean')) v.data.forEach((_, i) => (v.data[i] = 0.3 * rng.normal()));
    if (name.endsWith('running_var')) v.data.forEach((_, i) => (v.data[i] = 0.5 + rng.uniform()));
    if (name.endsWith('bn.weight')) v.data.forEach((_, i) => (v.data[i] = 0.5 + rng.uniform()));
    if (name.endsWith('bn.bias')) v.data.forEach((_, i) => (v.data[i] = 0.2 * rng.normal()));
  }
  return values;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/wsss.js', ...args], { encoding: 'utf8', cwd: process.cwd() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('export is deterministic: same graph and values give byte-identical files', () => {
  const a = exportOnnx(camTiny(), initialiseAll(camTiny().module, 11));
  const b = exportOnnx(camTiny(), initialiseAll(camTiny().module, 11));
  assert.ok(a.byteLength > 1000);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'two exports differ');
  const c = exportOnnx(camTiny(), initialiseAll(camTiny().module, 12));
  assert.ok(!Buffer.from(a).equals(Buffer.from(c)), 'different parameters must give different bytes');
});

test('model structure: opset 17, IR 8, dynamic N/H/W input, module-path node names, folded BN', () => {
  const g = camTiny();
  const bytes = exportOnnx(g, initialiseAll(g.module, 1));
  const m = onnx.ModelProto.decode(bytes);
  assert.equal(Number(m.irVersion), 8);
  assert.deepEqual(m.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
  assert.equal(m.producerName, 'wsss');
  const s = inspectOnnx(bytes, 'cam-tiny.onnx');
  assert.deepEqual(s.inputs, [{ name: 'image', dtype: 'float', dims: ['N', 3, 'H', 'W'] }]);
  assert.deepEqual(s.outputs.map((o) => o.name), ['scores', 'cams', 'raw_cams']);
  assert.deepEqual(s.outputs[0].dims, ['N', 6]);
  assert.deepEqual(s.outputs[1].dims, ['N', 6, 'H', 'W']);
  // Strided convs make the size unknown at build time: no made-up static value may appear.
  assert.deepEqual(s.outputs[2].dims, ['N', 6, null, null]);
  const names = (m.graph?.node ?? []).map((n) => n.name);
  for (let i = 0; i < 6; i++) assert.ok(names.includes(`backbone.${i}.conv`), `conv node backbone.${i}.conv`);
  // The classifier runs twice (pooled scores and dense CAMs): the second use gets a suffix.
  assert.ok(names.includes('head.classifier') && names.includes('head.classifier_1'));
  assert.equal(new Map(s.ops).get('BatchNormalization'), undefined, 'batch norm folded by default');
  // Folded convs got a bias; BN parameters are gone from the initializers.
  const inits = new Set((m.graph?.initializer ?? []).map((t) => t.name ?? ''));
  assert.ok(![...inits].some((n) => n.includes('.bn.')), 'no batch-norm initializers left');
  const unfolded = inspectOnnx(exportOnnx(g, initialiseAll(g.module, 1), { foldBatchNorm: false }), 'unfolded.onnx');
  assert.equal(new Map(unfolded.ops).get('BatchNormalization'), 6);
});

test('folded and unfolded exports compute the same outputs (non-trivial running statistics)', async () => {
  const g = camTiny();
  const values = perturbBatchNorm(initialiseAll(g.module, 2), 3);
  const folded = exportOnnx(g, values, { foldBatchNorm: true });
  const unfolded = exportOnnx(g, values, { foldBatchNorm: false });
  const feed = randomFeed(4, { image: [2, 3, 29, 35] }, 60);
  const a = await ortForward(folded, feed);
  const b = await ortForward(unfolded, feed);
  for (const name of ['scores', 'cams', 'raw_cams']) assert.ok(maxRelDiff(a[name].data, b[name].data) < 1e-5, name);
  // Folding must not have written into the caller's parameter values.
  assert.deepEqual(values.get('backbone.0.conv.weight')!.data, initialiseAll(g.module, 2).get('backbone.0.conv.weight')!.data);
});

test('metadata round trip through the runtime reader', () => {
  const g = getGraph('cam-tiny', { classNames: ['cat', 'dog', 'bird'] });
  const bytes = exportOnnx(g, initialiseAll(g.module, 1));
  const props = readOnnxMetadataProps(bytes, 'm.onnx');
  const info = parseModelMetadata(props, 'm.onnx');
  assert.equal(info.method, 'cam');
  assert.equal(info.graph, 'cam-tiny');
  assert.deepEqual(info.classNames, ['cat', 'dog', 'bird']);
  assert.deepEqual(info.normalisation, g.normalisation);
  assert.equal(info.inputConvention, g.inputConvention);
  assert.deepEqual(info.outputs, g.outputs);
  assert.equal(info.outputStride, 4);
  assert.equal(info.formatVersion, 1);
  assert.match(props[WSSS_VERSION_KEY], /^\d+\.\d+\.\d+/);
  // Class names may be overridden at export; a pre-normalised graph carries no mean/std.
  const bare = lambdaGraph('bare', 3, (ops, ins) => ({ y: ops.relu(ins.x) }));
  const bareProps = readOnnxMetadataProps(exportOnnx(bare, new Map(), { classNames: ['x', 'y'] }));
  assert.equal(bareProps.class_names, '["x","y"]');
  assert.equal(bareProps.mean, undefined);
  assert.equal(parseModelMetadata(bareProps).normalisation, null);
});

test('unused parameters are not emitted; scoped nodes are named <scope>/<Op>_<n>', () => {
  const bag = new ParamBag({ 'used.weight': { shape: [2, 3, 1, 1] }, 'unused.weight': { shape: [7, 3, 3, 3] } });
  const graph = lambdaGraph(
    'scopes',
    3,
    (ops, ins) => ops.scope('block', () => {
      const y = ops.conv2d(ins.x, ops.param(bag.get('used.weight')), null);
      ops.sigmoid(y); // dead code: not an output
      return { y: ops.scope('act', () => ops.relu(ops.relu(y))) };
    }),
    bag,
  );
  const bytes = exportOnnx(graph, initialiseAll(bag, 1));
  const m = onnx.ModelProto.decode(bytes);
  assert.deepEqual((m.graph?.initializer ?? []).map((t) => t.name), ['used.weight']);
  assert.deepEqual((m.graph?.node ?? []).map((n) => [n.name, n.output?.[0]]), [
    ['used', 'used'],
    ['block.act/Relu_0', 'block.act/Relu_0'],
    ['block.act/Relu_1', 'y'], // the output keeps its node; only the value takes the output's name
  ]);
  assert.equal(inspectOnnx(bytes, 's.onnx').parameterCount, 6);
});

test("strided dilated 'same' conv (no tfjs counterpart) equals the conv with explicit SAME_UPPER pads", async () => {
  const bag = new ParamBag({ 'c.weight': { shape: [3, 2, 3, 3] }, 'c.bias': { shape: [3] } });
  const w = (ops: Parameters<Parameters<typeof lambdaGraph>[2]>[0]) => ops.param(bag.get('c.weight'));
  const b = (ops: Parameters<Parameters<typeof lambdaGraph>[2]>[0]) => ops.param(bag.get('c.bias'));
  const values = initialiseAll(bag, 5);
  for (const [h, wd] of [[13, 17], [12, 10]]) {
    // SAME_UPPER for k=3, d=2 (span 5), s=2: total = max(0, (⌈S/2⌉ − 1)·2 + 5 − S), extra at the end.
    const pad = (s: number) => {
      const total = Math.max(0, (Math.ceil(s / 2) - 1) * 2 + 5 - s);
      return [total >> 1, total - (total >> 1)];
    };
    const [pt, pb] = pad(h);
    const [pl, pr] = pad(wd);
    const graph = lambdaGraph(
      'same',
      2,
      (ops, ins) => ({
        same: ops.conv2d(ins.x, w(ops), b(ops), { stride: 2, dilation: 2, padding: 'same' }),
        explicit: ops.conv2d(ins.x, w(ops), b(ops), { stride: 2, dilation: 2, padding: [pt, pl, pb, pr] }),
      }),
      bag,
    );
    const out = await ortForward(exportOnnx(graph, values), randomFeed(6, { x: [2, 2, h, wd] }));
    assert.deepEqual(out.same.dims, [2, 3, Math.ceil(h / 2), Math.ceil(wd / 2)]);
    assert.deepEqual(out.same.dims, out.explicit.dims);
    assert.ok(maxRelDiff(out.same.data, out.explicit.data) < 1e-6);
  }
});

test('exporting with a missing or mis-shaped parameter names the tensor', () => {
  const g = camTiny();
  const values = initialiseAll(g.module, 1);
  values.delete('backbone.3.conv.weight');
  values.set('head.classifier.weight', { shape: [6, 64, 1, 2], data: new Float32Array(6 * 64 * 2) });
  assert.throws(() => exportOnnx(g, values, { source: 'ck.safetensors' }), (e: Error) => {
    assert.match(e.message, /^ck\.safetensors: /);
    assert.match(e.message, /missing tensor 'backbone\.3\.conv\.weight'/);
    assert.match(e.message, /'head\.classifier\.weight' has shape \[6, 64, 1, 2\], expected \[6, 64, 1, 1\]/);
    return true;
  });
});

test('wsss export --random-init --verify, then the model runs at two sizes and wsss inspect reports it', async () => {
  const out = join(dir, 'm.onnx');
  const r = cli('export', '--graph', 'cam-tiny', '--random-init', '--seed', '3', '--out', out, '--verify', '--classes', 'a,b,c');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /verify cams: max abs err/);
  const bytes = new Uint8Array(readFileSync(out));
  // The same values exported in-process give the same bytes (the CLI adds nothing hidden).
  const g = getGraph('cam-tiny', { classNames: ['a', 'b', 'c'] });
  assert.ok(Buffer.from(bytes).equals(Buffer.from(exportOnnx(g, initialiseAll(g.module, 3), { classNames: ['a', 'b', 'c'] }))));
  for (const [h, w] of [[40, 56], [33, 21]]) {
    const o = await ortForward(bytes, randomFeed(h, { image: [1, 3, h, w] }, 100));
    assert.deepEqual(o.cams.dims, [1, 3, h, w]);
    assert.deepEqual(o.scores.dims, [1, 3]);
    assert.deepEqual(o.raw_cams.dims, [1, 3, Math.ceil(h / 4), Math.ceil(w / 4)]);
  }
  const ins = cli('inspect', out);
  assert.equal(ins.status, 0, ins.stderr);
  const params = inspectOnnx(bytes, out).parameterCount;
  assert.match(ins.stdout, /image\s+float \[N, 3, H, W\]/);
  assert.match(ins.stdout, /\d+\s+Conv\n/);
  assert.match(ins.stdout, new RegExp(`parameters: ${params.toLocaleString('en-US')} values`));
  assert.equal(JSON.parse(ins.stdout.trim().split('\n').at(-1)!).parameters, params);
});

test('wsss inspect on a truncated model fails with the file named', () => {
  const good = exportOnnx(camTiny(), initialiseAll(camTiny().module, 1));
  const cut = join(dir, 'cut.onnx');
  writeFileSync(cut, good.subarray(0, Math.floor(good.byteLength * 0.6)));
  const r = cli('inspect', cut);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*truncated or corrupt`));
  // Cut at any point, the checks catch it (decode errors or missing values / definitions).
  for (const frac of [0.05, 0.3, 0.9, 0.999]) assert.throws(() => inspectOnnx(good.subarray(0, Math.floor(good.byteLength * frac)), 'x.onnx'), /x\.onnx: /);
});

test('wsss export with a bad checkpoint names file and tensors and writes nothing', () => {
  const g = camTiny();
  const values = initialiseAll(g.module, 1);
  values.delete('backbone.2.bn.running_var');
  values.set('backbone.0.conv.weight', { shape: [16, 3, 5, 5], data: new Float32Array(16 * 3 * 25) });
  const ck = join(dir, 'bad.safetensors');
  writeFileSync(ck, encodeSafetensors(values));
  const sub = mkdtempSync(join(dir, 'out-'));
  const out = join(sub, 'bad.onnx');
  const r = cli('export', '--graph', 'cam-tiny', '--checkpoint', ck, '--out', out);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`${ck.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stderr, /missing tensor 'backbone\.2\.bn\.running_var'/);
  assert.match(r.stderr, /'backbone\.0\.conv\.weight' has shape \[16, 3, 5, 5\], expected \[16, 3, 3, 3\]/);
  assert.deepEqual(readdirSync(sub), [], 'nothing written, not even a temp file');

  // A failed verification also writes nothing (tolerance 0 cannot be met by float arithmetic).
  const good = join(dir, 'good.safetensors');
  writeFileSync(good, encodeSafetensors(perturbBatchNorm(initialiseAll(g.module, 1), 9)));
  const v = cli('export', '--graph', 'cam-tiny', '--checkpoint', good, '--out', out, '--verify', '--tolerance', '0');
  assert.notEqual(v.status, 0);
  assert.match(v.stderr, /verification failed/);
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(sub), []);
});
