// Augmentation for classification training (the CAM baseline): random rescale, a random crop
// (zero-padded where the scaled image is smaller), horizontal flip and colour jitter, from one
// random stream. Output: float32 HWC RGB in [0, 255], crop×crop.

import type { Rng } from '../../graphs/rng.ts';
import type { RgbImage } from '../../runtime/node/images.ts';

export interface AugmentOptions {
  /** Random rescale range, e.g. [0.9, 1.1]. */
  scale: [number, number];
  flip: boolean;
  /** Brightness/contrast jitter amplitude (0 = off), e.g. 0.1 = ±10 %. */
  jitter: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { scale: [0.9, 1.1], flip: true, jitter: 0.1 };

export function augmentImage(img: RgbImage, crop: number, rng: Rng, o: AugmentOptions): Float32Array {
  const s = rng.range(o.scale[0], o.scale[1]);
  const sh = Math.max(1, Math.round(img.height * s));
  const sw = Math.max(1, Math.round(img.width * s));
  const flip = o.flip && rng.uniform() < 0.5;
  // Crop origin in the scaled image (may be negative: the crop is then padded with zeros).
  const y0 = sh >= crop ? rng.int(0, sh - crop) : -rng.int(0, crop - sh);
  const x0 = sw >= crop ? rng.int(0, sw - crop) : -rng.int(0, crop - sw);
  const bright = o.jitter ? rng.range(-o.jitter, o.jitter) * 255 : 0;
  const contrast = o.jitter ? 1 + rng.range(-o.jitter, o.jitter) : 1;
  const out = new Float32Array(crop * crop * 3);
  const sy = img.height / sh;
  const sx = img.width / sw;
  const src = img.data;
  for (let y = 0; y < crop; y++) {
    const ys = y + y0;
    if (ys < 0 || ys >= sh) continue;
    // Bilinear sample at the half-pixel-centred source position.
    const fy = Math.max(0, (ys + 0.5) * sy - 0.5);
    const iy0 = Math.min(Math.floor(fy), img.height - 1);
    const iy1 = Math.min(iy0 + 1, img.height - 1);
    const wy = fy - iy0;
    for (let x = 0; x < crop; x++) {
      let xs = x + x0;
      if (xs < 0 || xs >= sw) continue;
      if (flip) xs = sw - 1 - xs;
      const fx = Math.max(0, (xs + 0.5) * sx - 0.5);
      const ix0 = Math.min(Math.floor(fx), img.width - 1);
      const ix1 = Math.min(ix0 + 1, img.width - 1);
      const wx = fx - ix0;
      const o00 = (iy0 * img.width + ix0) * 3;
      const o01 = (iy0 * img.width + ix1) * 3;
      const o10 = (iy1 * img.width + ix0) * 3;
      const o11 = (iy1 * img.width + ix1) * 3;
      const d = (y * crop + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[o00 + c] + (src[o01 + c] - src[o00 + c]) * wx;
        const bot = src[o10 + c] + (src[o11 + c] - src[o10 + c]) * wx;
        const v = (top + (bot - top) * wy - 127.5) * contrast + 127.5 + bright;
        out[d + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}
