// Writing .npy files that hold a pickled Python object — what `np.save(path, some_dict)` writes
// and `np.load(path, allow_pickle=True).item()` reads back. IRNet-style pipelines keep per-image
// CAMs this way ({'keys': int64[K], 'cam': float32[K, h, w], 'high_res': float32[K, H, W]}), so
// writing the same layout lets their later stages (IR labels, evaluation) read our CAMs as they are.
//
// The pickle is protocol 3, the lowest protocol with a bytes opcode: array data goes out as raw
// bytes (BINBYTES). Protocol 2 has no bytes type; Python 3 pickles bytes at protocol 2 as a call
// to _codecs.encode on a latin-1 string, which inflates float data by about a third for nothing,
// and every Python 3 reads protocol 3. Arrays are rebuilt the way NumPy pickles them at this
// protocol: numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') then BUILD with the state
// (1, shape, dtype, is_fortran=False, data) — the form runtime/node/files/npy-pickle.ts reads.

/** A C-order NumPy array to pickle. */
export interface PickleArray {
  shape: readonly number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

/**
 * Values the writer can pickle: None, bool, int (an integer-valued number or a bigint), float
 * (any other number), str, list, dict (a Map with str or int keys, kept in insertion order) and
 * NumPy arrays.
 */
export type PickleInput = null | boolean | number | bigint | string | PickleArray | PickleInput[] | Map<string | number, PickleInput>;

const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  BUILD: 0x62,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE3: 0x87,
  EMPTY_TUPLE: 0x29,
  EMPTY_LIST: 0x5d,
  APPENDS: 0x65,
  EMPTY_DICT: 0x7d,
  SETITEMS: 0x75,
} as const;

/** Pickle opcodes are collected as chunks; array data is referenced, not copied, until the end. */
class PickleOut {
  private chunks: Uint8Array[] = [];
  private small: number[] = [];
  private flush() {
    if (this.small.length) this.chunks.push(Uint8Array.from(this.small));
    this.small = [];
  }
  op(...bytes: number[]) {
    for (const b of bytes) this.small.push(b);
  }
  u32(v: number) {
    this.op(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  }
  raw(b: Uint8Array) {
    this.flush();
    this.chunks.push(b);
  }
  int(v: number | bigint) {
    if (typeof v === 'number' && v >= 0 && v < 256) this.op(OP.BININT1, v);
    else if (typeof v === 'number' && v >= 0 && v < 65536) this.op(OP.BININT2, v & 255, v >> 8);
    else if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(OP.BININT);
      this.u32(v >>> 0);
    } else {
      // LONG1: little-endian two's complement, as few bytes as keep the sign.
      let x = BigInt(v);
      const bytes: number[] = [];
      for (;;) {
        bytes.push(Number(x & 255n));
        x >>= 8n;
        const signBit = (bytes[bytes.length - 1] & 0x80) !== 0;
        if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
      }
      this.op(OP.LONG1, bytes.length, ...bytes);
    }
  }
  float(v: number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false); // BINFLOAT is big-endian
    this.op(OP.BINFLOAT, ...b);
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.op(OP.BINUNICODE);
    this.u32(b.length);
    this.raw(b);
  }
  bytes(b: Uint8Array) {
    if (b.length < 256) this.op(OP.SHORT_BINBYTES, b.length);
    else {
      this.op(OP.BINBYTES);
      this.u32(b.length);
    }
    this.raw(b);
  }
  global(module: string, name: string) {
    this.op(OP.GLOBAL);
    this.raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }
  result(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.chunks.reduce((s, c) => s + c.length, 0));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function dtypeCode(data: PickleArray['data']): string {
  if (data instanceof Float32Array) return 'f4';
  if (data instanceof Float64Array) return 'f8';
  if (data instanceof Int32Array) return 'i4';
  if (data instanceof BigInt64Array) return 'i8';
  return 'u1';
}

/** numpy.dtype(code, False, True) with its BUILD state (3, byteorder, None, None, None, -1, -1, flags). */
function writeDtype(p: PickleOut, code: string) {
  p.global('numpy', 'dtype');
  p.str(code);
  p.op(OP.NEWFALSE, OP.NEWTRUE, OP.TUPLE3, OP.REDUCE);
  p.op(OP.MARK);
  p.int(3);
  p.str(code === 'O8' || code === 'u1' ? '|' : '<');
  p.op(OP.NONE, OP.NONE, OP.NONE);
  p.int(-1);
  p.int(-1);
  p.int(code === 'O8' ? 63 : 0); // object dtypes carry the "holds references" flags
  p.op(OP.TUPLE, OP.BUILD);
}

