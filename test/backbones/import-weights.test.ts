// `importWeights` and `wsss import-weights`: naming schemes (timm, MXNet, wrapper prefixes),
// ONNX files with and without folded batch norms, and refusal of bad files (missing tensor,
// extra tensor, wrong shape) with a clear report, a non-zero exit and nothing written.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { exportOnnx } from '../../export/export-onnx.ts';
import { importWeights } from '../../export/import-weights.ts';
import { backboneGraph } from '../../graphs/backbones/index.ts';
import { initialiseAll, type ParamValues } from '../../graphs/module.ts';
import { decodeSafetensors, encodeSafetensors } from '../../graphs/safetensors.ts';
import { fixturePath, haveFixture, loadNpy, runExported, worstToleranceRatio } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsss-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const skipVgg = !haveFixture('vgg16d-w16') && 'fixture vgg16d-w16 missing';
const skipR38 = !haveFixture('resnet38d-w16') && 'fixture resnet38d-w16 missing';
const skipMb = !haveFixture('torchvision-mobilenet_v2') && 'fixture torchvision-mobilenet_v2 missing';

function fixtureTensors(file: string): ParamValues {
  return decodeSafetensors(readFileSync(fixturePath(file)), file).tensors;
}

function write(name: string, tensors: ParamValues): string {
  const p = join(dir, name);
  writeFileSync(p, encodeSafetensors(tensors));
  return p;
}

function sameValues(a: ParamValues, b: ParamValues): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) {
    assert.deepEqual(v.shape, b.get(k)!.shape, k);
    assert.deepEqual(v.data, b.get(k)!.data, k);
  }
}

const REPO = resolve(import.meta.dirname, '..', '..');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [join(REPO, 'bin', 'wsss.js'), 'import-weights', ...args], { encoding: 'utf8', cwd: REPO });
}

test('bad files are refused: missing tensor, extra tensor, wrong shape — report names it, exit ≠ 0, nothing written', { skip: skipVgg }, () => {
  const good = fixtureTensors('vgg16d-w16/weights.safetensors');
  const missing = new Map(good);
  missing.delete('fc7.bias');
  const extra = new Map(good);
  extra.set('fc8.weight', { shape: [21, 64, 1, 1], data: new Float32Array(21 * 64) });
  const wrong = new Map(good);
  const w = good.get('conv2_1.weight')!;
  wrong.set('conv2_1.weight', { shape: [w.shape[1], w.shape[0], 3, 3], data: w.data });
  const cases: [string, ParamValues, RegExp][] = [
    ['missing', missing, /missing tensors \(1\):\s+fc7\.bias \[64\]/],
    ['extra', extra, /unmatched tensors in the file \(1\):\s+fc8\.weight/],
    ['wrong-shape', wrong, /shape mismatches \(1\):\s+conv2_1\.weight: expected \[8, 4, 3, 3\], file has \[4, 8, 3, 3\]/],
  ];
  for (const [name, tensors, message] of cases) {
    const file = write(`${name}.safetensors`, tensors);
    const { report, values } = importWeights(file, { backbone: 'vgg16d-w16' });
    assert.equal(report.ok, false, name);
    assert.equal(values, null, name);
    const outDir = mkdtempSync(join(dir, `out-${name}-`));
    const out = join(outDir, 'ck.safetensors');
    const r = cli('--from', file, '--backbone', 'vgg16d-w16', '--out', out);
    assert.notEqual(r.status, 0, `${name}: exit status`);
    assert.match(r.stderr, message, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /nothing written/);
    assert.deepEqual(readdirSync(outDir), [], `${name}: the output directory must stay empty`);
    // The last stdout line is the machine-readable summary.
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.ok, false);
  }
  // --ignore drops the extra tensor on purpose; then the import succeeds and writes a loadable checkpoint.
  const out = join(dir, 'ok.safetensors');
  const r = cli('--from', join(dir, 'extra.safetensors'), '--backbone', 'vgg16d-w16', '--out', out, '--ignore', 'fc8.*');
  assert.equal(r.status, 0, r.stderr);
  const written = decodeSafetensors(readFileSync(out), out);
  sameValues(written.tensors, good);
  assert.equal(written.metadata.backbone, 'vgg16d-w16');
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).matched, 30);
});

