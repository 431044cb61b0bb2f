// PyTorch checkpoints read without Python (export/torch-weights.ts) and imported into backbones
// and method networks (issue 21, acceptance 1–3). The fixtures in test/fixtures/pth were written
// by torch.save in PyTorch 1.13 (make-pth-fixtures.py, run outside the test suite); their
// expected values and outputs come from PyTorch (float64 forwards), not from this project.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { importWeights } from '../../export/import-weights.ts';
import { readTorchCheckpoint } from '../../export/torch-weights.ts';
import { readNpyFloat32 } from '../../runtime/node/files/npy.ts';
import { runExported, worstToleranceRatio } from './fixtures.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const PTH = join(REPO, 'test', 'fixtures', 'pth');
const pth = (f: string) => join(PTH, f);
const npy = (f: string) => readNpyFloat32(pth(f));
const dir = mkdtempSync(join(tmpdir(), 'wsss-pth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function wsss(...args: string[]) {
  return spawnSync(process.execPath, [join(REPO, 'bin', 'wsss.js'), ...args], { encoding: 'utf8', cwd: REPO });
}

test('every dtype, views with offsets and strides, a Parameter, a wrapping dict: both torch.save formats give PyTorch\'s values', () => {
  const expected = JSON.parse(readFileSync(pth('probe.expected.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
  for (const [file, format] of [['probe.pth', 'zip'], ['probe.legacy.pth', 'legacy']] as const) {
    const ck = readTorchCheckpoint(readFileSync(pth(file)), file);
    assert.equal(ck.format, format);
    assert.equal(ck.wrapper, 'state_dict');
    assert.deepEqual([...ck.tensors.keys()], Object.keys(expected));
    assert.deepEqual(Object.fromEntries(ck.dtypes), { plain: 'float32', transposed: 'float32', slice: 'float32', strided: 'float32', half: 'float16', bfloat16: 'bfloat16', double: 'float64', long: 'int64', param: 'float32' });
    for (const [name, want] of Object.entries(expected)) {
      const t = ck.tensors.get(name)!;
      assert.deepEqual(t.shape, want.shape, `${file} ${name}`);
      // Float32 rounding of PyTorch's values (bfloat16 3e38 and float64 entries round exactly the same way).
      assert.deepEqual([...t.data], want.values.map((v) => Math.fround(v)), `${file} ${name}`);
    }
  }
});

test("a pickle that calls os.system is refused, naming the file and the global, and nothing runs", () => {
  const marker = '/tmp/wsss-pth-fixture-was-executed';
  rmSync(marker, { force: true });
  assert.throws(() => readTorchCheckpoint(readFileSync(pth('os-system.pth')), 'os-system.pth'), /^Error: os-system\.pth: pickle refers to posix\.system, which is not one of the globals a state dict needs .*nothing was executed/);
  const out = join(dir, 'never.safetensors');
  const r = wsss('import-weights', '--from', pth('os-system.pth'), '--backbone', 'resnet50-w16', '--out', out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /os-system\.pth: pickle refers to posix\.system/);
  assert.equal(existsSync(marker), false, 'the hostile command ran');
  assert.equal(existsSync(out), false);
});

test('truncated, non-zip and foreign files get clear errors naming the file and the format', () => {
  const zip = readFileSync(pth('resnet50-w16.pth'));
  const legacy = readFileSync(pth('resnet50-w16.legacy-f16.pth'));
  const cases: [string, Uint8Array, RegExp][] = [
    ['cut.pth', zip.subarray(0, Math.floor(zip.length / 2)), /cut\.pth: broken zip archive: no end-of-central-directory record \(the file is truncated/],
    ['cut-dir.pth', zip.subarray(0, zip.length - 30), /cut-dir\.pth: broken zip archive: .*truncated/],
    ['cut-legacy.pth', legacy.subarray(0, Math.floor(legacy.length * 0.9)), /cut-legacy\.pth: truncated: storage '\d+' needs bytes .*legacy torch\.save format/],
    ['cut-legacy-pickle.pth', legacy.subarray(0, 200), /cut-legacy-pickle\.pth: unreadable pickle at byte \d+: truncated.* \(legacy torch\.save format\)/],
    ['text.pth', new TextEncoder().encode('not a checkpoint\n'), /text\.pth: not a PyTorch checkpoint \(neither torch\.save's zip archive nor its legacy pickle stream; starts with bytes 6e 6f 74 20\)/],
    ['empty.pth', new Uint8Array(0), /empty\.pth: empty/],
  ];
  const tar = new Uint8Array(1024);
  tar.set(new TextEncoder().encode('ustar'), 257);
  cases.push(['old.tar', tar, /old\.tar: a tar archive: the tar format of PyTorch before 0\.4 is not read/]);
  for (const [name, bytes, message] of cases) {
    assert.throws(() => readTorchCheckpoint(bytes, name), message, name);
    // Through import-weights the same message reaches the user, and nothing is written.
    const p = join(dir, name);
    writeFileSync(p, bytes);
    assert.throws(() => importWeights(p, { backbone: 'resnet50-w16' }), message, name);
  }
});

test('acceptance 1: a torchvision ResNet-50 (width/16) from .pth, zip and legacy format, exported, equals PyTorch within 1e-4', async (t) => {
  const input = npy('resnet50-w16.input.npy');
  for (const file of ['resnet50-w16.pth', 'resnet50-w16.legacy-f16.pth']) {
    const { report, values } = importWeights(pth(file), { backbone: 'resnet50-w16' });
    assert.ok(report.ok, `${file}: ${JSON.stringify(report)}`);
    assert.equal(report.matched, 267);
    assert.equal(report.ignored.length, 53); // the 53 batch norms' num_batches_tracked
    const out = await runExported('resnet50-w16', values!, input, ['logits', 'layer4']);
    for (const o of ['logits', 'layer4']) {
      const r = worstToleranceRatio(out[o], npy(`resnet50-w16.${o}.npy`));
      t.diagnostic(`${file} ${o}: worst error / (1e-4·max|ref| + 1e-4·|ref|) = ${r.toExponential(2)}`);
      assert.ok(r <= 1, `${file} ${o}: ${r}`);
    }
  }
});

async function runCamModel(onnxPath: string, image: { shape: number[]; data: Float32Array }) {
  const session = await ort.InferenceSession.create(onnxPath, { logSeverityLevel: 3 });
  try {
    const res = await session.run({ image: new ort.Tensor('float32', image.data, image.shape) });
    const get = (n: string) => ({ shape: res[n].dims.map(Number), data: res[n].data as Float32Array });
    return { scores: get('scores'), raw_cams: get('raw_cams') };
  } finally {
    await session.release();
  }
}

test("acceptance 3: IRNet's and psa's CAM checkpoints import (--method cam), export (--run / --checkpoint) and reproduce their reference outputs", async (t) => {
  const cases = [
    { file: 'irn-resnet50-cam-w16.pth', backbone: 'resnet50-nodil-w16', scheme: 'IRNet resnet50_cam', out: join(dir, 'irn-run'), exportArgs: (o: string) => ['--run', o] },
    { file: 'psa-resnet38-cls-w16.pth', backbone: 'resnet38d-w16', scheme: 'psa / SEAM classification network', out: join(dir, 'psa.safetensors'), exportArgs: (o: string) => ['--checkpoint', o] },
  ];
  for (const c of cases) {
    const stem = c.file.replace(/\.pth$/, '');
    const imp = wsss('import-weights', '--from', pth(c.file), '--method', 'cam', '--backbone', c.backbone, '--out', c.out);
    assert.equal(imp.status, 0, imp.stderr);
    const summary = JSON.parse(imp.stdout.trim().split('\n').pop()!);
    assert.equal(summary.scheme, c.scheme);
    assert.equal(summary.unmatched + summary.missing + summary.mismatched, 0);
    const onnx = join(dir, `${stem}.onnx`);
    const exp = wsss('export', ...c.exportArgs(c.out), '--out', onnx);
    assert.equal(exp.status, 0, exp.stderr);
    const out = await runCamModel(onnx, npy(`${stem}.image.npy`));
    for (const o of ['scores', 'raw_cams'] as const) {
      const r = worstToleranceRatio(out[o], npy(`${stem}.${o}.npy`));
      t.diagnostic(`${c.file} ${o}: worst error / allowed = ${r.toExponential(2)}`);
      assert.ok(r <= 1, `${c.file} ${o}: ${r}`);
    }
  }
  // A classifier with another number of classes is refused with the count to give.
  const wrong = wsss('import-weights', '--from', pth('psa-resnet38-cls-w16.pth'), '--method', 'cam', '--backbone', 'resnet38d-w16', '--classes', 'a,b', '--out', join(dir, 'wrong.safetensors'));
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /head\.classifier\.weight: expected \[2, 256, 1, 1\], file has \[20, 256, 1, 1\] \(as 'fc8\.weight'\)/);
  assert.match(wrong.stderr, /give --classes with 20 names/);
  assert.ok(!readdirSync(dir).includes('wrong.safetensors'));
});
