// Test helper: writes a dict of float32 arrays the way `np.save(path, dict)` does — an .npy
// header for a 0-d object array followed by a protocol-3 pickle that rebuilds each array with
// numpy's `_reconstruct` + BUILD (the layout of the reference repos' cls_labels.npy and
// cam_dict files). Keys may be strings or ints; values are float32 (or nested {keys, cam} dicts
// holding int64 key arrays, as IRN-style CAM files).

type Value = { shape: number[]; data: Float32Array | BigInt64Array };
type Entry = [string | number, Value | Map<string, Value>];

class PickleOut {
  private chunks: number[] = [];
  op(...bytes: number[]) {
    this.chunks.push(...bytes);
  }
  int(v: number) {
    if (v >= 0 && v < 256) this.op(0x4b, v); // BININT1
    else {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      this.op(0x4a, ...b); // BININT
    }
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, b.length, true);
    this.op(0x58, ...len, ...b); // BINUNICODE
  }
  bytes(b: Uint8Array) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, b.length, true);
    this.op(0x42, ...len, ...b); // BINBYTES
  }
  global(module: string, name: string) {
    this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)); // GLOBAL
  }
  tuple(n: number) {
    this.op([0x29, 0x85, 0x86, 0x87][n]); // EMPTY_TUPLE / TUPLE1..3
  }
  result(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function dtype(p: PickleOut, code: string, order: string) {
  p.global('numpy', 'dtype');
  p.str(code);
  p.op(0x89, 0x88); // False, True
  p.tuple(3);
  p.op(0x52); // REDUCE
  p.op(0x28); // MARK: state (3, order, None, None, None, -1, -1, flags)
  p.int(3);
  p.str(order);
  p.op(0x4e, 0x4e, 0x4e);
  p.int(-1);
  p.int(-1);
  p.int(code.startsWith('O') ? 63 : 0);
  p.op(0x74); // TUPLE
  p.op(0x62); // BUILD
}

function array(p: PickleOut, shape: number[], build: () => void, code: string, order: string) {
  p.global('numpy.core.multiarray', '_reconstruct');
  p.global('numpy', 'ndarray');
  p.int(0);
  p.tuple(1);
  p.bytes(new TextEncoder().encode('b'));
  p.tuple(3);
  p.op(0x52); // REDUCE
  p.op(0x28); // MARK: state (1, shape, dtype, is_fortran, data)
  p.int(1);
  p.op(0x28);
  for (const d of shape) p.int(d);
  p.op(0x74);
  dtype(p, code, order);
  p.op(0x89);
  build();
  p.op(0x74);
  p.op(0x62); // BUILD
}

function value(p: PickleOut, v: Value | Map<string, Value>) {
  if (v instanceof Map) {
    p.op(0x7d, 0x28); // EMPTY_DICT, MARK
    for (const [k, x] of v) {
      p.str(k);
      value(p, x);
    }
    p.op(0x75); // SETITEMS
    return;
  }
  const raw = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  array(p, v.shape, () => p.bytes(raw), v.data instanceof Float32Array ? 'f4' : 'i8', '<');
}

export function encodePickledDictNpy(entries: Entry[]): Uint8Array {
  const p = new PickleOut();
  p.op(0x80, 3); // PROTO 3
  array(
    p,
    [],
    () => {
      p.op(0x5d, 0x7d, 0x28); // EMPTY_LIST, EMPTY_DICT, MARK
      for (const [k, v] of entries) {
        if (typeof k === 'number') p.int(k);
        else p.str(k);
        value(p, v);
      }
      p.op(0x75, 0x61); // SETITEMS, APPEND (the dict into the object array's list)
    },
    'O8',
    '|',
  );
  p.op(0x2e); // STOP
  const body = p.result();
  let header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}
