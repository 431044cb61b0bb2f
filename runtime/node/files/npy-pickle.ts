// .npy files that hold a pickled Python object instead of a plain array — what `np.save` writes
// for a dict. The reference repositories keep their image-level labels this way
// (`cls_labels.npy`: {image name or int-encoded name: float32[20] multi-hot}) and save CAMs as
// dicts ({class index: H×W map}, or {'keys': …, 'high_res': …}). Reading them needs a small
// subset of the pickle machine: containers, strings, numbers, and the three NumPy callables that
// rebuild arrays (`_reconstruct` + BUILD state, `dtype`, `scalar`). Nothing else is executed:
// any other global is an error, so a hostile pickle cannot run code here.
// The same machine reads torch.save files (export/torch-weights.ts): the caller adds the few
// PyTorch globals a state dict needs and the persistent ids of tensor storages through
// `PickleExtensions`; everything else stays refused.

/** A NumPy array rebuilt from a pickle. */
export interface PickledArray {
  kind: 'ndarray';
  shape: number[];
  /** NumPy dtype string with byte order, e.g. '<f4', '|u1'. */
  dtype: string;
  data: Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | boolean[] | unknown[];
}

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | Map<PickleValue, PickleValue> | PickledArray | { kind: string; [k: string]: unknown };

interface DtypeObj {
  kind: 'dtype';
  str: string; // e.g. 'f4'
  order: string; // '<', '>', '|', '='
}

/** A global the machine may call (REDUCE / NEWOBJ); `apply` is given for caller-supplied globals. */
export interface Callable {
  kind: 'callable';
  name: string;
  apply?: (args: unknown[]) => unknown;
}

/** What a caller adds to the data-only whitelist (the torch.save reader uses it). */
export interface PickleExtensions {
  /** A callable for an allowed global, or undefined to fall back to the NumPy / container whitelist. */
  global?(module: string, name: string): Callable | undefined;
  /** Resolves a persistent id (BINPERSID / PERSID); without it a persistent id is an error. */
  persistentLoad?(pid: unknown): unknown;
  /** How the refusal of any other global describes what is allowed. */
  allowed?: string;
}

const NUMPY_MODULES = new Set(['numpy.core.multiarray', 'numpy._core.multiarray', 'numpy']);

function resolveGlobal(module: string, name: string, source: string, ext: PickleExtensions): Callable {
  const full = `${module}.${name}`;
  const extra = ext.global?.(module, name);
  if (extra) return extra;
  if (NUMPY_MODULES.has(module) && (name === '_reconstruct' || name === 'scalar' || name === 'ndarray' || name === 'dtype')) return { kind: 'callable', name };
  if ((module === 'numpy.core.numeric' || module === 'numpy._core.numeric') && name === '_frombuffer') return { kind: 'callable', name };
  if (full === '_codecs.encode') return { kind: 'callable', name: 'codecs.encode' };
  if (full === 'collections.OrderedDict' || full === 'builtins.dict' || full === '__builtin__.dict') return { kind: 'callable', name: 'dict' };
  if (full === 'builtins.bytearray' || full === '__builtin__.bytearray') return { kind: 'callable', name: 'bytearray' };
  throw new Error(`${source}: pickle refers to ${full}, which is not ${ext.allowed ?? 'a NumPy array or a plain container'} (refusing to load it; nothing was executed)`);
}

function typedFromBytes(dtype: string, raw: Uint8Array, count: number, source: string): PickledArray['data'] {
  const order = dtype[0];
  const code = dtype.slice(1);
  if (order === '>' && code !== 'u1' && code !== 'i1' && code !== 'b1') throw new Error(`${source}: big-endian arrays (${dtype}) are not supported`);
  const buf = new Uint8Array(raw).buffer; // an aligned copy (Buffer#slice would be a view into a shared pool)
  const need = (bytes: number) => {
    if (raw.length < count * bytes) throw new Error(`${source}: array data holds ${raw.length} bytes, ${count} × ${dtype} needs ${count * bytes}`);
  };
  switch (code) {
    case 'f4': need(4); return new Float32Array(buf, 0, count);
    case 'f8': need(8); return new Float64Array(buf, 0, count);
    case 'u1': need(1); return new Uint8Array(buf, 0, count);
    case 'i1': need(1); return new Int8Array(buf, 0, count);
    case 'b1': need(1); return Array.from(new Uint8Array(buf, 0, count), (v) => v !== 0);
    case 'i2': need(2); return new Int16Array(buf, 0, count);
    case 'u2': need(2); return new Uint16Array(buf, 0, count);
    case 'i4': need(4); return new Int32Array(buf, 0, count);
    case 'u4': need(4); return new Uint32Array(buf, 0, count);
    case 'i8': need(8); return new BigInt64Array(buf, 0, count);
    default: throw new Error(`${source}: unsupported array dtype ${dtype}`);
  }
}

