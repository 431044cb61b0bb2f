// Training augmentation for segmentation-style samples: random rescale, random crop with
// padding, horizontal flip and colour jitter. Geometry is applied to the image and every label
// map with the same random draws (one stream, drawn in a fixed order), so masks stay aligned;
// labels are resampled with nearest neighbour and padded with 255 (ignore), other maps
// (saliency, part masks) with 0. Images are RGB HWC float32 in 0..255.

import type { Rng } from '../../graphs/rng.ts';
import { resizeBilinearCHW } from '../../runtime/resize.ts';
import { IGNORE_LABEL } from '../../runtime/voc-palette.ts';
import { hsvToRgb } from './synth/raster.ts';

export interface AugSample {
  width: number;
  height: number;
  /** RGB, HWC, 0..255. */
  image: Float32Array;
  /** Class labels (0 bg, 1..K, 255 ignore); padded with 255. */
  label?: Uint8Array;
  /** Further per-pixel maps that move with the image (saliency, part masks); padded with 0. */
  extras?: Uint8Array[];
}

export interface ColorJitter {
  /** Brightness factor drawn from [1 − b, 1 + b]. */
  brightness: number;
  /** Contrast factor drawn from [1 − c, 1 + c] (blend with the mean grey level). */
  contrast: number;
  /** Saturation factor drawn from [1 − s, 1 + s] (blend with the pixel's grey value). */
  saturation: number;
  /** Hue shift drawn from [−h, h] turns (h ≤ 0.5). */
  hue: number;
}

export interface AugmentOptions {
  /** Random rescale by a factor drawn uniformly from [lo, hi]. */
  scale?: [number, number];
  /** Alternatively, random rescale so the long side is an integer drawn from [lo, hi] (PSA/EDAM style). */
  longSide?: [number, number];
  /** Random crop to this size (square if a number); smaller images are padded at a random offset. */
  crop?: number | { height: number; width: number };
  /** Flip horizontally with probability 1/2. */
  flip?: boolean;
  colorJitter?: ColorJitter;
  /** Image padding colour (default 0; the ImageNet mean [124, 116, 104] pads with "zero after normalisation"). */
  imageFill?: [number, number, number];
}

/** What a call did (for logs and tests). */
export interface AugmentRecord {
  scale: number;
  flipped: boolean;
  /** Top-left of the crop window in the rescaled image (negative = padding before the image). */
  cropX: number;
  cropY: number;
  jitter: { order: string[]; brightness: number; contrast: number; saturation: number; hue: number } | null;
}

/** HWC → CHW and back, so the shared CHW resizer serves interleaved images. */
function hwcToChw(src: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(src.length);
  const n = h * w;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = src[i * 3 + c];
  return out;
}

function chwToHwc(src: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(src.length);
  const n = h * w;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = src[c * n + i];
  return out;
}

/** Bilinear (half-pixel centres) resize of the image, nearest neighbour for label maps. */
export function rescaleSample(s: AugSample, width: number, height: number): AugSample {
  if (width === s.width && height === s.height) return s;
  const image = chwToHwc(resizeBilinearCHW(hwcToChw(s.image, s.height, s.width), 3, s.height, s.width, height, width, false), height, width);
  const nearest = (m: Uint8Array) => {
    const out = new Uint8Array(width * height);
    // Pixel-centre nearest neighbour (PIL's NEAREST, PyTorch's 'nearest-exact'): source
    // floor((dst + 0.5) · in / out), aligned with the half-pixel centres of the bilinear image,
    // unlike PyTorch's 'nearest' (floor(dst · in / out)), which shifts labels by up to half a pixel.
    for (let y = 0; y < height; y++) {
      const sy = Math.min(s.height - 1, Math.floor(((y + 0.5) * s.height) / height));
      for (let x = 0; x < width; x++) out[y * width + x] = m[sy * s.width + Math.min(s.width - 1, Math.floor(((x + 0.5) * s.width) / width))];
    }
    return out;
  };
  return { width, height, image, label: s.label && nearest(s.label), extras: s.extras?.map(nearest) };
}

export function flipSample(s: AugSample): AugSample {
  const { width: w, height: h } = s;
  const image = new Float32Array(s.image.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = (y * w + x) * 3;
      const b = (y * w + (w - 1 - x)) * 3;
      image[a] = s.image[b];
      image[a + 1] = s.image[b + 1];
      image[a + 2] = s.image[b + 2];
    }
  }
  const flip = (m: Uint8Array) => {
    const out = new Uint8Array(m.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = m[y * w + (w - 1 - x)];
    return out;
  };
  return { width: w, height: h, image, label: s.label && flip(s.label), extras: s.extras?.map(flip) };
}

/**
 * The window [x, x + width) × [y, y + height) of the sample; parts outside the image are
 * padding (image fill colour, label 255, extras 0).
 */
