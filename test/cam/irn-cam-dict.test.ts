// The pickle writer (runtime/node/files/npy-pickle-writer.ts) and IRNet-style CAM dicts:
// round trips through our pickle reader, through numpy itself when python3 + numpy are
// installed (skipped otherwise), and `wsss pseudo-label --cam-format irn-dict` against the dense
// CAMs of the same run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readCamFile } from '../../runtime/node/files/cam-file.ts';
import { decodeNpy } from '../../runtime/node/files/npy.ts';
import { decodeObjectNpy, unpickle, type PickledArray } from '../../runtime/node/files/npy-pickle.ts';
import { encodeIrnCamDict, encodeObjectNpy, pickle, type PickleInput } from '../../runtime/node/files/npy-pickle-writer.ts';
import { writeCamTinyModel, wsss } from './cli-fixtures.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-irn-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sample = (): Map<string | number, PickleInput> =>
  new Map<string | number, PickleInput>([
    ['small', 7],
    ['two-byte', 40000],
    ['negative', -3],
    ['four-byte', -2_000_000_000],
    ['beyond-int32', 2 ** 40],
    ['bigint', -(2n ** 70n) + 1n],
    ['float', 0.1],
    ['text', 'héllo ✓'],
    ['flags', [true, false, null]],
    [5, 'int key'],
    ['nested', new Map<string, PickleInput>([['inner', [1, 2.5, 'x']]])],
    ['f4', { shape: [2, 3], data: Float32Array.of(0, 0.5, -1, 3.25, 1e-8, 65504) }],
    ['f8', { shape: [1], data: Float64Array.of(Math.PI) }],
    ['i4', { shape: [3], data: Int32Array.of(-1, 0, 2 ** 31 - 1) }],
    ['i8', { shape: [2], data: BigInt64Array.of(-5n, 2n ** 62n) }],
    ['u1', { shape: [2, 2], data: Uint8Array.of(0, 1, 128, 255) }],
    ['scalar-array', { shape: [], data: Float32Array.of(42) }],
    ['big-array', { shape: [300], data: Float32Array.from({ length: 300 }, (_, i) => i / 3) }],
  ]);

const arr = (v: unknown) => v as PickledArray;

test('pickle writer: every supported value comes back unchanged through the pickle reader', () => {
  const back = unpickle(pickle(sample()), 'sample') as Map<unknown, unknown>;
  assert.ok(back instanceof Map);
  assert.equal(back.get('small'), 7);
  assert.equal(back.get('two-byte'), 40000);
  assert.equal(back.get('negative'), -3);
  assert.equal(back.get('four-byte'), -2_000_000_000);
  assert.equal(back.get('beyond-int32'), 2 ** 40);
  assert.equal(back.get('bigint'), -(2n ** 70n) + 1n);
  assert.equal(back.get('float'), 0.1);
  assert.equal(back.get('text'), 'héllo ✓');
  assert.deepEqual(back.get('flags'), [true, false, null]);
  assert.equal(back.get(5), 'int key');
  assert.deepEqual((back.get('nested') as Map<string, unknown>).get('inner'), [1, 2.5, 'x']);
  assert.deepEqual(arr(back.get('f4')).shape, [2, 3]);
  assert.equal(arr(back.get('f4')).dtype, '<f4');
  assert.deepEqual(arr(back.get('f4')).data, Float32Array.of(0, 0.5, -1, 3.25, 1e-8, 65504));
  assert.deepEqual(arr(back.get('f8')).data, Float64Array.of(Math.PI));
  assert.deepEqual(arr(back.get('i4')).data, Int32Array.of(-1, 0, 2 ** 31 - 1));
  assert.deepEqual(arr(back.get('i8')).data, BigInt64Array.of(-5n, 2n ** 62n));
  assert.equal(arr(back.get('u1')).dtype, '|u1');
  assert.deepEqual(arr(back.get('u1')).data, Uint8Array.of(0, 1, 128, 255));
  assert.deepEqual(arr(back.get('scalar-array')).shape, []);
  assert.deepEqual(arr(back.get('scalar-array')).data, Float32Array.of(42));
  assert.deepEqual(arr(back.get('big-array')).data, Float32Array.from({ length: 300 }, (_, i) => i / 3));
  // np.save layout: a 0-d object array around the value, unwrapped by decodeObjectNpy as .item() does.
  const viaNpy = decodeObjectNpy(encodeObjectNpy(sample()), 'sample.npy') as Map<unknown, unknown>;
  assert.equal(viaNpy.get('text'), 'héllo ✓');
  assert.throws(() => pickle({ shape: [2, 2], data: new Float32Array(3) }), /shape \[2, 2\] but 3 values/);
});

test('IRN CAM dict: keys, stride-4 cam and high_res, read back by the CAM file reader as the kept classes', async () => {
  const hr = Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => (i % 11) / 10);
  const st = Float32Array.from({ length: 2 * 2 * 2 }, (_, i) => i / 8);
  const bytes = encodeIrnCamDict([0, 3], { shape: [2, 2, 2], data: st }, { shape: [2, 5, 7], data: hr });
  const v = decodeObjectNpy(bytes, 'irn.npy') as Map<string, unknown>;
  assert.deepEqual([...v.keys()], ['keys', 'cam', 'high_res']);
  assert.equal(arr(v.get('keys')).dtype, '<i8');
  assert.deepEqual(arr(v.get('keys')).data, BigInt64Array.of(0n, 3n));
  assert.deepEqual(arr(v.get('cam')).shape, [2, 2, 2]);
  assert.deepEqual(arr(v.get('high_res')).data, hr);
  writeFileSync(join(dir, 'irn.npy'), bytes);
  const cams = await readCamFile(join(dir, 'irn.npy'), 7);
  assert.deepEqual(cams.labels, [1, 4], '0-based keys → labels');
  assert.deepEqual([cams.width, cams.height, cams.dense], [7, 5, false]);
  assert.deepEqual(cams.maps[1], hr.subarray(35));
});

