// runtime/node/files/npy.ts: .npy read/write round trips, numpy's header layout, fixture files, errors.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { decodeNpy, encodeNpy, readNpy, readNpyFloat32, writeNpy } from '../runtime/node/files/npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsss-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('float32, uint8 and int64 arrays round-trip; the header is padded to 64 bytes as numpy writes it', async () => {
  const cases = [
    { shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1) },
    { shape: [5], data: Uint8Array.from([0, 1, 127, 128, 255]) },
    { shape: [2, 2], data: BigInt64Array.from([0n, -1n, 2n ** 40n, 255n]) },
    { shape: [], data: Float32Array.from([3.5]) },
  ];
  for (const c of cases) {
    const bytes = encodeNpy(c.shape, c.data);
    const headerLen = bytes[8] | (bytes[9] << 8);
    assert.equal((10 + headerLen) % 64, 0);
    const back = decodeNpy(bytes);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(back.data, c.data);
  }
  const p = join(dir, 'a.npy');
  await writeNpy(p, [2, 3, 4], cases[0].data);
  assert.deepEqual(readNpyFloat32(p).data, cases[0].data);
  assert.match(new TextDecoder('latin1').decode(readFileSync(p).subarray(10, 80)), /'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3, 4\)/);
});

const fixture = resolve(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'resnet38d-w16');

test('reads the fixtures numpy wrote (float32 NCHW and uint8 NHWC)', { skip: !existsSync(fixture) && 'fixture missing' }, () => {
  const x = readNpyFloat32(join(fixture, 'input.npy'));
  const raw = readNpy(join(fixture, 'input_raw_uint8.npy'));
  assert.deepEqual(x.shape, [2, 3, 64, 80]);
  assert.deepEqual(raw.shape, [2, 64, 80, 3]);
  assert.equal(raw.dtype, 'uint8');
  // input = (raw/255 − mean)/std per channel: check pixel (0, 0) of image 0, channel 0 (R).
  const r = (raw.data as Uint8Array)[0];
  assert.ok(Math.abs(x.data[0] - (r / 255 - 0.485) / 0.229) < 1e-5);
});

test('bad files are named in the error', () => {
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'x.npy'), /x\.npy: not a readable \.npy file: bad magic bytes/);
  const good = encodeNpy([4], Float32Array.from([1, 2, 3, 4]));
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 4), 't.npy'), /t\.npy: .*data holds 12 bytes/);
  const fortran = encodeNpy([2, 2], Float32Array.from([1, 2, 3, 4]));
  const text = new TextDecoder('latin1').decode(fortran).replace("'fortran_order': False", "'fortran_order': True ");
  assert.throws(() => decodeNpy(Uint8Array.from(text, (ch) => ch.charCodeAt(0)), 'f.npy'), /Fortran-order/);
  assert.throws(() => readNpyFloat32(join(dir, 'missing.npy')), /ENOENT/);
});
