// Acceptance 6 (robust input): a zero-byte file, a truncated JPEG, a CMYK JPEG, a 16-bit PNG, a
// grey PNG, an RGBA PNG, PNG bytes named .jpg, a PNG whose header claims 30000×30000 (plus a JPEG
// with an EXIF rotation) — through the shared decoder, `wsss segment` and `wsss pseudo-label`.
// Valid files must give exactly the outputs of processing their correctly converted pixels
// (computed here from the source pixels, not by the decoder under test, wherever the file is
// lossless); broken ones must be named with a reason while the rest still complete, and the
// commands must exit non-zero saying that inputs failed.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { camLabelMap, DEFAULT_MULTISCALE, multiScaleCams } from '../../runtime/cam/multiscale-cams.ts';
import { decodeImageFile, ImageDecodeError, MAX_DECODED_PIXELS } from '../../runtime/node/dataset/decode-image.ts';
import { decodeNpy } from '../../runtime/node/files/npy.ts';
import { openModelFile } from '../../runtime/node/open-model-file.ts';
import { decodeLabelPng, encodeIndexedPng } from '../../runtime/node/files/palette-png.ts';
import { composeOverlay } from '../../runtime/postprocess.ts';
import { pixelsToPlanarRgb, type PixelImage } from '../../runtime/preprocess.ts';
import { segmentPixels } from '../../runtime/segment.ts';
import type { OpenModel } from '../../runtime/session.ts';
import { vocPalette } from '../../runtime/voc-palette.ts';
import { CLASSES, lastJson, writeCamTinyModel, wsss } from './cli-fixtures.ts';

const W = 48;
const H = 40;

/** Smooth colour ramps with two solid blobs: JPEG-friendly, and CAMs that vary over the image. */
function sourceRgb(): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = 3 * (y * W + x);
      const blobA = (x - 14) ** 2 + (y - 12) ** 2 < 64;
      const blobB = (x - 34) ** 2 + (y - 27) ** 2 < 81;
      px[i] = blobA ? 220 : 30 + 3 * x;
      px[i + 1] = blobB ? 200 : 40 + 4 * y;
      px[i + 2] = blobA || blobB ? 40 : 120 + ((x + y) % 7);
    }
  }
  return px;
}

const rgb = sourceRgb();
const raw = (channels: 1 | 3 | 4) => ({ raw: { width: W, height: H, channels } });
const grey = Uint8Array.from({ length: W * H }, (_, i) => (rgb[3 * i] * 3 + rgb[3 * i + 1] * 5 + rgb[3 * i + 2] * 2) >> 3);
const rgba = Uint8Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? 255 - ((i >> 2) % 200) : rgb[3 * (i >> 2) + (i % 4)]));

/** The source turned 90° clockwise: what a viewer shows for EXIF orientation 6. */
function rotatedClockwise(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  // Output is H wide and W high: out(x', y') = src(x = y', y = H − 1 − x').
  for (let y2 = 0; y2 < W; y2++) for (let x2 = 0; x2 < H; x2++) for (let c = 0; c < 3; c++) out[3 * (y2 * H + x2) + c] = src[3 * ((H - 1 - x2) * W + y2) + c];
  return out;
}

/** A PNG signature + IHDR claiming width×height RGB + a tiny IDAT + IEND: a small file with a huge header. */
function pngClaiming(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(new Uint8Array(64))), chunk('IEND', new Uint8Array(0))]);
}

interface Case {
  file: string;
  bytes: Uint8Array;
  /** Exact RGB pixels the file must decode to (lossless files). */
  exact?: Uint8Array;
  /** Pixels it must decode close to (lossy files), with the largest mean absolute error allowed. */
  near?: { rgb: Uint8Array; width: number; height: number; meanAbs: number };
  /** For broken files: what the reason must say. */
  broken?: RegExp;
}

