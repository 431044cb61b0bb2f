// Segmenting an encoded image in Node: decode with sharp into the same RGB pixels a browser's
// canvas gives, then the shared pipeline of runtime/segment.ts.

import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { PixelImage } from '../preprocess.ts';
import { segmentPixels, type SegmentOptions, type Segmentation } from '../segment.ts';
import type { OpenModel } from '../session.ts';

/** Largest image (in pixels) decoded; larger ones are refused before their pixels are allocated. */
export const MAX_DECODED_PIXELS = 64 * 1024 * 1024;

/** Bytes that are not an image we can decode; the message names the image and the problem. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/**
 * Decodes PNG/JPEG/WebP/GIF/TIFF/AVIF bytes to 8-bit sRGB pixels (alpha dropped), applying the
 * EXIF orientation as browsers do when they draw an image.
 */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<PixelImage> {
  const meta = await sharp(bytes, { limitInputPixels: MAX_DECODED_PIXELS })
    .metadata()
    .catch((e: Error) => {
      throw new ImageDecodeError(`${name} is not a decodable image (${e.message})`);
    });
  if (!meta.width || !meta.height) throw new ImageDecodeError(`${name} has no image size`);
  if (meta.width * meta.height > MAX_DECODED_PIXELS) {
    throw new ImageDecodeError(`${name} is ${meta.width}×${meta.height} pixels, more than the ${MAX_DECODED_PIXELS} allowed`);
  }
  try {
    // failOn 'warning': a truncated or corrupt file is reported, not decoded half grey.
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_DECODED_PIXELS, failOn: 'warning' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    throw new ImageDecodeError(`${name} could not be decoded (${(e as Error).message})`);
  }
}

/** Segments encoded image bytes; `name` identifies the image in errors. */
export async function segmentImageBytes(model: OpenModel, bytes: Uint8Array, name: string, options: SegmentOptions = {}): Promise<Segmentation> {
  return segmentPixels(model, await decodeImage(bytes, name), options);
}

/** Segments an image file. */
export async function segmentImageFile(model: OpenModel, path: string, options: SegmentOptions = {}): Promise<Segmentation> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ImageDecodeError(err.code === 'ENOENT' ? `image ${path} does not exist` : `image ${path} cannot be read (${err.message})`);
  }
  return segmentImageBytes(model, bytes, path, options);
}
