// `wsss quantize`, `wsss export --precision` and `wsss inspect` on their outputs, through the
// real binary: files written, precision and calibration in the metadata, usage errors named.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { lastJson, writeCamTinyModel, wsss } from '../cam/cli-fixtures.ts';
import { syntheticImage } from '../web/fixture-model.ts';

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-quantize-cli-'));
  writeCamTinyModel(join(dir, 'fp32.onnx'));
  for (let s = 1; s <= 4; s++) await sharp(Buffer.from(syntheticImage(32, 32, s)), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(dir, `c${s}.png`));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('wsss quantize int8 (percentile) writes a calibrated model that inspect describes', () => {
  const out = join(dir, 'int8.onnx');
  const r = wsss('quantize', join(dir, 'fp32.onnx'), '--out', out, '--precision', 'int8', '--calibration', dir, '--calibration-images', '3', '--percentile', '99.9');
  assert.equal(r.status, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal(j.precision, 'int8');
  assert.equal(j.bytes, statSync(out).size);
  assert.ok((j.sizeRatio as number) < 0.5);
  assert.deepEqual({ ...(j.calibration as object) }, { method: 'percentile', percentile: 99.9, images: 3, data: dir, weights: 'int8 symmetric per output channel', activations: 'uint8 asymmetric per tensor' });
  const i = wsss('inspect', out);
  assert.equal(i.status, 0, i.stderr);
  assert.match(i.stdout, /precision: int8/);
  assert.match(i.stdout, /calibration: \{"method":"percentile","percentile":99\.9,"images":3/);
  assert.match(i.stdout, /QuantizeLinear/);
});

test('wsss export --precision fp16 writes an fp16 model; bad precision flags are usage errors', () => {
  const out = join(dir, 'fp16.onnx');
  const r = wsss('export', '--graph', 'cam-tiny', '--random-init', '--out', out, '--precision', 'fp16', '--verify');
  assert.equal(r.status, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal((j.precision as { precision: string }).precision, 'fp16');
  assert.ok(j.bytes as number < 0.55 * ((j.precision as { fp32Bytes: number }).fp32Bytes));
  assert.match(wsss('inspect', out).stdout, /precision: fp16/);

  const noCal = wsss('export', '--graph', 'cam-tiny', '--random-init', '--out', join(dir, 'x.onnx'), '--precision', 'int8');
  assert.equal(noCal.status, 2);
  assert.match(noCal.stderr, /--precision int8 needs --calibration DIR/);
  assert.equal(existsSync(join(dir, 'x.onnx')), false);
  const again = wsss('quantize', out, '--out', join(dir, 'y.onnx'), '--precision', 'int8', '--calibration', dir);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /fp16\.onnx: already fp16; quantize the float32 export instead/);
  assert.equal(existsSync(join(dir, 'y.onnx')), false);

  const cut = join(dir, 'cut.onnx');
  writeFileSync(cut, readFileSync(join(dir, 'fp32.onnx')).subarray(0, 50_000));
  const truncated = wsss('quantize', cut, '--out', join(dir, 'z.onnx'), '--precision', 'fp16');
  assert.equal(truncated.status, 1);
  assert.match(truncated.stderr, /cut\.onnx: not a readable ONNX model — the file is truncated or corrupt/);
  assert.equal(existsSync(join(dir, 'z.onnx')), false);
});