const MARK = Symbol('mark');

/** Runs a pickle (protocols 2–5, the binary opcodes NumPy produces) and returns its value. */
export function unpickle(bytes: Uint8Array, source = '<pickle>', ext: PickleExtensions = {}): PickleValue {
  return unpickleAt(bytes, 0, source, ext).value;
}

/** Runs the pickle that starts at byte `start` (files may hold several in a row); `end` is the byte after its STOP. */
export function unpickleAt(bytes: Uint8Array, start: number, source = '<pickle>', ext: PickleExtensions = {}): { value: PickleValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  const fail = (why: string): never => {
    throw new Error(`${source}: unreadable pickle at byte ${pos}: ${why}`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail('truncated');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const take = (n: number) => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated (unterminated line)');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length ? stack.pop() : fail('stack underflow'));
  const popMark = (): unknown[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) fail('no MARK on the stack');
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const top = () => (stack.length ? stack[stack.length - 1] : fail('stack underflow'));
  const signedLE = (b: Uint8Array): bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v;
  };
  const intValue = (v: bigint) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const toBytes = (v: unknown): Uint8Array => {
    if (v instanceof Uint8Array) return v;
    if (typeof v === 'string') return Uint8Array.from(v, (ch) => ch.charCodeAt(0) & 255); // Python 2 str = bytes (latin1)
    return fail(`expected bytes, found ${typeof v}`);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!fn || (fn as Callable).kind !== 'callable') fail('REDUCE on a value that is not a known callable');
    const a = args as unknown[];
    if ((fn as Callable).apply) return (fn as Callable).apply!(a);
    switch ((fn as Callable).name) {
      case '_reconstruct':
      case 'ndarray':
        return { kind: 'ndarray', shape: [], dtype: '', data: [] } satisfies PickledArray;
      case 'dtype': {
        const s = String(a[0]);
        return { kind: 'dtype', str: s, order: s.startsWith('O') ? '|' : '=' } satisfies DtypeObj;
      }
      case 'scalar': {
        const dt = a[0] as DtypeObj;
        const arr = typedFromBytes(dtypeString(dt), toBytes(a[1]), 1, source);
        const v = (arr as ArrayLike<unknown>)[0];
        return typeof v === 'bigint' ? intValue(v) : v;
      }
      case '_frombuffer': {
        // Protocol 5 arrays: _frombuffer(bytes, dtype, shape, order)
        const dt = a[1] as DtypeObj;
        const shape = (a[2] as number[]).map(Number);
        if (a[3] === 'F' && shape.length > 1) fail('Fortran-order arrays are not supported');
        const dtype = dtypeString(dt);
        const count = shape.reduce((x, y) => x * y, 1);
        return { kind: 'ndarray', shape, dtype, data: typedFromBytes(dtype, toBytes(a[0]), count, source) } satisfies PickledArray;
      }
      case 'codecs.encode':
        return toBytes(a[0]);
      case 'dict':
        return new Map(Array.isArray(a[0]) ? (a[0] as unknown[][]).map((kv) => [kv[0], kv[1]]) : []);
      case 'bytearray':
        return a.length ? toBytes(a[0]) : new Uint8Array(0);
    }
    return fail('unknown callable');
  };
  const dtypeString = (dt: DtypeObj): string => {
    const code = dt.str.replace(/^[<>|=]/, '');
    let order = dt.order === '=' ? '<' : dt.order;
    if (/^[ub]1$|^i1$/.test(code)) order = '|';
    return order + code;
  };
  const build = (obj: unknown, state: unknown) => {
    const o = obj as { kind?: string };
    if (o && o.kind === 'dtype') {
      const st = state as unknown[];
      (o as DtypeObj).order = String(st[1]);
      return;
    }
    if (o && o.kind === 'ndarray') {
      // state = (version, shape, dtype, is_fortran, data)
      const st = state as unknown[];
      const shape = (st[1] as number[]).map(Number);
      const dt = st[2] as DtypeObj;
      const fortran = st[3] as boolean;
      const arr = o as PickledArray;
      arr.shape = shape;
      const count = shape.reduce((x, y) => x * y, 1);
      if (dt.str.startsWith('O')) {
        arr.dtype = '|O';
        arr.data = st[4] as unknown[];
        return;
      }
      if (fortran && shape.length > 1) fail('Fortran-order arrays are not supported');
      arr.dtype = dtypeString(dt);
      arr.data = typedFromBytes(arr.dtype, toBytes(st[4]), count, source);
      return;
    }
    // BUILD on a dict sets instance attributes, not items (an OrderedDict's state is its
    // __dict__, e.g. a PyTorch state_dict's '_metadata'): nothing we keep.
    if (o instanceof Map && (state instanceof Map || state === null)) return;
    fail('BUILD on an unsupported object');
  };

  const persistent = (pid: unknown): unknown => (ext.persistentLoad ? ext.persistentLoad(pid) : fail('persistent id without a loader (not a plain pickle)'));

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME (frames are just a hint)
      case 0x2e: { // STOP
        return { value: pop() as PickleValue, end: pos };
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays here)
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { // DICT
        const items = popMark();
        const m = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { const n = u8(); stack.push(intValue(signedLE(take(n)))); break; } // LONG1
      case 0x8b: { const n = u32(); stack.push(intValue(signedLE(take(n)))); break; } // LONG4
      case 0x47: { need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT
      case 0x58: { const n = u32(); stack.push(utf8.decode(take(n))); break; } // BINUNICODE
      case 0x8c: { const n = u8(); stack.push(utf8.decode(take(n))); break; } // SHORT_BINUNICODE
      case 0x8d: { const n = u64(); stack.push(utf8.decode(take(n))); break; } // BINUNICODE8
      case 0x54: { const n = u32(); stack.push(latin1.decode(take(n))); break; } // BINSTRING (py2 str)
      case 0x55: { const n = u8(); stack.push(latin1.decode(take(n))); break; } // SHORT_BINSTRING
      case 0x42: { const n = u32(); stack.push(new Uint8Array(take(n))); break; } // BINBYTES
      case 0x43: { const n = u8(); stack.push(new Uint8Array(take(n))); break; } // SHORT_BINBYTES
      case 0x8e: { const n = u64(); stack.push(new Uint8Array(take(n))); break; } // BINBYTES8
      case 0x96: { const n = u64(); stack.push(new Uint8Array(take(n))); break; } // BYTEARRAY8
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: { const k = u8(); if (!memo.has(k)) fail(`memo ${k} missing`); stack.push(memo.get(k)); break; } // BINGET
      case 0x6a: { const k = u32(); if (!memo.has(k)) fail(`memo ${k} missing`); stack.push(memo.get(k)); break; } // LONG_BINGET
      case 0x63: { const module = line(); const name = line(); stack.push(resolveGlobal(module, name, source, ext)); break; } // GLOBAL
      case 0x93: { const name = String(pop()); const module = String(pop()); stack.push(resolveGlobal(module, name, source, ext)); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: { const state = pop(); build(top(), state); break; } // BUILD
      case 0x73: { const v = pop(); const k = pop(); const d = top(); if (!(d instanceof Map)) fail('SETITEM on a non-dict'); (d as Map<unknown, unknown>).set(k, v); break; }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        if (!(d instanceof Map)) fail('SETITEMS on a non-dict');
        for (let i = 0; i + 1 < items.length; i += 2) (d as Map<unknown, unknown>).set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail('APPEND on a non-list'); (l as unknown[]).push(v); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) fail('APPENDS on a non-list'); (l as unknown[]).push(...items); break; }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        fail(`unsupported opcode 0x${op.toString(16)}`);
    }
  }
}

