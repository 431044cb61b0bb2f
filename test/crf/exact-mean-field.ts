// The correctness oracle of the dense CRF: mean-field inference with the kernels evaluated exactly,
// k(i, j) = exp(−|f_i − f_j|² / 2) for every pair of pixels (O(N²), tiny images only), the same
// energy as the lattice engines: symmetric normalisation n_i = (Σ_j k(i, j))^(−1/2), Potts,
// self term included, Q = softmax(−U + Σ_m w_m n ⊙ K_m (n ⊙ Q)). Written from the paper
// (Krähenbühl & Koltun 2011, eq. 4-5), in double precision, independently of runtime/crf.

import type { CrfParams } from '../../runtime/crf/params.ts';

function features(width: number, height: number, rgb: Uint8Array, sxy: number, srgb: number | null): Float64Array[] {
  const out: Float64Array[] = [];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      out.push(Float64Array.from(srgb === null ? [x / sxy, y / sxy] : [x / sxy, y / sxy, rgb[3 * p] / srgb, rgb[3 * p + 1] / srgb, rgb[3 * p + 2] / srgb]));
    }
  return out;
}

/** Normalised kernel matrix n_i k(i, j) n_j, row-major N×N. */
function normalisedKernel(f: Float64Array[]): Float64Array {
  const n = f.length;
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let d2 = 0;
      for (let a = 0; a < f[i].length; a++) d2 += (f[i][a] - f[j][a]) ** 2;
      k[i * n + j] = Math.exp(-0.5 * d2);
    }
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += k[i * n + j];
    norm[i] = 1 / Math.sqrt(s);
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] *= norm[i] * norm[j];
  return k;
}

/** Q float [C][N] after params.iterations exact mean-field iterations from unary energies [C][N]. */
export function exactMeanField(width: number, height: number, rgb: Uint8Array, unary: Float32Array, labels: number, params: CrfParams): Float32Array {
  const n = width * height;
  const terms: { k: Float64Array; w: number }[] = [];
  if (params.gaussian) terms.push({ k: normalisedKernel(features(width, height, rgb, params.gaussian.sxy, null)), w: params.gaussian.compat });
  if (params.bilateral) terms.push({ k: normalisedKernel(features(width, height, rgb, params.bilateral.sxy, params.bilateral.srgb)), w: params.bilateral.compat });
  const q = new Float64Array(labels * n);
  const softmaxInto = (logits: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let c = 0; c < labels; c++) mx = Math.max(mx, logits[c * n + i]);
      let s = 0;
      for (let c = 0; c < labels; c++) s += Math.exp(logits[c * n + i] - mx);
      for (let c = 0; c < labels; c++) q[c * n + i] = Math.exp(logits[c * n + i] - mx) / s;
    }
  };
  softmaxInto(Float64Array.from(unary, (u) => -u));
  for (let it = 0; it < params.iterations; it++) {
    const logits = Float64Array.from(unary, (u) => -u);
    for (const { k, w } of terms)
      for (let c = 0; c < labels; c++)
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += k[i * n + j] * q[c * n + j];
          logits[c * n + i] += w * s;
        }
    softmaxInto(logits);
  }
  return Float32Array.from(q);
}