test('unknown backbone and unreadable files give clear errors', () => {
  assert.throws(() => importWeights('x.safetensors', { backbone: 'resnet51' }), /unknown backbone 'resnet51'/);
  assert.throws(() => importWeights(join(dir, 'nope.safetensors'), { backbone: 'vgg16d-w16' }), /nope\.safetensors: cannot read \(ENOENT\)/);
  writeFileSync(join(dir, 'w.h5'), 'x');
  assert.throws(() => importWeights(join(dir, 'w.h5'), { backbone: 'vgg16d-w16' }), /unsupported weight file type '\.h5'/);
  writeFileSync(join(dir, 'junk.onnx'), new Uint8Array([1, 2, 3, 4, 5]));
  assert.throws(() => importWeights(join(dir, 'junk.onnx'), { backbone: 'vgg16d-w16' }), /junk\.onnx: not a readable ONNX model/);
});

test("MXNet names (resnet38d's original ImageNet file) and a DataParallel 'module.' prefix map onto resnet38d", { skip: skipR38 }, () => {
  const official = fixtureTensors('resnet38d-w16/weights.safetensors');
  const manifest = JSON.parse(readFileSync(fixturePath('resnet38d', 'state_dict_manifest.json'), 'utf8')) as { keys: { name: string; mxnet_name?: string; kind: string }[] };
  const mx: ParamValues = new Map();
  for (const k of manifest.keys) {
    if (!k.mxnet_name) continue;
    // MXNet checkpoints prefix weights with 'arg:' and moving statistics with 'aux:'.
    const prefix = /moving_(mean|var)$/.test(k.mxnet_name) ? 'aux:' : 'arg:';
    mx.set(prefix + k.mxnet_name, official.get(k.name)!);
  }
  assert.equal(mx.size, 191);
  mx.set('arg:linear1000_weight', { shape: [1000, 256], data: new Float32Array(256000) });
  mx.set('arg:linear1000_bias', { shape: [1000], data: new Float32Array(1000) });
  const r = importWeights(write('mxnet.safetensors', mx), { backbone: 'resnet38d-w16' });
  assert.ok(r.values, JSON.stringify(r.report));
  assert.equal(r.report.scheme, 'MXNet (ademxapp)');
  assert.deepEqual(r.report.ignored.map((i) => i.name).sort(), ['arg:linear1000_bias', 'arg:linear1000_weight']);
  sameValues(r.values, official);

  const wrapped: ParamValues = new Map([...official].map(([k, v]) => [`module.${k}`, v]));
  wrapped.set('module.b2.bn_branch2a.num_batches_tracked', { shape: [], data: new Float32Array([7]) });
  const w = importWeights(write('wrapped.safetensors', wrapped), { backbone: 'resnet38d-w16' });
  assert.ok(w.values, JSON.stringify(w.report));
  assert.equal(w.report.strippedPrefix, 'module.');
  assert.equal(w.report.ignored.length, 1);
  sameValues(w.values, official);
});

/** timm's mobilenetv2 names for torchvision's, written from timm's module layout (blocks.<stage>.<i>). */
function timmName(tv: string): string {
  const repeats = [1, 2, 3, 4, 3, 3, 1];
  let m = /^features\.0\.0\.(.+)$/.exec(tv);
  if (m) return `conv_stem.${m[1]}`;
  if ((m = /^features\.0\.1\.(.+)$/.exec(tv))) return `bn1.${m[1]}`;
  if ((m = /^features\.18\.0\.(.+)$/.exec(tv))) return `conv_head.${m[1]}`;
  if ((m = /^features\.18\.1\.(.+)$/.exec(tv))) return `bn2.${m[1]}`;
  if ((m = /^classifier\.1\.(.+)$/.exec(tv))) return `classifier.${m[1]}`;
  m = /^features\.(\d+)\.conv\.(\d(?:\.\d)?)\.(.+)$/.exec(tv)!;
  let k = Number(m[1]) - 1;
  let stage = 0;
  while (k >= repeats[stage]) k -= repeats[stage++];
  const parts: Record<string, string> =
    stage === 0
      ? { '0.0': 'conv_dw', '0.1': 'bn1', '1': 'conv_pw', '2': 'bn2' }
      : { '0.0': 'conv_pw', '0.1': 'bn1', '1.0': 'conv_dw', '1.1': 'bn2', '2': 'conv_pwl', '3': 'bn3' };
  const part = parts[m[2]];
  return `blocks.${stage}.${k}.${part}.${m[3]}`;
}