/**
 * Reads an .npy file's bytes whose array has dtype object ('|O') and returns the pickled value;
 * `np.save(path, some_dict)` stores a 0-d object array, so the dict itself is returned.
 */
export function decodeObjectNpy(bytes: Uint8Array, source: string): PickleValue {
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') throw new Error(`${source}: not an .npy file (bad magic bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerStart = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) throw new Error(`${source}: unsupported .npy version ${major}`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerStart + headerLen > bytes.length) throw new Error(`${source}: truncated .npy header`);
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  if (descr !== '|O') throw new Error(`${source}: expected a pickled object array (dtype '|O'), found dtype '${descr ?? '?'}'`);
  const value = unpickle(bytes.subarray(headerStart + headerLen), source);
  // A 0-d object array holds one object: unwrap it (that is what `.item()` does in Python).
  if (value && (value as PickledArray).kind === 'ndarray') {
    const arr = value as PickledArray;
    if (arr.dtype === '|O' && arr.shape.length === 0 && Array.isArray(arr.data) && arr.data.length === 1) return arr.data[0] as PickleValue;
  }
  return value;
}

/** True when an .npy file's header says it holds pickled objects (needs decodeObjectNpy, not decodeNpy). */
export function isObjectNpy(bytes: Uint8Array): boolean {
  if (bytes.length < 12 || bytes[0] !== 0x93) return false;
  const major = bytes[6];
  const headerStart = major === 1 ? 10 : 12;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, Math.min(bytes.length, headerStart + headerLen)));
  return /'descr'\s*:\s*'\|O'/.test(header);
}
