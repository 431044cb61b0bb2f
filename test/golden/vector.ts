// Golden-vector files (../shared/reference/vectors, format in ../shared/reference/README.md):
// loading, and comparing an implementation's outputs with the file's tolerance.

import { readFileSync } from 'node:fs';

export interface GoldenTensor {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int';
  data: number[];
}

export interface GoldenVector {
  module: string;
  variant: string;
  params: Record<string, unknown>;
  inputs: Record<string, GoldenTensor>;
  outputs: Record<string, GoldenTensor>;
  tolerance: { atol: number; rtol: number; int_exact?: boolean };
  notes?: string;
}

/** What an implementation returns: logical (NCHW, row-major) tensors by output name. */
export type ImplOutputs = Record<string, { shape: number[]; data: ArrayLike<number> }>;

/** An implementation of one module: runs the file's inputs/params, returns outputs it computes. */
export type GoldenImpl = (v: GoldenVector) => Promise<ImplOutputs> | ImplOutputs;

export function loadVector(path: string): GoldenVector {
  return JSON.parse(readFileSync(path, 'utf8')) as GoldenVector;
}

export function f32(t: GoldenTensor): Float32Array {
  return Float32Array.from(t.data);
}

export interface OutputCheck {
  name: string;
  ok: boolean;
  /** Largest |actual − expected| over the tensor. */
  worstAbsErr: number;
  detail: string;
}

export function compareOutput(name: string, expected: GoldenTensor, actual: { shape: number[]; data: ArrayLike<number> }, tol: GoldenVector['tolerance']): OutputCheck {
  const es = expected.shape.join('x');
  const as = actual.shape.join('x');
  // A scalar may come back as [] or [1].
  const sameShape = es === as || (expected.shape.length === 0 && actual.data.length === 1);
  if (!sameShape) return { name, ok: false, worstAbsErr: Infinity, detail: `shape [${as}] != expected [${es}]` };
  if (actual.data.length !== expected.data.length)
    return { name, ok: false, worstAbsErr: Infinity, detail: `${actual.data.length} values, expected ${expected.data.length}` };
  let maxErr = 0;
  let worstExcess = -Infinity;
  let at = -1;
  let bad = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i];
    const a = actual.data[i];
    const err = Math.abs(a - e);
    const allowed = expected.dtype === 'int' && tol.int_exact !== false ? 0 : tol.atol + tol.rtol * Math.abs(e);
    if (!(err <= allowed)) bad++; // NaN counts as bad
    if (err > maxErr || Number.isNaN(err)) maxErr = Number.isNaN(err) ? Infinity : err;
    const excess = Number.isNaN(err) ? Infinity : err - allowed;
    if (excess > worstExcess) {
      worstExcess = excess;
      at = i;
    }
  }
  const ok = bad === 0;
  const detail = ok
    ? `max abs err ${maxErr.toExponential(2)}`
    : `${bad}/${expected.data.length} values out of tolerance; worst at flat index ${at}: got ${actual.data[at]}, expected ${expected.data[at]}`;
  return { name, ok, worstAbsErr: maxErr, detail };
}
