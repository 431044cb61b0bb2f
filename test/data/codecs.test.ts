// File codecs of the data layer: label PNGs (ours and other writers'), pickled .npy dicts
// (bytes made by numpy itself and by our test writer) and CAM files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readCamFile } from '../../runtime/node/files/cam-file.ts';
import { encodeNpy } from '../../runtime/node/files/npy.ts';
import { decodeObjectNpy, unpickle, type PickledArray } from '../../runtime/node/files/npy-pickle.ts';
import { decodeLabelPng, encodeGreyPng, encodeIndexedPng } from '../../runtime/node/files/palette-png.ts';
import { vocPalette } from '../../runtime/voc-palette.ts';
import { encodePickledDictNpy } from './npy-dict-writer.ts';

const W = 29;
const H = 17;
const labels = Uint8Array.from({ length: W * H }, (_, i) => (i % 7 === 3 ? 255 : (i * 5 + (i >> 4)) % 21));

test('palette PNG: our writer round-trips indices; sharp sees the VOC colours', async () => {
  const png = encodeIndexedPng({ width: W, height: H, data: labels });
  assert.deepEqual(decodeLabelPng(png, 'x.png').data, labels);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const pal = vocPalette();
  for (const i of [0, 1, 3, 100, W * H - 1]) assert.deepEqual([...data.subarray(i * info.channels, i * info.channels + 3)], [...pal.subarray(labels[i] * 3, labels[i] * 3 + 3)]);
  // Deterministic bytes.
  assert.deepEqual(encodeIndexedPng({ width: W, height: H, data: labels }), png);
});

test('label PNGs from other writers: grey (SBD style, filtered scanlines) and RGB in VOC colours', async () => {
  const grey = await sharp(Buffer.from(labels), { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png({ adaptiveFiltering: true }).toBuffer();
  assert.deepEqual(decodeLabelPng(grey, 'grey.png').data, labels);
  const pal = vocPalette();
  const rgb = new Uint8Array(W * H * 3);
  labels.forEach((l, i) => rgb.set(pal.subarray(l * 3, l * 3 + 3), i * 3));
  const rgbPng = await sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } }).png({ adaptiveFiltering: true }).toBuffer();
  assert.deepEqual(decodeLabelPng(rgbPng, 'rgb.png').data, labels);
  const g2 = encodeGreyPng({ width: W, height: H, data: labels });
  assert.deepEqual(decodeLabelPng(g2, 'g2.png').data, labels);
});

