// NumPy .npy files (format versions 1.0–3.0), C order, little-endian: the format of the
// reference fixtures and of label maps / CAMs that Python tools read back.
//
// Reading accepts float32, float64 (converted to float32), uint8, int32 and int64; writing
// produces float32, uint8 or int64 (version 1.0, header padded to a multiple of 64 bytes as
// numpy itself writes it).

import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.ts';

export type NpyDtype = 'float32' | 'uint8' | 'int32' | 'int64';

export type NpyData = Float32Array | Uint8Array | Int32Array | BigInt64Array;

export interface NpyArray {
  shape: number[];
  dtype: NpyDtype;
  data: NpyData;
}

/** A float32 array as read from a float32 or float64 .npy. */
export interface NpyFloat32 {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { dtype: NpyDtype | 'float64'; bytes: number }> = {
  '<f4': { dtype: 'float32', bytes: 4 },
  '<f8': { dtype: 'float64', bytes: 8 },
  '|u1': { dtype: 'uint8', bytes: 1 },
  '<u1': { dtype: 'uint8', bytes: 1 },
  '<i4': { dtype: 'int32', bytes: 4 },
  '<i8': { dtype: 'int64', bytes: 8 },
};

/** Parse .npy bytes. `source` names the file in errors. */
export function decodeNpy(bytes: Uint8Array, source = '<npy>'): NpyArray {
  const fail = (msg: string): never => {
    throw new Error(`${source}: not a readable .npy file: ${msg}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('bad magic bytes');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else return fail(`unsupported format version ${major}`);
  if (headerStart + headerLen > bytes.length) fail('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail(`cannot parse header ${header.trim()}`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const kind = DESCR[descr];
  if (!kind) return fail(`unsupported dtype '${descr}' (supported: ${Object.keys(DESCR).join(', ')})`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLen;
  const nbytes = count * kind.bytes;
  if (bytes.length - offset < nbytes) fail(`data holds ${bytes.length - offset} bytes, shape [${shape.join(', ')}] of ${descr} needs ${nbytes}`);
  // Copy into a fresh, aligned buffer: the file's data offset need not be aligned. (Not
  // bytes.slice: on a node Buffer that is a view into a shared pool, not a copy.)
  const buf = new ArrayBuffer(nbytes);
  new Uint8Array(buf).set(bytes.subarray(offset, offset + nbytes));
  switch (kind.dtype) {
    case 'float32':
      return { shape, dtype: 'float32', data: new Float32Array(buf, 0, count) };
    case 'float64':
      return { shape, dtype: 'float32', data: Float32Array.from(new Float64Array(buf, 0, count)) };
    case 'uint8':
      return { shape, dtype: 'uint8', data: new Uint8Array(buf, 0, count) };
    case 'int32':
      return { shape, dtype: 'int32', data: new Int32Array(buf, 0, count) };
    case 'int64':
      return { shape, dtype: 'int64', data: new BigInt64Array(buf, 0, count) };
  }
}

/** Read a .npy file. */
export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}

/** Read a float .npy file (float32, or float64 narrowed to float32); other dtypes are an error. */
export function readNpyFloat32(path: string): NpyFloat32 {
  const a = readNpy(path);
  if (a.dtype !== 'float32') throw new Error(`${path}: expected a float32 or float64 array, found ${a.dtype}`);
  return { shape: a.shape, data: a.data as Float32Array };
}

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int32Array) return '<i4';
  return '<i8';
}

/** Encode an array as .npy version 1.0 bytes. */
export function encodeNpy(shape: readonly number[], data: NpyData): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so magic + version + length + header + '\n' is a multiple of 64 bytes.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new Error('encodeNpy: header too long');
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

/** Write a .npy file atomically (temp file + rename). */
export async function writeNpy(path: string, shape: readonly number[], data: NpyData): Promise<void> {
  await writeFileAtomic(path, encodeNpy(shape, data));
}
