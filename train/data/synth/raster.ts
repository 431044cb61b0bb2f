// Small raster helpers for the synthetic benchmark: colour conversion, smooth value noise,
// binary morphology and a separable Gaussian blur, all on flat row-major buffers.

import type { Rng } from '../../../graphs/rng.ts';

/** HSV (all in [0,1]) → RGB in [0,1]. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const hh = ((h % 1) + 1) % 1 * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (i % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

/**
 * Smooth noise in [−1, 1] over a size×size image: random values on a (cells+1)² lattice,
 * interpolated with a smoothstep so it has no visible grid edges.
 */
export function valueNoise(rng: Rng, size: number, cells: number): Float32Array {
  const g = Math.max(1, Math.round(cells));
  const lattice = new Float32Array((g + 1) * (g + 1));
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.uniform() * 2 - 1;
  const out = new Float32Array(size * size);
  const step = g / size;
  for (let y = 0; y < size; y++) {
    const fy = (y + 0.5) * step;
    const iy = Math.min(g - 1, Math.floor(fy));
    let ty = fy - iy;
    ty = ty * ty * (3 - 2 * ty);
    for (let x = 0; x < size; x++) {
      const fx = (x + 0.5) * step;
      const ix = Math.min(g - 1, Math.floor(fx));
      let tx = fx - ix;
      tx = tx * tx * (3 - 2 * tx);
      const a = lattice[iy * (g + 1) + ix];
      const b = lattice[iy * (g + 1) + ix + 1];
      const c = lattice[(iy + 1) * (g + 1) + ix];
      const d = lattice[(iy + 1) * (g + 1) + ix + 1];
      out[y * size + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

/** Grows (steps > 0) or shrinks (steps < 0) a binary mask by |steps| px (3×3 neighbourhood per step). */
export function morph(mask: Uint8Array, w: number, h: number, steps: number): Uint8Array {
  let cur = mask;
  const grow = steps > 0;
  for (let s = 0; s < Math.abs(steps); s++) {
    const next = new Uint8Array(cur.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let any = 0;
        let all = 1;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            const v = cur[yy * w + xx];
            any |= v;
            all &= v;
          }
        }
        next[y * w + x] = grow ? any : all;
      }
    }
    cur = next;
  }
  return cur;
}

/** Separable Gaussian blur of a single-channel image, edges clamped. */
export function gaussianBlur(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  if (sigma <= 0) return src.slice();
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  // Each pass copies a row (or column) into a buffer padded with its edge values, then convolves.
  const line = new Float32Array(Math.max(w, h) + 2 * r);
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  const taps = k.length;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let i = -r; i < w + r; i++) line[i + r] = src[row + (i < 0 ? 0 : i >= w ? w - 1 : i)];
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = 0; t < taps; t++) acc += k[t] * line[x + t];
      tmp[row + x] = acc;
    }
  }
  for (let x = 0; x < w; x++) {
    for (let i = -r; i < h + r; i++) line[i + r] = tmp[(i < 0 ? 0 : i >= h ? h - 1 : i) * w + x];
    for (let y = 0; y < h; y++) {
      let acc = 0;
      for (let t = 0; t < taps; t++) acc += k[t] * line[y + t];
      out[y * w + x] = acc;
    }
  }
  return out;
}

/** Marks with 255 every pixel whose (2r+1)² neighbourhood holds another instance: the ignore band on borders. */
export function borderBand(instances: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const band = new Uint8Array(instances.length);
  if (r <= 0) return band;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = instances[y * w + x];
      let edge = false;
      for (let dy = -r; dy <= r && !edge; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -r; dx <= r; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < w && instances[yy * w + xx] !== v) {
            edge = true;
            break;
          }
        }
      }
      if (edge) band[y * w + x] = 255;
    }
  }
  return band;
}