test('damaged label PNGs give an error naming the file and the problem', () => {
  const png = encodeIndexedPng({ width: W, height: H, data: labels });
  assert.throws(() => decodeLabelPng(png.subarray(0, png.length - 30), 'cut.png'), /cut\.png: truncated/);
  const flipped = png.slice();
  flipped[png.length - 20] ^= 0xff;
  assert.throws(() => decodeLabelPng(flipped, 'bad.png'), /bad\.png: corrupt \(CRC mismatch in IDAT chunk\)/);
  assert.throws(() => decodeLabelPng(new TextEncoder().encode('not a png at all'), 'txt.png'), /txt\.png: not a PNG file/);
  // RGB with a colour outside the palette.
  const odd = new Uint8Array(W * H * 3).fill(17);
  return sharp(Buffer.from(odd), { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer()
    .then((b) => assert.throws(() => decodeLabelPng(b, 'odd.png'), /odd\.png: colour \(17,17,17\) at pixel \(0,0\) is not a VOC palette colour/));
});

// Made by numpy 2.4: np.save(f, {'2007_000032': onehot(0), '2007_000039': onehot(1, 19)}) (pickle protocol 4),
// and the same dict with the int keys 2007000032 / 2007000039 pickled with protocol 2 (bytes via _codecs.encode).
const NUMPY_P4 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnfE8nLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqABJWmAQAAAAAAAIwWbnVtcHkuX2NvcmUubXVsdGlhcnJheZSMDF9yZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOUSwCFlEMBYpSHlFKUKEsBKWgDjAVkdHlwZZSTlIwCTziUiYiHlFKUKEsDjAF8lE5OTkr/////Sv////9LP3SUYoldlH2UKIwLMjAwN18wMDAwMzKUaAJoBUsAhZRoB4eUUpQoSwFLFIWUaAuMAmY0lImIh5RSlChLA4wBPJROTk5K/////0r/////SwB0lGKJQ1AAAIA/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJR0lGKMCzIwMDdfMDAwMDM5lGgCaAVLAIWUaAeHlFKUKEsBSxSFlGgaiUNQAAAAAAAAgD8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgD+UdJRidWF0lGIu';
const NUMPY_P2_INT_KEYS =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnfE8nLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqAAmNudW1weS5fY29yZS5tdWx0aWFycmF5Cl9yZWNvbnN0cnVjdApxAGNudW1weQpuZGFycmF5CnEBSwCFcQJjX2NvZGVjcwplbmNvZGUKcQNYAQAAAGJxBFgGAAAAbGF0aW4xcQWGcQZScQeHcQhScQkoSwEpY251bXB5CmR0eXBlCnEKWAIAAABPOHELiYiHcQxScQ0oSwNYAQAAAHxxDk5OTkr/////Sv////9LP3RxD2KJXXEQfXERKErgY6B3aABoAUsAhXESaAeHcRNScRQoSwFLFIVxFWgKWAIAAABmNHEWiYiHcRdScRgoSwNYAQAAADxxGU5OTkr/////Sv////9LAHRxGmKJaANYUQAAAAAAwoA/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAHEbaAWGcRxScR10cR5iSudjoHdoAGgBSwCFcR9oB4dxIFJxIShLAUsUhXEiaBiJaANYUgAAAAAAAAAAAMKAPwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADCgD9xI2gFhnEkUnEldHEmYnVhdHEnYi4=';

function hot(a: PickledArray): number[] {
  return [...(a.data as Float32Array)].flatMap((v, i) => (v ? [i] : []));
}

test('pickled .npy dicts written by numpy (protocols 4 and 2, str and int keys)', () => {
  const p4 = decodeObjectNpy(Buffer.from(NUMPY_P4, 'base64'), 'p4.npy') as Map<unknown, PickledArray>;
  assert.deepEqual([...p4.keys()], ['2007_000032', '2007_000039']);
  assert.equal(p4.get('2007_000039')!.dtype, '<f4');
  assert.deepEqual(p4.get('2007_000039')!.shape, [20]);
  assert.deepEqual(hot(p4.get('2007_000032')!), [0]);
  assert.deepEqual(hot(p4.get('2007_000039')!), [1, 19]);
  const p2 = decodeObjectNpy(Buffer.from(NUMPY_P2_INT_KEYS, 'base64'), 'p2.npy') as Map<unknown, PickledArray>;
  assert.deepEqual([...p2.keys()], [2007000032, 2007000039]);
  assert.deepEqual(hot(p2.get(2007000039)!), [1, 19]);
});

test('the test writer produces what numpy produces, and foreign globals are refused', () => {
  const bytes = encodePickledDictNpy([
    ['2007_000032', { shape: [20], data: Float32Array.from({ length: 20 }, (_, i) => (i === 0 ? 1 : 0)) }],
    [2007000039, { shape: [20], data: Float32Array.from({ length: 20 }, (_, i) => (i === 1 || i === 19 ? 1 : 0)) }],
  ]);
  const d = decodeObjectNpy(bytes, 'w.npy') as Map<unknown, PickledArray>;
  assert.deepEqual(hot(d.get('2007_000032')!), [0]);
  assert.deepEqual(hot(d.get(2007000039)!), [1, 19]);
  // c os\nsystem\n (echo) R . — must never run.
  const evil = Uint8Array.from([0x80, 2, ...new TextEncoder().encode('cos\nsystem\n'), 0x58, 4, 0, 0, 0, ...new TextEncoder().encode('echo'), 0x85, 0x52, 0x2e]);
  assert.throws(() => unpickle(evil, 'evil.pkl'), /evil\.pkl: pickle refers to os\.system/);
  assert.throws(() => decodeObjectNpy(bytes.subarray(0, bytes.length - 40), 'cut.npy'), /cut\.npy: unreadable pickle .*truncated/);
});

test('CAM files: dense [K,H,W], {class: map} dicts and {keys, high_res} dicts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsss-cam-'));
  try {
    const h = 3;
    const w = 4;
    const dense = Float32Array.from({ length: 5 * h * w }, (_, i) => i / 100);
    writeFileSync(join(dir, 'dense.npy'), encodeNpy([5, h, w], dense));
    const a = await readCamFile(join(dir, 'dense.npy'), 6);
    assert.equal(a.dense, true);
    assert.deepEqual(a.labels, [1, 2, 3, 4, 5]);
    assert.deepEqual([...a.maps[2]], [...dense.subarray(2 * h * w, 3 * h * w)]);
    await assert.rejects(readCamFile(join(dir, 'dense.npy'), 4), /dense\.npy: 5 channels, expected one per foreground class \(3\)/);

    const m0 = Float32Array.from({ length: h * w }, (_, i) => i);
    const m4 = Float32Array.from({ length: h * w }, (_, i) => -i);
    writeFileSync(join(dir, 'dict.npy'), encodePickledDictNpy([[4, { shape: [h, w], data: m4 }], [0, { shape: [h, w], data: m0 }]]));
    const b = await readCamFile(join(dir, 'dict.npy'), 6);
    assert.equal(b.dense, false);
    assert.deepEqual(b.labels, [1, 5]);
    assert.deepEqual([...b.maps[1]], [...m4]);
    await assert.rejects(readCamFile(join(dir, 'dict.npy'), 5), /class key 4 is outside the 4 foreground classes/);

    const stack = Float32Array.from({ length: 2 * h * w }, (_, i) => i / 10);
    writeFileSync(join(dir, 'keyed.npy'), encodeKeyed(h, w, stack));
    const c = await readCamFile(join(dir, 'keyed.npy'), 6);
    assert.deepEqual(c.labels, [3, 4]);
    assert.deepEqual([...c.maps[1]], [...stack.subarray(h * w)]);
    await assert.rejects(readCamFile(join(dir, 'none.npy'), 6), /none\.npy: CAM file not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** {'keys': int64[2], 'high_res': float32[2,h,w]} at the top level (IRN/VWE style). */
function encodeKeyed(h: number, w: number, stack: Float32Array): Uint8Array {
  return encodePickledDictNpy([
    ['keys', { shape: [2], data: BigInt64Array.of(2n, 3n) }],
    ['high_res', { shape: [2, h, w], data: stack }],
  ]);
}
