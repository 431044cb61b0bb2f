// Reading the tensors of a PyTorch checkpoint (torch.save) without Python.
//
// Two container formats exist: the zip archive PyTorch has written since 1.6
// (`<name>/data.pkl` + one `<name>/data/<key>` entry per storage), and the older "legacy"
// stream (`_use_new_zipfile_serialization=False`): a magic-number pickle, a protocol pickle,
// a sys-info pickle, the object pickle, a pickle listing the storage keys, then each storage as
// an int64 element count followed by its raw bytes. Both pickle a state dict whose tensors are
// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` over persistent storage ids.
//
// The pickle runs on our own machine (runtime/node/files/npy-pickle.ts) with a whitelist: the
// containers, the tensor and parameter rebuild functions, the storage types and NumPy scalars.
// Any other global (a pickled model class, `os.system`, …) is refused before anything else
// happens, naming the file and the global — nothing from the file is ever executed.
//
// Tensors come back as float32 (float16 / bfloat16 / float64 / integer storages converted),
// views materialised through their offset and strides.

import { numel, type ParamValues } from '../graphs/module.ts';
import { halfToFloat } from '../graphs/safetensors.ts';
import { unpickleAt, type Callable, type PickleExtensions, type PickleValue } from '../runtime/node/files/npy-pickle.ts';
import { looksLikeZip, ZipArchive } from '../runtime/node/files/zip-archive.ts';

export interface TorchCheckpoint {
  format: 'zip' | 'legacy';
  tensors: ParamValues;
  /** Storage dtype of each tensor ('float32', 'float16', 'bfloat16', 'int64', …). */
  dtypes: Map<string, string>;
  /** Key of the wrapping dict the state dict was found under ('state_dict', 'model'), or null for a plain state dict. */
  wrapper: string | null;
  /** Entries of the state dict that are not tensors (skipped). */
  skipped: string[];
}

/** Storage classes torch.save names, and their element types. */
const STORAGE_DTYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

const ALLOWED =
  'one of the globals a state dict needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.<Type>Storage, NumPy scalars); ' +
  'a file that pickles a whole model or other objects must be re-saved as torch.save(model.state_dict(), path)';

/** The legacy stream's first pickle: this number (torch/serialization.py MAGIC_NUMBER). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

interface Storage {
  kind: 'torch-storage';
  key: string;
  dtype: string;
  elementBytes: number;
  numel: number;
  /** Raw little-endian bytes; filled after the pickle for the legacy format. */
  bytes: Uint8Array | null;
}

interface LazyTensor {
  kind: 'torch-tensor';
  storage: Storage;
  offset: number;
  size: number[];
  stride: number[];
}

function isTensor(v: unknown): v is LazyTensor {
  return typeof v === 'object' && v !== null && (v as { kind?: string }).kind === 'torch-tensor';
}