test('timm names (mobilenetv2_100) map onto torchvision MobileNetV2', { skip: skipMb }, () => {
  const tv = fixtureTensors('torchvision-mobilenet_v2/weights.safetensors');
  const timm: ParamValues = new Map([...tv].map(([k, v]) => [timmName(k), v]));
  assert.ok(timm.has('blocks.6.0.conv_pwl.weight') && timm.has('blocks.0.0.conv_dw.weight'));
  const r = importWeights(write('timm-mbv2.safetensors', timm), { backbone: 'mobilenet_v2' });
  assert.ok(r.values, JSON.stringify(r.report));
  assert.equal(r.report.scheme, 'timm');
  sameValues(r.values, tv);
  // Into the headless variant: the classifier is dropped on purpose (reported as ignored).
  const h = importWeights(write('timm-mbv2.safetensors', timm), { backbone: 'mobilenet_v2-headless' });
  assert.ok(h.values, JSON.stringify(h.report));
  assert.deepEqual(h.report.ignored.map((i) => i.name).sort(), ['classifier.bias', 'classifier.weight']);
  assert.equal(h.values.size, tv.size - 2);
});

test('.onnx import of our own exports: batch norms kept, and folded (rebuilt from conv biases) give the same forward', { skip: skipR38 }, async () => {
  const official = fixtureTensors('resnet38d-w16/weights.safetensors');
  const graph = backboneGraph('resnet38d-w16', { outputs: ['conv6'] });
  const x = loadNpy('resnet38d-w16', 'input.npy');
  const expected = loadNpy('resnet38d-w16', 'conv6.npy');
  // Unfolded: every tensor keeps its parameter name, so the values come back bit for bit.
  const plain = join(dir, 'r38-plain.onnx');
  writeFileSync(plain, exportOnnx(graph, official, { foldBatchNorm: false }));
  const a = importWeights(plain, { backbone: 'resnet38d-w16' });
  assert.ok(a.values, JSON.stringify(a.report));
  sameValues(a.values, official);
  // Folded: bn_branch2b1 / bn_branch2b2 (and b2's first BN, conv1a's only reader) follow a conv
  // and were folded; the other pre-activation BNs read residual sums and stay.
  const folded = join(dir, 'r38-folded.onnx');
  writeFileSync(folded, exportOnnx(graph, official));
  const b = importWeights(folded, { backbone: 'resnet38d-w16' });
  assert.ok(b.values, JSON.stringify(b.report));
  assert.ok(b.report.unfolded.length > 0);
  assert.equal(b.report.unfolded.length, 20);
  assert.ok(b.report.unfolded.every((u) => /bn_branch2b[12] |^b2\.bn_branch2a /.test(u)), b.report.unfolded.join(', '));
  const out = await runExported('resnet38d-w16', b.values, x, ['conv6']);
  assert.ok(worstToleranceRatio(out.conv6, expected) <= 1);
});

test('an .onnx whose nodes carry no names is matched by position (k-th Conv = k-th conv of the network)', { skip: skipMb }, async () => {
  const p = (await import('onnx-proto')).default;
  const model = p.onnx.ModelProto.decode(readFileSync(fixturePath('torchvision-mobilenet_v2', 'model.onnx')));
  for (const n of model.graph!.node!) n.name = '';
  const file = join(dir, 'anonymous.onnx');
  writeFileSync(file, p.onnx.ModelProto.encode(model).finish());
  const r = importWeights(file, { backbone: 'mobilenet_v2' });
  assert.ok(r.values, JSON.stringify(r.report));
  assert.ok(r.report.notes.some((n) => /52 tensor group\(s\): names by position/.test(n)), r.report.notes.join('; '));
  const x = loadNpy('torchvision-mobilenet_v2', 'input.npy');
  const out = await runExported('mobilenet_v2', r.values, x, ['logits']);
  const ref = loadNpy('torchvision-mobilenet_v2', 'logits.npy');
  let num = 0;
  let den = 0;
  ref.data.forEach((v, i) => {
    num += (out.logits.data[i] - v) ** 2;
    den += v * v;
  });
  assert.ok(Math.sqrt(num / den) < 1e-3);
});

test('a random-init checkpoint round-trips through import (identity naming, declaration order)', () => {
  const g = backboneGraph('resnet50-w16');
  const values = initialiseAll(g.module, 3);
  const r = importWeights(write('r50w16.safetensors', values), { backbone: 'resnet50-w16' });
  assert.ok(r.values);
  assert.deepEqual([...r.values.keys()], g.module.parameters().map((p) => p.name));
  sameValues(r.values, values);
});
