// Label maps as PNG files, read and written by index, not by colour.
//
// VOC and our synthetic benchmark store labels as 8-bit palette PNGs (pixel value = label, the
// palette only colours it); SBD's SegmentationClassAug stores plain 8-bit grey values; some tools
// save RGB images in the VOC colours. sharp decodes every PNG to colours, which loses the index
// of palette images, so labels are decoded here directly from the PNG chunks (zlib + scanline
// filters); RGB(A) label images are mapped back through the VOC palette. Writing is also done
// here because sharp's palette output quantises colours and cannot keep chosen indices. Encoding
// is deterministic: fixed zlib level, no timestamps or text chunks.

import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { vocLabelOfColour, vocPalette } from '../../voc-palette.ts';

export interface LabelImage {
  width: number;
  height: number;
  /** One byte per pixel, row-major. */
  data: Uint8Array;
}

/** A PNG that cannot be read as a label map; the message names the file and the problem. */
export class LabelPngError extends Error {
  override name = 'LabelPngError';
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function ihdr(width: number, height: number, colourType: number): Uint8Array {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  d[8] = 8; // bit depth
  d[9] = colourType;
  // compression 0, filter 0, interlace 0
  return d;
}

/** Scanlines with filter type 0 (none): label maps compress well without prediction. */
function rawScanlines(data: Uint8Array, width: number, height: number): Uint8Array {
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return raw;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function checkSize(data: Uint8Array, width: number, height: number): void {
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height)) || data.length !== width * height)
    throw new Error(`PNG encode: ${data.length} bytes do not make a ${width}×${height} single-channel image`);
}

/**
 * An 8-bit palette PNG; palette = RGB triples (default: the VOC colour map, 256 entries).
 * `level`: zlib level, 6 by default; 1 encodes about 7× faster for files about 20% larger, what a
 * batch writer of many label maps wants.
 */
export function encodeIndexedPng(img: LabelImage, palette: Uint8Array = vocPalette(256), level = 6): Uint8Array {
  checkSize(img.data, img.width, img.height);
  if (palette.length % 3 || palette.length === 0 || palette.length > 768) throw new Error(`PNG encode: palette of ${palette.length} bytes is not 1–256 RGB triples`);
  const idat = deflateSync(rawScanlines(img.data, img.width, img.height), { level });
  return concat([PNG_SIGNATURE, chunk('IHDR', ihdr(img.width, img.height, 3)), chunk('PLTE', palette), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** An 8-bit greyscale PNG (saliency maps, SBD-style label maps). */
export function encodeGreyPng(img: LabelImage): Uint8Array {
  checkSize(img.data, img.width, img.height);
  const idat = deflateSync(rawScanlines(img.data, img.width, img.height), { level: 6 });
  return concat([PNG_SIGNATURE, chunk('IHDR', ihdr(img.width, img.height, 0)), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes a label PNG to one label per pixel: palette → index, grey → value, RGB(A) → the
 * label of its VOC colour. `name` (usually the path) goes into error messages.
 */
export function decodeLabelPng(bytes: Uint8Array, name: string): LabelImage {
  const fail = (why: string): never => {
    throw new LabelPngError(`${name}: ${why}`);
  };
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colourType = -1;
  let interlace = 0;
  let sawEnd = false;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) fail('truncated (chunk header cut off)');
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    if (pos + 12 + len > bytes.length) fail(`truncated (${type} chunk cut off)`);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + len)) !== view.getUint32(pos + 8 + len)) fail(`corrupt (CRC mismatch in ${type} chunk)`);
    if (type === 'IHDR') {
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = v.getUint32(0);
      height = v.getUint32(4);
      depth = data[8];
      colourType = data[9];
      interlace = data[12];
    } else if (type === 'PLTE') palette = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    pos += 12 + len;
  }
  if (colourType < 0) fail('no IHDR chunk');
  if (!sawEnd) fail('truncated (no IEND chunk)');
  if (!(colourType in CHANNELS)) fail(`unsupported colour type ${colourType}`);
  if (interlace) fail('interlaced PNGs are not supported for label maps');
  if (depth === 16) fail('16-bit PNGs are not supported for label maps (labels are 0–255)');
  if (depth !== 8 && !(depth < 8 && (colourType === 0 || colourType === 3))) fail(`unsupported bit depth ${depth} for colour type ${colourType}`);
  if (!width || !height) fail(`empty image ${width}×${height}`);

  let raw: Uint8Array;
  try {
    raw = inflateSync(concat(idat));
  } catch (e) {
    return fail(`corrupt image data (${(e as Error).message})`);
  }
  const channels = CHANNELS[colourType];
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3); // filter byte distance
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  if (raw.length < height * (stride + 1)) fail(`truncated image data (${raw.length} of ${height * (stride + 1)} bytes)`);

  // Undo the per-scanline filters in place.
  const lines = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = lines.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? lines.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= bpp ? prev[x - bpp] : 0;
      let v = src[x];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: v += paeth(a, b, c); break;
        default: fail(`corrupt image data (unknown filter ${filter} on row ${y})`);
      }
      cur[x] = v & 255;
    }
  }

  const out = new Uint8Array(width * height);
  if (channels === 1) {
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v: number;
        if (depth === 8) v = lines[y * stride + x];
        else {
          const byte = lines[y * stride + Math.floor(x / perByte)];
          v = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
        }
        out[y * width + x] = v;
      }
    }
    if (colourType === 3 && palette && out.some((v) => v * 3 >= palette!.length)) fail('pixel index beyond the palette');
    return { width, height, data: out };
  }
  if (colourType === 4) fail('grey+alpha PNGs are not label maps');
  // RGB or RGBA in VOC colours.
  for (let i = 0; i < width * height; i++) {
    const o = i * channels;
    const label = vocLabelOfColour(lines[o], lines[o + 1], lines[o + 2]);
    if (label < 0) fail(`colour (${lines[o]},${lines[o + 1]},${lines[o + 2]}) at pixel (${i % width},${Math.floor(i / width)}) is not a VOC palette colour`);
    out[i] = label;
  }
  return { width, height, data: out };
}

export async function readLabelPng(path: string): Promise<LabelImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LabelPngError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${(e as Error).message})`);
  }
  return decodeLabelPng(bytes, path);
}