export function cropSample(s: AugSample, x: number, y: number, width: number, height: number, imageFill: [number, number, number] = [0, 0, 0]): AugSample {
  const image = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) image.set(imageFill, i * 3);
  const label = s.label ? new Uint8Array(width * height).fill(IGNORE_LABEL) : undefined;
  const extras = s.extras?.map(() => new Uint8Array(width * height));
  const x0 = Math.max(0, x);
  const x1 = Math.min(s.width, x + width);
  for (let sy = Math.max(0, y); sy < Math.min(s.height, y + height); sy++) {
    if (x1 <= x0) break;
    const dy = sy - y;
    image.set(s.image.subarray((sy * s.width + x0) * 3, (sy * s.width + x1) * 3), (dy * width + (x0 - x)) * 3);
    if (label) label.set(s.label!.subarray(sy * s.width + x0, sy * s.width + x1), dy * width + (x0 - x));
    extras?.forEach((e, k) => e.set(s.extras![k].subarray(sy * s.width + x0, sy * s.width + x1), dy * width + (x0 - x)));
  }
  return { width, height, image, label, extras };
}

function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d + 6) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h /= 6;
  }
  return [h, max > 0 ? d / max : 0, max];
}

const grey = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Colour jitter in place with given factors, ops in the given order (torchvision's semantics). */
export function applyColorJitter(image: Float32Array, f: { order: string[]; brightness: number; contrast: number; saturation: number; hue: number }): void {
  const n = image.length / 3;
  for (const op of f.order) {
    if (op === 'brightness') for (let i = 0; i < image.length; i++) image[i] = clamp255(image[i] * f.brightness);
    else if (op === 'contrast') {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += grey(image[i * 3], image[i * 3 + 1], image[i * 3 + 2]);
      mean /= n;
      for (let i = 0; i < image.length; i++) image[i] = clamp255((image[i] - mean) * f.contrast + mean);
    } else if (op === 'saturation') {
      for (let i = 0; i < n; i++) {
        const gv = grey(image[i * 3], image[i * 3 + 1], image[i * 3 + 2]);
        for (let c = 0; c < 3; c++) image[i * 3 + c] = clamp255((image[i * 3 + c] - gv) * f.saturation + gv);
      }
    } else if (op === 'hue' && f.hue !== 0) {
      for (let i = 0; i < n; i++) {
        const [h, s, v] = rgbToHsv(image[i * 3] / 255, image[i * 3 + 1] / 255, image[i * 3 + 2] / 255);
        const [r, g, b] = hsvToRgb(h + f.hue, s, v);
        image[i * 3] = r * 255;
        image[i * 3 + 1] = g * 255;
        image[i * 3 + 2] = b * 255;
      }
    }
  }
}

/**
 * One augmented copy of a sample. Random draws, in this order: rescale factor, flip, crop
 * offsets, jitter order and factors — the same for image and maps.
 */
export function augmentSample(s: AugSample, rng: Rng, o: AugmentOptions): { sample: AugSample; record: AugmentRecord } {
  if (s.image.length !== s.width * s.height * 3) throw new Error(`augmentSample: image of ${s.image.length} values is not ${s.width}×${s.height} RGB`);
  for (const m of [s.label, ...(s.extras ?? [])]) if (m && m.length !== s.width * s.height) throw new Error(`augmentSample: a map of ${m.length} values is not ${s.width}×${s.height}`);
  let out: AugSample = { ...s, image: s.image };
  let scale = 1;
  if (o.scale) scale = rng.range(o.scale[0], o.scale[1]);
  else if (o.longSide) scale = rng.int(o.longSide[0], o.longSide[1]) / Math.max(s.width, s.height);
  if (scale !== 1) out = rescaleSample(out, Math.max(1, Math.round(s.width * scale)), Math.max(1, Math.round(s.height * scale)));
  const flipped = o.flip ? rng.uniform() < 0.5 : false;
  if (flipped) out = flipSample(out);
  let cropX = 0;
  let cropY = 0;
  if (o.crop !== undefined) {
    const cw = typeof o.crop === 'number' ? o.crop : o.crop.width;
    const ch = typeof o.crop === 'number' ? o.crop : o.crop.height;
    // Larger side: a random window inside the image; smaller side: the image at a random offset in the window.
    cropX = out.width >= cw ? rng.int(0, out.width - cw) : -rng.int(0, cw - out.width);
    cropY = out.height >= ch ? rng.int(0, out.height - ch) : -rng.int(0, ch - out.height);
    out = cropSample(out, cropX, cropY, cw, ch, o.imageFill);
  }
  let jitter: AugmentRecord['jitter'] = null;
  if (o.colorJitter) {
    const j = o.colorJitter;
    const order = rng.shuffle(['brightness', 'contrast', 'saturation', 'hue']);
    jitter = {
      order,
      brightness: rng.range(Math.max(0, 1 - j.brightness), 1 + j.brightness),
      contrast: rng.range(Math.max(0, 1 - j.contrast), 1 + j.contrast),
      saturation: rng.range(Math.max(0, 1 - j.saturation), 1 + j.saturation),
      hue: rng.range(-j.hue, j.hue),
    };
    if (out.image === s.image) out = { ...out, image: s.image.slice() }; // never modify the caller's buffer
    applyColorJitter(out.image, jitter);
  }
  return { sample: out, record: { scale, flipped, cropX, cropY, jitter } };
}

/** An augmentation sample from a decoded 8-bit RGB image (and its maps). */
export function toAugSample(img: { width: number; height: number; data: Uint8Array }, label?: Uint8Array | null, extras?: Uint8Array[]): AugSample {
  return { width: img.width, height: img.height, image: Float32Array.from(img.data), label: label ?? undefined, extras };
}