const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
test('numpy reads what the writer writes (np.load(..., allow_pickle=True).item())', { skip: numpy.status === 0 ? false : 'python3 with numpy is not installed' }, () => {
  writeFileSync(join(dir, 'sample.npy'), encodeObjectNpy(sample()));
  const py = `
import json, sys, warnings
warnings.simplefilter('error')  # a deprecated module path in the pickle would fail here
import numpy as np
d = np.load(sys.argv[1], allow_pickle=True).item()
def out(v):
    if isinstance(v, np.ndarray): return {'dtype': v.dtype.str, 'shape': list(v.shape), 'values': [str(x) for x in v.ravel().tolist()]}
    if isinstance(v, dict): return {str(k): out(x) for k, x in v.items()}
    if isinstance(v, list): return [out(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool): return str(v)
    return v
print(json.dumps({str(k): out(v) for k, v in d.items()}))
`;
  const r = spawnSync('python3', ['-c', py, join(dir, 'sample.npy')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.equal(d.small, '7');
  assert.equal(d['two-byte'], '40000');
  assert.equal(d['four-byte'], '-2000000000');
  assert.equal(d.bigint, String(-(2n ** 70n) + 1n));
  assert.equal(d.float, 0.1);
  assert.equal(d.text, 'héllo ✓');
  assert.deepEqual(d.flags, [true, false, null]);
  assert.equal(d['5'], 'int key');
  assert.deepEqual(d.nested, { inner: ['1', 2.5, 'x'] });
  assert.deepEqual({ ...d.f4, values: d.f4.values.map(Number) }, { dtype: '<f4', shape: [2, 3], values: [0, 0.5, -1, 3.25, Math.fround(1e-8), 65504] });
  assert.deepEqual(d.f8.values.map(Number), [Math.PI]);
  assert.deepEqual(d.i4, { dtype: '<i4', shape: [3], values: ['-1', '0', String(2 ** 31 - 1)] });
  assert.deepEqual(d.i8, { dtype: '<i8', shape: [2], values: ['-5', String(2n ** 62n)] });
  assert.deepEqual(d.u1, { dtype: '|u1', shape: [2, 2], values: ['0', '1', '128', '255'] });
  assert.deepEqual(d['scalar-array'], { dtype: '<f4', shape: [], values: ['42.0'] });
  assert.equal(d['big-array'].values.length, 300);
});

test('wsss pseudo-label --cam-format irn-dict: the image classes of the dense CAMs, plus stride-4 maps; same label maps', () => {
  const data = join(dir, 'synth');
  const model = join(dir, 'cam-tiny.onnx');
  writeCamTinyModel(model);
  assert.equal(wsss('synth', '--preset', 'tiny', '--train', '6', '--val', '1', '--out', data).status, 0);
  const run = (out: string, format: string) => {
    const r = wsss('pseudo-label', '--model', model, '--data', data, '--out', out, '--ep', 'cpu', '--use-image-labels', '--workers', '1', '--cam-format', format);
    assert.equal(r.status, 0, r.stderr);
  };
  run(join(dir, 'dense'), 'npy');
  run(join(dir, 'irn'), 'irn-dict');
  const clsLabels = JSON.parse(readFileSync(join(data, 'cls_labels.json'), 'utf8')) as Record<string, number[]>;
  const ids = readdirSync(join(dir, 'irn', 'cams')).map((f) => f.replace(/\.npy$/, ''));
  assert.equal(ids.length, 6);
  for (const id of ids) {
    assert.ok(readFileSync(join(dir, 'irn', 'labels', `${id}.png`)).equals(readFileSync(join(dir, 'dense', 'labels', `${id}.png`))), `${id}: label maps`);
    const dense = decodeNpy(readFileSync(join(dir, 'dense', 'cams', `${id}.npy`)), id);
    const [c, h, w] = dense.shape;
    const d = decodeObjectNpy(readFileSync(join(dir, 'irn', 'cams', `${id}.npy`)), id) as Map<string, unknown>;
    const keys = Array.from(arr(d.get('keys')).data as BigInt64Array, Number);
    assert.deepEqual(keys, clsLabels[id].flatMap((v, k) => (v ? [k] : [])), `${id}: keys = the image's classes`);
    const highRes = arr(d.get('high_res'));
    assert.deepEqual(highRes.shape, [keys.length, h, w]);
    keys.forEach((k, j) => assert.deepEqual(highRes.data.slice(j * h * w, (j + 1) * h * w), (dense.data as Float32Array).slice(k * h * w, (k + 1) * h * w), `${id}: high_res of class ${k}`));
    const strided = arr(d.get('cam'));
    const sh = Math.floor((h - 1) / 4) + 1;
    const sw = Math.floor((w - 1) / 4) + 1;
    assert.deepEqual(strided.shape, [keys.length, sh, sw]);
    for (let j = 0; j < keys.length; j++) {
      const plane = (strided.data as Float32Array).subarray(j * sh * sw, (j + 1) * sh * sw);
      const peak = Math.max(...plane);
      // Divided by (max + 1e-5): the peak sits just below 1 unless the class never fires.
      assert.ok(peak === 0 || (peak > 0.99 && peak < 1), `${id}: strided class ${keys[j]} peak ${peak}`);
    }
    assert.ok(c >= keys.length);
  }
});
