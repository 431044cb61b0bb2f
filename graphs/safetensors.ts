// The safetensors format (checkpoints, readable from Python): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {…}}, then the raw
// little-endian tensor bytes. Pure encode/decode on bytes; file I/O is the caller's.

import type { NamedTensor, ParamValues } from './module.ts';
import { numel } from './module.ts';

export interface DecodedSafetensors {
  tensors: ParamValues;
  /** Original dtype of each tensor (all values are returned as float32). */
  dtypes: Map<string, string>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decode a safetensors file's bytes. `source` names the file in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): DecodedSafetensors {
  if (bytes.byteLength < 8) throw new Error(`${source}: not a safetensors file (only ${bytes.byteLength} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > bytes.byteLength)
    throw new Error(`${source}: corrupt or truncated safetensors header (header length ${headerLen}, file ${bytes.byteLength} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${source}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors: ParamValues = new Map();
  const dtypes = new Map<string, string>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const width = BYTES[dtype];
    if (!width) throw new Error(`${source}: tensor '${name}' has unsupported dtype ${dtype}`);
    const n = numel(shape);
    const [begin, end] = data_offsets;
    if (end - begin !== n * width || base + end > bytes.byteLength)
      throw new Error(`${source}: tensor '${name}' data is truncated or inconsistent with its shape [${shape.join(', ')}]`);
    const view = new DataView(bytes.buffer, bytes.byteOffset + base + begin, end - begin);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * width;
      switch (dtype) {
        case 'F32': data[i] = view.getFloat32(o, true); break;
        case 'F64': data[i] = view.getFloat64(o, true); break;
        case 'F16': data[i] = halfToFloat(view.getUint16(o, true)); break;
        case 'BF16': data[i] = new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]; break;
        case 'I64': data[i] = Number(view.getBigInt64(o, true)); break;
        case 'I32': data[i] = view.getInt32(o, true); break;
        case 'I16': data[i] = view.getInt16(o, true); break;
        case 'I8': data[i] = view.getInt8(o); break;
        default: data[i] = view.getUint8(o); break; // U8, BOOL
      }
    }
    tensors.set(name, { shape: [...shape], data });
    dtypes.set(name, dtype);
  }
  return { tensors, dtypes, metadata };
}

/**
 * Encode float32 tensors. Tensors are written in name order, so the same values always give
 * the same bytes. The header is padded with spaces to a multiple of 8 bytes (as the reference
 * implementation does) so the data section stays aligned.
 */
export function encodeSafetensors(values: ParamValues | Map<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...values.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = values.get(name)!;
    if (t.data.length !== numel(t.shape)) throw new Error(`tensor '${name}': ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).byteLength) % 8) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  const dv = new DataView(out.buffer, 8 + hb.byteLength);
  let o = 0;
  for (const name of names) {
    for (const v of values.get(name)!.data) {
      dv.setFloat32(o, v, true);
      o += 4;
    }
  }
  return out;
}
