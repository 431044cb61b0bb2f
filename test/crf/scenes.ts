// Small deterministic CRF inputs for tests: an image of coloured discs on a textured background and
// noisy probability maps whose true labels are the discs (so the CRF has edges to snap to).

import { Rng } from '../../graphs/rng.ts';
import type { PixelImage } from '../../runtime/preprocess.ts';

export interface CrfScene {
  image: PixelImage & { data: Uint8Array };
  probs: { data: Float32Array; dims: [number, number, number] };
  truth: Uint8Array;
}

export function crfScene(width: number, height: number, labels: number, seed: number): CrfScene {
  const rng = new Rng(seed);
  const n = width * height;
  const colours = Array.from({ length: labels }, (_, c) => [40 + ((c * 97) % 180), 40 + ((c * 53) % 180), 220 - ((c * 71) % 180)]);
  const discs = Array.from({ length: labels - 1 }, () => ({ x: rng.range(0, width), y: rng.range(0, height), r: rng.range(0.15, 0.35) * Math.min(width, height) }));
  const truth = new Uint8Array(n);
  const rgb = new Uint8Array(n * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      discs.forEach((d, i) => {
        if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r ** 2) truth[p] = i + 1;
      });
      for (let ch = 0; ch < 3; ch++) rgb[3 * p + ch] = Math.max(0, Math.min(255, Math.round(colours[truth[p]][ch] + rng.range(-12, 12))));
    }
  // probabilities: the truth, blurred by a bias towards a random label, plus noise
  const probs = new Float32Array(labels * n);
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let c = 0; c < labels; c++) {
      const v = (c === truth[p] ? 1.2 : 0.2) + rng.range(0, 1.3);
      probs[c * n + p] = v;
      s += v;
    }
    for (let c = 0; c < labels; c++) probs[c * n + p] /= s;
  }
  return { image: { data: rgb, width, height, channels: 3 }, probs: { data: probs, dims: [labels, height, width] }, truth };
}

export function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