/** _reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype, False, payload). */
function writeArray(p: PickleOut, shape: readonly number[], code: string, payload: () => void) {
  p.global('numpy.core.multiarray', '_reconstruct');
  p.global('numpy', 'ndarray');
  p.int(0);
  p.op(OP.TUPLE1);
  p.bytes(Uint8Array.of(0x62)); // b'b'
  p.op(OP.TUPLE3, OP.REDUCE);
  p.op(OP.MARK);
  p.int(1);
  p.op(OP.MARK);
  for (const d of shape) p.int(d);
  p.op(OP.TUPLE);
  writeDtype(p, code);
  p.op(OP.NEWFALSE);
  payload();
  p.op(OP.TUPLE, OP.BUILD);
}

function isArray(v: PickleInput): v is PickleArray {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && 'shape' in v && 'data' in v;
}

function writeValue(p: PickleOut, v: PickleInput, where: string): void {
  if (v === null) p.op(OP.NONE);
  else if (typeof v === 'boolean') p.op(v ? OP.NEWTRUE : OP.NEWFALSE);
  else if (typeof v === 'bigint') p.int(v);
  else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) p.int(v);
    else p.float(v);
  } else if (typeof v === 'string') p.str(v);
  else if (Array.isArray(v)) {
    p.op(OP.EMPTY_LIST, OP.MARK);
    v.forEach((x, i) => writeValue(p, x, `${where}[${i}]`));
    p.op(OP.APPENDS);
  } else if (v instanceof Map) {
    p.op(OP.EMPTY_DICT, OP.MARK);
    for (const [k, x] of v) {
      if (typeof k === 'number') {
        if (!Number.isSafeInteger(k)) throw new Error(`pickle: dict key ${k} at ${where} is not an integer`);
        p.int(k);
      } else p.str(k);
      writeValue(p, x, `${where}[${JSON.stringify(k)}]`);
    }
    p.op(OP.SETITEMS);
  } else if (isArray(v)) {
    const count = v.shape.reduce((a, b) => a * b, 1);
    if (v.shape.some((d) => !Number.isInteger(d) || d < 0) || count !== v.data.length) {
      throw new Error(`pickle: array at ${where} has shape [${v.shape.join(', ')}] but ${v.data.length} values`);
    }
    const code = dtypeCode(v.data);
    // All our typed arrays are little-endian in memory (every platform Node runs on), as '<' says.
    writeArray(p, v.shape, code, () => p.bytes(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)));
  } else throw new Error(`pickle: unsupported value at ${where}`);
}

/** A protocol-3 pickle of `value`. */
export function pickle(value: PickleInput): Uint8Array {
  const p = new PickleOut();
  p.op(OP.PROTO, 3);
  writeValue(p, value, 'value');
  p.op(OP.STOP);
  return p.result();
}

/**
 * .npy bytes of `np.save(path, value)` for a Python object: a 0-d object array holding it (the
 * header says dtype '|O'), so `np.load(path, allow_pickle=True).item()` returns the object.
 */
export function encodeObjectNpy(value: PickleInput): Uint8Array {
  const p = new PickleOut();
  p.op(OP.PROTO, 3);
  writeArray(p, [], 'O8', () => {
    p.op(OP.EMPTY_LIST, OP.MARK);
    writeValue(p, value, 'value');
    p.op(OP.APPENDS);
  });
  p.op(OP.STOP);
  const body = p.result();
  let header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
  // Pad so magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64, as NumPy does.
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

/**
 * One image's CAMs in IRNet's make_cam.py layout: 'keys' = the 0-based foreground classes kept
 * (int64, ascending), 'cam' = their maps at stride 4 ([K, ⌈H/4⌉, ⌈W/4⌉]), 'high_res' = their maps
 * at the image size ([K, H, W]); each map divided by its max (+1e-5).
 */
export function encodeIrnCamDict(keys: readonly number[], strided: PickleArray, highRes: PickleArray): Uint8Array {
  return encodeObjectNpy(
    new Map<string, PickleInput>([
      ['keys', { shape: [keys.length], data: BigInt64Array.from(keys, (k) => BigInt(k)) }],
      ['cam', strided],
      ['high_res', highRes],
    ]),
  );
}
