// Image bytes → the float32 NCHW tensor an exported wsss model takes ('RGB float32 NCHW
// [0,255]'; normalisation happens inside the graph). Pure functions shared by Node (pixels from
// sharp) and the browser (pixels from a canvas), so both feed the model identical numbers.

import { fitWithin, resizePlanesAntialiased } from './resize-antialiased.ts';

/** Interleaved 8-bit pixels, row-major: RGB (channels 3) or RGBA (channels 4, alpha ignored). */
export interface PixelImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** A single image as model input: data is [1, 3, height, width] in [0, 255]. */
export interface ImageTensor {
  data: Float32Array;
  dims: [1, 3, number, number];
  width: number;
  height: number;
}

function checkImage(img: PixelImage): void {
  const { width, height, channels } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`image has invalid size ${width}×${height}`);
  }
  if (channels !== 3 && channels !== 4) throw new Error(`image has ${channels} channels, expected 3 (RGB) or 4 (RGBA)`);
  if (img.data.length !== width * height * channels) {
    throw new Error(`image data has ${img.data.length} bytes, expected ${width}×${height}×${channels}`);
  }
}

/** Interleaved RGB(A) bytes → planar float32 RGB [3, H, W] in [0, 255]. */
export function pixelsToPlanarRgb(img: PixelImage): Float32Array {
  checkImage(img);
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const src = img.data;
  const c = img.channels;
  for (let i = 0, p = 0; i < n; i++, p += c) {
    out[i] = src[p];
    out[n + i] = src[p + 1];
    out[2 * n + i] = src[p + 2];
  }
  return out;
}

/** Planar float RGB [3, H, W] → interleaved RGBA bytes (opaque), rounding and clamping to [0, 255]. */
export function planarRgbToRgba(planes: Float32Array, width: number, height: number): Uint8ClampedArray {
  const n = width * height;
  if (planes.length !== 3 * n) throw new Error(`planarRgbToRgba: got ${planes.length} values, expected 3×${height}×${width}`);
  const out = new Uint8ClampedArray(4 * n);
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    // Uint8ClampedArray rounds half to even and clamps, which is what we want.
    out[p] = planes[i];
    out[p + 1] = planes[n + i];
    out[p + 2] = planes[2 * n + i];
    out[p + 3] = 255;
  }
  return out;
}

export interface PreprocessOptions {
  /** Shrink (never enlarge) so the longer side is at most this many pixels; 0 or absent keeps the size. */
  maxSide?: number;
}

/**
 * Pixels → model input. Shrinking uses the antialiased resize of resize-antialiased.ts and the
 * result is rounded back to 8-bit values, so the model sees exactly what an 8-bit image of the
 * processed size would hold (and `processedPixels` can be shown under an overlay).
 */
export function preprocessImage(img: PixelImage, options: PreprocessOptions = {}): { tensor: ImageTensor; processedPixels: PixelImage } {
  let planes = pixelsToPlanarRgb(img);
  const size = fitWithin(img.width, img.height, options.maxSide ?? 0);
  if (size.width !== img.width || size.height !== img.height) {
    planes = resizePlanesAntialiased(planes, 3, img.height, img.width, size.height, size.width);
    // Round to 8-bit like a resized image file would be.
    for (let i = 0; i < planes.length; i++) planes[i] = Math.min(255, Math.max(0, Math.round(planes[i])));
  }
  const resized = size.width !== img.width || size.height !== img.height;
  const processedPixels: PixelImage = {
    data: !resized && img.channels === 4 ? img.data : planarRgbToRgba(planes, size.width, size.height),
    width: size.width,
    height: size.height,
    channels: 4,
  };
  return {
    tensor: { data: planes, dims: [1, 3, size.height, size.width], width: size.width, height: size.height },
    processedPixels,
  };
}
