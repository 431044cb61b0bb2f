// `wsss segment` beyond robust input: output naming when inputs share a stem or a file name,
// multi-scale CAM labels with --scales, --max-side shrinking, and usage errors.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { outputStems } from '../../cli/segment-run.ts';
import { camLabelMap, multiScaleCams } from '../../runtime/cam/multiscale-cams.ts';
import { openModelFile } from '../../runtime/node/open-model-file.ts';
import { decodeLabelPng } from '../../runtime/node/files/palette-png.ts';
import { pixelsToPlanarRgb } from '../../runtime/preprocess.ts';
import { lastJson, writeCamTinyModel, wsss } from './cli-fixtures.ts';

let dir: string;
let modelPath: string;
const W = 40;
const H = 32;
const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => ((i % 3) * 80 + Math.floor(i / 3 / W) * 5 + ((i / 3) % W) * 3) % 256);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-segment-'));
  modelPath = join(dir, 'm.onnx');
  writeCamTinyModel(modelPath);
  mkdirSync(join(dir, 'x'));
  mkdirSync(join(dir, 'y'));
  const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  for (const f of ['a.jpg', 'a.png', 'x/b.png', 'y/b.png', 'c.png']) writeFileSync(join(dir, f), png);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('output names: the stem, full file names when stems clash, and a clash of whole names is refused', () => {
  assert.deepEqual(outputStems(['p/cat.jpg', 'q/dog.png', 'r/cat.png', 's/bird']), ['cat.jpg', 'dog', 'cat.png', 'bird']);
  assert.deepEqual(outputStems(['x/b.png', 'y/b.png']), ['b.png', null]);
});

test('wsss segment: clashing names, --scales multi-scale CAM labels, --max-side', async () => {
  const out = join(dir, 'out');
  const files = ['a.jpg', 'a.png', 'x/b.png', 'y/b.png'].map((f) => join(dir, f));
  const r = wsss('segment', '--model', modelPath, '--ep', 'cpu', '--out', out, '--scales', '1,0.5', '--no-flip', ...files);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`failed: ${join(dir, 'y/b.png')}: another input has the same file name b\\.png`));
  assert.match(r.stderr, /1 of 4 input image\(s\) failed/);
  for (const f of ['a.jpg.png', 'a.jpg.overlay.png', 'a.png.png', 'a.png.overlay.png', 'b.png.png', 'b.png.overlay.png']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(lastJson(r.stdout).rule, 'multi-scale cams (1,0.5, max-flip-sum)');

  const model = await openModelFile(modelPath, { providers: ['cpu'] });
  try {
    const cams = await multiScaleCams((input) => model.run({ image: input }), { data: pixelsToPlanarRgb({ data: rgb, width: W, height: H, channels: 3 }), height: H, width: W }, { scales: [1, 0.5], flip: false, rule: 'max-flip-sum' });
    const got = decodeLabelPng(readFileSync(join(out, 'a.jpg.png')), 'a.jpg.png');
    assert.deepEqual(got.data, camLabelMap(cams, 0.15));
  } finally {
    await model.release();
  }

  const small = join(dir, 'small');
  const r2 = wsss('segment', '--model', modelPath, '--ep', 'cpu', '--out', small, '--max-side', '20', join(dir, 'c.png'));
  assert.equal(r2.status, 0, r2.stderr);
  const lab = decodeLabelPng(readFileSync(join(small, 'c.png')), 'c.png');
  assert.deepEqual([lab.width, lab.height], [20, 16]);
  const ov = await sharp(readFileSync(join(small, 'c.overlay.png'))).metadata();
  assert.deepEqual([ov.width, ov.height], [20, 16]);

  const bad = wsss('segment', '--model', join(dir, 'nope.onnx'), '--ep', 'cpu', '--out', small, join(dir, 'c.png'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /model file .*nope\.onnx does not exist/);
});