let dir: string;
let modelPath: string;
const expectedPixels = new Map<string, PixelImage>();
let model: OpenModel;
const cases: Case[] = [];
const byFile = (f: string) => cases.find((c) => c.file === f)!;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-robust-'));
  modelPath = join(dir, 'cam-tiny.onnx');
  writeCamTinyModel(modelPath);
  model = await openModelFile(modelPath, { providers: ['cpu'] });

  const jpeg = await sharp(rgb, raw(3)).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
  const rgb16 = await sharp(rgb, raw(3)).toColourspace('rgb16').png().toBuffer();
  const cmyk = await sharp(rgb, raw(3)).toColourspace('cmyk').jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
  const rotated = await sharp(rgb, raw(3)).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).withMetadata({ orientation: 6 }).toBuffer();
  // The generated files really are what their names say.
  assert.equal((await sharp(rgb16).metadata()).depth, 'ushort', '16-bit PNG');
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk', 'CMYK JPEG');
  assert.equal((await sharp(rotated).metadata()).orientation, 6, 'EXIF orientation 6');

  cases.push(
    { file: 'empty.jpg', bytes: new Uint8Array(0), broken: /empty file \(0 bytes\)/ },
    { file: 'truncated.jpg', bytes: jpeg.subarray(0, jpeg.length >> 1), broken: /cannot decode image, truncated or corrupt jpeg data/ },
    // CMYK's gamut is smaller than sRGB's: the round trip moves saturated colours (mean error ≈ 10);
    // reading the channels wrongly (as RGB, or ignoring K) is off by ≈ 100.
    { file: 'cmyk.jpg', bytes: cmyk, near: { rgb, width: W, height: H, meanAbs: 16 } },
    { file: 'rgb16.png', bytes: rgb16, exact: rgb },
    { file: 'grey.png', bytes: await sharp(grey, raw(1)).png().toBuffer(), exact: Uint8Array.from({ length: W * H * 3 }, (_, i) => grey[Math.floor(i / 3)]) },
    { file: 'rgba.png', bytes: await sharp(rgba, raw(4)).png().toBuffer(), exact: rgb },
    { file: 'png-bytes.jpg', bytes: await sharp(rgb, raw(3)).png().toBuffer(), exact: rgb },
    { file: 'huge.png', bytes: pngClaiming(30000, 30000), broken: /image of 30000×30000 pixels .* over the \d+-pixel limit \(refused from its header, before decoding\)/ },
    { file: 'exif-rotated.jpg', bytes: rotated, near: { rgb: rotatedClockwise(rgb), width: H, height: W, meanAbs: 3 } },
  );
  mkdirSync(join(dir, 'in'));
  for (const c of cases) writeFileSync(join(dir, 'in', c.file), c.bytes);
  // What each valid file must be processed as: its exact pixels, or for lossy files what the
  // decoder gives (the first test checks that it is close to the source).
  for (const c of cases.filter((x) => !x.broken)) {
    const px = c.exact ? { data: c.exact, width: W, height: H } : await decodeImageFile(join(dir, 'in', c.file));
    expectedPixels.set(c.file, { data: px.data, width: px.width, height: px.height, channels: 3 });
  }
});

after(async () => {
  await model?.release();
  rmSync(dir, { recursive: true, force: true });
});


test('the shared decoder: valid files give the correctly converted pixels, broken ones name the file and the reason', async () => {
  assert.ok(30000 * 30000 > MAX_DECODED_PIXELS);
  for (const c of cases) {
    const path = join(dir, 'in', c.file);
    if (c.broken) {
      await assert.rejects(decodeImageFile(path), (e: unknown) => {
        assert.ok(e instanceof ImageDecodeError, c.file);
        assert.equal(e.file, path);
        assert.match(e.reason, c.broken!);
        assert.ok(e.message.startsWith(path), e.message);
        return true;
      });
      continue;
    }
    const px = await decodeImageFile(path);
    assert.equal(px.channels, 3, c.file);
    if (c.exact) {
      assert.deepEqual([px.width, px.height], [W, H], c.file);
      assert.deepEqual(px.data, c.exact, `${c.file}: pixels`);
    } else {
      const n = c.near!;
      assert.deepEqual([px.width, px.height], [n.width, n.height], `${c.file}: size`);
      let err = 0;
      for (let i = 0; i < px.data.length; i++) err += Math.abs(px.data[i] - n.rgb[i]);
      const mean = err / px.data.length;
      assert.ok(mean < n.meanAbs, `${c.file}: mean abs error ${mean.toFixed(2)} vs the source (max ${n.meanAbs})`);
    }
  }
  // Content is judged from bytes, not names: text named .png is not an image.
  writeFileSync(join(dir, 'text.png'), 'hello, not an image');
  await assert.rejects(decodeImageFile(join(dir, 'text.png')), /text\.png is not a decodable image \(its first bytes 68 65 6c 6c 6f 2c 20 6e match none of JPEG, PNG/);
  await assert.rejects(decodeImageFile(join(dir, 'missing.jpg')), /missing\.jpg: file does not exist/);
  await assert.rejects(decodeImageFile(dir), /: a directory, not an image file/);
});

test('wsss segment: valid files segmented as their converted pixels, broken ones reported, exit 1', async () => {
  assert.equal(expectedPixels.size, 6);
  const out = join(dir, 'seg');
  const files = cases.map((c) => join(dir, 'in', c.file));
  const r = wsss('segment', '--model', modelPath, '--ep', 'cpu', '--out', out, ...files);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /wsss: 3 of 9 input image\(s\) failed/);
  const summary = lastJson(r.stdout) as { segmented: number; failed: number; failures: string[] };
  assert.equal(summary.segmented, 6);
  assert.equal(summary.failed, 3);
  for (const c of cases.filter((x) => x.broken)) {
    const line = r.stderr.split('\n').find((l) => l.startsWith(`failed: ${join(dir, 'in', c.file)}: `));
    assert.ok(line, `${c.file} is reported on stderr:\n${r.stderr}`);
    assert.match(line, c.broken!);
    assert.ok(summary.failures.some((f) => f.startsWith(join(dir, 'in', c.file)) && c.broken!.test(f)), `${c.file} in the summary`);
  }
  const palette = vocPalette(256);
  for (const [file, px] of expectedPixels) {
    const stem = file.replace(/\.[^.]+$/, '');
    const seg = await segmentPixels(model, px, {});
    assert.deepEqual(new Uint8Array(readFileSync(join(out, `${stem}.png`))), encodeIndexedPng(seg.labels, palette), `${file}: label PNG`);
    const overlay = composeOverlay(seg.processedPixels.data, seg.labels, palette, 0.5);
    const { data, info } = await sharp(readFileSync(join(out, `${stem}.overlay.png`))).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [px.width, px.height, 3], `${file}: overlay size`);
    const want = Uint8Array.from({ length: px.width * px.height * 3 }, (_, i) => overlay[4 * Math.floor(i / 3) + (i % 3)]);
    assert.deepEqual(new Uint8Array(data), want, `${file}: overlay pixels`);
  }
});

