// CAM score maps saved per image as .npy, in the forms wsss and the reference repos write:
//   dense   float32/float64 [K, H, W], channel k = foreground class k (label k + 1), K = all
//           foreground classes (what wsss's 'cams' output holds, max-normalised per class);
//   dict    {k: H×W map} with 0-based foreground keys, only the image's classes (PSA/EDAM
//           `cam_dict`);
//   keyed   {'keys': [k…], 'high_res' (or 'cam'): [len(keys), H, W]} (IRN/VWE style).
// Values are used as saved: every format is already normalised per class by its writer.

import { readFile } from 'node:fs/promises';
import { decodeNpy } from './npy.ts';
import { decodeObjectNpy, isObjectNpy, type PickledArray } from './npy-pickle.ts';

export interface CamMaps {
  width: number;
  height: number;
  /** One H×W map per entry of `labels`. */
  maps: Float32Array[];
  /** Label (1-based class) of each map. */
  labels: number[];
  /** True when the file holds every foreground class (dense), so callers may keep only the image's classes. */
  dense: boolean;
}

export class CamFileError extends Error {
  override name = 'CamFileError';
}

function toFloat32(a: PickledArray, where: string): Float32Array {
  const d = a.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof Float64Array || d instanceof Uint8Array || d instanceof Int32Array || d instanceof Int16Array || d instanceof Uint16Array) return Float32Array.from(d as ArrayLike<number>);
  throw new CamFileError(`${where}: map of dtype ${a.dtype} is not numeric`);
}

function isArray(v: unknown): v is PickledArray {
  return !!v && (v as PickledArray).kind === 'ndarray';
}

export async function readCamFile(path: string, numClasses: number): Promise<CamMaps> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CamFileError(code === 'ENOENT' ? `${path}: CAM file not found` : `${path}: cannot read (${(e as Error).message})`);
  }
  const checkLabel = (k: number) => {
    if (!(Number.isInteger(k) && k >= 0 && k < numClasses - 1)) throw new CamFileError(`${path}: class key ${k} is outside the ${numClasses - 1} foreground classes (keys are 0-based)`);
    return k + 1;
  };
  if (!isObjectNpy(bytes)) {
    let a;
    try {
      a = decodeNpy(bytes, path);
    } catch (e) {
      throw new CamFileError((e as Error).message);
    }
    if (a.dtype !== 'float32' || a.shape.length !== 3) throw new CamFileError(`${path}: expected a float [K, H, W] array, found ${a.dtype} [${a.shape.join(', ')}]`);
    const [k, h, w] = a.shape;
    if (k !== numClasses - 1) throw new CamFileError(`${path}: ${k} channels, expected one per foreground class (${numClasses - 1})`);
    const data = a.data as Float32Array;
    return { width: w, height: h, maps: Array.from({ length: k }, (_, c) => data.subarray(c * h * w, (c + 1) * h * w)), labels: Array.from({ length: k }, (_, c) => c + 1), dense: true };
  }
  let value;
  try {
    value = decodeObjectNpy(bytes, path);
  } catch (e) {
    throw new CamFileError((e as Error).message);
  }
  if (!(value instanceof Map)) throw new CamFileError(`${path}: the pickled object is not a dict of CAMs`);
  const stack = value.get('high_res') ?? value.get('cam');
  if (value.has('keys') && isArray(stack)) {
    const keysArr = value.get('keys');
    if (!isArray(keysArr)) throw new CamFileError(`${path}: 'keys' is not an array`);
    const keys = Array.from(keysArr.data as ArrayLike<number | bigint>, Number);
    if (stack.shape.length !== 3 || stack.shape[0] !== keys.length) throw new CamFileError(`${path}: CAM stack [${stack.shape.join(', ')}] does not match ${keys.length} keys`);
    const [, h, w] = stack.shape;
    const data = toFloat32(stack, path);
    return { width: w, height: h, maps: keys.map((_, j) => data.subarray(j * h * w, (j + 1) * h * w)), labels: keys.map(checkLabel), dense: false };
  }
  const entries = [...value.entries()].filter(([k]) => typeof k === 'number' || typeof k === 'bigint');
  if (!entries.length) throw new CamFileError(`${path}: dict has neither class-index keys nor 'keys' + 'high_res'/'cam'`);
  entries.sort((a, b) => Number(a[0]) - Number(b[0]));
  let width = -1;
  let height = -1;
  const maps: Float32Array[] = [];
  const labels: number[] = [];
  for (const [k, v] of entries) {
    if (!isArray(v) || v.shape.length !== 2) throw new CamFileError(`${path}: CAM of class ${k} is not an H×W array`);
    if (width < 0) [height, width] = v.shape;
    else if (v.shape[0] !== height || v.shape[1] !== width) throw new CamFileError(`${path}: CAMs of different sizes in one file`);
    maps.push(toFloat32(v, path));
    labels.push(checkLabel(Number(k)));
  }
  return { width, height, maps, labels, dense: false };
}
