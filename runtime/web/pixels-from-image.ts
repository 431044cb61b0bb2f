// Browser image sources (files, pasted blobs, video frames) → the PixelImage the shared pipeline
// takes. The pixels come from a 2D canvas read back as RGBA; an opaque image reads back exactly
// (no premultiplication loss), so a PNG yields the same bytes here as sharp gives in Node.

import type { PixelImage } from '../preprocess.ts';

function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  if (typeof OffscreenCanvas !== 'undefined') {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (ctx) return ctx;
  }
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  return ctx;
}

/** Pixels of anything a canvas can draw, at width×height. */
export function pixelsFromSource(source: CanvasImageSource, width: number, height: number): PixelImage {
  if (!(width > 0 && height > 0)) throw new Error(`image has no size (${width}×${height})`);
  const ctx = canvas2d(width, height);
  ctx.drawImage(source, 0, 0, width, height);
  const data = ctx.getImageData(0, 0, width, height).data;
  return { data, width, height, channels: 4 };
}

/**
 * Decodes an encoded image (File, Blob) with the browser's decoder. EXIF orientation is applied
 * and colours are converted to sRGB, as sharp does on the Node side.
 */
export async function pixelsFromBlob(blob: Blob, name = 'image'): Promise<PixelImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'default' });
  } catch (e) {
    throw new Error(`${name} is not an image this browser can decode (${(e as Error).message})`);
  }
  try {
    return pixelsFromSource(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

/** Draws RGBA pixels into a canvas element, resizing the canvas to fit them. */
export function drawPixels(canvas: HTMLCanvasElement, rgba: Uint8ClampedArray, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  // ImageData wants a Uint8ClampedArray over a plain ArrayBuffer.
  const data = new Uint8ClampedArray(rgba.length);
  data.set(rgba);
  ctx.putImageData(new ImageData(data, width, height), 0, 0);
}