/** The whitelist and persistent-id loader for one file. */
function torchExtensions(source: string, storageBytes: ((key: string, s: Storage) => Uint8Array) | null, storages: Map<string, Storage>): PickleExtensions {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) fail(`${what} is not a tuple of non-negative integers`);
    return v as number[];
  };
  const rebuildTensor = (a: unknown[]): LazyTensor => {
    const storage = a[0] as Storage;
    if (!storage || storage.kind !== 'torch-storage') fail('_rebuild_tensor called without a storage');
    const offset = a[1];
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) fail('tensor with a bad storage offset');
    const size = ints(a[2], 'tensor size');
    const stride = ints(a[3], 'tensor stride');
    if (size.length !== stride.length) fail(`tensor size [${size}] and stride [${stride}] differ in length`);
    return { kind: 'torch-tensor', storage, offset: offset as number, size, stride };
  };
  const fn = (name: string, apply: (a: unknown[]) => unknown): Callable => ({ kind: 'callable', name, apply });
  return {
    allowed: ALLOWED,
    global(module, name) {
      if (module === 'torch._utils') {
        if (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor') return fn(name, rebuildTensor);
        // nn.Parameter(data, requires_grad, hooks[, state]): the data is what we keep.
        if (name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state') return fn(name, (a) => a[0]);
      }
      if (module === 'torch' && STORAGE_DTYPES[name])
        return fn(`torch.${name}`, () => fail(`the pickle calls torch.${name} directly, which a state dict never does`));
      return undefined;
    },
    persistentLoad(pid) {
      // ('storage', storage type, key, location, numel[, view metadata (legacy)])
      const t = pid as unknown[];
      if (!Array.isArray(t) || t[0] !== 'storage' || t.length < 5) return fail(`unknown persistent id ${JSON.stringify(String(pid)).slice(0, 80)}`);
      const type = t[1] as Callable;
      const typeName = type?.name?.replace(/^torch\./, '') ?? '';
      const info = STORAGE_DTYPES[typeName];
      if (!info) return fail(`storage of unsupported type '${type?.name}'`);
      if (t.length > 5 && t[5] !== null && t[5] !== undefined) fail('legacy storage views (view metadata in the persistent id) are not supported');
      const key = String(t[2]);
      const n = t[4];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return fail(`storage '${key}' has a bad size`);
      let s = storages.get(key);
      if (!s) {
        s = { kind: 'torch-storage', key, dtype: info.dtype, elementBytes: info.bytes, numel: n, bytes: null };
        if (storageBytes) s.bytes = storageBytes(key, s);
        storages.set(key, s);
      }
      return s;
    },
  };
}

/** A tensor's values as float32, read through its offset and strides. */
function materialise(t: LazyTensor, name: string, source: string): Float32Array {
  const { storage, offset, size, stride } = t;
  const n = numel(size);
  const out = new Float32Array(n);
  if (n === 0) return out;
  let last = offset;
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  if (last >= storage.numel) throw new Error(`${source}: tensor '${name}' [${size.join(', ')}] reaches element ${last} of its storage '${storage.key}', which holds ${storage.numel}`);
  const bytes = storage.bytes!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = elementReader(storage.dtype, dv);
  // Walk the index space in row-major order, carrying the storage position along.
  const idx = new Array<number>(size.length).fill(0);
  let pos = offset;
  for (let i = 0; i < n; i++) {
    out[i] = read(pos);
    for (let d = size.length - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) {
        pos += stride[d];
        break;
      }
      pos -= (size[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
  return out;
}

function elementReader(dtype: string, dv: DataView): (i: number) => number {
  switch (dtype) {
    case 'float32': return (i) => dv.getFloat32(i * 4, true);
    case 'float64': return (i) => dv.getFloat64(i * 8, true);
    case 'float16': return (i) => halfToFloat(dv.getUint16(i * 2, true));
    case 'bfloat16': {
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      return (i) => ((u[0] = dv.getUint16(i * 2, true) << 16), f[0]);
    }
    case 'int64': return (i) => Number(dv.getBigInt64(i * 8, true));
    case 'int32': return (i) => dv.getInt32(i * 4, true);
    case 'int16': return (i) => dv.getInt16(i * 2, true);
    case 'int8': return (i) => dv.getInt8(i);
    default: return (i) => dv.getUint8(i); // uint8, bool
  }
}

/** What kind of file this is, for the message when it is not one we read. */
function describeUnknown(bytes: Uint8Array): string {
  if (bytes.length >= 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar')
    return "a tar archive: the tar format of PyTorch before 0.4 is not read; load it in PyTorch and re-save it with torch.save(model.state_dict(), path)";
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x46) return 'an HDF5 file (Keras weights?), not a PyTorch checkpoint';
  if (bytes.length === 0) return 'empty';
  return `not a PyTorch checkpoint (neither torch.save's zip archive nor its legacy pickle stream; starts with bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
}

/** The state dict inside a checkpoint's top-level object: itself, or under 'state_dict' / 'model'. */
function findStateDict(top: PickleValue, source: string): { dict: Map<PickleValue, PickleValue>; wrapper: string | null } {
  if (!(top instanceof Map)) throw new Error(`${source}: the checkpoint holds a ${Array.isArray(top) ? 'list' : typeof top}, not a dict of tensors (a state dict)`);
  const hasTensors = (m: Map<PickleValue, PickleValue>) => [...m.values()].some(isTensor);
  if (hasTensors(top)) return { dict: top, wrapper: null };
  for (const key of ['state_dict', 'model', 'model_state_dict', 'net', 'network']) {
    const inner = top.get(key);
    if (inner instanceof Map && hasTensors(inner)) return { dict: inner, wrapper: key };
  }
  const keys = [...top.keys()].map(String);
  throw new Error(`${source}: no state dict found: the top-level dict has no tensors and none under 'state_dict' or 'model' (its keys: ${keys.slice(0, 12).join(', ')}${keys.length > 12 ? ', …' : ''})`);
}

function collect(top: PickleValue, format: 'zip' | 'legacy', source: string): TorchCheckpoint {
  const { dict, wrapper } = findStateDict(top, source);
  const tensors: ParamValues = new Map();
  const dtypes = new Map<string, string>();
  const skipped: string[] = [];
  for (const [k, v] of dict) {
    const name = String(k);
    if (!isTensor(v)) {
      skipped.push(name);
      continue;
    }
    tensors.set(name, { shape: [...v.size], data: materialise(v, name, source) });
    dtypes.set(name, v.storage.dtype);
  }
  return { format, tensors, dtypes, wrapper, skipped };
}

function readZip(bytes: Uint8Array, source: string): TorchCheckpoint {
  const zip = new ZipArchive(bytes, source);
  const names = [...zip.entries.keys()];
  const pkl = names.find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) {
    if (names.some((n) => /(^|\/)(constants\.pkl|code\/)/.test(n)))
      throw new Error(`${source}: a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save the model's state_dict() with torch.save instead`);
    throw new Error(`${source}: a zip archive without a data.pkl entry: not a torch.save checkpoint (entries: ${names.slice(0, 6).join(', ')})`);
  }
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const storages = new Map<string, Storage>();
  const ext = torchExtensions(
    source,
    (key, s) => {
      const entry = `${prefix}data/${key}`;
      if (!zip.entries.has(entry)) throw new Error(`${source}: storage '${key}' is missing from the archive (no entry ${entry})`);
      const raw = zip.read(entry);
      if (raw.length < s.numel * s.elementBytes) throw new Error(`${source}: storage '${key}' holds ${raw.length} bytes, ${s.numel} × ${s.dtype} needs ${s.numel * s.elementBytes}`);
      return raw;
    },
    storages,
  );
  const { value } = unpickleAt(zip.read(pkl), 0, source, ext);
  return collect(value, 'zip', source);
}

function readLegacy(bytes: Uint8Array, source: string): TorchCheckpoint {
  const magic = unpickleAt(bytes, 0, source);
  if (magic.value !== LEGACY_MAGIC && BigInt(magic.value as number) !== LEGACY_MAGIC) throw new Error(`${source}: ${describeUnknown(bytes)}`);
  const protocol = unpickleAt(bytes, magic.end, source);
  if (protocol.value !== 1001) throw new Error(`${source}: legacy torch.save format with protocol version ${String(protocol.value)} (only 1001 is read)`);
  const sysInfo = unpickleAt(bytes, protocol.end, source);
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) throw new Error(`${source}: written on a big-endian machine; not supported`);
  const storages = new Map<string, Storage>();
  const main = unpickleAt(bytes, sysInfo.end, source, torchExtensions(source, null, storages));
  const keys = unpickleAt(bytes, main.end, source);
  if (!Array.isArray(keys.value)) throw new Error(`${source}: legacy format: the storage key list is damaged`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const k of keys.value) {
    const s = storages.get(String(k));
    if (!s) throw new Error(`${source}: legacy format: storage '${String(k)}' is listed but no tensor uses it`);
    if (pos + 8 > bytes.length) throw new Error(`${source}: truncated: storage '${s.key}' is missing (file ends at byte ${bytes.length})`);
    const n = Number(dv.getBigInt64(pos, true));
    pos += 8;
    if (n !== s.numel) throw new Error(`${source}: legacy format: storage '${s.key}' holds ${n} elements, the pickle says ${s.numel}`);
    const len = n * s.elementBytes;
    if (pos + len > bytes.length) throw new Error(`${source}: truncated: storage '${s.key}' needs bytes ${pos}–${pos + len}, the file has ${bytes.length}`);
    s.bytes = bytes.subarray(pos, pos + len);
    pos += len;
  }
  for (const s of storages.values()) if (!s.bytes) throw new Error(`${source}: legacy format: storage '${s.key}' has no data`);
  return collect(main.value, 'legacy', source);
}

/** True when the bytes look like a torch.save file of either format. */
export function looksLikeTorchCheckpoint(bytes: Uint8Array): boolean {
  return looksLikeZip(bytes) || (bytes.length > 2 && bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a);
}

/** Read the state dict of a torch.save file (either format). `source` names the file in errors. */
export function readTorchCheckpoint(bytes: Uint8Array, source: string): TorchCheckpoint {
  if (looksLikeZip(bytes)) return readZip(bytes, source);
  // The legacy stream starts with PROTO 2, LONG1 (the magic number).
  if (bytes.length > 2 && bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a) {
    try {
      return readLegacy(bytes, source);
    } catch (e) {
      const m = (e as Error).message;
      throw /legacy (torch\.save )?format/.test(m) ? e : new Error(`${m} (legacy torch.save format)`);
    }
  }
  throw new Error(`${source}: ${describeUnknown(bytes)}`);
}
