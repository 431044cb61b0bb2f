// Decoding and encoding of RGB images with sharp, for data sets, the synthetic benchmark and
// reports. Images travel as 8-bit RGB, row-major HWC, which is what every other piece (the
// preprocessor, augmentation, the generator) works on.

import sharp from 'sharp';
import { decodeImageBytes, decodeImageFile, ImageDecodeError } from './decode-image.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** 3 bytes per pixel, row-major HWC. */
  data: Uint8Array;
}

/** An image file that cannot be decoded (the shared decoder's error; the message names the file and the reason). */
export { ImageDecodeError as ImageReadError } from './decode-image.ts';

/**
 * Decodes an image file (or its bytes) to 8-bit RGB with the shared decoder of decode-image.ts:
 * format from the bytes, size checked from the header, EXIF orientation, CMYK/16-bit/grey → sRGB,
 * alpha dropped, truncated or corrupt files reported rather than silently half-grey.
 */
export async function decodeImageRgb(input: string | Uint8Array, name = typeof input === 'string' ? input : '<image>'): Promise<RgbImage> {
  return typeof input === 'string' ? decodeImageFile(input) : decodeImageBytes(input, name);
}

/** Image size without decoding the pixels, as decoded (EXIF orientations 5–8 swap width and height). */
export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(path, { limitInputPixels: false }).metadata();
    if (!m.width || !m.height) throw new Error('no size in header');
    return (m.orientation ?? 1) >= 5 ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
  } catch (e) {
    const reason = `cannot read image header (${(e as Error).message})`;
    throw new ImageDecodeError(`${path}: ${reason}`, path, reason);
  }
}

function checkRgb(img: RgbImage): void {
  if (img.data.length !== img.width * img.height * 3) throw new Error(`image buffer of ${img.data.length} bytes is not ${img.width}×${img.height} RGB`);
}

/**
 * Baseline JPEG with every option fixed (quality, 4:4:4 chroma so small coloured patterns keep
 * their colour, Huffman optimisation, no metadata), so equal pixels give equal bytes.
 */
export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Uint8Array> {
  checkRgb(img);
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:4:4', optimiseCoding: true, mozjpeg: false, progressive: false, trellisQuantisation: false, overshootDeringing: false, optimiseScans: false })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** PNG of an RGB image (reports). */
export async function encodePngRgb(img: RgbImage): Promise<Uint8Array> {
  checkRgb(img);
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** A `data:` URI for embedding a PNG/JPEG in a self-contained HTML page. */
export function dataUri(bytes: Uint8Array, mime: 'image/png' | 'image/jpeg'): string {
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}