test('wsss pseudo-label over a data set holding the same files: valid ones labelled exactly, broken ones reported, exit 1', async () => {
  const data = join(dir, 'voc');
  mkdirSync(join(data, 'JPEGImages'), { recursive: true });
  mkdirSync(join(data, 'ImageSets', 'Segmentation'), { recursive: true });
  // VOC names every image <id>.jpg, whatever its bytes.
  const id = (file: string) => file.replace(/[.-]/g, '_');
  for (const c of cases) writeFileSync(join(data, 'JPEGImages', `${id(c.file)}.jpg`), c.bytes);
  writeFileSync(join(data, 'ImageSets', 'Segmentation', 'train.txt'), cases.map((c) => id(c.file)).join('\n') + '\n');
  writeFileSync(join(data, 'cls_labels.json'), JSON.stringify(Object.fromEntries(cases.map((c, i) => [id(c.file), CLASSES.map((_, k) => (k === i % 6 ? 1 : 0))]))));
  const out = join(dir, 'pseudo');
  const r = wsss('pseudo-label', '--model', modelPath, '--data', data, '--out', out, '--ep', 'cpu', '--workers', '1');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /wsss: 3 of 9 image\(s\) failed/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { labelled: number; failed: number; failures: { id: string; file: string; reason: string }[] };
  assert.equal(summary.labelled, 6);
  assert.deepEqual(summary.failures.map((f) => f.id), ['empty_jpg', 'truncated_jpg', 'huge_png'], 'failures in list order');
  for (const c of cases.filter((x) => x.broken)) {
    const f = summary.failures.find((x) => x.id === id(c.file))!;
    assert.equal(f.file, join(data, 'JPEGImages', `${id(c.file)}.jpg`));
    assert.match(f.reason, c.broken!);
    assert.ok(r.stderr.includes(`failed: ${f.file}: ${f.reason}`), `${c.file} reported on stderr`);
  }
  for (const [file, px] of expectedPixels) {
    const cams = await multiScaleCams((input) => model.run({ image: input }), { data: pixelsToPlanarRgb(px), height: px.height, width: px.width }, DEFAULT_MULTISCALE);
    const labels = decodeLabelPng(readFileSync(join(out, 'labels', `${id(file)}.png`)), file);
    assert.deepEqual([labels.width, labels.height], [px.width, px.height], `${file}: label size`);
    assert.deepEqual(labels.data, camLabelMap(cams, 0.15), `${file}: labels`);
    const npy = decodeNpy(readFileSync(join(out, 'cams', `${id(file)}.npy`)), file);
    assert.deepEqual(npy.shape, [6, px.height, px.width]);
    let worst = 0;
    for (let i = 0; i < cams.cams.length; i++) worst = Math.max(worst, Math.abs((npy.data as Float32Array)[i] - cams.cams[i]));
    assert.ok(worst <= 1e-6, `${file}: CAMs differ by ${worst}`);
  }
});
